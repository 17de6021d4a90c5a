"""Subspace match: `netsim.match` (Gram + sweep tableaus, float64) versus the authors' algorithm, side by side on the
same inputs, results checked identical. The reference is the authors' code as published (MeckyWu/subspace-match,
`utils/match_utils.py`: data as rows of float32, one `numpy.linalg.lstsq` per half-pass with `rcond=None`, which numpy
solves in float64, absolute 1e-16 zero threshold), re-implemented here in the same operations; `--ref torch` runs the
same algorithm as one float32 torch lstsq per half-pass instead (faster). The reference runs in full wherever it takes
under `--ref-cap` seconds; a row whose reference would take longer is a lower bound over the half-passes it ran.

    .venv/bin/python benchmarks/match.py            # full run (CPU, about 20 minutes), writes its sections of benchmarks/RESULTS.md
    .venv/bin/python benchmarks/match.py --quick    # a few minutes
    .venv/bin/python benchmarks/match.py --device cuda   # ours on the GPU (the reference stays on the CPU)
    .venv/bin/python benchmarks/match.py --only trained  # only the maximum match on trained layers
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

# ---------------------------------------------------------------- the reference: the authors' algorithm
REF_NAMES = {'numpy': "the authors' code as published (float32 rows, numpy lstsq per half-pass, solved in float64)",
             'torch': "the authors' algorithm as one torch float32 lstsq per half-pass (faster than their code)"}

def ref_residuals(S, T):
    "Relative residuals of the columns of S against span(T) by one float32 torch lstsq (SVD-based, like numpy's)."
    if T.shape[1] == 0: return torch.ones(S.shape[1])
    coef = torch.linalg.lstsq(T, S, driver='gelsd').solution
    res = (S - T @ coef).norm(dim=0)
    nrm = S.norm(dim=0)
    return torch.where(nrm > 1e-16, res / nrm, torch.zeros_like(nrm))

def np_dists(S, T):
    "Relative distances of the rows of S to the row span of T (float32 arrays), as the authors' `dists2plane` computes them."
    Tt, St = T.T, S.T
    sol = np.linalg.lstsq(Tt, St, rcond=None)[0]
    return np.linalg.norm(Tt @ sol - St, axis=0) / np.linalg.norm(St, axis=0)

class Ref:
    "One input in the reference's own form: 'numpy' keeps float32 rows (n x d, the authors' layout), 'torch' float32 columns."
    def __init__(self, A, B, form='numpy'):
        self.form = form
        if form == 'numpy': self.A, self.B = (np.ascontiguousarray(Z.float().numpy().T) for Z in (A, B))
        else: self.A, self.B = A.float(), B.float()
    def n(self, Z): return Z.shape[0] if self.form == 'numpy' else Z.shape[1]
    def nonzero(self, Z):
        nrm = np.linalg.norm(Z, axis=1) if self.form == 'numpy' else Z.norm(dim=0).numpy()
        return [i for i in range(self.n(Z)) if nrm[i] > 1e-16]
    def dists(self, Z, I, W, J):
        "Relative distances of the neurons I of Z to the span of the neurons J of W."
        if self.form == 'numpy': return np_dists(Z[I], W[J])
        return ref_residuals(Z[:, I], W[:, J]).numpy()

def ref_max_match(R, eps, X=None, Y=None, max_half=None, deadline=None):
    """Algorithm 1 as the authors run it (X side, then Y side, until a round changes nothing; an empty side ends it);
    returns (X, Y, half-passes done, finished?). It stops early after `max_half` half-passes or past `deadline` (wall clock)."""
    X = R.nonzero(R.A) if X is None else list(X)
    Y = R.nonzero(R.B) if Y is None else list(Y)
    if not X or not Y: return [], [], 0, True
    half, changed = 0, True
    while changed:
        changed = False
        for side in (0, 1):
            if (max_half is not None and half >= max_half) or (deadline is not None and time.perf_counter() > deadline):
                return X, Y, half, False
            if side == 0:
                r = R.dists(R.A, X, R.B, Y); keep = [x for x, q in zip(X, r.tolist()) if q <= eps]
                changed |= len(keep) < len(X); X = keep
            else:
                r = R.dists(R.B, Y, R.A, X); keep = [y for y, q in zip(Y, r.tolist()) if q <= eps]
                changed |= len(keep) < len(Y); Y = keep
            half += 1
            if not X or not Y: return [], [], half, True
    return X, Y, half, True

def ref_min_match(R, eps, v):
    "Algorithm 2 (paper form, order X then Y) on top of `ref_max_match`."
    X, Y, _, _ = ref_max_match(R, eps)
    side, i = v
    if i not in (X if side == 'a' else Y): return None
    for u in [('a', x) for x in X] + [('b', y) for y in Y]:
        if u == v or u[1] not in (X if u[0] == 'a' else Y): continue
        X2, Y2, _, _ = ref_max_match(R, eps, [x for x in X if u != ('a', x)], [y for y in Y if u != ('b', y)])
        if i in (X2 if side == 'a' else Y2): X, Y = X2, Y2
    return X, Y

def ref_min_match_code(R, eps, v):
    """Algorithm 2 as the authors' `find_minimal_match` runs it (MATCH_THEORY.md, 'Code variant' (a)): after a successful
    trial it keeps the reduced *candidate* sets, not their maximum match, so later trials start from non-matches (more
    half-passes) and neurons that left the maximum match are still tried one by one. Same result as the paper form."""
    X, Y, _, _ = ref_max_match(R, eps)
    side, i = v
    if i not in (X if side == 'a' else Y): return None
    checked = {v}
    while True:
        u = next((('a', x) for x in X if ('a', x) not in checked), None) or next((('b', y) for y in Y if ('b', y) not in checked), None)
        if u is None: return X, Y
        checked.add(u)
        X2, Y2 = [x for x in X if u != ('a', x)], [y for y in Y if u != ('b', y)]
        Xm, Ym, _, _ = ref_max_match(R, eps, X2, Y2)
        if i in (Xm if side == 'a' else Ym): X, Y = X2, Y2

def ref_deleted(R, X, Y):
    "The neurons the reference has deleted while matching down to (X, Y): its non-zero ones (zero ones it drops first) not in X or Y."
    X, Y = set(X), set(Y)
    return {('a', i) for i in R.nonzero(R.A) if i not in X} | {('b', j) for j in R.nonzero(R.B) if j not in Y}

def ref_timed(R, eps, full_halves, cap, partial):
    """Run the reference maximum match in full when it can finish within `cap` seconds, else for `partial` seconds.
    Returns (wall s, CPU s, (X, Y, half-passes, finished?)); a probe of two half-passes decides which."""
    t, c = time.perf_counter(), time.process_time()
    probe = ref_max_match(R, eps, max_half=2)
    t1 = time.perf_counter() - t
    if probe[3]: return t1, time.process_time() - c, probe
    limit = cap if t1 / 2 * full_halves <= 3 * cap else partial   # the probe overestimates: later half-passes shrink
    t, c = time.perf_counter(), time.process_time()
    out = ref_max_match(R, eps, deadline=t + limit)
    return time.perf_counter() - t, time.process_time() - c, out

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

def cputime(f, reps=1, max_s=None):
    """Best wall and best CPU (process) time of f() over reps runs, and its output (CPU time resists a loaded machine);
    no further runs once one has taken over `max_s` seconds."""
    bw, bc = float('inf'), float('inf')
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time(); out = f(); sync()
        bw, bc = min(bw, time.perf_counter() - t), min(bc, time.process_time() - c)
        if max_s is not None and bw > max_s: break
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
def ratio_range(rs):
    "'a-bx' over a list of ratios (or one ratio)."
    lo, hi = min(rs), max(rs)
    return f"{lo:,.0f}x" if round(lo) == round(hi) else f"{lo:,.0f}-{hi:,.0f}x"

def maxmatch_rows(cases, dev, a, summary):
    "One table row per (workload, kind, d, n, A, B, eps) case: ours vs the reference maximum match, full or a lower bound."
    rows = []
    for work, kind, d, n, A, B, eps in cases:
        Ad, Bd = A.to(dev), B.to(dev)
        C = torch.cat([Ad, Bd], 1)
        reps = 7 if d <= 1000 else 3 if d <= 10000 else 2
        tg, cg = gram_time(C, reps, cpu=True); del C
        max_match(Ad, Bd, eps)                                          # warm-up
        to, co, r = cputime(lambda: max_match(Ad, Bd, eps), reps)
        cpy = python_half_passes(lambda: cputime(lambda: max_match(Ad, Bd, eps), reps)[1])
        halves = 1 + max([h for h, _ in r.removed.values()], default=-1)
        full_halves = 2 * math.ceil(halves / 2) + 2      # + the final, all-passing pass
        R = Ref(A, B, a.ref)
        tr, cr, (X, Y, h, done) = ref_timed(R, eps, full_halves, a.ref_cap, a.ref_partial)
        nz = set(R.nonzero(R.A)), set(R.nonzero(R.B))                 # the authors' code drops zero vectors first
        ours = tuple(tuple(i for i in P if i in Z) for P, Z in zip(r.pair, nz))
        if done:
            ok = (tuple(X), tuple(Y)) == ours and (h == full_halves or not X)   # an empty side ends the authors' loop early
            ref_s, rat = f"{cr:.3g}", f"{cr / co:,.0f}x"
            summary.setdefault(work, ([], []))[0].append(cr / co)
        else:
            ok = ref_deleted(R, X, Y) == {v for v, (hp, _) in r.removed.items() if hp < h}
            ref_s, rat = f">= {cr:.3g} (first {h} of {full_halves} half-passes)", f">= {cr / co:,.0f}x"
            summary.setdefault(work, ([], []))[1].append((cr / co, h, full_halves))
        row = (f"| {kind} | {d} | {A.shape[1]} x {B.shape[1]} | {eps} | {full_halves} | {cg:.3g} | {co:.3g} | {co / cg:.2f} | {cpy / cg:.2f} | "
               f"{ref_s} | {rat} | {tr / to:,.0f}x | {'identical' if ok else 'DIFFERENT'} |")
        print(row, flush=True); rows.append(row)
    return rows

def summary_lines(summary, title):
    "Ratios per workload: the range over rows where the reference ran in full, and the lower bounds apart."
    out = [f"**{title}** (reference CPU time / ours):"]
    for work, (full, low) in summary.items():
        parts = [f"{ratio_range(full)} ({len(full)} row{'s' * (len(full) != 1)}, reference in full)"] if full else []
        parts += [f">= {r:,.0f}x over the first {h} of {n} half-passes (lower bound)" for r, h, n in low]
        out.append(f"- {work}: " + '; '.join(parts))
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='smaller grid (a few minutes)')
    ap.add_argument('--device', default='cpu', help="device for netsim.match ('cpu', 'cuda', 'auto')")
    ap.add_argument('--ref', choices=['numpy', 'torch'], default='numpy', help="reference form: the authors' numpy code (default) or torch lstsq")
    ap.add_argument('--ref-cap', type=float, default=None, help='run the reference in full when it takes under this many seconds (default 600; --quick 20)')
    ap.add_argument('--ref-partial', type=float, default=None, help='seconds a reference that cannot finish under the cap runs for a lower bound (default 120; --quick 5)')
    ap.add_argument('--no-write', action='store_true', help='do not write benchmarks/RESULTS.md')
    ap.add_argument('--threads', type=int, default=1, help='torch and BLAS CPU threads (1: stable timings on a shared machine)')
    ap.add_argument('--only', choices=['maxmatch', 'trained', 'minmatch', 'vmin'], default=None, help='run only one part')
    a = ap.parse_args()
    a.ref_cap = a.ref_cap or (20.0 if a.quick else 600.0)
    a.ref_partial = a.ref_partial or (5.0 if a.quick else 120.0)
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
    ref = REF_NAMES[a.ref]
    lines = [f"netsim.match on {dev} (float64) vs the reference, {ref}; torch and BLAS CPU threads = {a.threads}, {os_load()}. "
             "Times are CPU seconds of this process (steadier than wall time on a shared machine; 'wall' = the ratio in wall "
             "time). 'gram' = one product [A B]^T [A B] in float64 on the same device, the faster of torch's matmul and "
             "numpy's (which calls syrk: half the flops); 'ours/gram' should be <= 3. 'trained': the ReLU layers 1-3 of two "
             "MLP-4s (64 units, and 500 where named) trained on 6,000 Fashion-MNIST images (seeds 0, 1), on all 10,000 test "
             "images: the paper's use. 'few': a shared subspace plus independent columns (a few passes); 'cascade': one "
             "deletion per half-pass, the reference's worst case.",
             f"The reference runs in full where it finishes within {a.ref_cap:.0f} s; a row marked '>=' ran only its first "
             f"half-passes ({a.ref_partial:.0f} s) and its ratio is a lower bound, not an extrapolation; its partial result "
             "is checked against ours (the same neurons deleted in those half-passes). 'identical' = the same match apart from "
             "all-zero columns (dead ReLUs), which the authors' code drops before it starts and netsim keeps (a zero vector lies "
             "in every span).", "",
             "| kind | d | n x m | eps | half-passes | gram CPU s | ours CPU s | ours/gram | Python half-passes: ours/gram | reference CPU s | ref/ours | ref/ours wall | check |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print(lines[0]); print(lines[1])
    summary = {}
    cases = []
    if a.only in (None, 'trained'):
        try:
            for w in ((0.128,) if a.quick else (0.128, 1.0)):
                for L, (A, B) in enumerate(real_layers(d=10_000, width=w)):
                    cases.append(('maximum match, trained layers (the paper\'s use)', f'trained layer {L + 1}', A.shape[0], A.shape[1], A, B, 0.3))
        except (FileNotFoundError, OSError, ValueError) as e: print('no trained rows:', e)
    if a.only in (None, 'maxmatch'):
        for kind, work in (('few', 'maximum match, few passes (synthetic)'), ('cascade', 'maximum match, cascades (synthetic)')):
            for d in ds:
                for n in ns: cases.append((work, kind, d, n, *make_input(kind, d, n)))
    lines += maxmatch_rows(cases, dev, a, summary)
    if summary: lines += [""] + summary_lines(summary, 'Ratios per workload')
    # one v-minimal match (Algorithm 2) at 64 neurons x 2,000 samples
    mm = [f"One `min_match` (Algorithm 2, fixed order X then Y), n = m = 64, d = 2,000 (synthetic inputs, and 'real': the 64-unit ReLU layers of two MLP-4s trained on 6,000 Fashion-MNIST images, seeds 0 and 1, on 2,000 test images), ours on {dev} vs the reference, "
          f"{ref}; torch and BLAS CPU threads = {a.threads}, {os_load()}; best of 5 (ours) / 2 (reference; 1 where one run takes over 10 s) "
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
          "(the reference has no such saving: every half-pass solves afresh). Every reference here runs in full.", "",
          "| kind | v | eps | result size | trials (one-at-a-time) | gram s | ours wall s | ours CPU s | reference wall s | reference CPU s | ref/ours wall | ref/ours CPU | ref/gram | ours, Matcher reused, CPU s | ref/reused CPU | paper form CPU s | paper form/ours CPU | Python half-passes CPU s | check |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cases = []
    if a.only in (None, 'minmatch'):
        print(mm[0])
        cases = [(kind, *make_input(kind, 2000, 64, seed=1), ('a', 0)) for kind in ('few', 'blocks', 'pairs', 'chain')]
        try:
            layers = real_layers()
            for L, eps in ((0, 0.3), (1, 0.3), (1, 0.5)):
                A, B = layers[L]
                X = max_match(A, B, eps).pair[0]
                if X: cases.append((f'real layer {L + 1}', A, B, eps, ('a', X[0])))
        except (FileNotFoundError, OSError, ValueError) as e: print('no real-activation rows:', e)
    cold, reused = [], []
    for kind, A, B, eps, v in cases:
        Ad, Bd = A.to(dev), B.to(dev)
        min_match(Ad, Bd, eps, v)                                    # warm-up (first-call imports, BLAS controller)
        to, co, r = cputime(lambda: min_match(Ad, Bd, eps, v), reps=5)
        Mt = Matcher(Ad, Bd); min_match(Mt, None, eps, v)
        _, cw, rw = cputime(lambda: min_match(Mt, None, eps, v), reps=5)
        cpy = python_half_passes(lambda: cputime(lambda: min_match(Ad, Bd, eps, v), reps=3)[1])
        tg = gram_time(torch.cat([Ad, Bd], 1), reps=5)
        nt, ns_ = count_trials(Ad, Bd, eps, v)
        R = Ref(A, B, a.ref)
        tr, cr, (X, Y) = cputime(lambda: ref_min_match_code(R, eps, v), reps=2, max_s=10)
        tp, cp, (X2, Y2) = cputime(lambda: ref_min_match(R, eps, v), reps=2, max_s=10)
        ok = (tuple(X), tuple(Y)) == r.pair == (tuple(X2), tuple(Y2)) == rw.pair
        cold.append(cr / co); reused.append(cr / cw)
        row = (f"| {kind} | {v} | {eps} | {r.size} | {nt} ({ns_}) | {tg:.2g} | {to:.3g} | {co:.3g} | {tr:.3g} | {cr:.3g} | {tr / to:,.0f}x | "
               f"{cr / co:,.0f}x | {tr / tg:,.0f}x | {cw:.3g} | {cr / cw:,.0f}x | {cp:.3g} | {cp / co:,.0f}x | {cpy:.3g} | {'identical' if ok else 'DIFFERENT'} |")
        print(row, flush=True); mm.append(row)
    if cold:
        mm += ["", f"**Ratios per workload** (reference CPU time / ours, reference in full): one v-minimal match, cold (Gram "
               f"product included): {ratio_range(cold)} ({len(cold)} rows); the same on a reused `Matcher`: {ratio_range(reused)}."]
        print('\n'.join(mm[-2:]))
    if summary: print('\n'.join(summary_lines(summary, 'Ratios per workload')))
    if not a.no_write:
        from _results import write_section
        sfx = ('' if dev.type == 'cpu' else f' ({dev.type})') + (' --quick' if a.quick else '') + ('' if a.ref == 'numpy' else ' --ref torch')
        if a.only is None: write_section('match' + sfx, '\n'.join(lines))
        elif a.only in ('maxmatch', 'trained'): write_section(f'match {a.only}' + sfx, '\n'.join(lines))
        if a.only in (None, 'minmatch'): write_section('match min_match' + sfx, '\n'.join(mm))

if __name__ == '__main__': main()
