"""Chain features for a zoo-sized stack: netsim.chain (batched over models, chunked) vs a straightforward per-model loop.

Each method runs in its own subprocess on the same weights (same seed); peak memory is the process's max RSS
after the call minus its RSS just before it (CPU) or torch.cuda.max_memory_allocated (GPU). Run from the repo root:

    .venv/bin/python benchmarks/chain.py            # full: 256 models per case
    .venv/bin/python benchmarks/chain.py --quick    # a couple of minutes
    .venv/bin/python benchmarks/chain.py --device cuda
"""
import argparse, json, math, os, resource, subprocess, sys, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).parent))

# case -> (architecture, input shape, classes, chains or projection, description)
CASES = {
    'mlp4':     dict(arch='mlp4',   shape=(1, 28, 28), n_out=10, chains=[1, 2, 3, 4],
                     what='MLP-4 784-500-500-500-10, chains 1-4 (Grams 784x784, upper triangle)'),
    'plain5':   dict(arch='plain5', shape=(3, 32, 32), n_out=50, chains=[1, 2, 3],
                     what='PlainNet-5 on 3x32x32, chains 1-3 (D = 27, 243, 2187)'),
    'plain5c4': dict(arch='plain5', shape=(1, 28, 28), n_out=10, project=4, K=10,
                     what='PlainNet-5 on 1x28x28, chain 4 (D = 6561) projected by a dense theta (10 x 21.5M)'),
    'plain5c4f': dict(arch='plain5', shape=(3, 32, 32), n_out=50, project=4, K=50, rank=4,
                      what='PlainNet-5 on 3x32x32, chain 4 (D = 19683) projected by a rank-4 factored theta, 50 classes'),
}


def make_stack(case, n, seed=0):
    "A ModelStack of `n` random models (weights drawn straight into stacked tensors: no transient copies)."
    from netsim.models import make_model, ModelStack
    c = CASES[case]
    t = make_model(c['arch'], c['shape'], c['n_out'], seed=0)
    g = torch.Generator().manual_seed(seed)
    params = {}
    for k, v in t.state_dict().items():
        if not v.is_floating_point(): params[k] = v.expand(n, *v.shape).clone(); continue
        x = torch.randn(n, *v.shape, generator=g)      # in place from here: no transient copy to inflate max RSS
        params[k] = x.abs_().add_(0.5) if 'running_var' in k else x.div_(math.sqrt(max(1, v[0].numel() if v.dim() > 1 else 1)))
    return ModelStack(t, params)


# ---------------------------------------------------------------- the straightforward per-model loop (reference)
_TRIU = {}
def _triu(D, device):
    "Upper-triangle indices of a D x D matrix, computed once per size (as any sensible loop would)."
    if (D, str(device)) not in _TRIU: _TRIU[D, str(device)] = torch.triu_indices(D, D, device=device)
    return _TRIU[D, str(device)]


def _mlp_loop(P, n, chains, dev):
    "Per model: W_l in paper orientation, chain 1 raw, chains >= 2 from row-normalised weights, G = C C^T, upper triangle."
    ks = sorted((k for k in P if k.endswith('.weight')), key=lambda k: int(k.split('.')[1]))
    out = [[] for _ in chains]
    for i in range(n):
        Ws, C = [P[k][i].to(dev).T for k in ks], None
        for l in range(max(chains)):
            Nl = Ws[l] / Ws[l].norm(dim=1, keepdim=True).clamp_min(1e-12)
            C = Nl if C is None else C @ Nl
            if l + 1 in chains:
                G = Ws[0] @ Ws[0].T if l == 0 else C @ C.T
                r, c = _triu(G.shape[0], G.device)
                out[chains.index(l + 1)].append(G[r, c].cpu())
    return [torch.stack(o) for o in out]


def _conv_T(P, i, layers, upto, dev):
    "Per model: the tensor path-sum chains T_1..T_upto with explicit einsums (spec 5.3)."
    Ts, T = [], None
    for l in layers[:upto]:
        K = P[l][i].to(dev); K = K.reshape(K.shape[0], K.shape[1], -1)
        T = K.reshape(K.shape[0], -1) if T is None else torch.einsum('oct,ca->oat', K, T).reshape(K.shape[0], -1)
        Ts.append(T)
    return Ts


def _conv_loop(P, n, chains, layers, dev):
    out = [[] for _ in chains]
    for i in range(n):
        Ts = _conv_T(P, i, layers, max(chains), dev)
        for j, c in enumerate(chains):
            G = Ts[c - 1].T @ Ts[c - 1]
            r, cc = _triu(G.shape[0], G.device)
            out[j].append(G[r, cc].cpu())
    return [torch.stack(o) for o in out]


def _conv_layers(stack):
    return [k for k in stack.params if k.endswith('.weight') and stack.params[k].dim() == 5]


