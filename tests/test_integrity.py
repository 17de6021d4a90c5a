"""Nothing silently wrong: one test per failure mode of the hostile-user review (zoo store integrity, training that
takes no step, validated sweep parameters, spec checks, match indices, degenerate comparisons, exact module types,
results replaced only on success, IDX labels, tolerances relative to the data), and CLI errors that name the fix."""
import contextlib, gzip, io, json, os, random, shutil, struct, subprocess, sys, threading, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from torch import nn

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
ZKW = dict(dataset='digits', arch='mlp4', models_per_class=2, epochs=1, width=0.1, n_classes=2, examples_per_class=20,
           batch_size=16, chunk=2, device='cpu', progress=False, workers=1)

def _zoo(path, **kw):
    from netsim.zoo import train_zoo
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return train_zoo(path, **{**ZKW, **kw})

@pytest.fixture(scope='module')
def small_zoo(tmp_path_factory):
    "A zoo of 4 MLP-4s in 2 chunks (trained once; tests copy it)."
    p = tmp_path_factory.mktemp('zoo')/'z'
    _zoo(p)
    return p

def _copy(src, tmp_path, name='z'):
    dst = tmp_path/name; shutil.copytree(src, dst); return dst

# --- 1. a training run that takes no step is a failure, never `ok` -------------------------------------------------
def test_1_batch_size_one_trains(tmp_path):
    from netsim.models import make_model
    z = _zoo(tmp_path/'b1', batch_size=1, models_per_class=1, examples_per_class=8, chunk=4)
    assert (z.meta.status == 'ok').all(), z.meta[['status', 'reason']]
    m, row = z.module(0), z.meta.iloc[0]
    init = make_model('mlp4', z.manifest['in_shape'], z.manifest['n_out'], 0.1, seed=int(row.seed))
    assert any(not torch.equal(a, b) for a, b in zip(m.state_dict().values(), init.state_dict().values())), "weights == init"
    assert row.loss > 0

@pytest.mark.parametrize('engine', ['loop', 'vmap'])
def test_1_no_step_or_no_change_is_failed(engine):
    from netsim.data import load_dataset, solution_classes
    from netsim.zoo.train import Job, get_recipe
    from netsim.zoo.jobs import train_jobs
    ds = load_dataset('digits'); sc = solution_classes(ds, 'disjoint', k=2)[0]
    xtr, ytr, xte, yte = sc.data(ds)
    frozen = get_recipe('sgd', lr=0.0)                                  # every step leaves the weights as they were
    res = train_jobs('mlp4', ds.in_shape, 2, [Job(1, 2, xtr[:32], ytr[:32], xte, yte)], 1, frozen, 16, 0.1, 'cpu', engine, workers=1)
    assert res[0]['status'] == 'failed' and 'unchanged' in res[0]['reason'], res[0]['reason']
    res = train_jobs('mlp4', ds.in_shape, 2, [Job(1, 2, xtr[:0], ytr[:0], xte, yte)], 1, 'sgd', 16, 0.1, 'cpu', engine, workers=1)
    assert res[0]['status'] == 'failed' and 'no optimisation step' in res[0]['reason'], res[0]['reason']

# --- 2. every stored file is protected; a bit flip is detected or harmless -----------------------------------------
def _snapshot(path):
    "Everything a reader gets from the zoo at `path`: manifest, metadata table, weights."
    from netsim.zoo import load_zoo
    z = load_zoo(path)
    ws = {k: v.clone() for k, v in z.stack().params.items()} if (z.meta.status == 'ok').any() else {}
    man = {k: v for k, v in z.manifest.items() if k != 'checksum'}
    return json.dumps(man, sort_keys=True), z.meta.to_json(), ws

def _same(a, b): return a[0] == b[0] and a[1] == b[1] and a[2].keys() == b[2].keys() and all(torch.equal(a[2][k], b[2][k]) for k in a[2])

