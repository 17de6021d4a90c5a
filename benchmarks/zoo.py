"""Zoo training throughput: netsim's trainer vs a plain per-model PyTorch loop, side by side in one run.

For M in {1, 16, 64, 256} models of MLP-4 (784 inputs), PlainNet-5 (1x28x28) and GRU-2 (one-hot words, 58 letters),
each model with its own seed, its own data subset and its own shuffling, trained for the same epochs on the same data:

* `loop`   - the plain way: for each model, make it, SGD, iterate over its batches, evaluate on its test set.
* `ours`   - `netsim.zoo.jobs.train_jobs(engine='auto')` (what `train_zoo` uses; the engine it picks is shown).
* `vmap`   - `train_jobs(engine='vmap')` (the stacked engine), shown for reference whatever 'auto' picks.

netsim is imported before torch, so its OpenMP setting applies (`netsim/__init__.py`: passive waiting after a spin of
about 10 us): with OpenMP's default long spin, every multi-threaded column (the loop, the peak, `ours` with
a single model) collapses under load (measured 40x at load average 10).

GFLOP/s counts the training FLOPs (forward + backward, `torch.utils.flop_counter`) plus the test forward passes, and is
given as a fraction of this machine's float32 matmul peak (torch, one thread per core), sampled before each row and
after each pair of its runs: the best of those samples is the row's peak.

Run from the repo root:  .venv/bin/python benchmarks/zoo.py [--quick] [--device cuda]
"""
import argparse, math, sys, time
from pathlib import Path
import netsim                           # before torch: its OpenMP wait setting must be in place when torch starts
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from netsim.models import make_model, resolve_device
from netsim.zoo.train import Job, get_recipe, lr_at, make_optimizer, batch_slices
from netsim.zoo.jobs import train_jobs, pick_engine

def matmul_peak(device, n=1024, reps=None, rounds=5):
    "Best float32 GFLOP/s of an n x n matmul on `device` (best of `rounds` rounds of `reps` products)."
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    reps = reps or (50 if device.type == 'cuda' else 8)
    best = 0.
    for _ in range(rounds):
        sync(device); t = time.perf_counter()
        for _ in range(reps): a @ b
        sync(device); best = max(best, 2*n**3*reps/(time.perf_counter()-t)/1e9)
    return best

def _one_thread_peak(q):
    torch.set_num_threads(1); q.put(matmul_peak(torch.device('cpu')))

def process_peak(n_proc):
    "Summed float32 GFLOP/s of `n_proc` single-threaded processes doing 1024^2 matmuls at the same time (what workers can reach)."
    import multiprocessing as mp
    ctx = mp.get_context('fork'); q = ctx.Queue()
    ps = [ctx.Process(target=_one_thread_peak, args=(q,)) for _ in range(n_proc)]
    for p in ps: p.start()
    out = [q.get() for _ in ps]
    for p in ps: p.join()
    return sum(out)

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

