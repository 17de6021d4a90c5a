"""Memory of `netsim.compare.compare` on two VGG-style nets vs the naive full activation dump.

Peak resident memory above the baseline (data and models loaded) is sampled from /proc/self/statm every 5 ms while
`compare` runs; the naive number is what keeping every ReLU output of both nets over the same images would take.
Run from the repo root: `.venv/bin/python benchmarks/activations_memory.py [--quick] [--device auto]`.
"""
import argparse, os, sys, threading, time
sys.path.insert(0, os.path.dirname(__file__))
import torch
from netsim.data import load_dataset
from netsim.models import make_model
from netsim.activations import probe_layers, as_inputs
from netsim.comparison import compare

PAGE = os.sysconf('SC_PAGE_SIZE')

def rss() -> int:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * PAGE

class Peak:
    "Sample RSS in a thread; `.peak` is the maximum seen."
    def __init__(self, dt=0.005): self.dt, self.peak, self.stop = dt, rss(), False
    def run(self):
        while not self.stop: self.peak = max(self.peak, rss()); time.sleep(self.dt)
    def __enter__(self): self.t = threading.Thread(target=self.run, daemon=True); self.t.start(); return self
    def __exit__(self, *a): self.stop = True; self.t.join(); self.peak = max(self.peak, rss())

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--quick', action='store_true', help='2,000 images, 4 draws, one eps (a couple of minutes)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--width', type=float, default=1.0)
    ap.add_argument('--max-mb', type=int, default=256, help='activation budget per pass (MiB)')
    ap.add_argument('--eps', type=float, nargs='*', default=None, help='eps values (default: the five of the paper)')
    a = ap.parse_args()
    n_images, n_draws, eps = (2000, 4, (0.5,)) if a.quick else (10_000, 16, (0.15, 0.2, 0.25, 0.3, 0.5))
    if a.eps: eps = tuple(a.eps)
    ds = load_dataset('fashion-mnist')
    x = as_inputs(ds, n_images).clone()
    ma, mb = (make_model('vgg', (1, 28, 28), 10, width=a.width, seed=s) for s in (0, 1))
    infos = probe_layers([ma, mb], x)
    naive = sum(sum(i.channels) * i.hw[0] * i.hw[1] * n_images * 4 for i in infos)
    sampled = sum(sum(i.channels) * (min(i.n_total, 10_000) * (n_draws if i.kind == 'conv' else 1) if i.kind == 'conv' else n_images) * 4 for i in infos)
    import gc; gc.collect()
    base = rss(); t0 = time.perf_counter()
    with Peak() as p:
        res = compare(ma, mb, x, eps=eps, n_coords=10_000, n_draws=n_draws, max_bytes=a.max_mb * 2**20, device=a.device)
    secs = time.perf_counter() - t0
    mb_ = lambda b: f'{b / 2**20:,.0f} MiB'
    lines = [f"Two VGG-style nets (width {a.width}), {n_images:,} fashion-mnist test images, 10,000 coordinates x {n_draws} draws, "
             f"eps {list(eps)}, budget {a.max_mb} MiB per pass, device {a.device}.",
             '', '| quantity | value |', '|---|---|',
             f'| naive full ReLU dump of both nets | {mb_(naive)} |',
             f'| all sampled activations (if held at once) | {mb_(sampled)} |',
             f'| **measured peak RSS above baseline during compare** | **{mb_(p.peak - base)}** |',
             f'| naive / measured | {naive / max(p.peak - base, 1):.1f}x |',
             f'| compare wall time | {secs:.0f} s |']
    print('\n'.join(lines)); print(res)
    from _results import write_section
    write_section('activations_memory' + ('_quick' if a.quick else '') + ('' if a.max_mb == 256 else f'_{a.max_mb}mib'), '\n'.join(lines))

if __name__ == '__main__': main()