def test_2_slot_and_n_chunks_flips_are_detected(small_zoo, tmp_path):
    from netsim.zoo import load_zoo, train_zoo, ZooError
    z = _copy(small_zoo, tmp_path)
    mj = z/'chunk-00000.json'; orig = mj.read_bytes()
    mj.write_bytes(orig.replace(b'"slot": 0', b'"slot": 1', 1))
    with pytest.raises(ZooError, match='chunk-00000.json'): load_zoo(z)
    mj.write_bytes(orig)
    mf = z/'manifest.json'
    mf.write_bytes(mf.read_bytes().replace(b'"n_chunks": 2', b'"n_chunks": 0'))
    with pytest.raises(ZooError, match='manifest.json'): load_zoo(z)
    with pytest.raises(ZooError, match='manifest.json'): _zoo(z)       # a resume does not ignore the intact chunks

def test_2_metadata_cross_checked_against_weights(small_zoo, tmp_path):
    "A chunk whose (checksummed) metadata disagrees with its weights file is refused, naming both."
    from netsim.zoo import load_zoo, ZooError
    z = _copy(small_zoo, tmp_path)
    shutil.copyfile(z/'chunk-00001.safetensors', z/'chunk-00000.safetensors')   # a weights file of the wrong chunk
    with pytest.raises(ZooError, match='chunk-00000'): load_zoo(z)

def test_2_bit_flips_never_silent(small_zoo, tmp_path):
    from netsim.zoo import ZooError
    z = _copy(small_zoo, tmp_path)
    ref = _snapshot(z)
    files = sorted(z.glob('*.json'))
    sites = [(f, i, b) for f in files for i in range(f.stat().st_size) for b in range(8)]
    rng = random.Random(26)
    sample = rng.sample(sites, 500)
    counts = dict(detected=0, harmless=0, silent=0)
    for f, i, b in sample:
        orig = f.read_bytes(); data = bytearray(orig); data[i] ^= 1 << b; f.write_bytes(bytes(data))
        try:
            try: got = _snapshot(z)
            except ZooError: counts['detected'] += 1; continue
            counts['harmless' if _same(got, ref) else 'silent'] += 1
        finally: f.write_bytes(orig)
    print('bit flips:', counts)
    assert counts['silent'] == 0, counts

def test_2_reads_format_1_zoos(small_zoo, tmp_path):
    "Zoos written before checksums (format 1) are still read; their chunks are still checked against the weights."
    from netsim.zoo import load_zoo
    z = _copy(small_zoo, tmp_path)
    for f in z.glob('*.json'):
        d = json.loads(f.read_text()); d.pop('checksum', None)
        if f.name == 'manifest.json': d['format_version'] = 1
        f.write_text(json.dumps(d, indent=1, sort_keys=True))
    a, b = _snapshot(z), _snapshot(small_zoo)
    assert a[0] == b[0].replace('"format_version": 2', '"format_version": 1') and _same((b[0],) + a[1:], b)

# --- 3. undecodable or wrongly shaped JSON: an error naming the file; resume retrains the chunk --------------------
@pytest.mark.parametrize('content', [b'\xff\xfe{"chunk": 0}', b'{}', b'[]', b'null'])
def test_3_bad_chunk_json(small_zoo, tmp_path, content):
    from netsim.zoo import load_zoo, ZooError
    z = _copy(small_zoo, tmp_path)
    (z/'chunk-00001.json').write_bytes(content)
    with pytest.raises(ZooError, match='chunk-00001.json'): load_zoo(z)
    with pytest.warns(UserWarning, match='chunk 1 .*retraining'):
        from netsim.zoo import train_zoo
        z2 = train_zoo(z, **ZKW)
    a, b = _snapshot(z), _snapshot(small_zoo)
    assert z2.complete and a[2].keys() == b[2].keys() and all(torch.equal(a[2][k], b[2][k]) for k in a[2])   # retrained, bit for bit
    cols = [c for c in z2.meta.columns if c != 'wall_s']
    assert z2.meta[cols].equals(load_zoo(small_zoo).meta[cols])

@pytest.mark.parametrize('edit', ['no_config', 'not_a_dict', 'bad_utf8'])
def test_3_bad_manifest(small_zoo, tmp_path, edit):
    from netsim.zoo import load_zoo, ZooError
    z = _copy(small_zoo, tmp_path); mf = z/'manifest.json'
    d = json.loads(mf.read_text())
    if edit == 'no_config': d.pop('config'); mf.write_text(json.dumps(d))
    elif edit == 'not_a_dict': mf.write_text('[1, 2]')
    else: mf.write_bytes(b'\xff' + mf.read_bytes())
    with pytest.raises(ZooError, match='manifest.json'): load_zoo(z)

