"""Zoo training on one machine: today's process pool (`train_zoo(workers='auto')`) vs a Dask `LocalCluster`
(`train_zoo(client=...)`), side by side in one run, on the same zoo, with the same threads (one per process).

* `pool`  - `train_zoo(workers='auto')`: the chunks one after another, each chunk's models spread over forked
            single-threaded worker processes (one per core), `netsim.zoo.jobs.train_jobs`.
* `dask`  - `train_zoo(client=Client(local_cluster()))`: one task per chunk on single-threaded worker processes
            (one per core), `netsim.zoo.cluster`. The cluster is started once (its start-up is reported apart) and
            reused, as a user training several zoos would.

Each zoo: MLP-4 and PlainNet-5 on digits (1x8x8, 40 models, 3 epochs), GRU-2 on words (16 models, 1 epoch), in chunks
of `--chunk` models (default 4: ten chunks per digits zoo, four for GRU-2, a multiple of the workers, so that neither
column waits on a last, lone chunk; 0: one chunk per worker, the pool's best case, as it forks its workers once per chunk).
The two columns alternate (pool, dask, pool, dask, ...) and the best of `--reps` runs of each is kept, so load from
other processes hits both alike. The per-chunk seconds of the Dask tasks feed the chapter's wall-time projection.

Run from the repo root:  .venv/bin/python benchmarks/zoo_dask.py [--quick]
"""
import argparse, os, shutil, sys, tempfile, time
from pathlib import Path
import netsim                           # before torch: its OpenMP wait setting must be in place when torch starts
import torch
sys.path.insert(0, str(Path(__file__).parent))
from distributed import Client
from netsim.zoo import train_zoo
from netsim.zoo.cluster import local_cluster, train_chunks
import netsim.zoo.cluster as ZD

ZOOS = {'MLP-4': dict(arch='mlp4', dataset='digits', models_per_class=8, epochs=3),          # 5 classes: 40 models
        'PlainNet-5': dict(arch='plain5', dataset='digits', models_per_class=8, epochs=3),
        'GRU-2': dict(arch='gru2', dataset='words', models_per_class=4, n_classes=4, epochs=1)}  # 16 models

def run(a):
    W = os.cpu_count()
    t = time.perf_counter(); cluster = local_cluster(W); client = Client(cluster); startup = time.perf_counter() - t
    chunk_s = {}
    orig = ZD.train_chunks
    def spy(*args, **kw):                    # keep the per-chunk seconds the tasks report
        res = orig(*args, **kw); chunk_s.setdefault(cur[0], []).extend(r['seconds'] for r in res.values() if r['trained']); return res
    ZD.train_chunks, cur = spy, [None]
    rows = []
    try:
        for name, z in ZOOS.items():
            cur[0] = name
            kw = dict(z, device='cpu', progress=False, scheme='disjoint', k=2)
            if a.quick: kw.update(models_per_class=2, epochs=1)
            n_models = kw['models_per_class'] * (kw.get('n_classes') or 5)
            kw['chunk'] = a.chunk or n_models // W           # 0: one chunk per worker
            best = {'pool': float('inf'), 'dask': float('inf')}; n = None
            for r in range(a.reps):
                for how in ('pool', 'dask'):
                    d = Path(tempfile.mkdtemp(dir=a.tmp))
                    t = time.perf_counter()
                    zz = train_zoo(d/'z', **kw, workers='auto') if how == 'pool' else train_zoo(d/'z', **kw, client=client)
                    best[how] = min(best[how], time.perf_counter() - t); n = len(zz); shutil.rmtree(d)
            cs = sorted(chunk_s[name])
            rows.append((name, n, kw['chunk'], n / best['pool'], n / best['dask'], best['dask'] / best['pool'],
                         cs[len(cs)//2] / kw['chunk']))
            print(rows[-1], flush=True)
    finally:
        ZD.train_chunks = orig; client.close(); cluster.close()
    return rows, startup, W

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--quick', action='store_true'); p.add_argument('--chunk', type=int, default=4, help='models per chunk (0: one chunk per worker)')
    p.add_argument('--reps', type=int, default=2); p.add_argument('--tmp', default=None)
    a = p.parse_args()
    if a.quick: a.reps = 1
    rows, startup, W = run(a)
    lines = [f"Same zoo, {W} single-threaded worker processes in both columns, best of {a.reps} alternating runs, "
             f"chunks of {a.chunk or 'models/workers'} models. LocalCluster start-up (once, not in the columns): {startup:.1f} s.", '',
             '| zoo | models | chunk | pool models/s | LocalCluster models/s | Dask / pool wall time | Dask s/model (median chunk) |',
             '|---|---|---|---|---|---|---|']
    lines += [f"| {n} | {m} | {c} | {p:.2f} | {d:.2f} | {r:.2f} | {s:.3f} |" for n, m, c, p, d, r, s in rows]
    print('\n'.join(lines))
    if not a.quick:
        from _results import write_section
        write_section(f"zoo on Dask vs the process pool (CPU, chunks of {a.chunk or 'models/workers'})", '\n'.join(lines))

if __name__ == '__main__': main()