# ---------------------------------------------------------------- one measured run
def _rss():
    "Current resident set size in bytes."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def run_worker(case, method, n, device):
    from netsim.chain import chain_features, projected_chain, chain_info
    c = CASES[case]
    dev = torch.device(device)
    stack = make_stack(case, n)
    info = chain_info(stack.template)
    theta = None
    if 'project' in c:
        D = info[c['project'] - 1].D
        g = torch.Generator().manual_seed(1)
        if 'rank' in c: theta = tuple(torch.randn(c['K'], D, c['rank'], generator=g).div_(D).to(dev) for _ in range(2))
        else: theta = torch.randn(c['K'], info[c['project'] - 1].size, generator=g).div_(D).to(dev)

    def ours():
        if theta is not None: return [projected_chain(stack, c['project'], theta, max_mem=2**28)]
        return chain_features(stack, c['chains'], device=dev, out_device='cpu')

    def loop():
        P = stack.params
        if theta is not None:
            if isinstance(theta, tuple): raise SystemExit('infeasible')
            layers, outs = _conv_layers(stack), []
            for i in range(n):
                T = _conv_T(P, i, layers, c['project'], dev)[-1]
                G = T.T @ T
                r, cc = _triu(G.shape[0], dev)
                outs.append(theta @ G[r, cc])
            return [torch.stack(outs)]
        if c['arch'] == 'mlp4': res = _mlp_loop(P, n, c['chains'], dev)
        else: res = _conv_loop(P, n, c['chains'], _conv_layers(stack), dev)
        return [r.cpu() for r in res]

    fn = {'ours': ours, 'loop': loop}[method]
    if dev.type == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    base = _rss()    # current RSS; setup above makes no transient copies, so max RSS so far is about this
    t0, c0 = time.perf_counter(), time.process_time()
    res = fn()
    if dev.type == 'cuda': torch.cuda.synchronize()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = (torch.cuda.max_memory_allocated() if dev.type == 'cuda'
            else max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base))
    # a checksum on a few entries so the parent can check both methods computed the same numbers
    check = [float(r[:4].double().abs().sum()) for r in res]
    out_bytes = sum(r.numel() * r.element_size() for r in res)
    print(json.dumps(dict(secs=secs, cpu=cpu, peak=peak, check=check, out_bytes=out_bytes)))


def spawn(case, method, n, device):
    cmd = [sys.executable, __file__, '--worker', f'{case}:{method}', '--n', str(n), '--device', device]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        if 'infeasible' in p.stderr + p.stdout: return None
        raise RuntimeError(f'{case}:{method} failed:\n{p.stderr[-3000:]}')
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='fewer models (runs in a couple of minutes)')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--n', type=int, default=None, help='models per stack (default 256, quick 32)')
    ap.add_argument('--cases', default=','.join(CASES), help='comma-separated cases')
    ap.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        case, method = a.worker.split(':'); return run_worker(case, method, a.n, a.device)
    n_default = 32 if a.quick else 256
    rows = []
    for case in a.cases.split(','):
        n = a.n or n_default
        if case == 'plain5c4': n = min(n, 8 if a.quick else 32)     # a 6561^2 Gram per model: keep the loop's run short
        if case == 'plain5c4f': n = min(n, 8 if a.quick else 64)    # ~4 GFLOP per model
        r_ours, r_loop = spawn(case, 'ours', n, a.device), spawn(case, 'loop', n, a.device)
        if r_loop is not None:
            ok = all(math.isclose(x, y, rel_tol=1e-3) for x, y in zip(r_ours['check'], r_loop['check']))
            if not ok: raise RuntimeError(f'{case}: methods disagree: {r_ours["check"]} vs {r_loop["check"]}')
        rows.append((case, n, r_ours, r_loop))
        lt = f"{r_loop['secs']:.2f} s, {r_loop['peak']/2**20:.0f} MiB" if r_loop else 'infeasible'
        print(f"{case:10s} M={n:4d}  ours {r_ours['secs']:.2f} s (cpu {r_ours['cpu']:.2f} s), {r_ours['peak']/2**20:.0f} MiB | loop {lt}"
              + (f" (cpu {r_loop['cpu']:.2f} s)" if r_loop else ''), flush=True)
    mem = 'torch.cuda.max_memory_allocated' if a.device.startswith('cuda') else 'max RSS after the call minus RSS before it, fresh subprocess per method'
    lines = [f"Device `{a.device}`; peak memory = {mem}; features float32. `ours` = `netsim.chain.chain_features` / "
             "`projected_chain` on a `ModelStack` (batched matmuls over models, chunked to ~256 MiB of Gram per chunk); "
             "`loop` = a straightforward per-model loop (each model's weights moved to the device, explicit einsums/matmuls, features stacked on the CPU at the end). Stacks live on the CPU; both methods move weights as needed and return features on the CPU. "
             "Both compute the same numbers (checked).\n",
             "Times are wall clock, with the process CPU time in brackets: on a shared machine wall times are noisy and the CPU-time ratio is the steadier measure.\n",
             "| case | models | output | ours: time (cpu) | loop: time (cpu) | time ratio loop/ours | cpu ratio loop/ours | ours: peak mem | loop: peak mem | mem ratio loop/ours |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for case, n, ro, rl in rows:
        out = f"{ro['out_bytes']/2**20:.0f} MiB"
        if rl: lines.append(f"| {CASES[case]['what']} | {n} | {out} | {ro['secs']:.2f} s ({ro['cpu']:.1f}) | {rl['secs']:.2f} s ({rl['cpu']:.1f}) | {rl['secs']/ro['secs']:.2f}x | {rl['cpu']/ro['cpu']:.2f}x | "
                            f"{ro['peak']/2**20:.0f} MiB | {rl['peak']/2**20:.0f} MiB | {rl['peak']/max(ro['peak'], 1):.2f}x |")
        else: lines.append(f"| {CASES[case]['what']} | {n} | {out} | {ro['secs']:.2f} s ({ro['cpu']:.1f}) | infeasible | - | - | {ro['peak']/2**20:.0f} MiB | "
                           "a dense theta is 72 GiB, one Gram 1.4 GiB | - |")
    lines.append(f"\nRun: `.venv/bin/python benchmarks/chain.py{' --quick' if a.quick else ''} --device {a.device}`.")
    body = '\n'.join(lines)
    print(body)
    from _results import write_section
    write_section(f"chain features ({a.device})", body)


if __name__ == '__main__':
    main()