# --- 4. sweep parameters and presets validated before anything runs ------------------------------------------------
def _sweep_main(argv, monkeypatch):
    "Run `netsim` in-process; fails the test if a sweep would actually start."
    import netsim.sweep as S
    def no_run(*a, **k): raise AssertionError('a run started although the parameters are invalid')
    monkeypatch.setattr(S, 'run_one', no_run)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: rc = S.main(argv)
        except SystemExit as e: rc = e.code
    return rc, err.getvalue()

@pytest.mark.parametrize('name,value,expect', [('epochs', '4.7', 'epochs'), ('zoo_shard', '3/2', 'zoo_shard'),
                                                ('zoo_shard', '0/0', 'zoo_shard'), ('archs', 'mlp4', 'archs'),
                                                ('width', 'inf', 'width'), ('match_eps', '[0.2, 1.5]', 'match_eps'),
                                                ('batch_size', '0', 'batch_size'), ('archs', '[mlp5]', 'mlp5')])
def test_4_bad_params(tmp_path, monkeypatch, name, value, expect):
    rc, err = _sweep_main(['sweep', 'digits', '--out', str(tmp_path), '-p', name, value, '--no-report'], monkeypatch)
    assert rc == 2 and expect in err and len(err.strip().splitlines()) == 1, (rc, err)

@pytest.mark.parametrize('preset', ['datasets: digits\n', 'name: 123\ndatasets: [digits]\n', 'datasets: [digits]\nepochs: 4.7\n',
                                    'datasets: [digits]\nk: [2]\n', 'datasets: [digits\n'])
def test_4_bad_presets(tmp_path, monkeypatch, preset):
    f = tmp_path/'p.yaml'; f.write_text(preset)
    rc, err = _sweep_main(['sweep', '-f', str(f), '--out', str(tmp_path), '--no-report'], monkeypatch)
    assert rc == 2 and 'p.yaml' in err and len(err.strip().splitlines()) == 1, (rc, err)

def test_4_shipped_presets_are_valid():
    from netsim.sweep import load_param_file, validate_sweep_params
    for p in sorted((ROOT/'presets').glob('*.yaml')): validate_sweep_params(load_param_file(p), source=p.name)

def test_4_integral_floats_accepted():
    from netsim.sweep import validate_sweep_params
    assert validate_sweep_params({'epochs': 4.0, 'width': 1}) == {'epochs': 4, 'width': 1.0}

# --- 5. permute_state checks keys and shapes against the spec ------------------------------------------------------
def test_5_permute_state_checks():
    from netsim.models import make_model
    from netsim.symmetry import perm_spec, permute_state, random_perms
    small, wide = make_model('mlp4', (1, 8, 8), 2, 0.1, seed=0), make_model('mlp4', (1, 8, 8), 2, 0.2, seed=0)
    spec = perm_spec(small)
    with pytest.raises(ValueError, match=r'body\.1\.weight'): permute_state(wide.state_dict(), spec, random_perms(spec, 0))
    sd = dict(small.state_dict(), extra=torch.zeros(3))
    with pytest.raises(ValueError, match='extra'): permute_state(sd, spec, random_perms(spec, 0))
    p = random_perms(spec, 0); k = next(iter(p)); p[k] = p[k][None].repeat(2, 1)   # (2, n) perms without batch_dims
    with pytest.raises(ValueError, match=k): permute_state(small.state_dict(), spec, p)

# --- 6. out-of-range and negative neuron indices are refused ------------------------------------------------------
def test_6_match_indices():
    from netsim.match import is_match, match_distances
    g = torch.Generator().manual_seed(6)
    A, B = torch.randn(50, 4, generator=g, dtype=torch.float64), torch.randn(50, 5, generator=g, dtype=torch.float64)
    for X, Y in (([-1], [4]), ([4], [0]), ([0], [5]), ([0], [-5]), ([0.5], [1]), ([True], [0])):
        with pytest.raises(ValueError, match='index|indices'): is_match(A, B, 0.25, X=X, Y=Y)
        with pytest.raises(ValueError, match='index|indices'): match_distances(A, B, X, Y)
    assert not is_match(A, B, 0.25, X=[3], Y=[4])

