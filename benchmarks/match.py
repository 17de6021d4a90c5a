"""Subspace match: `netsim.match` (Gram + sweep tableaus, float64) versus a re-implementation of the reference approach
(one float32 least-squares solve per half-pass, absolute 1e-16 zero threshold, as MATCH_THEORY.md describes the authors'
code), side by side on the same inputs, results checked identical.

    .venv/bin/python benchmarks/match.py            # full run (CPU), writes its section of benchmarks/RESULTS.md
    .venv/bin/python benchmarks/match.py --quick    # about 2 minutes
    .venv/bin/python benchmarks/match.py --device cuda   # ours on the GPU (the reference stays on the CPU)
    .venv/bin/python benchmarks/match.py --only minmatch # only the min_match rows (section 'match min_match')
    .venv/bin/python benchmarks/match.py --only vmin     # v-minimal matches at scale (section 'match v-minimal at scale')
"""
import argparse, math, os, sys, time
from pathlib import Path
import numpy as np
import scipy.linalg                      # loaded before threadpoolctl limits the BLAS libraries
import torch
from threadpoolctl import threadpool_limits
sys.path.insert(0, str(Path(__file__).parent))
from netsim.match import max_match, min_match, min_matches, FALLBACKS
from netsim.match.gram import Matcher
from netsim.models import resolve_device
import netsim.match.kernels as mk

# ---------------------------------------------------------------- the reference approach
def ref_residuals(S, T):
    "Relative residuals of the columns of S against span(T) by one float32 lstsq (SVD-based, like numpy's)."
    if T.shape[1] == 0: return torch.ones(S.shape[1])
    coef = torch.linalg.lstsq(T, S, driver='gelsd').solution
    res = (S - T @ coef).norm(dim=0)
    nrm = S.norm(dim=0)
    return torch.where(nrm > 1e-16, res / nrm, torch.zeros_like(nrm))

def ref_max_match(A, B, eps, X=None, Y=None, max_half=None):
    "Algorithm 1, vectorised per half-pass; returns (X, Y, half-passes done, finished?)."
    X = [i for i in (range(A.shape[1]) if X is None else X) if A[:, i].norm() > 1e-16]
    Y = [j for j in (range(B.shape[1]) if Y is None else Y) if B[:, j].norm() > 1e-16]
    half, changed = 0, True
    while changed:
        changed = False
        for side in (0, 1):
            if max_half is not None and half >= max_half: return X, Y, half, False
            if side == 0:
                r = ref_residuals(A[:, X], B[:, Y]); keep = [x for x, q in zip(X, r.tolist()) if q <= eps]
                changed |= len(keep) < len(X); X = keep
            else:
                r = ref_residuals(B[:, Y], A[:, X]); keep = [y for y, q in zip(Y, r.tolist()) if q <= eps]
                changed |= len(keep) < len(Y); Y = keep
            half += 1
    return X, Y, half, True

def ref_min_match(A, B, eps, v):
    "Algorithm 2 (paper form, order X then Y) on top of `ref_max_match`."
    X, Y, _, _ = ref_max_match(A, B, eps)
    side, i = v
    if i not in (X if side == 'a' else Y): return None
    for u in [('a', x) for x in X] + [('b', y) for y in Y]:
        if u == v or u[1] not in (X if u[0] == 'a' else Y): continue
        X2, Y2, _, _ = ref_max_match(A, B, eps, [x for x in X if u != ('a', x)], [y for y in Y if u != ('b', y)])
        if i in (X2 if side == 'a' else Y2): X, Y = X2, Y2
    return X, Y

def ref_min_match_code(A, B, eps, v):
    """Algorithm 2 as the authors' `find_minimal_match` runs it (MATCH_THEORY.md, 'Code variant' (a)): after a successful
    trial it keeps the reduced *candidate* sets, not their maximum match, so later trials start from non-matches (more
    half-passes) and neurons that left the maximum match are still tried one by one. Same result as the paper form."""
    X, Y, _, _ = ref_max_match(A, B, eps)
    side, i = v
    if i not in (X if side == 'a' else Y): return None
    checked = {v}
    while True:
        u = next((('a', x) for x in X if ('a', x) not in checked), None) or next((('b', y) for y in Y if ('b', y) not in checked), None)
        if u is None: return X, Y
        checked.add(u)
        X2, Y2 = [x for x in X if u != ('a', x)], [y for y in Y if u != ('b', y)]
        Xm, Ym, _, _ = ref_max_match(A, B, eps, X2, Y2)
        if i in (Xm if side == 'a' else Ym): X, Y = X2, Y2

