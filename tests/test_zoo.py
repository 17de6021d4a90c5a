"Zoo training and store: vectorised == sequential, determinism, SIGKILL resume in a real subprocess, bad directories."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from netsim.data import load_dataset, solution_classes
from netsim.zoo.train import Job, train_one, train_stack, get_recipe
from netsim.zoo.jobs import train_jobs
import netsim.zoo.train as T
from netsim.zoo import train_zoo, load_zoo, merge_zoos, zoo_cli, ZooError

torch.set_num_threads(1)   # tiny models train fastest single-threaded (see netsim.zoo.train)
ROOT = Path(__file__).resolve().parents[1]
KW = dict(dataset='digits', arch='mlp4', models_per_class=3, epochs=3, width=0.1, batch_size=32, device='cpu', progress=False, workers=1)

@pytest.fixture(scope='module')
def digits():
    ds = load_dataset('digits')
    return ds, solution_classes(ds, 'disjoint', k=2)

def _jobs(digits, n=3, m=96):
    ds, scs = digits
    out = []
    for i in range(n):
        xtr, ytr, xte, yte = scs[i % 2].data(ds)
        out.append(Job(300+i, 400+i, xtr[:m], ytr[:m], xte, yte))
    return out

def _functionally_irrelevant(model, recipe):
    """Under Adam, conv biases feeding a BatchNorm (their gradient is zero up to rounding, which Adam normalises to
    full-size steps) and the running means that absorb them differ between engines; the function does not."""
    if recipe != 'adam': return set()
    names, out = list(dict(model.named_modules()).items()), set()
    for (n1, m1), (n2, m2) in zip(names, names[1:]):
        if isinstance(m1, torch.nn.Conv2d) and isinstance(m2, torch.nn.BatchNorm2d) and m1.bias is not None:
            out |= {f'{n1}.bias', f'{n2}.running_mean'}
    return out

@pytest.mark.parametrize('arch,width,recipe', [('plain6', 0.25, 'sgd'), ('plain5-leaky', 0.25, 'adam'),
                                               ('res5', 0.25, 'adam'), ('mlp4', 0.2, 'sgd')])
def test_stack_equals_loop(digits, arch, width, recipe):
    "Architectures and recipes the notebook does not cover: stacked training gives the loop's weights and outputs."
    from netsim.models import make_model
    jobs, ds = _jobs(digits), digits[0]
    a = [train_one(arch, ds.in_shape, 2, j, epochs=2, recipe=recipe, batch_size=32, width=width, device='cpu') for j in jobs]
    b = train_stack(arch, ds.in_shape, 2, jobs, epochs=2, recipe=recipe, batch_size=32, width=width, device='cpu')
    m = make_model(arch, ds.in_shape, 2, width).eval()
    skip = _functionally_irrelevant(m, recipe)
    for j, ra, rb in zip(jobs, a, b):
        assert ra['status'] == rb['status'] == 'ok'
        for k in ra['state']:
            # Adam divides by sqrt(v): parameters with near-zero gradients move by rounding noise (at most lr per step)
            if k not in skip: torch.testing.assert_close(ra['state'][k], rb['state'][k], rtol=1e-4,
                                                         atol=5e-3 if recipe == 'adam' else 2e-4, msg=k)
        outs = []
        for r in (ra, rb):
            m.load_state_dict(r['state'])
            with torch.no_grad(): outs.append(m(j.xte))
        torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-2 if recipe == 'adam' else 1e-3)
        # near-tie test examples may flip: one with SGD, two with Adam (conv nets train channels_last in the loop)
        assert ra['train_acc'] == rb['train_acc'] and abs(ra['test_acc'] - rb['test_acc']) <= (2 if recipe == 'adam' else 1)/len(j.xte) + 1e-9