def make_data(arch, M, n, n_test, n_subsets=4, seed=0):
    "Jobs for M models over `n_subsets` distinct random data subsets (2 classes, learnable)."
    g = torch.Generator().manual_seed(seed)
    subsets = []
    for s in range(n_subsets):
        if arch == 'gru2':
            T, I = 12, 58
            L = torch.randint(3, T+1, (n+n_test,), generator=g)
            letters = torch.randint(0, I, (n+n_test, T), generator=g)
            x = F.one_hot(letters, I).float() * (torch.arange(T)[None, :] < L[:, None])[..., None]
            y = (letters[:, 0] < I//2).long()
        else:
            shape = (784,) if arch == 'mlp4' else (1, 28, 28)
            y = torch.randint(0, 2, (n+n_test,), generator=g)
            proto = torch.randn(2, *shape, generator=g)
            x = proto[y] + 2*torch.randn(n+n_test, *shape, generator=g)
        subsets.append((x[:n], y[:n], x[n:], y[n:]))
    return [Job(1000+m, 2000+m, *subsets[m % n_subsets]) for m in range(M)]

IN_SHAPE = {'mlp4': (784,), 'plain5': (1, 28, 28), 'gru2': (12, 58)}

def plain_loop(arch, jobs, epochs, bs, device):
    "The reference: a plain per-model PyTorch training loop (SGD recipe), with a final test evaluation."
    r = get_recipe('sgd')
    for j in jobs:
        model = make_model(arch, IN_SHAPE[arch], 2, seed=j.seed).to(device)
        opt = make_optimizer(model.parameters(), r)
        g = torch.Generator().manual_seed(j.shuffle_seed)
        xtr, ytr = j.xtr.to(device), j.ytr.to(device)
        for e in range(epochs):
            for pg in opt.param_groups: pg['lr'] = lr_at(r, e, epochs)
            perm = torch.randperm(len(xtr), generator=g).to(device)
            for s in range(0, len(xtr), bs):
                i = perm[s:s+bs]
                loss = F.cross_entropy(model(xtr[i]), ytr[i])
                opt.zero_grad(); loss.backward(); opt.step()
        model.eval()
        with torch.no_grad(): (model(j.xte.to(device)).argmax(-1) == j.yte.to(device)).float().mean().item()
    sync(device)

def flops_per_model(arch, job, epochs, bs):
    "Training FLOPs (fwd+bwd of every batch) + test forward FLOPs of one model."
    model = make_model(arch, IN_SHAPE[arch], 2, seed=0)
    total = 0
    sizes = [t-s for s,t in batch_slices(len(job.xtr), bs)]
    for b in sorted(set(sizes)):
        with FlopCounterMode(display=False) as fc:
            F.cross_entropy(model(job.xtr[:b]), job.ytr[:b]).backward()
        total += fc.get_total_flops() * sizes.count(b) * epochs
    with FlopCounterMode(display=False) as fc, torch.no_grad(): model(job.xte)
    return total + fc.get_total_flops()

def timed(f, reps=1):
    "Best wall time of `reps` calls of f."
    best = float('inf')
    for _ in range(reps):
        t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
    return best

def timed_pair(f, g, reps=1, between=None):
    "Best wall times of `reps` calls each of f and g, interleaved (f, g, f, g, ...): a slow spell of the machine hits both; `between()` after each pair."
    bf = bg = float('inf')
    for _ in range(reps):
        bf, bg = min(bf, timed(f)), min(bg, timed(g))
        if between: between()
    return bf, bg

def peak_now(device, threads):
    "A quick sample of the matmul peak on `threads` torch threads (2 rounds of `matmul_peak`), restoring the caller's setting."
    nt = torch.get_num_threads()
    if threads != nt: torch.set_num_threads(threads)
    try: return matmul_peak(device, rounds=2)
    finally:
        if threads != nt: torch.set_num_threads(nt)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='M in {1, 16, 64}, fewer examples (about 2 minutes on 2 cores)')
    ap.add_argument('--device', default='cpu', help='cpu, cuda or auto')
    ap.add_argument('--archs', default='mlp4,plain5,gru2')
    ap.add_argument('--Ms', default=None, help='comma-separated model counts (default 1,16,64,256)')
    ap.add_argument('--loop-threads', type=int, default=None, help="torch threads of the plain loop (default: torch's default)")
    ap.add_argument('--no-write', action='store_true', help='do not update benchmarks/RESULTS.md')
    ap.add_argument('--no-vmap', action='store_true', help="skip the vmap column where 'auto' picks another engine")
    ap.add_argument('--scale', choices=['zoo', 'small'], default='zoo',
                    help="steps per model: 'zoo' (8-32 batches; a real zoo trains hundreds) or 'small' (2-8: per-model set-up weighs more)")
    a = ap.parse_args()
    dev = resolve_device(a.device)
    import os
    nt = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count())       # the machine's peak: all cores
    peak = matmul_peak(dev)
    ppeak = process_peak(os.cpu_count()) if dev.type == 'cpu' else float('nan')
    torch.set_num_threads(a.loop_threads or nt)
    Ms = [int(m) for m in a.Ms.split(',')] if a.Ms else ([1, 16, 64] if a.quick else [1, 16, 64, 256])
    gpu = dev.type == 'cuda'
    # examples per model and epochs: enough batches that init and evaluation are not everything
    scale = ({'mlp4': (2048, 2), 'plain5': (512, 2), 'gru2': (1024, 2)} if a.scale == 'zoo' else
             {'mlp4': (512, 2), 'plain5': (256, 1), 'gru2': (256, 1)}) if not gpu else \
            {'mlp4': (4096, 4), 'plain5': (2048, 4), 'gru2': (2048, 4)}   # GPU: closer to a real zoo's steps per model
    if a.quick: scale = {k: (n//2, e) for k,(n,e) in scale.items()}
    bs, n_test = 128, 64
    print(f"device {dev}, torch threads {torch.get_num_threads()}, float32 matmul peak {peak:.0f} GFLOP/s, load {os.getloadavg()}")
    lines = [f"float32 matmul peak (1024^2, torch, {os.cpu_count()} threads): **{peak:.0f} GFLOP/s** on {dev}; "
             + (f"{os.cpu_count()} single-threaded processes at once: {ppeak:.0f} GFLOP/s (what the workers could reach; "
                f"% of that = % of peak x {peak/ppeak:.2f}); " if dev.type == 'cpu' else '') +
             f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
             f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset (active)')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}. "
             f"`loop` runs with {torch.get_num_threads()} torch threads; `ours` on a CPU (`netsim.zoo.jobs.train_jobs`, workers='auto') "
             f"trains the models single-threaded in up to {os.cpu_count()} forked worker processes, or, with a single model (stack), "
             f"in this process with every core as a torch thread. `vmap` stacks are capped by the memory budget "
             f"(`netsim.zoo.train.memory_budget`: half the available RAM over all workers). `load` = 1-minute load average after the row.", "",
             "| arch | M | examples x epochs / model | loop models/s | ours models/s | ours/loop | ours engine | vmap models/s | ours GFLOP/s | peak during row GFLOP/s | ours % of peak | loop % of peak | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print(lines[2])
    for arch in a.archs.split(','):
        n, epochs = scale[arch]
        fl = flops_per_model(arch, make_data(arch, 1, n, n_test)[0], epochs, bs)
        # warm up both paths once (allocators, lazy init)
        w = make_data(arch, 2, n, n_test)
        plain_loop(arch, w[:1], 1, bs, dev); train_jobs(arch, IN_SHAPE[arch], 2, w, 1, 'sgd', bs, 1.0, dev, 'vmap', workers=1)
        for M in Ms:
            jobs = make_data(arch, M, n, n_test)
            reps = max(1, 16 // M)      # small M: best of several runs (one model takes well under a second)
            eng = pick_engine(arch, dev)
            samples = [peak_now(dev, os.cpu_count() if dev.type == 'cpu' else torch.get_num_threads())]
            t_loop, t_ours = timed_pair(lambda: plain_loop(arch, jobs, epochs, bs, dev),
                                        lambda: (train_jobs(arch, IN_SHAPE[arch], 2, jobs, epochs, 'sgd', bs, 1.0, dev, 'auto'), sync(dev)), reps,
                                        between=lambda: samples.append(peak_now(dev, os.cpu_count() if dev.type == 'cpu' else torch.get_num_threads())))
            rpeak = max(samples)      # the best the machine did during this row (its speed drifts by several % within minutes)
            t_vmap = t_ours if eng == 'vmap' else float('nan') if a.no_vmap else timed(lambda: (train_jobs(arch, IN_SHAPE[arch], 2, jobs, epochs, 'sgd', bs, 1.0, dev, 'vmap'), sync(dev)), reps)
            gf_ours, gf_loop = fl*M/t_ours/1e9, fl*M/t_loop/1e9
            row = (f"| {arch} | {M} | {n} x {epochs} | {M/t_loop:.1f} | {M/t_ours:.1f} | {t_loop/t_ours:.2f}x | {eng} | "
                   f"{M/t_vmap:.1f} | {gf_ours:.1f} | {rpeak:.0f} | {100*gf_ours/rpeak:.0f}% | {100*gf_loop/rpeak:.0f}% | {os.getloadavg()[0]:.1f} |")
            print(row, flush=True); lines.append(row)
    lines += ["", f"Training FLOPs per model counted with `torch.utils.flop_counter` (forward+backward of every batch, plus the "
              f"test forward pass on {n_test} examples); batch {bs}; SGD recipe; random 2-class data, one data subset per 4 models; "
              "M < 16: best of 16 // M runs of each column, the loop's and ours interleaved. "
              "'peak during row' = the best of the matmul-peak samples (2 rounds of 8 products of 1024^2 on every core) taken "
              "before the row and after each pair of its runs: the machine's speed drifts by several percent within minutes "
              "(whole-run peaks of 168-188 GFLOP/s were measured on 2026-11-23), so each row's % of peak is against the best "
              "the machine did while that row ran. "
              "`ours` = `netsim.zoo.jobs.train_jobs(engine='auto')`; `loop` = a plain per-model PyTorch loop "
              "(see `plain_loop` in `benchmarks/zoo.py`). Machine shared with other jobs: compare ratios within a row."]
    lines.append(f"Command: `.venv/bin/python benchmarks/zoo.py {' '.join(sys.argv[1:])}`")
    if not a.no_write:
        from _results import write_section
        full = a.Ms is None and a.archs == 'mlp4,plain5,gru2'
        kind = 'GPU' if gpu else 'CPU, quick' if a.quick else 'CPU, full' if full else 'CPU, partial'
        if not gpu and a.scale == 'small': kind += ', small scale'
        write_section(f"zoo training throughput ({kind})", '\n'.join(lines))

if __name__ == '__main__': main()