# ---------------------------------------------------------------- inputs
def orthonormal(d, k, g):
    return torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))[0]

def make_input(kind, d, n, seed=0):
    "('few', eps=0.3): shared subspace + independent parts; ('cascade', eps=0.5): one deletion per half-pass."
    g = torch.Generator().manual_seed(seed)
    if kind == 'few':
        r = n // 2
        U = torch.randn(d, r, generator=g, dtype=torch.float64)
        A = torch.cat([U @ torch.randn(r, r, generator=g, dtype=torch.float64), torch.randn(d, n - r, generator=g, dtype=torch.float64)], 1)
        B = torch.cat([U @ torch.randn(r, r, generator=g, dtype=torch.float64), torch.randn(d, n - r, generator=g, dtype=torch.float64)], 1)
        A += 0.01 * A.norm(dim=0) / math.sqrt(d) * torch.randn(d, n, generator=g, dtype=torch.float64)
        return A, B, 0.3
    if kind == 'pairs':    # b_j = a_j + noise: the v-minimal match is one pair, every other trial succeeds
        A = torch.randn(d, n, generator=g, dtype=torch.float64)
        return A, A + 0.05 * torch.randn(d, n, generator=g, dtype=torch.float64), 0.3
    if kind == 'chain':    # b_i = l_i, a_i = 1.2 l_i + l_(i+1), a_n = l_n: one span, and deleting a neuron sets off a cascade
        L = orthonormal(d, n + 1, g)
        A = 1.2 * L[:, :n] + L[:, 1:]; A[:, n - 1] = L[:, n - 1]
        return A, L[:, :n].clone(), 0.5
    if kind == 'blocks':   # 8 shared 4-dim blocks (4 + 4 neurons each), the rest independent: small v-minimal matches
        nb, w = n // 16, 4
        Ls = [torch.randn(d, w, generator=g, dtype=torch.float64) for _ in range(nb)]
        A = torch.cat([L @ torch.randn(w, w, generator=g, dtype=torch.float64) for L in Ls] + [torch.randn(d, n - nb * w, generator=g, dtype=torch.float64)], 1)
        B = torch.cat([L @ torch.randn(w, w, generator=g, dtype=torch.float64) for L in Ls] + [torch.randn(d, n - nb * w, generator=g, dtype=torch.float64)], 1)
        return A, B, 0.3
    # cascade: b_i = l_i, a_i = q l_i + l_(i+1) (orthonormal l's, q = 1.2; l_(n+1) not in B). With eps = 0.5, a_k fails
    # against span(b_1..b_k) (rho = 0.64), then b_k against span(a_1..a_(k-1)) (0.55) while b_(k-1) passes (0.46), and so on.
    L = orthonormal(d, n + 1, g)
    return 1.2 * L[:, :n] + L[:, 1:], L[:, :n].clone(), 0.5

def ladder_instance(d=10_000, n=512, seed=0, rank=200, n_shared=(302, 352), n_ladder=60, noise=1e-4):
    """A shared `rank`-dimensional subspace (n_shared[0] of A's columns and n_shared[1] of B's are random combinations of
    it), a ladder a_i = l_i + l_(i+1), b_i = l_i (i < n_ladder) that cascades, the rest independent columns; every
    column gets `noise` relative Gaussian noise. eps 0.2. Wide layers of trained conv nets at large eps look like this."""
    g = torch.Generator().manual_seed(seed)
    rn = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    U = torch.linalg.qr(rn(d, rank + n_ladder + 1))[0]
    S, L = U[:, :rank], U[:, rank:]
    A = torch.cat([S @ rn(rank, n_shared[0]), L[:, :n_ladder] + L[:, 1:], rn(d, n - n_shared[0] - n_ladder)], 1)
    B = torch.cat([S @ rn(rank, n_shared[1]), L[:, :n_ladder].clone(), rn(d, n - n_shared[1] - n_ladder)], 1)
    for Z in (A, B): Z += noise * Z.norm(dim=0) / math.sqrt(d) * rn(*Z.shape)
    return A, B, 0.2

def old_path(f):
    "f() as the code ran before close calls were settled (`NETSIM_REFINE=0`: a close call sends the call to the plain engine)."
    import netsim.match.engine as me
    old = me.REFINE; me.REFINE = False
    try: return f()
    finally: me.REFINE = old