# --- 7. degenerate comparisons: consistent and documented ----------------------------------------------------------
def test_7_degenerate_comparisons():
    from netsim.comparison import compare, match_scores, linear_cka
    from netsim.match import max_match_similarity
    from netsim.models import make_model
    E = torch.zeros(20, 0, dtype=torch.float64)
    s1 = match_scores(E, E, 0.25)[0]['similarity']; s2 = max_match_similarity(E, E, 0.25)
    assert np.isnan(s1) and np.isnan(s2), (s1, s2)
    A = torch.randn(20, 3, dtype=torch.float64); A[0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'): linear_cka(A, torch.randn(20, 3))
    a, b = make_model('plain5', (1, 8, 8), 2, 0.25, seed=0), make_model('plain5', (1, 8, 8), 2, 0.25, seed=1)
    with pytest.raises(ValueError, match='n_draws'): compare(a, b, torch.randn(8, 1, 8, 8), n_draws=0, device='cpu')
    with pytest.raises(ValueError, match='n_coords'): compare(a, b, torch.randn(8, 1, 8, 8), n_coords=0, device='cpu')

# --- 8. the walker accepts exact known types only ----------------------------------------------------------------
class DoubledLinear(nn.Linear):
    def forward(self, x): return 2 * super().forward(x).relu()

def test_8_subclass_with_own_forward_refused():
    from netsim.symmetry import perm_spec
    m = nn.Sequential(nn.Flatten(), DoubledLinear(4, 6), nn.Linear(6, 2))
    with pytest.raises(ValueError, match='DoubledLinear'): perm_spec(m)
    class MyReLU(nn.ReLU):
        def forward(self, x): return x.abs()
    with pytest.raises(ValueError, match='MyReLU'): perm_spec(nn.Sequential(nn.Linear(4, 6), MyReLU(), nn.Linear(6, 2)))

# --- 9. results replaced only on success; failed runs in the report ------------------------------------------------
BAD_NB = {"cells": [{"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]}, "outputs": [],
                     "source": ["dataset: str = \"digits\"  # dataset\n", "out_dir: str = \"\"  # out\n"]},
                    {"cell_type": "code", "execution_count": None, "id": "f", "metadata": {}, "outputs": [],
                     "source": ["raise RuntimeError('boom')"]}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}

def test_9_force_keeps_results_until_success(tmp_path):
    from netsim.sweep import run_one, Recorder
    from netsim.report import write_report
    nb = tmp_path/'bad.ipynb'; nb.write_text(json.dumps(BAD_NB))
    run = tmp_path/'runs'/'digits'
    rec = Recorder(run, 'digits', {'dataset': 'digits', 'out_dir': str(run)}); rec.add('zoo', [dict(metric='models', value=4)]); rec.write()
    before = (run/'results.json').read_bytes()
    r = run_one('digits', tmp_path/'runs', force=True, notebook=nb)
    assert r['status'] == 'failed'
    assert (run/'results.json').read_bytes() == before          # the previous valid results are still there
    md, html = write_report(tmp_path/'runs')
    text = md.read_text()
    assert '1 run(s)' in text and 'failed' in text.lower() and str(run/'sweep.ipynb') in text, text[:800]
    assert not list((tmp_path/'runs').rglob('*.tmp*'))

# --- 10. IDX labels outside 0..9 are refused ---------------------------------------------------------------------
def _idx(path, arr, code):
    hdr = b'\0\0' + bytes([code, arr.ndim]) + struct.pack(f'>{arr.ndim}I', *arr.shape)
    path.write_bytes(gzip.compress(hdr + arr.tobytes()))

@pytest.mark.parametrize('bad', [-1, 10])
def test_10_fashion_labels_in_range(tmp_path, bad):
    from netsim.data import load_fashion_mnist
    x = np.zeros((4, 28, 28), np.uint8); y = np.array([0, 1, bad, 3], np.int8)
    for s in ('train', 't10k'):
        _idx(tmp_path/f'{s}-images-idx3-ubyte.gz', x, 0x08); _idx(tmp_path/f'{s}-labels-idx1-ubyte.gz', y, 0x09)
    with pytest.raises(ValueError, match='label'): load_fashion_mnist(tmp_path)

# --- 11. tolerances relative to the data's precision ---------------------------------------------------------------
def _near(eps, rho, d=40, seed=0):
    "A (d,1), B (d,1): a at relative distance exactly `rho` from span(b) (float64)."
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, 2, generator=g, dtype=torch.float64))
    a = (1 - rho**2)**0.5 * Q[:, :1] + rho * Q[:, 1:]
    return a, Q[:, :1]

