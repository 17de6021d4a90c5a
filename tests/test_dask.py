"Scaling out on Dask: a SIGKILLed worker, a killed client, a second client, a task that raises, SLURM job scripts, pairs and FFL features as tasks, bad input."
import json, os, signal, shutil, subprocess, sys, threading, time
from pathlib import Path
import pytest
import torch
from distributed import Client, LocalCluster
from netsim.zoo import train_zoo, load_zoo, zoo_cli, zoo_config, ZooError
from netsim.zoo.cluster import (local_cluster, slurm_cluster, scheduler_client, parse_scheduler, train_chunks, train_chunk_task,
                             check_store, store_lock, ChunkError, add_scheduler_args, LOCK)

ROOT = Path(__file__).resolve().parents[1]
KW = dict(dataset='digits', arch='mlp4', models_per_class=2, epochs=2, width=0.25, batch_size=32, chunk=2, device='cpu', progress=False)

@pytest.fixture(scope='module')
def client():
    with local_cluster(2) as cluster, Client(cluster) as c: yield c

@pytest.fixture(scope='module')
def serial(tmp_path_factory):
    return train_zoo(tmp_path_factory.mktemp('serial')/'z', workers=1, **KW).path

def _files(p): return {f.name: f.read_bytes() for f in sorted(Path(p).glob('chunk-*'))}
def _weights(p): return {k: v for k, v in _files(p).items() if k.endswith('.safetensors')}

def test_worker_sigkill_mid_chunk(client, serial, tmp_path):
    pids, killed = client.run(os.getpid), []
    def killer():
        while not killed:
            busy = sorted(w for w, ks in client.processing().items() if ks)
            if busy: os.kill(pids[busy[0]], signal.SIGKILL); killed.append(pids[busy[0]])
            else: time.sleep(0.002)
    th = threading.Thread(target=killer); th.start()
    z = train_zoo(tmp_path/'z', client=client, **KW); th.join(timeout=60)
    assert killed and z.complete and z.meta.model.is_unique and len(z) == 10
    assert _weights(tmp_path/'z') == _weights(serial)                       # bit for bit
    names = sorted(f.name for f in (tmp_path/'z').iterdir())
    assert names == sorted(['manifest.json'] + [f'chunk-{c:05d}.{e}' for c in range(5) for e in ('json', 'safetensors')])

def test_resume_after_client_killed(client, tmp_path):
    out, kw = tmp_path/'z', dict(KW, chunk=1, width=0.5, epochs=3)
    cmd = [sys.executable, '-c', 'from netsim.zoo import zoo_cli; zoo_cli()', '--scheduler', 'local', '--n-workers', '2',
           '--quiet', '--out', str(out)] + [f"--{k.replace('_', '-')}={v}" for k, v in kw.items() if k not in ('device', 'progress')]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    p = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t = time.time()
        while len(list(out.glob('chunk-*.json'))) < 2 and time.time() - t < 120 and p.poll() is None: time.sleep(0.01)
    finally: os.killpg(p.pid, signal.SIGKILL); p.wait()
    before = {f.name: f.stat().st_mtime_ns for f in out.glob('chunk-*.json')}
    assert 2 <= len(before) < 10, f"{len(before)} chunks were done when the client was killed"
    assert (out/LOCK).exists()                                             # the dead client's lock, taken over below
    cfg = zoo_config(**{k: v for k, v in kw.items() if k not in ('device', 'progress')})
    m = json.loads((out/'manifest.json').read_text())
    res = train_chunks(client, out, range(m['n_chunks']), cfg, m)
    trained = sorted(c for c, r in res.items() if r['trained'])
    assert len(trained) == 10 - len(before)                                 # only the missing chunks
    assert {f.name: f.stat().st_mtime_ns for f in out.glob('chunk-*.json') if f.name in before} == before
    assert load_zoo(out).complete and not (out/LOCK).exists()

def test_second_client_refuses(client, tmp_path):
    (tmp_path/'z').mkdir()
    (tmp_path/'z'/LOCK).write_text(json.dumps(dict(host='node7', pid=4242, since='2026-12-06 05:00:00')))
    with pytest.raises(ZooError, match='host node7, pid 4242'): train_zoo(tmp_path/'z', client=client, **KW)
    assert not list((tmp_path/'z').glob('chunk-*'))

def _flaky(path, c, *args):
    if c == 1: raise FloatingPointError(f"NaN loss in chunk {c} (injected)")
    return train_chunk_task(path, c, *args)

def test_task_that_raises(client, serial, tmp_path):
    shutil.copytree(serial, tmp_path/'z'); [f.unlink() for f in (tmp_path/'z').glob('chunk-*')]
    m, cfg = json.loads((tmp_path/'z'/'manifest.json').read_text()), load_zoo(serial).config
    with pytest.raises(ChunkError) as e: train_chunks(client, tmp_path/'z', range(5), cfg, m, _task=_flaky)
    assert list(e.value.tracebacks) == [1] and 'in _flaky' in e.value.tracebacks[1] and 'NaN loss in chunk 1' in str(e.value)
    assert len(load_zoo(tmp_path/'z')) == 8                                 # the other chunks finished