def vmin_section(threads, old_checks=(('a', 305),), skip_trained=False, progress=False, sizes_out=None, widths=(0.128, 1.0)):
    "One v-minimal match and all of them (one per neuron of the maximum match) on the ladder instance and a trained-layer pair."
    rows = [f"v-minimal matches at scale. 'ladder': d = 10,000, n = m = 512, eps 0.2 (`ladder_instance`: a shared 200-dim "
            "subspace, 302 + 352 columns; a 60-step ladder; independent columns; 1e-4 relative noise), its maximum match "
            "361 + 412. 'trained': the ReLU layers 1-3 of two MLP-4s (64 units, and 500 where named) trained on 6,000 Fashion-MNIST images (seeds 0, 1) "
            f"on 2,000 test images, eps 0.3. torch and BLAS threads = {threads}, {os_load()}: times are CPU (process) "
            "seconds, wall in brackets. A `Matcher` is built once per pair. 'old path' = the same code with "
            "`NETSIM_REFINE=0` (a close call sends the call to the plain engine, as before); 'new' settles it from the Gram "
            "matrix. 'fallbacks' = calls redone on the plain engine. 'all' = `min_matches`: randomized Algorithm 2 once "
            "for every neuron of the maximum match.", "",
            "| pair | what | neurons | size: min / median / max | new CPU s (wall) | new fallbacks | old path CPU s (wall) | old fallbacks | check |",
            "|---|---|---|---|---|---|---|---|---|"]
    print(rows[0])
    A, B, eps = ladder_instance()
    pairs = [('ladder', A, B, eps)]
    if not skip_trained:
        try:
            for w in widths:
                lay = real_layers(width=w)
                for L, (A2, B2) in enumerate(lay): pairs.append((f'trained layer {L + 1}' + ('' if w == widths[0] else f', {A2.shape[1]} units'), A2, B2, 0.3))
        except (FileNotFoundError, OSError, ValueError) as e: print('no trained rows:', e)
    for name, A, B, eps in pairs:
        bw, bc, (M, r) = cputime(lambda: (lambda M: (M, max_match(M, None, eps)))(Matcher(A, B)))
        vs = sorted(r.neurons())
        min_match(M, None, eps, vs[0])                                   # warm-up (compiled kernels from the cache)
        checks = (old_checks if name == 'ladder' else vs[:3]) if old_checks is not None else []
        for v in checks:                                                  # one v-minimal match, fixed order, new vs old
            f0 = FALLBACKS[0]; tn, cn, rn_ = cputime(lambda: min_match(M, None, eps, v)); fn_ = FALLBACKS[0] - f0
            M2 = Matcher(A, B); max_match(M2, None, eps)
            f0 = FALLBACKS[0]; to, co, ro = cputime(lambda: old_path(lambda: min_match(M2, None, eps, v)))
            row = (f"| {name} | one, fixed order, v = {v} | 1 | {rn_.size} ({len(rn_.X)} + {len(rn_.Y)}) | {cn:.3g} ({tn:.3g}) | {fn_} | "
                   f"{co:.3g} ({to:.3g}) | {FALLBACKS[0] - f0} | {'identical' if ro == rn_ else 'DIFFERENT'} |")
            print(row, flush=True); rows.append(row)
        for v in ([vs[0]] if name == 'ladder' else []):                  # one, randomized, the new path only
            f0 = FALLBACKS[0]; tn, cn, rn_ = cputime(lambda: min_match(M, None, eps, v, randomized=True), reps=3)
            row = (f"| {name} | one, randomized, v = {v} (best of 3) | 1 | {rn_.size} ({len(rn_.X)} + {len(rn_.Y)}) | {cn:.3g} ({tn:.3g}) | "
                   f"{FALLBACKS[0] - f0} | - | - | - |")
            print(row, flush=True); rows.append(row)
        f0 = FALLBACKS[0]; ta, ca, mm = cputime(lambda: min_matches(M, None, eps, progress=progress))
        sz = np.array([m.size for m in mm.values()])
        row = (f"| {name} | all, randomized, one per neuron (Gram + maximum match: {bc:.2g} s more) | {len(mm)} | {sz.min()} / "
               f"{int(np.median(sz))} / {sz.max()} | {ca:.3g} ({ta:.3g}) | {FALLBACKS[0] - f0} | - | - | {len(set(mm.values()))} distinct |")
        print(row, flush=True); rows.append(row)
        if sizes_out is not None:
            sizes_out[name] = dict(d=A.shape[0], n=A.shape[1], m=B.shape[1], eps=eps, cpu_s=round(ca, 2), wall_s=round(ta, 2),
                                   gram_max_match_cpu_s=round(bc, 3), fallbacks=FALLBACKS[0] - f0,
                                   size_a=[len(m.X) for m in mm.values()], size_b=[len(m.Y) for m in mm.values()])
    return rows

