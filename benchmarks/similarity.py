"""Time per call of every `netsim.similarity` measure beside `repsim` 0.1.5 on the same input, one thread each.

Each (implementation, measure, d) runs in a fresh subprocess (OMP/MKL/torch threads = 1) that builds the same seeded
activations (A: d x n ReLU features, B: a noisy ReLU map of A, n = m), calls the measure once after a warm-up
call on a 200-row slice, and reports the wall time and the process's peak resident memory (VmHWM). A call that runs past
`--timeout` seconds is killed and reported as such. repsim's CKA builds d x d kernels and multiplies them with the
d x d centring matrix (three d x d products, 6 d^3 flops, and several d x d float64 matrices: 800 MB each at
d = 10,000); its CCA family uses Eigen's Jacobi SVD.
Run from the repo root: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/similarity.py [--quick] [--sizes 10000x512 2000x128]`.
"""
import argparse, json, os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(__file__))

CHILD = r'''
import json, os, sys, time
import numpy as np
impl, name, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = np.random.default_rng(0)
A = np.maximum(r.standard_normal((d, 64)) @ r.standard_normal((64, n)) + 0.5 * r.standard_normal((d, n)), 0)
B = np.maximum(A @ r.standard_normal((n, n)) / np.sqrt(n) + 0.5 * r.standard_normal((d, n)), 0)
if name == 'none':                                    # baseline: this implementation's imports and the data only
    if impl == 'netsim': import torch, netsim.similarity
    else: import repsim
    f = lambda a, b: 0.0
elif impl == 'netsim':
    import torch; torch.set_num_threads(1)
    from netsim.similarity import MEASURES
    f = MEASURES[name]
else:
    import repsim
    calls = dict(cka=lambda a, b: repsim.cka([a, b], 'linear', 'gretton')[0, 1],
                 cka_debiased=lambda a, b: repsim.cka([a, b], 'linear', 'song')[0, 1],
                 cka_rbf=lambda a, b: repsim.cka([a, b], 'rbf', 'gretton')[0, 1],
                 cca=lambda a, b: repsim.cca([a, b], 'pillai')[0, 1],
                 svcca=lambda a, b: repsim.svcca([a, b], 'pillai')[0, 1],
                 pwcca=lambda a, b: repsim.pwcca([a, b])[0, 1])
    f = calls[name]
f(A[:200], B[:200])                                   # warm-up (imports, JIT, allocator)
t = time.perf_counter(); v = f(A, B); s = time.perf_counter() - t
hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))   # this process's peak (kB);
print(json.dumps(dict(value=float(v), seconds=s, peak_mib=hwm / 1024)))  # ru_maxrss would keep the parent's from before exec
'''

REPSIM = ('cka', 'cka_debiased', 'cka_rbf', 'cca', 'svcca', 'pwcca')

def run(impl, name, d, n, timeout):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1')
    try:
        p = subprocess.run([sys.executable, '-c', CHILD, impl, name, str(d), str(n)], capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired: return dict(error=f'> {timeout} s (killed)')
    if p.returncode: return dict(error=(p.stderr.strip().splitlines() or ['failed'])[-1][:80])
    return json.loads(p.stdout.strip().splitlines()[-1])

def main():
    from netsim.similarity import MEASURES, DENSE_MAX_D, BLOCK
    from _results import write_section
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--sizes', nargs='*', default=['10000x512', '2000x128'], help='d x n: inputs (rows) x neurons per side')
    ap.add_argument('--timeout', type=int, default=300, help='seconds before a call is killed')
    ap.add_argument('--quick', action='store_true', help='d = 500, n = 64 only, no RESULTS.md section')
    ap.add_argument('--section', default='similarity', help='RESULTS.md section to (re)write')
    a = ap.parse_args()
    sizes = [(500, 64)] if a.quick else [tuple(map(int, z.split('x'))) for z in a.sizes]
    rows = []
    for d, n in sizes:
        for name in ('none', *MEASURES):
            ours = run('netsim', name, d, n, a.timeout)
            theirs = run('repsim', name, d, n, a.timeout) if name in REPSIM + ('none',) else None
            rows.append((d, n, name, ours, theirs)); print(d, n, name, ours, theirs, flush=True)
    fmt = lambda r: '-' if r is None else (r['error'] if 'error' in r else f"{r['seconds']:.3g} s, {r['peak_mib']:,.0f} MiB")
    ratio = lambda o, t: (f"{t['seconds'] / o['seconds']:.1f}x" if t and 'seconds' in t and 'seconds' in o else '-')
    lines = [f"Every measure on the same seeded ReLU activations (d inputs, n = m neurons), one call after a warm-up, one thread, "
             "each call in a fresh process (peak = the process's maximum resident memory, data and imports included; the row "
             "`none` is that baseline: imports and data, no measure). repsim 0.1.5 where it has the measure "
             "('song' estimator for the debiased CKA, 'pillai' summary for CCA/SVCCA, which differ in definition as "
             "`tests/test_similarity.py` documents); `-` = no repsim counterpart.",
             f"netsim's kernel measures: RBF CKA streams {BLOCK}-row blocks of the d x d kernels and keeps the pairwise "
             f"distances for its median in float32 above d = {DENSE_MAX_D:,}; RSA uses a seeded subset of {DENSE_MAX_D:,} "
             "inputs above that.", '',
             '| d | n = m | measure | netsim | repsim | repsim / netsim | netsim value | repsim value |',
             '|---|---|---|---|---|---|---|---|']
    for d, n, name, o, t in rows:
        val = lambda r: f"{r['value']:.4f}" if r and 'value' in r else '-'
        r = ratio(o, t) if name != 'none' else '-'
        lines.append(f"| {d:,} | {n} | {name} | {fmt(o)} | {fmt(t)} | {r} | {val(o)} | {val(t)} |")
    sec = '' if a.section == 'similarity' else f' --section "{a.section}"'
    lines.append(f"\nCommand: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/similarity.py --sizes {' '.join(f'{d}x{n}' for d, n in sizes)} "
                 f"--timeout {a.timeout}{sec}`; load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                 "(the machine is shared: compare within a row).")
    print('\n'.join(lines))
    if not a.quick: write_section(a.section, '\n'.join(lines))

if __name__ == '__main__': main()