def test_11_slack_relative_to_precision():
    from netsim.match import is_match, max_match
    a, b = _near(0.25, 0.2500089)                    # 9e-6 above eps: outside eps, float64 data resolve it
    assert not is_match(a, b, 0.25, X=[0], Y=[0])
    assert max_match(a, b, 0.25).size == 0
    a, b = _near(0.25, 0.25 - 1e-9)
    assert is_match(a, b, 0.25, X=[0], Y=[0]) and max_match(a, b, 0.25).size == 2
    a32, b32 = a.float(), b.float()                  # float32 data: the slack is float32's, documented
    assert is_match(a32, b32, 0.25, X=[0], Y=[0])

def test_11_small_directions_kept_in_span():
    "A direction at 1e-6 relative size is part of the span: a neuron 0.035 from the full span is in the match at eps 0.25."
    from netsim.match import max_match, match_distances
    g = torch.Generator().manual_seed(11)
    Q, _ = torch.linalg.qr(torch.randn(30, 4, generator=g, dtype=torch.float64))
    a = 0.3 * Q[:, 0] + 0.9538 * Q[:, 1] + 0.035 * Q[:, 2]                # 0.035 from span{q0, q1}, 0.95 from span{q0}
    A = torch.stack([Q[:, 0], a / a.norm()], 1)
    B = torch.stack([Q[:, 0], Q[:, 0] + 1e-6 * Q[:, 1]], 1)               # span{q0, q1}, q1 at relative size 1e-6
    dx, dy = match_distances(A, B, [0, 1], [0, 1])
    assert float(dx[1]) < 0.05 and float(dy.max()) < 0.05, (dx, dy)
    for method in ('fast', 'plain'):
        r = max_match(A, B, 0.25, method=method)
        assert r.pair == ((0, 1), (0, 1)), (method, r)

def test_11_tiny_norms():
    "The decisions do not depend on the scale of the data: tiny norms (squares that underflow) or huge ones give the match of norms near 1."
    from netsim.match import max_match
    for seed in range(3):
        g = torch.Generator().manual_seed(12 + seed)
        Z = torch.randn(40, 5, generator=g, dtype=torch.float64)
        A = torch.cat([Z @ torch.randn(5, 6, generator=g, dtype=torch.float64), torch.randn(40, 2, generator=g, dtype=torch.float64)], 1)
        B = torch.cat([Z @ torch.randn(5, 7, generator=g, dtype=torch.float64), torch.randn(40, 2, generator=g, dtype=torch.float64)], 1)
        for method in ('fast', 'plain'):
            ref = max_match(A, B, 0.25, method=method)
            assert 0 < ref.size < 17, ref
            for s in (1e-15, 1e-170, 1e170):
                assert max_match(A * s, B * s, 0.25, method=method).pair == ref.pair, (seed, method, s)

# --- errors that name the fix -----------------------------------------------------------------------------------
ZOO_BAD = [['--epochs', 'x'], ['--epochs', '0'], ['--epochs', '-3'], ['--epochs', '4.7'], ['--width', 'inf'], ['--width', 'nan'],
           ['--width', '0'], ['--width', '-1'], ['--batch-size', '0'], ['--batch-size', 'abc'], ['--device', 'gpu'],
           ['--device', 'cuda:x'], ['--device', ''], ['--arch', 'mlp5'], ['--scheme', 'triples'], ['--recipe', 'rmsprop'],
           ['--engine', 'jit'], ['--shard', '3/2'], ['--shard', '0/0'], ['--shard', 'a/b'], ['--shard', '1'], ['--shard', '-1/2'],
           ['--workers', 'many'], ['--workers', '0'], ['--models-per-class', '0'], ['--chunk', '0'], ['--k', '0'],
           ['--k', '11'], ['--lr', 'nan'], ['--lr', '-0.1'], ['--dataset', 'mnist'], ['--n-classes', '-1'],
           ['--examples-per-class', '-5'], ['--seed', 'x'], ['--nonsense'], ['merge'], ['merge', '{out}'],
           ['merge', '{out}', '{missing}'], ['--out']]

