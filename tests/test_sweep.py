"""`netsim sweep` end to end: two tiny configurations, the results schema and values, skipping, a failed run that does
not stop the others, and a run killed midway that resumes when re-run."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent/'netsim'
CMD = [str(BIN)] if BIN.exists() else [sys.executable, '-m', 'netsim.sweep']
# a tiny configuration: 4 solution classes x 3 models, 3 short epochs, narrow MLPs; every section runs
TINY = dict(archs=['mlp4'], scheme='pairs', n_classes=4, examples_per_class=60, models_per_class=3, epochs=3,
            batch_size=16, width=0.1, alignments=['chain', 'unaligned'], ffl_seeds=2, match_models=2,
            match_eps=[0.2, 0.5], match_coords=500, match_draws=2, device='cpu')

def netsim(*args, cwd, timeout=240):
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONWARNINGS='ignore')
    return subprocess.run(CMD + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)

def write_yaml(path, d): path.write_text(yaml.safe_dump(d)); return path

def kill_tree(pid):
    "SIGKILL `pid` and every descendant (the papermill kernel runs in its own process group, with its workers)."
    kids = {}
    for st in Path('/proc').glob('[0-9]*/stat'):
        try: kids.setdefault(int(st.read_text().rsplit(')', 1)[1].split()[1]), []).append(int(st.parent.name))
        except (OSError, IndexError, ValueError): pass
    tree, todo = [], [pid]
    while todo: p = todo.pop(); tree.append(p); todo += kids.get(p, [])
    for p in tree:
        for kill in (lambda: os.killpg(os.getpgid(p), signal.SIGKILL), lambda: os.kill(p, signal.SIGKILL)):
            try: kill()
            except (ProcessLookupError, PermissionError): pass

def check_run(run_dir, params):
    "Schema and values of one finished run."
    from netsim.sweep import validate_results
    res = validate_results(json.loads((run_dir/'results.json').read_text()))
    assert (run_dir/'sweep.ipynb').is_file()
    for k, v in params.items(): assert res['config'][k] == v, (k, res['config'][k], v)
    st = {k: v['status'] for k, v in res['sections'].items()}
    assert st['data'] == 'ok' and st['zoo'] == 'ok', st
    for s in ('ffl', 'match'): assert st[s] == 'ok' or st[s].startswith('skipped: '), st
    recs = res['records']
    def val(exp, metric, **kw):
        return [r['value'] for r in recs if r['experiment'] == exp and r['metric'] == metric and all(r.get(k) == v for k, v in kw.items())]
    for arch in params['archs']:
        assert val('zoo', 'models', arch=arch) == [params['n_classes']*params['models_per_class']]
        assert 0.75 < val('zoo', 'test_acc_mean', arch=arch)[0] <= 1.0    # pairs of digits: far above chance (0.5)
    assert val('data', 'solution_classes') == [params['n_classes']]
    for r in recs:
        if r['experiment'] in ('ffl', 'match') and r['value'] is not None: assert 0 <= r['value'] <= 1, r
    if st['ffl'] == 'ok':
        ffl = [r for r in recs if r['experiment'] == 'ffl']
        assert {r['method'] for r in ffl} == set(params['alignments']) and {r['protocol'] for r in ffl} == {'classification', 'retrieval'}
        top1 = {(r['method'], r['chain']): r['value'] for r in ffl if r['metric'] == 'top1'}
        n = len(params['alignments'])
        assert len(top1) == n*len({c for _, c in top1}) >= n*3, top1      # every chain of every method
    if st['match'] == 'ok':
        assert {r['eps'] for r in recs if r['experiment'] == 'match' and r['metric'] == 'similarity'} == set(params['match_eps'])
    for p in list(res['tables'].values()) + list(res['figures'].values()): assert (run_dir/p).is_file(), p
    return res

def test_sweep_two_configs_skip_and_failure(tmp_path):
    "Two tiny configurations (and a failing run between them) in one `netsim sweep` each; re-running skips them."
    a = write_yaml(tmp_path/'a.yaml', dict(TINY, datasets=['cifar100', 'digits']))   # cifar100: no files here, the run fails
    b = write_yaml(tmp_path/'b.yaml', dict(TINY, archs=['mlp4', 'plain5'], width=0.125, scheme='disjoint', n_classes=3,
                                           name='{dataset}-b'))
    r = netsim('sweep', '-f', a, '--out', 'runs', cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr                  # one run failed ...
    assert 'FAILED' in r.stdout and 'runs/cifar100/sweep.ipynb' in r.stdout, r.stdout
    assert (tmp_path/'runs/cifar100/sweep.ipynb').is_file() and not (tmp_path/'runs/cifar100/results.json').exists()
    check_run(tmp_path/'runs/digits', TINY)                        # ... and did not stop the other
    r = netsim('sweep', 'digits', '-f', b, '--out', 'runs', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    check_run(tmp_path/'runs/digits-b', dict(TINY, archs=['mlp4', 'plain5'], width=0.125, scheme='disjoint', n_classes=3))
    rep = (tmp_path/'runs/report.md').read_text()
    assert '| digits ' in rep and '| digits-b ' in rep and (tmp_path/'runs/report.html').is_file(), rep[:2000]
    t = time.time()
    r = netsim('sweep', 'digits', '-f', a, '--out', 'runs', '--no-report', cwd=tmp_path)   # same parameters: skipped
    assert r.returncode == 0 and 'skipped: results exist' in r.stdout, r.stdout + r.stderr
    assert time.time() - t < 30

def test_sweep_killed_midway_resumes(tmp_path):
    "A run killed while its zoo trains leaves no results.json; re-running keeps the finished chunks and completes."
    p = dict(TINY, n_classes=6, models_per_class=4, epochs=2, zoo_chunk=2,   # 12 chunks of 2 models
             alignments=['chain'], ffl_seeds=1, match_eps=[0.5])
    f = write_yaml(tmp_path/'p.yaml', p)
    env = dict(os.environ, MPLBACKEND='Agg')
    proc = subprocess.Popen(CMD + ['sweep', 'digits', '-f', str(f), '--out', 'runs', '--no-report'], cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    zoo, t0 = tmp_path/'runs/digits/zoos/mlp4', time.time()
    try:
        while len(list(zoo.glob('chunk-*.json'))) < 2:
            assert proc.poll() is None, 'the run ended before it could be killed'
            assert time.time() - t0 < 120, 'no chunk was written in 120 s'
            time.sleep(0.05)
    finally:
        kill_tree(proc.pid); proc.wait()
    time.sleep(0.5)
    done = {c.name: c.stat().st_mtime_ns for c in zoo.glob('chunk-*')}
    n_chunks = 6*4//2
    assert 2 <= len([c for c in done if c.endswith('.json')]) < n_chunks, sorted(done)
    assert not (tmp_path/'runs/digits/results.json').exists()
    r = netsim('sweep', 'digits', '-f', f, '--out', 'runs', '--no-report', cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    res = check_run(tmp_path/'runs/digits', p)
    assert len(list(zoo.glob('chunk-*.json'))) == n_chunks
    kept = {n: m for n, m in done.items() if n.endswith('.json')}
    assert all((zoo/n).stat().st_mtime_ns == m for n, m in kept.items()), 'finished chunks were retrained'

def test_packaged_notebook_in_sync():
    "The copy shipped inside the package (for non-editable installs) is the repo's sweep notebook."
    assert (ROOT/'netsim/sweep.ipynb').read_bytes() == (ROOT/'nbs/08_sweep.ipynb').read_bytes(), \
        'run: python -c "from netsim.sweep import sync_packaged_notebook as s; s()"'

def test_presets_are_valid():
    "Every preset names only parameters the sweep notebook has."
    from netsim.sweep import sweep_params, check_params, load_param_file, META_KEYS
    known = sweep_params()
    for f in sorted((ROOT/'presets').glob('*.yaml')):
        d = load_param_file(f)
        check_params({k: v for k, v in d.items() if k not in META_KEYS}, known)
        assert d.get('datasets'), f
