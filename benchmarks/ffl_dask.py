"""FFL features of a stored zoo: one process (`zoo_features(zoo, method)`) vs a Dask `LocalCluster`
(`zoo_features(zoo, method, client=...)`), side by side in one run, on the same zoo.

* `one process, W threads` - `alignment_features(zoo.stack(), method)` in this process, torch on all W cores.
* `one process, 1 thread`  - the same with one torch thread.
* `dask`                   - groups of models as tasks on W single-threaded worker processes (`netsim.ffl.zoo_features`),
                             each reading its models from the store; the cluster is started once (start-up reported
                             apart) and reused.

The zoo is the default sweep's (digits, 45 pairs x 22 MLP-4s = 990 models, width 0.1, 4 epochs; trained once into
`--zoo`, reused when there). The columns alternate and the best of `--reps` runs of each is kept, so load from other
processes hits them alike. Every run's features are checked equal to the first one-process run's.

Run from the repo root:  .venv/bin/python benchmarks/ffl_dask.py [--quick]
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import netsim                           # before torch: its OpenMP wait setting must be in place when torch starts
import torch
sys.path.insert(0, str(Path(__file__).parent))
from distributed import Client
from netsim.zoo import train_zoo
from netsim.zoo.cluster import local_cluster
from netsim.ffl import zoo_features

ZOO = dict(dataset='digits', arch='mlp4', scheme='pairs', k=2, n_classes=None, examples_per_class=100,
           models_per_class=22, epochs=4, width=0.1)

def same(a, b): return all(torch.equal(x, y) for (_, _, x), (_, _, y) in zip(a, b))

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true', help='4 models per class (180 models), one run each')
    p.add_argument('--zoo', default=None, help='where the zoo is kept (default: a folder under the temp dir)')
    p.add_argument('--reps', type=int, default=2)
    a = p.parse_args()
    kw = dict(ZOO, models_per_class=4) if a.quick else ZOO
    reps = 1 if a.quick else a.reps
    out = Path(a.zoo or Path(tempfile.gettempdir())/f"netsim-bench-ffl-zoo-{kw['models_per_class']}")
    t = time.perf_counter(); z = train_zoo(out, device='cpu', progress=True, **kw); print(z, f"({time.perf_counter() - t:.0f} s)")
    W = os.cpu_count()
    t = time.perf_counter(); cluster = local_cluster(W); client = Client(cluster); startup = time.perf_counter() - t
    load0 = os.getloadavg()[0]
    rows = []
    try:
        for method in ('chain', 'unaligned', 'sort', 'match'):
            best, ref = {}, None
            for _ in range(reps):
                for how in ('W threads', '1 thread', 'dask'):
                    torch.set_num_threads(1 if how == '1 thread' else W)
                    t = time.perf_counter()
                    f = zoo_features(z, method, client=client) if how == 'dask' else zoo_features(z, method)
                    s = time.perf_counter() - t
                    ref = ref or f
                    assert same(f, ref), (method, how)
                    best[how] = min(best.get(how, float('inf')), s)
            torch.set_num_threads(W)
            rows.append((method, len(z), best['W threads'], best['1 thread'], best['dask'], best['W threads'] / best['dask']))
            print(rows[-1], flush=True)
    finally:
        client.close(); cluster.close()
    lines = [f"Features of every model of a stored zoo ({len(z)} digits MLP-4s, width 0.1: the default sweep's zoo), "
             f"best of {reps} alternating runs, load average {load0:.1f} at the start. 'one process' = `zoo_features(zoo, method)` "
             f"in this process (weights read from the store, then `alignment_features`); 'dask' = the same with `client=`: "
             f"groups of models as tasks on {W} single-threaded worker processes that read their models from the store "
             f"(about 4 tasks per worker); LocalCluster start-up (once, not in the columns): {startup:.1f} s. Features "
             "identical in every run.", '',
             f'| method | models | one process, {W} threads s | one process, 1 thread s | dask s | one process ({W} threads) / dask |',
             '|---|---|---|---|---|---|']
    lines += [f"| {m} | {n} | {w:.2f} | {o:.2f} | {d:.2f} | {r:.2f} |" for m, n, w, o, d, r in rows]
    print('\n'.join(lines))
    if not a.quick:
        from _results import write_section
        write_section('FFL features on Dask vs one process (CPU)', '\n'.join(lines))

if __name__ == '__main__': main()