def _zoo_cli(argv):
    from netsim.zoo import zoo_cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try: rc = zoo_cli(argv)
        except SystemExit as e: rc = e.code
    return rc, err.getvalue()

def _one_line_error(rc, err):
    return rc in (1, 2) and len(err.strip().splitlines()) == 1 and 'Traceback' not in err and 'error' in err

def test_errors_zoo_cli_fuzz(tmp_path):
    (tmp_path/'afile').write_text('x')
    rows = []
    for args in ZOO_BAD + [['--out', str(tmp_path/'afile')], ['--out', '/proc/netsim-zoo-ro']]:
        args = [a.format(out=tmp_path/'m', missing=tmp_path/'nope') for a in args]
        argv = args if args and args[0] == 'merge' else (args + ['--out', str(tmp_path/'o')] if '--out' not in args else args)
        rc, err = _zoo_cli(argv + ['--quiet'] if argv[0] != 'merge' else argv)
        rows.append((' '.join(args), rc, err.strip()))
    (tmp_path/'fuzz-zoo.txt').write_text('\n'.join(f'{a}\t{rc}\t{e}' for a, rc, e in rows))
    bad = [r for r in rows if not _one_line_error(r[1], r[2])]
    assert not bad, bad
    assert not (tmp_path/'o').exists() or not any((tmp_path/'o').iterdir())   # nothing was trained
    print('\n'.join(f'{a!r:40} -> {rc}: {e}' for a, rc, e in rows))

SWEEP_BAD = [['sweep'], ['sweep', 'mnist'], ['sweep', 'digits', '-p', 'epochs'], ['sweep', 'digits', '-p', 'nope', '1'],
             ['sweep', 'digits', '-p', 'epochs', '0'], ['sweep', 'digits', '-p', 'epochs', 'four'],
             ['sweep', 'digits', '-p', 'device', 'gpu'], ['sweep', 'digits', '-p', 'scheme', 'triples'],
             ['sweep', 'digits', '-p', 'recipe', 'rmsprop'], ['sweep', 'digits', '-p', 'zoo_engine', 'jit'],
             ['sweep', 'digits', '-p', 'alignments', '[chain, magic]'], ['sweep', 'digits', '-p', 'match_models', '1'],
             ['sweep', 'digits', '-p', 'epochs_by_arch', '{mlp4: 0}'], ['sweep', 'digits', '-p', 'lr', '-1'],
             ['sweep', 'digits', '-p', 'k', '1.5'], ['sweep', 'digits', '-f', '{missing}'], ['sweep', 'digits', '--out', '{afile}'],
             ['sweep', 'digits', '--name', '{bad'], ['report', '{missing}'], ['report', '{afile}'], ['params', '--notebook', '{missing}'],
             ['frobnicate'], []]

def test_errors_sweep_cli_fuzz(tmp_path, monkeypatch):
    (tmp_path/'afile').write_text('x')
    rows = []
    for args in SWEEP_BAD:
        args = [a.replace('{missing}', str(tmp_path/'nope')).replace('{afile}', str(tmp_path/'afile')) for a in args]
        if args[:1] == ['sweep'] and '--out' not in args: args += ['--out', str(tmp_path/'runs')]
        rc, err = _sweep_main(args + (['--no-report'] if args[:1] == ['sweep'] else []), monkeypatch)
        rows.append((' '.join(args), rc, err.strip()))
    (tmp_path/'fuzz-sweep.txt').write_text('\n'.join(f'{a}\t{rc}\t{e}' for a, rc, e in rows))
    bad = [r for r in rows if not _one_line_error(r[1], r[2])]
    assert not bad, bad
    print('\n'.join(f'{a!r:60} -> {rc}: {e}' for a, rc, e in rows))

