"""Aligning two trained models: netsim.align_models beside the `rebasin` package (0.0.47), side by side in one run.

For each case two models are trained on the digits from different seeds; then, on the same two models and with the
same threads: weight matching (netsim `align(method='weight')` vs rebasin's `PermutationCoordinateDescent`),
activation matching on 1,000 training images (netsim only: rebasin has none), and the barrier on 11 points with
the BatchNorm statistics reset (netsim `interpolation_barrier` vs rebasin's `LerpSimple` with a training loader).
Every permutation is scored the same way: netsim's barrier of the test loss after BatchNorm reset on the training
split. Run from the repo root:

    /work/main/.venv/bin/python benchmarks/align.py            # plain5 and a ResNet-18-like net (a few minutes)
    /work/main/.venv/bin/python benchmarks/align.py --quick    # plain5 only, no RESULTS.md update
"""
import argparse, copy, sys, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from netsim.align_models import align, interpolation_barrier
from netsim.data import load_digits, stable_seed
from netsim.models import ResNet, make_model
from netsim.permute import permute_model

def resnet18_like(n_out=10):
    "ResNet-18's layout on 1x8x8 inputs: 3x3 stem (no max-pool at 8x8), 8 BasicBlocks 64-64-128-128-256-256-512-512, 1x1 conv+BN downsample shortcuts."
    return ResNet(1, n_out, stem=64, widths=(64, 64, 128, 128, 256, 256, 512, 512), strides=(1, 1, 2, 1, 2, 1, 2, 1), n_conv=2)

CASES = {
    'plain5': dict(make=lambda s: make_model('plain5', (1, 8, 8), 10, seed=s), epochs=8,
                   what="netsim's PlainNet-5 (conv+BN 32-64-128-256, 0.39M params)"),
    'resnet18': dict(make=lambda s: (torch.manual_seed(s), resnet18_like())[1], epochs=3,
                     what='ResNet-18-like (BasicBlocks 64-512, 11.2M params)'),
}

def train(model, ds, seed, epochs, lr=1e-3):
    "Adam on the digits' training split, batches of 64 in an order drawn from `seed`."
    g, opt = torch.Generator().manual_seed(stable_seed('bench-align', seed)), torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(ds.x_train), generator=g).split(64):
            loss = F.cross_entropy(model(ds.x_train[idx]), ds.y_train[idx]); opt.zero_grad(); loss.backward(); opt.step()
    return model.eval()

def same_params(a, b):
    "Equal parameters (weights, biases, BatchNorm affine terms)?"
    pb = dict(b.named_parameters()); return all(torch.equal(v, pb[k]) for k, v in a.named_parameters())

def same_buffers(a, b):
    "Equal buffers (BatchNorm running statistics)?"
    bb = dict(b.named_buffers()); return all(torch.equal(v, bb[k]) for k, v in a.named_buffers())

def rebasin_align(A, B, x):
    "rebasin's weight matching: a permuted copy of B; (copy, seconds for tracing, seconds for matching)."
    from rebasin import PermutationCoordinateDescent
    Bc = copy.deepcopy(B)
    torch.manual_seed(0)                                   # rebasin draws its visiting order from torch's global generator
    t0 = time.process_time(); pcd = PermutationCoordinateDescent(A, Bc, x[:8])
    t1 = time.process_time(); pcd.rebasin()
    return Bc.eval(), t1 - t0, time.process_time() - t1

