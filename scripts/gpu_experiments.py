#!/usr/bin/env python
"""Experiments that want a GPU, run as plain Python (the GPU machine has torch but no Jupyter stack):

  zoo-paper   train the paper-scale Fashion-MNIST MLP-4 / PlainNet-5 zoo (45 class pairs x 100 models, paper epochs)
              for at most --budget seconds (the zoo store resumes), and report models/s
  match-exp   train 5 seeds of full-width VGG- and ResNet-style nets on all of Fashion-MNIST and measure the
              maximum matching similarity per layer (10,000 test images, 10,000 coordinates x 16 draws) = Figure 3

Results go to --out as JSON/CSV. Data: NETSIM_DATA (a folder with the four Fashion-MNIST IDX files)."""
import argparse, json, os, sys, time
from pathlib import Path
import torch

def zoo_paper(out, arch, budget, device):
    "Train the paper-scale zoo for at most `budget` s in a child process; count the finished models."
    import subprocess
    from netsim.zoo import load_zoo
    zdir = Path(out)/f'zoo-paper-{arch}'
    epochs = {'mlp4': 100, 'plain5': 50}[arch]
    code = (f"from netsim.zoo import train_zoo; train_zoo({str(zdir)!r}, dataset='fashion-mnist', arch={arch!r}, "
            f"scheme='pairs', k=2, models_per_class=100, epochs={epochs}, examples_per_class=500, width=1.0, "
            f"recipe='sgd', batch_size=128, device={device!r}, seed=0, chunk=256, max_stack=256, progress=False)")
    t0 = time.time()
    try: subprocess.run([sys.executable, '-c', code], timeout=budget, check=False)
    except subprocess.TimeoutExpired: pass
    wall = time.time() - t0
    res = dict(arch=arch, epochs=epochs, examples_per_model=1000, wall_s=round(wall, 1), chunks_done=len(list(zdir.glob('chunk-*.json'))))
    try:
        z = load_zoo(zdir); m = z.meta
        res.update(models_done=int(len(m)), ok=int((m.status == 'ok').sum()), test_acc_median=float(m[m.status == 'ok'].test_acc.median()),
                   test_acc_min=float(m[m.status == 'ok'].test_acc.min()))
    except Exception as e: res.update(load_error=str(e))
    n = res.get('models_done', 0)
    res['models_per_s'] = round(n / wall, 3) if n else 0.0
    print(json.dumps(res)); return res

def match_exp(out, archs, epochs, n_seeds, device, n_draws=16):
    "Five seeds per architecture on all of Fashion-MNIST, then `match_report` on 10,000 test images."
    from netsim.zoo import train_zoo
    from netsim.data import load_dataset
    from netsim.comparison import match_report
    ds = load_dataset('fashion-mnist')
    for arch in archs:
        t0 = time.time()
        z = train_zoo(Path(out)/f'zoo-{arch}', dataset='fashion-mnist', arch=arch, scheme='all', models_per_class=n_seeds,
                      epochs=epochs, width=1.0, recipe='adam', lr=1e-3, batch_size=128, device=device, seed=0, progress=False)
        ok = z.meta[z.meta.status == 'ok']
        ok[['model', 'seed', 'train_acc', 'test_acc']].to_csv(Path(out)/f'nets-{arch}-gpu.csv', index=False)
        t1 = time.time()
        rep = match_report([z.module(int(i)) for i in ok.model], ds.x_test, n_coords=10_000, n_draws=n_draws, device=device)
        rep.to_csv(Path(out)/f'figure3-{arch}-gpu.csv', index=False)
        print(json.dumps(dict(arch=arch, train_s=round(t1-t0, 1), match_s=round(time.time()-t1, 1),
                              test_acc=[round(float(a), 4) for a in ok.test_acc])))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('what', choices=['zoo-paper', 'match-exp'])
    ap.add_argument('--out', default='runs/gpu'); ap.add_argument('--device', default='auto')
    ap.add_argument('--arch', default='mlp4'); ap.add_argument('--budget', type=float, default=300)
    ap.add_argument('--epochs', type=int, default=10); ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--draws', type=int, default=16)
    a = ap.parse_args(); Path(a.out).mkdir(parents=True, exist_ok=True)
    if a.what == 'zoo-paper': r = zoo_paper(a.out, a.arch, a.budget, a.device); Path(a.out, f'zoo-paper-{a.arch}.json').write_text(json.dumps(r, indent=1))
    else: match_exp(a.out, a.arch.split(','), a.epochs, a.seeds, a.device, a.draws)
