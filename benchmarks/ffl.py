"""FFL training + evaluation on a 5,000-model zoo's chain features: netsim's kernel-form learner vs the naive
batch-size-1 `nn.Linear` (the paper's recipe), side by side in one run.

Features are synthetic but of the real size: MLP-4 chain features on 28x28 inputs (upper triangle of a 784x784 Gram,
F = 307,720; `--n0 3072` gives the 32x32x3 size, F = 4,720,128), for 50 solution classes x 100 models, made block by
block from random chain factors (so the features never exist in memory at once). Each learner runs in its own
subprocess, so its peak memory is its own (CPU: max RSS; CUDA: `torch.cuda.max_memory_allocated`).

The naive learner needs the (M, F) feature matrix in memory and 30,000 SGD steps (3,000 training models x 10 epochs);
it is timed on `--naive-steps` steps over a subset of models and extrapolated, and its memory is reported as measured
on the subset plus the (M, F) fp32 matrix it would have to hold.

Run:  .venv/bin/python benchmarks/ffl.py [--quick] [--device cuda] [--n0 3072]
"""
import argparse, math, multiprocessing as mp, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))

def _peak(dev):
    import torch
    if dev.startswith('cuda'): return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10     # KiB -> MiB (Linux)

def _factors(a, seed=0):
    "Chain factors (M, n0, r) with a class structure: per-class base plus per-model noise."
    import torch
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(a.classes).repeat_interleave(a.per_class)
    base = torch.randn(a.classes, a.n0, a.rank, generator=g)
    return base[y] + 2.0*torch.randn(len(y), a.n0, a.rank, generator=g), y.numpy()

def run_ours(a, q):
    import torch
    from netsim.ffl import GramSource, fit_ffl, classification_split, evaluate_classification
    dev = a.device
    C, y = _factors(a); C = C.to(dev)
    base = _peak(dev)
    if dev.startswith('cuda'): torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    tr, te = classification_split(y, 0.6, 0)
    r = fit_ffl(GramSource(C), y, tr, epochs=10, batch_size=a.batch_size, device=dev, cols=a.cols)
    acc = evaluate_classification(r, y, te)['top1']
    if dev.startswith('cuda'): torch.cuda.synchronize()
    q.put(dict(time=time.perf_counter()-t, peak=_peak(dev), base=base, acc=acc))

def run_naive(a, q):
    "Batch-size-1 SGD on nn.Linear(F, N) (the paper's recipe), on the features of a subset of models; timed per step."
    import torch, torch.nn.functional as F
    from netsim.ffl import GramSource
    dev = a.device
    C, y = _factors(a)
    idx = torch.arange(0, len(y), max(1, len(y)//a.naive_models))[:a.naive_models]
    X = torch.cat(list(GramSource(C[idx]).blocks(a.cols or 65536)), 1).to(dev)            # the subset's features
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-8)
    yt = torch.as_tensor(y[idx.numpy()], device=dev)
    lin = torch.nn.Linear(X.shape[1], a.classes).to(dev)
    opt = torch.optim.SGD(lin.parameters(), lr=1e-3, momentum=0.9)
    def step(i):
        j = i % len(idx); opt.zero_grad(); F.cross_entropy(lin(X[j:j+1]), yt[j:j+1]).backward(); opt.step()
    for i in range(3): step(i)                                                   # warm-up
    if dev.startswith('cuda'): torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(a.naive_steps): step(i)
    if dev.startswith('cuda'): torch.cuda.synchronize()
    per_step = (time.perf_counter() - t) / a.naive_steps
    t = time.perf_counter()
    with torch.no_grad(): lin(X)
    per_eval = (time.perf_counter() - t) / len(idx)
    q.put(dict(per_step=per_step, per_eval=per_eval, peak=_peak(dev), subset=len(idx), F=X.shape[1]))

def _in_child(fn, a):
    ctx = mp.get_context('spawn'); q = ctx.Queue()
    p = ctx.Process(target=fn, args=(a, q)); p.start(); out = q.get(); p.join()
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='10 classes x 50 models (500) instead of 50 x 100 (5,000)')
    ap.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    ap.add_argument('--n0', type=int, default=784, help='input size n0: 784 (28x28) or 3072 (32x32x3)')
    ap.add_argument('--rank', type=int, default=32, help='rank of the synthetic chain factors')
    ap.add_argument('--cols', type=int, default=None, help='feature columns per block (default: about 256 MB)')
    ap.add_argument('--batch-size', type=int, default=16, help='our mini-batch size')
    ap.add_argument('--naive-steps', type=int, default=60, help='batch-size-1 steps timed for the naive learner')
    ap.add_argument('--naive-models', type=int, default=64, help='models whose features the naive learner holds')
    ap.add_argument('--no-write', action='store_true', help='print only; do not update benchmarks/RESULTS.md')
    a = ap.parse_args()
    a.classes, a.per_class = (10, 50) if a.quick else (50, 100)
    M, Fdim = a.classes*a.per_class, a.n0*(a.n0+1)//2
    n_train, steps = int(0.6*M), int(0.6*M)*10
    ours = _in_child(run_ours, a)
    naive = _in_child(run_naive, a)
    naive_time = naive['per_step']*steps + naive['per_eval']*M
    naive_mem = naive['peak'] + M*Fdim*4/2**20 - naive['subset']*Fdim*4/2**20
    lines = [f"Zoo: {M:,} models ({a.classes} classes x {a.per_class}), chain features F = {Fdim:,} (n0 = {a.n0}), "
             f"classification protocol (60/40 models per class), device {a.device}.",
             "", "| learner | time (s) | peak memory (MiB) | notes |", "|---|---|---|---|",
             f"| netsim `fit_ffl` (kernel form, batch {a.batch_size}, 10 epochs) | {ours['time']:.1f} | {ours['peak']:.0f} | "
             f"measured; top-1 {100*ours['acc']:.1f}%; includes the Gram pass over all features |",
             f"| naive `nn.Linear`, batch size 1, 10 epochs ({steps:,} steps) | {naive_time:.1f} | {naive_mem:.0f} | "
             f"EXTRAPOLATED from {a.naive_steps} steps on {naive['subset']} models ({1e3*naive['per_step']:.2f} ms/step); "
             f"memory = measured {naive['peak']:.0f} MiB + the full (M, F) fp32 features it must hold |",
             "", f"**Speed-up: {naive_time/ours['time']:.1f}x; memory ratio (naive/ours): {naive_mem/ours['peak']:.1f}x.** "
             f"(Process baseline before training, ours: {ours['base']:.0f} MiB.)"]
    body = '\n'.join(lines); print(body)
    if not a.no_write:
        from _results import write_section
        write_section(f"ffl ({'quick' if a.quick else 'full'}, {a.device}, n0={a.n0})", body)