def rebasin_barrier(A, B, ds):
    "rebasin's LerpSimple with BatchNorm recalculation from a shuffled training loader (batches of 64): 9 inner points + the 2 endpoints; (barrier, seconds)."
    from rebasin.interpolation import LerpSimple
    from torch.utils.data import DataLoader, TensorDataset
    def test_loss(m, device=None):
        with torch.no_grad(): return float(F.cross_entropy(m.eval()(ds.x_test), ds.y_test))
    dl = DataLoader(TensorDataset(ds.x_train, ds.y_train), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    t0 = time.process_time()
    li = LerpSimple([A, B], eval_fn=test_loss, train_dataloader=dl); li.interpolate(steps=9)
    secs = time.process_time() - t0
    alphas = np.array([0] + [(k + 1) / 11 for k in range(9)] + [1])
    curve = np.array([test_loss(A)] + list(li.metrics_interpolated) + [test_loss(B)])
    return float(np.max(curve - ((1 - alphas) * curve[0] + alphas * curve[-1]))), secs

def run_case(name, ds, log):
    c = CASES[name]
    t0 = time.process_time()
    A, B = (train(c['make'](s), ds, s, c['epochs']) for s in (1, 2))
    acc = lambda m: float((m(ds.x_test).argmax(-1) == ds.y_test).float().mean())
    with torch.no_grad(): accs = (acc(A), acc(B))
    log(f"{name}: trained 2 x {c['epochs']} epochs in {time.process_time()-t0:.0f} s, test acc {accs[0]:.3f} / {accs[1]:.3f}")
    x1k = ds.x_train[:1000]
    # known answer: a permuted copy of A
    P = permute_model(A, seed=7)
    O, R = align(P, to=A)[0], rebasin_align(A, P, x1k)[0]
    exact_ours, exact_rb = (same_params(O, A), same_buffers(O, A)), (same_params(R, A), same_buffers(R, A))
    log(f"  permuted copy recovered exactly (parameters, running statistics): netsim {exact_ours}, rebasin {exact_rb}")
    # weight matching A <- B
    t = time.process_time(); Bw, _ = align(B, to=A, method='weight'); t_w = time.process_time() - t
    Br, t_rb_trace, t_rb = rebasin_align(A, B, x1k)
    t = time.process_time(); Ba, _ = align(B, to=A, method='activation', data=x1k); t_a = time.process_time() - t
    log(f"  weight matching: netsim {t_w:.2f} s, rebasin {t_rb_trace:.2f} s trace + {t_rb:.2f} s match; activation matching (1k): netsim {t_a:.2f} s")
    rows = {}
    for label, Bx in [('none (B as trained)', B), ('netsim weight', Bw), ('rebasin weight', Br), ('netsim activation', Ba)]:
        t = time.process_time(); r = interpolation_barrier(A, Bx, ds, steps=11, stats_data=ds.x_train); dt = time.process_time() - t
        rows[label] = (r.barriers.loc['none', 'loss_barrier'], r.barriers.loc['none+repair', 'loss_barrier'],
                       r.barriers.loc['none+repair', 'acc_barrier'], dt)
        log(f"  {label}: barrier plain {rows[label][0]:.3f}, with BN reset {rows[label][1]:.3f} (acc {rows[label][2]:.3f}); {dt:.2f} s for 22 points")
    rb_bar, t_rb_bar = rebasin_barrier(A, Br, ds)
    log(f"  rebasin LerpSimple on its aligned pair: barrier {rb_bar:.3f} (its own BN recalculation), {t_rb_bar:.2f} s for 9 points")
    return dict(name=name, what=c['what'], accs=accs, exact=(exact_ours, exact_rb), t_w=t_w, t_rb=(t_rb_trace, t_rb), t_a=t_a,
                rows=rows, rb_bar=(rb_bar, t_rb_bar))

def yn(e): return ', '.join('yes' if v else 'no' for v in e)

def report(res):
    out = ["Two models per case trained on the digits (1,257 training images, 540 test) from seeds 1 and 2 with Adam; "
           "times are CPU seconds of the process (`time.process_time`, one torch thread for both tools; the 2 cores were shared "
           "with other jobs, so wall times were longer), both tools on the same two models in one run. "
           "Barriers: max over the 11 points alpha = 0, 0.1, ..., 1 of the test loss minus the chord between the endpoints, "
           "by `netsim.align_models.interpolation_barrier` after a BatchNorm reset on the training split (the same scoring "
           "for every permutation); 'plain' = interpolated running statistics.\n",
           "| model | test acc A / B | permuted copy recovered exactly: parameters, running stats (netsim / rebasin) | weight matching netsim CPU s | rebasin CPU s (trace + match) | activation matching netsim CPU s (1k images) |",
           "|---|---|---|---|---|---|"]
    for r in res:
        out.append(f"| {r['what']} | {r['accs'][0]:.3f} / {r['accs'][1]:.3f} | {yn(r['exact'][0])} / {yn(r['exact'][1])} "
                   f"| {r['t_w']:.2f} | {r['t_rb'][0]:.2f} + {r['t_rb'][1]:.2f} | {r['t_a']:.2f} |")
    out += ["", "| model | permutation of B | loss barrier, plain | loss barrier, BN reset | accuracy barrier, BN reset | netsim barrier call CPU s (22 points) |",
            "|---|---|---|---|---|---|"]
    for r in res:
        for label, (p, rep, acc, dt) in r['rows'].items():
            out.append(f"| {r['name']} | {label} | {p:.3f} | {rep:.3f} | {acc:.3f} | {dt:.2f} |")
        out.append(f"| {r['name']} | rebasin weight, scored by rebasin's `LerpSimple` (9 inner points, its BN recalculation) | | {r['rb_bar'][0]:.3f} | | {r['rb_bar'][1]:.2f} (rebasin) |")
    return '\n'.join(out)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='plain5 only; print, do not write RESULTS.md')
    a = ap.parse_args()
    torch.set_num_threads(1)
    ds, lines = load_digits(), []
    def log(s): print(s, flush=True); lines.append(s)
    res = [run_case(n, ds, log) for n in (['plain5'] if a.quick else list(CASES))]
    body = report(res)
    print(body)
    if not a.quick:
        from _results import write_section
        write_section('align', body + '\n\nCommand: `/work/main/.venv/bin/python benchmarks/align.py`\n\nLog of this run:\n\n```\n' + '\n'.join(lines) + '\n```')
