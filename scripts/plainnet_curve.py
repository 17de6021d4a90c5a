"""PlainNet-5 on Fashion-MNIST: FFL top-1 and retrieval against models per class (the curve in nbs/13_ffl_plainnet).

One zoo of `models_per_class=60` (zoo seed 0) is trained in blocks of 10 replicates per class (block b = chunks
c with c % 6 == b, so chunk size 10 = one block of one class). Model seeds do not depend on `models_per_class`, so the
first m replicates of every class are exactly the models of `presets/fashion-mnist-plain5-m{m}.yaml`. After the blocks
for m = 10, 20, ..., 60 are trained, FFL (chains 1-3, head, unaligned layers) runs on replicates < m and the rows are
appended to `nbs/reports/plainnet-curve/curve.csv`. A block is started only if it is expected to finish before
`--deadline` (UTC, HH:MM). `--eval-only SEEDS` re-runs FFL for every point the zoo holds over SEEDS split seeds.
    nice -n 19 env OMP_NUM_THREADS=1 python scripts/plainnet_curve.py --out zoos/plainnet-curve --deadline 06:40
    nice -n 19 env OMP_NUM_THREADS=1 python scripts/plainnet_curve.py --out zoos/plainnet-curve --eval-only 3
"""
import argparse, datetime as dt, json, time
from pathlib import Path
import numpy as np, pandas as pd, torch

CONFIG = dict(dataset='fashion-mnist', arch='plain5', models_per_class=60, epochs=10, scheme='pairs', k=2, n_classes=10,
              examples_per_class=300, width=0.25, batch_size=32, seed=0, chunk=10)
POINTS = (10, 20, 30, 40, 50, 60)

def evaluate(zoo, m, out_csv, seeds=(0, 1, 2)):
    "FFL on the first `m` replicates per class of `zoo`; rows appended to `out_csv`."
    from netsim.ffl import ffl_report
    sub = zoo.filter(replicate=list(range(m)))
    t = time.time()
    rep = ffl_report(sub, chains=[1, 2, 3, 5], alignments=('chain', 'unaligned'), seeds=seeds, device='cpu', progress=False)
    rep.insert(0, 'models_per_class', m)
    rep['ffl_s'] = round(time.time() - t, 1)
    rep.to_csv(out_csv, mode='a', header=not Path(out_csv).exists(), index=False)

def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--out', default='zoos/plainnet-curve'); p.add_argument('--deadline', default='06:40')
    p.add_argument('--report', default='nbs/reports/plainnet-curve')
    p.add_argument('--eval-only', type=int, default=0, metavar='SEEDS',
                   help='train nothing: rewrite curve.csv for every point the zoo holds, over this many split seeds')
    p.add_argument('--points', type=int, nargs='*', help='with --eval-only: only these points, appended to curve.csv')
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    from netsim.zoo import train_zoo, load_zoo
    rep = Path(a.report); rep.mkdir(parents=True, exist_ok=True)
    log, csv = rep/'blocks.jsonl', rep/'curve.csv'
    if a.eval_only:
        z = load_zoo(a.out); have = set(z.meta.replicate)
        points = [m for m in (a.points or POINTS) if set(range(m)) <= have]
        if csv.exists() and not a.points: csv.unlink()
        for m in points: evaluate(z, m, csv, seeds=tuple(range(a.eval_only))); print(f'FFL at {m} models per class done', flush=True)
        return
    h, mi = map(int, a.deadline.split(':'))
    now = dt.datetime.now(dt.timezone.utc); deadline = now.replace(hour=h, minute=mi, second=0, microsecond=0)
    nblocks, last = CONFIG['models_per_class'] // 10, None
    for b in range(nblocks):
        left = (deadline - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if last is not None and last * 1.1 > left:
            print(f'block {b}: expected {last:.0f} s, {left:.0f} s left before {a.deadline}; stopping', flush=True); break
        t = time.time()
        z = train_zoo(a.out, device='cpu', progress=False, engine='vmap', workers=1, shard=(b, nblocks), **CONFIG)
        last = time.time() - t
        ok = z.meta[z.meta.replicate // 10 == b]
        with open(log, 'a') as f:
            f.write(json.dumps(dict(block=b, replicates=[10*b, 10*b+9], models=int(len(ok)), wall_s=round(last, 1),
                                    test_acc=round(float(ok.test_acc.mean()), 4), finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'))) + '\n')
        print(f'block {b}: {len(ok)} models in {last:.0f} s', flush=True)
        m = 10 * (b + 1)
        if m in POINTS:
            evaluate(load_zoo(a.out), m, csv); print(f'FFL at {m} models per class done', flush=True)

if __name__ == '__main__': main()