def real_layers(n_train=6000, d=2000, width=0.128, epochs=3):
    """Activations of the three 64-unit ReLU layers of two MLP-4s (seeds 0 and 1) trained on Fashion-MNIST, on the
    first `d` test images (float64): the kind of input the paper matches."""
    import torch.nn.functional as F
    from netsim.data import load_dataset
    from netsim.models import make_model
    ds = load_dataset('fashion-mnist')
    x, y, xt = ds.x_train[:n_train].float(), ds.y_train[:n_train], ds.x_test[:d].float()
    out = []
    for s in (0, 1):
        m = make_model('mlp4', x.shape[1:], 10, width=width, seed=s)
        opt, g = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), torch.Generator().manual_seed(s)
        for _ in range(epochs):
            p = torch.randperm(len(x), generator=g)
            for i in range(0, len(x), 128):
                b = p[i:i+128]; opt.zero_grad(); F.cross_entropy(m(x[b]), y[b]).backward(); opt.step()
        acts = []
        hooks = [mod.register_forward_hook(lambda mod, i, o: acts.append(o.detach().double())) for mod in m.modules() if isinstance(mod, torch.nn.ReLU)]
        with torch.no_grad(): m(xt)
        for h in hooks: h.remove()
        out.append(acts)
    return list(zip(*out))      # [(A, B) per layer]

def timeit(f, reps=1):
    best = float('inf')
    for _ in range(reps):
        t = time.perf_counter(); out = f(); sync(); best = min(best, time.perf_counter() - t)
    return best, out

def cputime(f, reps=1):
    "Best wall and best CPU (process) time of f() over reps runs, and its output (CPU time resists a loaded machine)."
    bw, bc = float('inf'), float('inf')
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time(); out = f(); sync()
        bw, bc = min(bw, time.perf_counter() - t), min(bc, time.process_time() - c)
    return bw, bc, out

def gram_time(C, reps, cpu=False):
    "Best time of one product [A B]^T [A B] in float64: torch's matmul, and on the CPU also numpy's (syrk, half the flops)."
    t = cputime(lambda: C.T @ C, reps=reps)[:2]
    if C.device.type == 'cpu':
        Cn = C.numpy()
        t = tuple(map(min, t, cputime(lambda: Cn.T @ Cn, reps=reps)[:2]))
    return t if cpu else t[0]

def python_half_passes(f):
    "f() with the engine's compiled half-passes off (`netsim.match.kernels.KERNELS`): the Python path, for comparison."
    old = mk.KERNELS; mk.KERNELS = False
    try: return f()
    finally: mk.KERNELS = old

def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

def os_load(): return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start"

def count_trials(A, B, eps, v):
    "Algorithm 1 runs inside one min_match: with block trials (the default) and one trial per neuron."
    from netsim.match import make_engine, neuron_index
    from netsim.match.theory import _order, minimal_match_blocks, _min_match_seq
    eng = make_engine(A, B, eps)
    g = neuron_index(v, eng.n, eng.m)
    st = eng.start(watch=g)
    out, rm = [], type(eng).remove
    for f in (minimal_match_blocks, _min_match_seq):
        calls = [0]
        def counted(self, *args, **kw): calls[0] += 1; return rm(self, *args, **kw)
        type(eng).remove = counted
        try: f(eng, st, g, _order(eng, st, g, False, 0))
        finally: type(eng).remove = rm
        out.append(calls[0])
    return out

# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='smaller grid (about 2 minutes)')
    ap.add_argument('--device', default='cpu', help="device for netsim.match ('cpu', 'cuda', 'auto')")
    ap.add_argument('--ref-budget', type=float, default=None, help='seconds of reference time per case before extrapolating')
    ap.add_argument('--no-write', action='store_true', help='do not write benchmarks/RESULTS.md')
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads (1: stable timings on a shared machine)')
    ap.add_argument('--only', choices=['maxmatch', 'minmatch', 'vmin'], default=None, help='run only one part')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    threadpool_limits(a.threads)                 # numpy/scipy BLAS too: the Gram and the reference use the same threads
    dev = resolve_device(a.device)
    if a.only == 'vmin':
        sizes = {}
        rows = vmin_section(a.threads, progress=True, sizes_out=sizes)
        if not a.no_write:
            import json
            from _results import write_section, machine
            write_section('match v-minimal at scale', '\n'.join(rows))
            out = Path(__file__).parent.parent/'nbs'/'data'/'vmin'; out.mkdir(parents=True, exist_ok=True)
            (out/'vmin_sizes.json').write_text(json.dumps(dict(machine=machine(), pairs=sizes)))
        return
    ds, ns = ([1000, 10000], [64, 256]) if a.quick else ([1000, 10000, 50000], [64, 256, 512])
    budget = a.ref_budget or (4.0 if a.quick else 12.0)
    load = os_load()
    lines = [f"netsim.match on {dev} (float64) vs reference (CPU float32 lstsq per half-pass), torch and BLAS CPU threads = {a.threads}, "
             f"{load}. 'gram' = one product [A B]^T [A B] in float64 on the same device, the faster of torch's matmul and "
             "numpy's (which calls syrk: half the flops); 'ours/gram' should be <= 3 (wall time, and CPU time of this process, "
             "steadier on a shared machine).",
             "Reference marked '~' ran only its first half-passes (budget {:.0f} s per case) and is extrapolated as "
             "(time per half-pass) x (half-passes of the full run); its partial result is checked against ours "
             "(same neurons deleted in those half-passes).".format(budget), "",
             "| kind | d | n=m | eps | half-passes | gram s | ours s | ours/gram | ours/gram CPU | Python half-passes: ours/gram CPU | reference s | ref/ours | check |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print(lines[0]); print(lines[1])
    for kind in (('few', 'cascade') if a.only != 'minmatch' else ()):
        for d in ds:
            for n in ns:
                A, B, eps = make_input(kind, d, n)
                Ad, Bd = A.to(dev), B.to(dev)
                C = torch.cat([Ad, Bd], 1)
                reps = 7 if d <= 1000 else 3 if d <= 10000 else 2
                tg, cg = gram_time(C, reps, cpu=True); del C
                to, co, r = cputime(lambda: max_match(Ad, Bd, eps), reps)
                cpy = python_half_passes(lambda: cputime(lambda: max_match(Ad, Bd, eps), reps)[1])
                halves = 1 + max([h for h, _ in r.removed.values()], default=-1)
                full_halves = 2 * math.ceil(halves / 2) + 2      # + the final, all-passing pass
                A32, B32 = A.float(), B.float()
                t1, (X, Y, h1, done) = timeit(lambda: ref_max_match(A32, B32, eps, max_half=2))
                if done or t1 / max(h1, 1) * full_halves <= budget:
                    tr, (X, Y, h, done) = timeit(lambda: ref_max_match(A32, B32, eps))
                    ok = (tuple(X), tuple(j for j in Y)) == r.pair and h == full_halves
                    ref_s = f"{tr:.3g}"
                else:
                    hmax = max(2, int(budget / (t1 / h1)))
                    tr, (X, Y, h, done) = timeit(lambda: ref_max_match(A32, B32, eps, max_half=hmax))
                    gone = {('a', i) for i in range(n)} - {('a', i) for i in X} | {('b', j) for j in range(n)} - {('b', j) for j in Y}
                    ok = gone == {v for v, (hp, _) in r.removed.items() if hp < h}
                    tr = tr / h * full_halves
                    ref_s = f"~{tr:.3g} ({h} of {full_halves} half-passes run)"
                row = (f"| {kind} | {d} | {n} | {eps} | {full_halves} | {tg:.3g} | {to:.3g} | {to / tg:.2f} | {co / cg:.2f} | {cpy / cg:.2f} | {ref_s} | "
                       f"{tr / to:.0f}x | {'identical' if ok else 'DIFFERENT'} |")
                print(row, flush=True); lines.append(row)
    # one v-minimal match (Algorithm 2) at 64 neurons x 2,000 samples
    mm = [f"One `min_match` (Algorithm 2, fixed order X then Y), n = m = 64, d = 2,000 (synthetic inputs, and 'real': the 64-unit ReLU layers of two MLP-4s trained on 6,000 Fashion-MNIST images, seeds 0 and 1, on 2,000 test images), ours on {dev} vs the reference "
          f"(CPU float32 lstsq per half-pass), torch and BLAS CPU threads = {a.threads}, {os_load()}; best of 5 (ours) / 2 (reference) "
          "runs, wall and CPU (process) time; the machine is shared, so CPU time is the steadier ratio. 'gram' = one product "
          "[A B]^T [A B] (as above): 'ref/gram' is the ratio no exact method that reads the data could beat. 'trials' = "
          "Algorithm 1 runs in Algorithm 2 (block trials), 'one-at-a-time' = the trials the sequential loop needs. "
          "'reference' = Algorithm 2 as the authors' code runs it (`find_minimal_match`: after a success it keeps the "
          "candidate sets, MATCH_THEORY.md 'Code variant' (a)); 'paper form' = the same with the maximum match kept "
          "(Algorithm 2 as printed), cheaper. Both return our result ('check'). 'Python half-passes' = ours with the compiled "
          "half-passes off (`NETSIM_KERNELS=0`, what runs on torch tableaus). 'chain': a_i = 1.2 l_i + l_(i+1), b_i = l_i, "
          "a_n = l_n (orthonormal l's, eps 0.5): one shared span in which deleting any neuron sets off a cascade, so every "
          "trial runs many half-passes. 'Matcher reused' = the same call on a `Matcher` built beforehand, so without the "
          "product and its scaling: what each further neuron costs when one pair of layers is asked about many neurons "
          "(the reference has no such saving: every half-pass solves afresh).", "",
          "| kind | v | eps | result size | trials (one-at-a-time) | gram s | ours wall s | ours CPU s | reference wall s | reference CPU s | ref/ours wall | ref/ours CPU | ref/gram | ours, Matcher reused, CPU s | ref/reused CPU | paper form CPU s | paper form/ours CPU | Python half-passes CPU s | check |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print(mm[0])
    cases = [(kind, *make_input(kind, 2000, 64, seed=1), ('a', 0)) for kind in ('few', 'blocks', 'pairs', 'chain')]
    try:
        layers = real_layers()
        for L, eps in ((0, 0.3), (1, 0.3), (1, 0.5)):
            A, B = layers[L]
            X = max_match(A, B, eps).pair[0]
            if X: cases.append((f'real layer {L + 1}', A, B, eps, ('a', X[0])))
    except (FileNotFoundError, OSError, ValueError) as e: print('no real-activation rows:', e)
    for kind, A, B, eps, v in (cases if a.only != 'maxmatch' else ()):
        Ad, Bd = A.to(dev), B.to(dev)
        min_match(Ad, Bd, eps, v)                                    # warm-up (first-call imports, BLAS controller)
        to, co, r = cputime(lambda: min_match(Ad, Bd, eps, v), reps=5)
        Mt = Matcher(Ad, Bd); min_match(Mt, None, eps, v)
        _, cw, rw = cputime(lambda: min_match(Mt, None, eps, v), reps=5)
        cpy = python_half_passes(lambda: cputime(lambda: min_match(Ad, Bd, eps, v), reps=3)[1])
        tg = gram_time(torch.cat([Ad, Bd], 1), reps=5)
        nt, ns = count_trials(Ad, Bd, eps, v)
        tr, cr, (X, Y) = cputime(lambda: ref_min_match_code(A.float(), B.float(), eps, v), reps=2)
        tp, cp, (X2, Y2) = cputime(lambda: ref_min_match(A.float(), B.float(), eps, v), reps=2)
        ok = (tuple(X), tuple(Y)) == r.pair == (tuple(X2), tuple(Y2)) == rw.pair
        row = (f"| {kind} | {v} | {eps} | {r.size} | {nt} ({ns}) | {tg:.2g} | {to:.3g} | {co:.3g} | {tr:.3g} | {cr:.3g} | {tr / to:.0f}x | "
               f"{cr / co:.0f}x | {tr / tg:.0f}x | {cw:.3g} | {cr / cw:.0f}x | {cp:.3g} | {cp / co:.0f}x | {cpy:.3g} | {'identical' if ok else 'DIFFERENT'} |")
        print(row, flush=True); mm.append(row)
    if not a.no_write:
        from _results import write_section
        sfx = ('' if dev.type == 'cpu' else f' ({dev.type})') + (' --quick' if a.quick else '')
        if a.only != 'minmatch': write_section('match' + sfx, '\n'.join(lines))
        if a.only != 'maxmatch': write_section('match min_match' + sfx, '\n'.join(mm))

if __name__ == '__main__': main()