def test_errors_exit_codes_and_debug(small_zoo, tmp_path):
    "In real processes: usage errors exit 2, runtime errors 1, one line each; --debug adds the traceback."
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS='ignore')
    run = lambda *a: subprocess.run([sys.executable, '-c', 'import sys; from netsim.zoo import zoo_cli; sys.exit(zoo_cli())', *a],
                                   capture_output=True, text=True, env=env, timeout=120)
    r = run('--width', 'inf', '--out', str(tmp_path/'o'))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and '--width' in r.stderr, r.stderr
    z = _copy(small_zoo, tmp_path); mf = z/'manifest.json'
    mf.write_text(mf.read_text().replace('"n_out": 2', '"n_out": 3'))     # a damaged zoo: a failure while running
    args = ['--out', str(z), '--quiet', '--n-classes', '2', '--examples-per-class', '20', '--models-per-class', '2',
            '--epochs', '1', '--width', '0.1', '--batch-size', '16', '--chunk', '2', '--workers', '1']
    r = run(*args, '--debug')                                          # (one line without --debug: test_errors_full_disk)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and 'Traceback' in r.stderr and last.startswith('netsim-zoo: error:') and 'manifest.json' in last, r.stderr

def test_errors_full_disk(tmp_path, monkeypatch):
    import errno, netsim.zoo.store as Z
    def full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path/'o'/'x.safetensors'))
    monkeypatch.setattr(Z, 'save_file', full)
    rc, err = _zoo_cli(['--out', str(tmp_path/'o'), '--quiet', '--n-classes', '1', '--examples-per-class', '10',
                        '--models-per-class', '1', '--epochs', '1', '--width', '0.1', '--workers', '1'])
    assert rc == 1 and _one_line_error(rc, err) and 'free space' in err, err

def test_errors_sentences_not_torch_errors():
    from netsim.models import make_model, stack_models
    from netsim.chain import chain_features
    from netsim.align import align_stack
    a, b = make_model('mlp4', (1, 8, 8), 2, 0.1, seed=0), make_model('mlp4', (1, 8, 8), 2, 0.2, seed=1)
    with pytest.raises(ValueError, match='width|shape'): chain_features([a, b], device='cpu')
    st = stack_models([a, make_model('mlp4', (1, 8, 8), 2, 0.1, seed=2)])
    with pytest.raises(ValueError, match='reference'): align_stack(st, 'match', ref=b.state_dict())
    with pytest.raises(ValueError, match='reference'): align_stack(st, 'match', ref=make_model('plain5', (1, 8, 8), 2, 0.25).state_dict())

# --- leftovers, atomic writes, engines, merge ---------------------------------------------------------------------
def test_tmp_leftovers_cleaned(small_zoo, tmp_path):
    z = _copy(small_zoo, tmp_path)
    dead = z/'.chunk-00001.safetensors.tmp999999999'; dead.write_bytes(b'x' * 100)
    _zoo(z)
    assert not dead.exists()

def test_report_atomic_unique(tmp_path):
    from netsim.sweep import Recorder
    from netsim.report import write_report
    for ds in ('digits', 'words'):
        rec = Recorder(tmp_path/ds, ds, {'dataset': ds}); rec.add('zoo', [dict(metric='models', value=4)]); rec.write()
    errs = []
    def go():
        try:
            for _ in range(5): write_report(tmp_path)
        except Exception as e: errs.append(e)
    ts = [threading.Thread(target=go) for _ in range(3)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not errs, errs
    assert '2 run(s)' in (tmp_path/'report.md').read_text()
    assert not [p for p in tmp_path.rglob('*') if 'tmp' in p.name]

def test_engine_recorded_and_mixing_warned(tmp_path):
    from netsim.zoo import load_zoo
    z = _zoo(tmp_path/'e', engine='loop', shard=(0, 2))
    assert set(z.meta.engine) == {'loop'} and set(z.meta.device) == {'cpu'}
    from netsim.zoo import train_zoo
    with pytest.warns(UserWarning, match='engine'):
        train_zoo(tmp_path/'e', **{**ZKW, 'engine': 'vmap'})
    assert set(load_zoo(tmp_path/'e').meta.engine) == {'loop', 'vmap'}

def test_merge_subcommand(tmp_path):
    _zoo(tmp_path/'s0', shard=(0, 2)); _zoo(tmp_path/'s1', shard=(1, 2))
    rc, err = _zoo_cli(['merge', str(tmp_path/'all'), str(tmp_path/'s0'), str(tmp_path/'s1')])
    from netsim.zoo import load_zoo
    assert rc in (0, None), err
    assert load_zoo(tmp_path/'all').complete