def test_pairwise_scores_with_client(client, serial):
    from netsim.comparison import pairwise_scores, match_report
    from netsim.data import load_dataset
    z, x = load_zoo(serial), load_dataset('digits').x_test[:100]
    models = [z.module(i) for i in range(3)]
    ser = pairwise_scores(models, x, device='cpu')
    assert ser.equals(pairwise_scores(models, x, device='cpu', client=client)) and len(ser) > 0
    assert match_report(models[:2], x, device='cpu').equals(match_report(models[:2], x, device='cpu', client=client))

def test_ffl_features_with_client(client, serial):
    "FFL features of a stored zoo made as tasks (groups of 3 models read by the workers) equal the serial ones, as does the report."
    from netsim.ffl import zoo_features, ffl_report
    z = load_zoo(serial)
    for method in ('chain', 'match'):
        ser, par = zoo_features(z, method), zoo_features(z, method, client=client, per_task=3)
        assert [(i, n) for i, n, _ in par] == [(i, n) for i, n, _ in ser] and len(ser) == 4
        assert all(torch.equal(a, b) for (_, _, a), (_, _, b) in zip(ser, par)), method
    kw = dict(alignments=('chain',), chains=[1, 3], seeds=(0,), protocols=('classification',), device='cpu', progress=False)
    assert ffl_report(z, client=client, **kw).equals(ffl_report(z, **kw))

def test_slurm_job_script_carries_options():
    import argparse
    a = add_scheduler_args(argparse.ArgumentParser()).parse_args(
        ['--scheduler', 'slurm:3', '--queue', 'gpu', '--cores', '6', '--memory', '24GB', '--walltime', '01:30:00'])
    with slurm_cluster(0, queue=a.queue, cores=a.cores, memory=a.memory, walltime=a.walltime) as sc: s = sc.job_script()
    for want in ('#SBATCH -p gpu', '#SBATCH -t 01:30:00', '#SBATCH --cpus-per-task=6', '#SBATCH --mem=23G', '#SBATCH -J netsim',
                 'export OMP_NUM_THREADS=1', '--nthreads 1', '--nworkers 6', '--memory-limit 3.73GiB'):
        assert want in s, (want, s)

def test_bad_input(tmp_path, capsys, monkeypatch):
    for spec in ('sge:2', 'node1:8786', 'slurm:zero'):
        try: rc = zoo_cli(['--scheduler', spec, '--out', str(tmp_path/'z'), '--quiet'])
        except SystemExit as e: rc = e.code                                # argparse refuses it, or run_cli reports it
        assert rc == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith('netsim-zoo: error:') and '--scheduler' in err and len(err.splitlines()) == 1
    assert not (tmp_path/'z').exists()                                      # nothing written
    t = time.time()
    with pytest.raises(ValueError, match='cannot reach the Dask scheduler at tcp://127.0.0.1:9.*dask scheduler'):
        with scheduler_client('tcp://127.0.0.1:9', timeout=1): pass
    assert time.time() - t < 15
    monkeypatch.setitem(sys.modules, 'dask_jobqueue', None)                 # as if not installed
    with pytest.raises(ValueError, match=r'pip install dask-jobqueue==0\.9\.0'): slurm_cluster(1, cores=2, memory='4GB')

@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('unshare'), reason='needs root and unshare(1) to hide a directory from a worker')
def test_store_not_visible_to_a_worker(tmp_path):
    shared = tmp_path/'shared'; shared.mkdir()
    with LocalCluster(n_workers=0, processes=True, dashboard_address=':0') as cl, Client(cl) as c:
        # a worker in its own mount namespace, where `shared` is an empty tmpfs: it cannot see the zoo
        w = subprocess.Popen(['unshare', '-m', 'sh', '-c', f'mount -t tmpfs none {shared} && exec {sys.executable} -m '
                              f'distributed.cli.dask_worker {cl.scheduler_address} --nthreads 1 --no-dashboard'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            c.wait_for_workers(1, timeout=60)
            with pytest.raises(ZooError, match=f'cannot see the zoo directory {shared}/z'): train_zoo(shared/'z', client=c, **KW)
        finally: w.kill(); w.wait()
    z = load_zoo(shared/'z')                                                # marked: a manifest, no chunk, resumable
    assert len(z) == 0 and not z.complete and not (shared/'z'/LOCK).exists()

def test_sweep_runs_as_tasks(client, tmp_path):
    "Two papermill runs of a tiny stand-in sweep notebook as tasks; each writes its results.json in its own folder."
    import nbformat
    from netsim.sweep import run_sweep, main
    nb = nbformat.v4.new_notebook(metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}})
    nb.cells = [nbformat.v4.new_code_cell('dataset: str = "digits"  # which dataset\nout_dir: str = "."  # where results go', metadata={'tags': ['parameters']}),
                nbformat.v4.new_code_cell('import json, os\nopen(os.path.join(out_dir, "results.json"), "w").write(json.dumps({"dataset": dataset, "pid": os.getpid()}))')]
    nbformat.write(nb, tmp_path/'tiny.ipynb')
    runs = run_sweep(['digits', 'words'], tmp_path/'runs', notebook=tmp_path/'tiny.ipynb', report=False, echo=lambda s: None, client=client)
    assert [r['status'] for r in runs] == ['ok', 'ok'], runs
    for ds in ('digits', 'words'): assert json.loads((tmp_path/'runs'/ds/'results.json').read_text())['dataset'] == ds
    assert main(['sweep', 'digits', '--scheduler', 'pbs:1', '--no-report']) == 2                 # an unknown form: one-line error