def test_stack_differs_per_seed(digits):
    "The check above can fail: different seeds give different weights, and a stack is not one model repeated."
    jobs, ds = _jobs(digits), digits[0]
    b = train_stack('mlp4', ds.in_shape, 2, jobs, epochs=1, batch_size=32, width=0.1, device='cpu')
    assert not torch.allclose(b[0]['state']['body.1.weight'], b[1]['state']['body.1.weight'])
    # same seeds but a different shuffling seed give different weights too
    j2 = Job(jobs[0].seed, jobs[0].shuffle_seed+1, jobs[0].xtr, jobs[0].ytr, jobs[0].xte, jobs[0].yte)
    c = train_one('mlp4', ds.in_shape, 2, j2, epochs=1, batch_size=32, width=0.1, device='cpu')
    assert not torch.allclose(b[0]['state']['body.1.weight'], c['state']['body.1.weight'])

def test_vmap_zoo_deterministic_and_close_to_loop(tmp_path):
    z1 = train_zoo(tmp_path/'v1', engine='vmap', n_classes=2, chunk=4, **KW)
    z2 = train_zoo(tmp_path/'v2', engine='vmap', n_classes=2, chunk=3, **KW)
    z3 = train_zoo(tmp_path/'l', engine='loop', n_classes=2, chunk=4, **KW)
    a, b, c = z1.stack(), z2.stack(), z3.stack()
    for k in a.params:
        assert torch.equal(a.params[k], b.params[k]), k
        torch.testing.assert_close(a.params[k], c.params[k], rtol=1e-4, atol=2e-4)
    assert set(z1.meta.engine) == {'vmap'} and set(z3.meta.engine) == {'loop'}

def test_mixed_failures_keep_the_good_models(digits, monkeypatch):
    "A chunk where some models diverge and others do not: slots of the ok models point at the right weights."
    orig = T.train_one
    def flaky(arch, in_shape, n_out, job, epochs, r, *a, **k):
        return orig(arch, in_shape, n_out, job, epochs, dict(r, lr=1e6) if job.seed % 2 else r, *a, **k)
    monkeypatch.setattr(T, 'train_one', flaky)
    ref = None
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        z = train_zoo(Path(d)/'z', engine='loop', n_classes=2, chunk=6, **KW)
        st = z.meta.status.tolist()
        assert 'failed' in st and 'ok' in st, st
        assert all(z.meta.reason[z.meta.status == 'failed'].str.startswith('non-finite'))
        monkeypatch.setattr(T, 'train_one', orig)
        ref = train_zoo(Path(d)/'ref', engine='loop', n_classes=2, chunk=6, **KW)
        for i in z.meta.model[z.meta.status == 'ok']:
            for k, v in z.module(int(i)).state_dict().items():
                assert torch.equal(v, ref.module(int(i)).state_dict()[k])

def test_sigkill_resume_loses_and_duplicates_nothing(tmp_path):
    "A real subprocess is SIGKILLed mid-run; re-running finishes the zoo, equal to an uninterrupted run."
    out = tmp_path/'killed'
    cmd = [sys.executable, '-c', 'from netsim.zoo import zoo_cli; zoo_cli()', '--arch', 'mlp4', '--models-per-class', '4',
           '--epochs', '3', '--width', '0.1', '--batch-size', '32', '--chunk', '2', '--device', 'cpu', '--quiet',
           '--engine', 'loop', '--workers', '1', '--out', str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    t0 = time.time()
    while not (out/'chunk-00002.json').exists() and time.time()-t0 < 120 and proc.poll() is None: time.sleep(0.005)
    assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    proc.send_signal(signal.SIGKILL); proc.wait()
    done = sorted(f for f in os.listdir(out) if f.startswith('chunk') and f.endswith('.json'))
    assert 3 <= len(done) < 10, done
    mtimes = {f: (out/f).stat().st_mtime_ns for f in done}
    r = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    for f, t in mtimes.items(): assert (out/f).stat().st_mtime_ns == t, f"{f} was rewritten"   # never retrained
    z = load_zoo(out)
    assert z.complete and z.meta.model.tolist() == list(range(20))
    assert not [f for f in os.listdir(out) if '.tmp' in f]
    ref = train_zoo(tmp_path/'ref', models_per_class=4, chunk=5, engine='loop', **{k: v for k, v in KW.items() if k != 'models_per_class'})
    a, b = z.stack(), ref.stack()
    for k in a.params: assert torch.equal(a.params[k], b.params[k]), k

def test_half_written_and_corrupt_files(tmp_path):
    z = train_zoo(tmp_path/'z', n_classes=2, chunk=2, **KW)
    # a stray temporary file (a write killed before its rename) is ignored
    (tmp_path/'z'/'.chunk-00000.safetensors.tmp123').write_bytes(b'half')
    assert len(load_zoo(tmp_path/'z')) == 6
    # truncated metadata: load refuses with the chunk named; train_zoo retrains just that chunk
    (tmp_path/'z'/'chunk-00001.json').write_text('{"chunk": 1, "rows": [')
    with pytest.raises(ZooError, match='chunk 1 is corrupt'): load_zoo(tmp_path/'z')
    with pytest.warns(UserWarning, match='retraining'): z2 = train_zoo(tmp_path/'z', n_classes=2, chunk=2, **KW)
    assert z2.complete
    for k in z.stack().params: assert torch.equal(z.stack().params[k], z2.stack().params[k])
    # weights file missing
    (tmp_path/'z'/'chunk-00002.safetensors').unlink()
    with pytest.raises(ZooError, match='missing'): load_zoo(tmp_path/'z')

def test_foreign_directories(tmp_path):
    with pytest.raises(ZooError, match='not a directory'): load_zoo(tmp_path/'nothing')
    (tmp_path/'m').mkdir(); (tmp_path/'m'/'manifest.json').write_text(json.dumps({'format': 'other'}))
    with pytest.raises(ZooError, match='not a netsim zoo manifest'): load_zoo(tmp_path/'m')
    (tmp_path/'m'/'manifest.json').write_text(json.dumps({'format': 'netsim-zoo', 'format_version': 99}))
    with pytest.raises(ZooError, match='format version 99'): load_zoo(tmp_path/'m')
    (tmp_path/'m'/'manifest.json').write_text('{not json')
    with pytest.raises(ZooError, match='corrupt'): load_zoo(tmp_path/'m')

def test_merge_refuses_other_configs(tmp_path):
    a = train_zoo(tmp_path/'a', n_classes=1, chunk=2, **KW)
    b = train_zoo(tmp_path/'b', n_classes=1, chunk=2, seed=1, **KW)
    with pytest.raises(ZooError, match=r"differs .* in \['seed'\]"): merge_zoos(tmp_path/'m', tmp_path/'a', tmp_path/'b')
    m = merge_zoos(tmp_path/'m', tmp_path/'a', tmp_path/'a')     # merging a zoo twice duplicates nothing
    assert len(m) == 3 and m.complete

def test_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e: zoo_cli(['--out', str(tmp_path/'x'), '--shard', '3/2'])
    assert e.value.code == 2 and '--shard' in capsys.readouterr().err
    with pytest.raises(SystemExit) as e: zoo_cli(['--out', str(tmp_path/'x'), '--models-per-class', '0'])
    assert e.value.code == 2 and '--models-per-class' in capsys.readouterr().err
    with pytest.raises(SystemExit): zoo_cli(['--out', str(tmp_path/'x'), '--arch', 'mlp9'])

def test_cli_trains_and_prints_summary(tmp_path, capsys):
    zoo_cli(['--out', str(tmp_path/'c'), '--models-per-class', '1', '--n-classes', '2', '--width', '0.1', '--epochs', '2',
             '--batch-size', '32', '--device', 'cpu', '--quiet'])
    out = capsys.readouterr().out
    assert 'Zoo(' in out and 'test_acc_mean' in out
    assert load_zoo(tmp_path/'c').complete

def _children(pid):
    "Live (non-zombie) processes whose parent is `pid` (Linux /proc)."
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit(): continue
        try: st = Path(f'/proc/{d}/stat').read_text()
        except OSError: continue
        fields = st[st.rindex(')')+2:].split()    # state, ppid, ...
        if int(fields[1]) == pid and fields[0] != 'Z': out.append(int(d))
    return out

def _alive(pid):
    try: st = Path(f'/proc/{pid}/stat').read_text()
    except OSError: return False
    return st[st.rindex(')')+2] != 'Z'

@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_workers_die_with_their_parent():
    "A real subprocess trains with forked workers; SIGKILL it and the workers are gone within seconds (no orphans)."
    code = ("import torch; from netsim.data import load_dataset, solution_classes; from netsim.zoo.train import Job; from netsim.zoo.jobs import train_jobs\n"
            "ds = load_dataset('digits'); x, y, xt, yt = solution_classes(ds, 'disjoint', k=2)[0].data(ds)\n"
            "jobs = [Job(i, i, x, y, xt, yt) for i in range(400)]\n"
            "train_jobs('mlp4', ds.in_shape, 2, jobs, epochs=20, width=0.5, batch_size=16, device='cpu', engine='loop', workers=2)\n")
    proc = subprocess.Popen([sys.executable, '-c', code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids = []
    try:
        t0 = time.time()
        while len(kids) < 2 and time.time()-t0 < 60 and proc.poll() is None: time.sleep(0.05); kids = _children(proc.pid)
        assert len(kids) >= 2, f"no workers seen: {proc.stderr.read().decode()[-500:] if proc.poll() is not None else ''}"
        time.sleep(0.5)                         # workers are in their initializer or training now
        proc.send_signal(signal.SIGKILL); proc.wait()
        t0 = time.time()
        while any(_alive(k) for k in kids) and time.time()-t0 < 5: time.sleep(0.05)
        assert not [k for k in kids if _alive(k)], "workers outlived their killed parent"
    finally:
        if proc.poll() is None: proc.kill()
        for k in kids:                          # never leave orphans behind, even when the test fails
            try: os.kill(k, signal.SIGKILL)
            except OSError: pass

def test_what_thread_counts_guarantee(digits):
    """Explicit `workers`: every model single-threaded, so its weights do not depend on N or on the other jobs.
    workers='auto' gives a lone model every core: the same call gives the same weights, and they equal the
    single-threaded ones within float tolerance (bit-equality across thread counts is not promised for conv nets)."""
    nt = torch.get_num_threads()
    jobs, ds = _jobs(digits, n=3, m=64), digits[0]
    kw = dict(epochs=2, batch_size=32, device='cpu', engine='loop')
    for arch, width in [('mlp4', 0.2), ('plain5', 0.25)]:
        one = train_jobs(arch, ds.in_shape, 2, jobs, width=width, workers=1, **kw)
        two = train_jobs(arch, ds.in_shape, 2, jobs, width=width, workers=2, **kw)
        alone = train_jobs(arch, ds.in_shape, 2, jobs[:1], width=width, workers='auto', **kw)
        again = train_jobs(arch, ds.in_shape, 2, jobs[:1], width=width, workers='auto', **kw)
        for k in one[0]['state']:
            assert all(torch.equal(a['state'][k], b['state'][k]) for a, b in zip(one, two)), (arch, k)
            assert torch.equal(alone[0]['state'][k], again[0]['state'][k]), (arch, k)
            # conv nets train channels_last on a CPU: 1 vs 2 threads measured up to 3.5e-5 apart (PlainNet-5, width 0.25)
            torch.testing.assert_close(alone[0]['state'][k], one[0]['state'][k], rtol=1e-4, atol=1e-4 if arch == 'plain5' else 1e-5, msg=f'{arch} {k}')
    assert torch.get_num_threads() == nt     # train_jobs restores the caller's thread setting

def test_memory_budget_and_stack_caps(monkeypatch):
    "The stack cap follows the budget (CPU RAM, or free GPU memory on CUDA, checked here with a fake device)."
    per = T.stack_bytes_per_model('plain5', (1, 28, 28), 2)
    assert T.max_stack_size('plain5', (1, 28, 28), 2, budget=40*per + 1) == 40
    with pytest.raises(T.StackMemoryError, match='more than the memory budget'): T.max_stack_size('plain5', (1, 28, 28), 2, budget=per - 1)
    # PlainNet-5 at 128 models per worker (the stack that needed 11.7 GB) no longer fits a 24 GB machine's default budget
    assert T.max_stack_size('plain5', (1, 28, 28), 2, budget=int(0.5 * 24e9 / 2)) < 128
    monkeypatch.setattr(T, 'resolve_device', lambda d: torch.device('cuda'))
    monkeypatch.setattr(torch.cuda, 'mem_get_info', lambda d=None: (10 * 2**30, 80 * 2**30))
    assert T.memory_budget('cuda') == int(0.8 * 10 * 2**30)

CL_FUZZ = r'''
import itertools, random, sys, torch, torch.nn as nn
torch.set_num_threads(int(sys.argv[1]))
random.seed(0); torch.manual_seed(0)   # fixed inputs: the tolerances hold for these, not for every draw
cfgs = list(itertools.product([1, 2, 3, 4, 8, 16], [1, 4, 8, 32, 64], [2, 4, 7, 8, 14, 28], [False, True]))
random.shuffle(cfgs)
for cin, cout, H, bias in cfgs[:60]:
    cl = nn.Conv2d(cin, cout, 3, padding=1, bias=bias).to(memory_format=torch.channels_last)
    ref = nn.Conv2d(cin, cout, 3, padding=1, bias=bias); ref.load_state_dict(cl.state_dict())
    for B in (5, 64):
        x = torch.randn(B, cin, H, H); xc = x.contiguous(memory_format=torch.channels_last).requires_grad_(); x.requires_grad_()
        y, y2 = cl(xc), ref(x)
        y.square().sum().backward(); y2.square().sum().backward()
        assert torch.allclose(y, y2, atol=1e-4), (cin, cout, H)
        assert torch.allclose(cl.weight.grad, ref.weight.grad, rtol=1e-3, atol=1e-3), (cin, cout, H)
        assert torch.allclose(xc.grad, x.grad, atol=1e-4), (cin, cout, H)
        cl.zero_grad(); ref.zero_grad()
print('ok')
'''

@pytest.mark.parametrize('threads', [1, 2])
def test_channels_last_convs_are_safe(threads):
    """The CPU trainer runs PlainNet/VGG channels_last. Their 3x3 stride-1 convs must give the default layout's outputs and
    gradients without corrupting the heap (glibc's strict checks on, in a separate process): torch 2.13 does corrupt it
    for strided 1x1 convs, which is why nets with those (the ResNets) are kept in the default layout."""
    import subprocess, sys
    from netsim.models import make_model
    r = subprocess.run([sys.executable, '-c', CL_FUZZ, str(threads)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'MALLOC_CHECK_': '3'})
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-2000:]
    cpu = torch.device('cpu')
    for arch, fmt in [('plain5', torch.channels_last), ('plain6', torch.channels_last), ('vgg', torch.channels_last),
                      ('res5', torch.contiguous_format), ('resnet', torch.contiguous_format), ('gru2', torch.contiguous_format)]:
        shape = (12, 58) if arch == 'gru2' else (1, 8, 8)
        assert T._memory_format(make_model(arch, shape, 2), cpu) == fmt, arch
    assert T._memory_format(make_model('plain5', (1, 8, 8), 2), torch.device('meta')) == torch.contiguous_format   # CPU only

def test_resume_with_another_version_warns(tmp_path):
    "Resuming a zoo started by another netsim version keeps its models and warns that the new ones use this version."
    kw = dict(KW, n_classes=2, models_per_class=2, chunk=2)
    train_zoo(tmp_path/'z', shard=(0, 2), **kw)                      # half the chunks
    mf = tmp_path/'z'/'manifest.json'
    from netsim.integrity import dumps_checked                       # (the manifest carries its checksum)
    m = json.loads(mf.read_text()); m.pop('checksum'); m['netsim_version'] = '0.0.1'; mf.write_text(dumps_checked(m))
    with pytest.warns(UserWarning, match=r'started with netsim 0\.0\.1; the 2 models still to train'):
        z = train_zoo(tmp_path/'z', **kw)
    assert len(z.meta) == 4 and (z.meta.status == 'ok').all()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        train_zoo(tmp_path/'z', **kw)                                 # nothing left to train: no warning

def test_workers_keep_freed_memory():
    "Forked workers tell glibc to keep freed blocks for reuse (mallopt); the call says whether it took (glibc Linux: yes)."
    import multiprocessing as mp, sys
    from netsim.core import keep_freed_memory
    ctx = mp.get_context('fork'); q = ctx.Queue()
    p = ctx.Process(target=lambda: q.put(keep_freed_memory())); p.start()
    took = q.get(timeout=60); p.join()
    assert took == sys.platform.startswith('linux')

@pytest.mark.parametrize('env, want', [({}, ('PASSIVE', '1000')), ({'OMP_WAIT_POLICY': 'passive'}, ('passive', '1000')),
                                        ({'OMP_WAIT_POLICY': 'ACTIVE'}, ('ACTIVE', None)), ({'GOMP_SPINCOUNT': '0'}, ('PASSIVE', '0'))])
def test_import_sets_openmp_waiting(env, want):
    "`import netsim` makes OpenMP threads wait passively after a short spin, unless the user chose a spin count or active waiting."
    base = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    out = subprocess.run([sys.executable, '-c', "import os, netsim; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"],
                         env=base | env, capture_output=True, text=True, check=True).stdout.split()
    assert tuple(None if o == 'None' else o for o in out) == want

def _word_jobs(n=2, m=160, T_=9, I=11):
    "Random one-hot 'words' (right-padded) with 3 classes: GRU jobs without a dataset on disk."
    g, out = torch.Generator().manual_seed(7), []
    for i in range(n):
        L = torch.randint(1, T_ + 1, (m + 40,), generator=g)
        x = torch.nn.functional.one_hot(torch.randint(0, I, (m + 40, T_), generator=g), I).float()
        x *= (torch.arange(T_)[None, :] < L[:, None])[..., None]
        y = torch.randint(0, 3, (m + 40,), generator=g)
        out.append(Job(500 + i, 600 + i, x[:m], y[:m], x[m:], y[m:]))
    return out

def test_gru_weights_do_not_depend_on_thread_count():
    "A GRU trained alone on every core (its batch's rows in blocks, one thread each) gets the single-threaded weights, bit for bit."
    jobs, nt = _word_jobs(), torch.get_num_threads()
    kw = dict(epochs=2, batch_size=128, device='cpu', engine='loop', width=0.5)
    one = train_jobs('gru2', (9, 11), 3, jobs, workers=1, **kw)
    torch.set_num_threads(2)
    try: alone = [train_one('gru2', (9, 11), 3, j, 2, 'sgd', 128, 0.5, 'cpu') for j in jobs]
    finally: torch.set_num_threads(nt)
    for a, b in zip(one, alone):
        assert a['status'] == b['status'] == 'ok'
        for k in a['state']: assert torch.equal(a['state'][k], b['state'][k]), k

FORK_GRU = r'''
import os, sys, torch
import netsim.zoo.fused_gru as gf
from netsim.models import make_model
torch.set_num_threads(2)
m = make_model('gru2', (8, 10), 3, seed=0)
x = torch.nn.functional.one_hot(torch.randint(0, 10, (128, 8), generator=torch.Generator().manual_seed(0)), 10).float()
ref = gf.grunet_forward(m, x)                       # the parent's row blocks run in its thread pool
assert len(gf._blocks(128)) == 2 and os.getpid() in gf._POOL
pid = os.fork()
if pid == 0:                                        # like a zoo worker: single-threaded torch (OpenMP cannot restart after fork)
    torch.set_num_threads(1)
    ok = torch.equal(gf.grunet_forward(m, x), ref)  # one block, in this thread
    ok &= gf._pool(2).submit(int, 7).result() == 7   # the copied pool has no threads: a fresh one must be made
    os._exit(0 if ok and list(gf._POOL) == [os.getpid()] else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
'''

def test_gru_thread_pool_survives_fork():
    "A process forked after the fused GRU ran its blocks in threads makes its own pool (a copied one would hang) and gets the same outputs."
    r = subprocess.run([sys.executable, '-c', FORK_GRU], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]

FORK_THREADS = r'''
import os, torch
from netsim.data import load_dataset, solution_classes
from netsim.zoo.train import Job
from netsim.zoo.jobs import train_jobs
os.cpu_count = lambda: 4                      # a machine with more cores than parts: 2 jobs, 4 "cores"
torch.set_num_threads(2)
(torch.randn(512, 512) @ torch.randn(512, 512)).sum().item()   # the parent's OpenMP threads are up
ds = load_dataset('digits'); sc = solution_classes(ds, 'disjoint', k=2)[0]
xtr, ytr, xte, yte = sc.data(ds)
jobs = [Job(i, i, xtr[:64], ytr[:64], xte, yte) for i in range(2)]
res = train_jobs('mlp4', ds.in_shape, 2, jobs, epochs=1, batch_size=32, width=0.1, device='cpu', engine='loop', workers='auto')
assert all(r['status'] == 'ok' for r in res)
'''

def test_forked_workers_do_not_hang_with_spare_cores():
    "Fewer parts than cores: forked workers must not start OpenMP threads (a child forked after the parent used them hangs)."
    r = subprocess.run([sys.executable, '-c', FORK_THREADS], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]

@pytest.mark.parametrize('arch,recipe', [('mlp4', get_recipe('sgd')), ('mlp4-leaky', get_recipe('sgd', momentum=0.0, weight_decay=1e-3))])
def test_mlp_hand_written_steps_match_autograd(digits, monkeypatch, arch, recipe):
    "train_one trains SGD MLPs through netsim.zoo.fused_mlp: the weights, loss and accuracies of autograd + torch.optim.SGD."
    import netsim.zoo.fused_mlp as MF
    jobs, ds = _jobs(digits, n=2), digits[0]
    kw = dict(epochs=3, recipe=recipe, batch_size=32, width=0.2, device='cpu')
    assert T.fused_sgd(T.make_model(arch, ds.in_shape, 2, 0.2), recipe) is not None    # the fused path is the one tested
    fused = [train_one(arch, ds.in_shape, 2, j, **kw) for j in jobs]
    monkeypatch.setattr(MF, 'FUSED', False)
    assert T.fused_sgd(T.make_model(arch, ds.in_shape, 2, 0.2), recipe) is None
    auto = [train_one(arch, ds.in_shape, 2, j, **kw) for j in jobs]
    for a, b in zip(fused, auto):
        assert a['status'] == b['status'] == 'ok' and a['train_acc'] == b['train_acc'] and a['test_acc'] == b['test_acc']
        assert abs(a['loss'] - b['loss']) < 1e-5 * max(1.0, b['loss'])
        for k in a['state']: torch.testing.assert_close(a['state'][k], b['state'][k], rtol=1e-5, atol=1e-6, msg=k)
    assert not torch.equal(fused[0]['state']['body.1.weight'], fused[1]['state']['body.1.weight'])
