"Subspace match: the fast and plain engines against a brute-force oracle (all pairs of subsets) on random instances."
import math, os, random, subprocess, sys
import numpy as np
import pytest
import torch
from netsim.data import stable_seed
from netsim.match import (MatchResult, brute_force_matches, simple_from_matches, minimal_from_matches, max_match,
                          min_match, all_min_matches, simple_matches, max_match_similarity, max_epsilon,
                          min_epsilon_for_size, is_match, FALLBACKS)
TOL = 1e-5   # an explicit slack where a test needs a threshold of its own (the default follows the data's precision)
from netsim.match.gram import Matcher

def instance(kind, seed):
    "A random small instance (A, B, eps) of one of the kinds the oracle test covers."
    rng = np.random.default_rng(stable_seed('match-oracle', kind, seed))
    n, m = rng.integers(1, 7), rng.integers(1, 7)
    if kind == 'exact':            # integer combinations of a few shared directions: exact spans, duplicates, zeros
        d, r = rng.integers(2, 6), rng.integers(1, 4)
        L = rng.integers(-2, 3, size=(d, r + 2)).astype(float)
        A = L[:, rng.integers(0, r + 2, size=n)] * rng.integers(1, 3, size=n)
        B = L[:, rng.integers(0, r + 2, size=m)] * rng.integers(1, 3, size=m)
        pick = rng.random(m) < 0.4       # some y's are sums of two x's
        for j in np.nonzero(pick)[0]: B[:, j] = A[:, rng.integers(0, n)] + A[:, rng.integers(0, n)]
        if rng.random() < 0.3: A[:, rng.integers(0, n)] = 0
        if rng.random() < 0.3: B[:, rng.integers(0, m)] = 0
        eps = [0.0, 0.0, 1e-3, 0.3][rng.integers(0, 4)]
    elif kind == 'lowrank':        # shared low-rank subspace plus noise, approximate eps
        d, r = rng.integers(3, 8), rng.integers(1, 4)
        U = rng.normal(size=(d, r))
        A = U @ rng.normal(size=(r, n)) + rng.normal(size=(d, n)) * rng.choice([0.05, 0.3, 1.0], size=n)
        B = U @ rng.normal(size=(r, m)) + rng.normal(size=(d, m)) * rng.choice([0.05, 0.3, 1.0], size=m)
        if rng.random() < 0.3: B[:, -1] = A[:, 0]                    # a duplicate across nets
        eps = float(rng.choice([0.1, 0.25, 0.5]))
    else:                          # generic vectors in a small space: many overlapping approximate matches
        d = rng.integers(2, 5)
        A, B = rng.normal(size=(d, n)), rng.normal(size=(d, m))
        eps = float(rng.uniform(0.2, 0.8))
    return torch.tensor(A), torch.tensor(B), eps

def alg3_cost(mins):
    "Upper bound on the Algorithm 1 calls Algorithm 3 makes for one v (the product of the earlier matches' sizes)."
    tot, prod = 0, 1
    for r in mins: tot += prod; prod *= max(r.size - 1, 1)
    return tot + prod

CASES = [(k, s) for k in ('exact', 'lowrank', 'generic') for s in range(40)]
CHECKED = {'max': 0, 'simple': 0, 'allmin': 0, 'min': 0}

@pytest.mark.parametrize('kind,seed', CASES, ids=[f'{k}-{s}' for k, s in CASES])
def test_against_oracle(kind, seed):
    A, B, eps = instance(kind, seed)
    n, m = A.shape[1], B.shape[1]
    ms = brute_force_matches(A, B, eps)
    top = MatchResult(sorted(set().union(*[r.X for r in ms])), sorted(set().union(*[r.Y for r in ms])))
    mt = Matcher(A, B)
    assert max_match(A, B, eps) == top
    assert max_match(A, B, eps, method='plain') == top
    assert max_match(mt, None, eps) == top
    assert is_match(A, B, eps, *top.pair)
    CHECKED['max'] += 1
    vs = [('a', i) for i in range(n)] + [('b', j) for j in range(m)]
    mins = {v: minimal_from_matches(ms, n, v) for v in vs}
    cost = {v: alg3_cost(mins[v]) for v in vs}
    if sum(cost[v] for v in vs if mins[v]) <= 3000:            # Algorithm 3 is exponential in N_v (Lemma 18): small cases only
        assert simple_matches(mt, None, eps) == simple_from_matches(ms, n)
        CHECKED['simple'] += 1
    rng = random.Random(seed)
    for v in rng.sample(vs, min(3, len(vs))):
        if cost[v] <= 3000:
            assert all_min_matches(mt, None, eps, v) == mins[v]
            CHECKED['allmin'] += 1
        for randomized in (False, True):
            r = min_match(mt, None, eps, v, randomized=randomized, seed=seed)
            CHECKED['min'] += 1
            if not mins[v]: assert r is None
            else:
                assert r in mins[v]
                assert r == min_match(A, B, eps, v, randomized=randomized, seed=seed, method='plain')
            # mt keeps the maximum match from its second call on (06c); a fresh pair runs `start` watching v
            f = min_match(A, B, eps, v, randomized=randomized, seed=seed)
            assert r == f and (r is None or (r.removed == f.removed and np.allclose(r.dist_x + r.dist_y, f.dist_x + f.dist_y, rtol=0, atol=1e-12)))

def test_fallback_on_ambiguous_decision():
    "A distance that sits on the threshold is ambiguous for the Gram route: the plain engine decides it."
    A, B = torch.tensor([[1., 0]]).T, torch.tensor([[1., 1]]).T             # rho = 1/sqrt(2) both ways
    before = FALLBACKS[0]
    for eps in (1 / math.sqrt(2) - TOL, 1 / math.sqrt(2) - TOL - 1e-3):
        assert max_match(A, B, eps, tol=TOL) == max_match(A, B, eps, method='plain', tol=TOL)
    assert FALLBACKS[0] == before + 1

def test_bad_input():
    A = torch.randn(5, 3)
    with pytest.raises(ValueError, match='same number of rows'): max_match(A, torch.randn(4, 2), 0.1)
    with pytest.raises(ValueError, match='NaN'): max_match(A, torch.full((5, 2), float('inf')), 0.1)
    with pytest.raises(ValueError, match=r'eps must be in \[0, 1\)'): max_match(A, A, 1.5)
    with pytest.raises(ValueError, match="'a' or 'b'"): min_match(A, A, 0.1, ('z', 0))
    with pytest.raises(ValueError, match='out of range'): min_match(A, A, 0.1, ('b', 3))

def test_scale_invariance_and_float32():
    "Rank and zero detection are relative: scaling the data (or float32 input) changes nothing."
    g = torch.Generator().manual_seed(1)
    L = torch.randn(200, 6, generator=g, dtype=torch.float64)
    A = torch.cat([L[:, :4], L[:, :1] + L[:, 1:2], torch.zeros(200, 1)], 1)
    B = torch.cat([L[:, :3] @ torch.randn(3, 3, generator=g, dtype=torch.float64), L[:, 4:]], 1)
    ref = max_match(A, B, 0)
    assert ref == ([0, 1, 2, 4, 5], [0, 1, 2])
    for s in (1e-12, 1e12):
        assert max_match(A * s, B * s, 0) == ref
    assert max_match(A.float(), B.float(), 1e-5) == ref

def cascade_pair(n, d, seed):
    "b_i = l_i, a_i = 1.2 l_i + l_(i+1) (orthonormal l's, l_(n+1) not in B): at eps = 0.5 one deletion per half-pass."
    g = torch.Generator().manual_seed(seed)
    L = torch.linalg.qr(torch.randn(d, n + 1, generator=g, dtype=torch.float64))[0]
    return 1.2 * L[:, :n] + L[:, 1:], L[:, :n], g

def test_cascade_and_similarity():
    "The cascade deletes one neuron per half-pass, as the plain engine does; then the similarity and epsilon helpers."
    n = 40
    A, B, g = cascade_pair(n, 300, seed=2)
    r = max_match(A, B, 0.5)
    halves = sorted(h for h, _ in r.removed.values())
    assert r == ((), ()) and len(r.removed) == 2 * n and halves[-1] >= 2 * n - 6 and len(set(halves)) >= 2 * n - 6
    assert max_match(A, B, 0.5, method='plain') == r
    assert {v: h for v, (h, _) in r.removed.items()} == {v: h for v, (h, _) in max_match(A, B, 0.5, method='plain').removed.items()}
    B2 = A @ torch.randn(n, n, generator=g, dtype=torch.float64)          # the same span: everything matches
    assert max_match_similarity(A, B2, 0.01) == 1.0 and max_epsilon(A, B2) < TOL   # 0 up to rounding (cond(B2)^2 u)
    e = min_epsilon_for_size(A, B, 5)
    assert min(map(len, max_match(A, B, e))) >= 5 and min(map(len, max_match(A, B, e - 2e-4))) < 5

def test_oracle_coverage():
    "Runs after the oracle cases (same file, in order): enough of each comparison actually happened."
    if CHECKED['max'] < len(CASES): pytest.skip('run the whole file to check coverage')
    print(CHECKED, 'fallbacks to the plain engine:', FALLBACKS[0])
    assert CHECKED['simple'] >= 60 and CHECKED['allmin'] >= 150 and CHECKED['min'] >= 500
    assert FALLBACKS[0] <= 3            # the fast engine decided (almost) everything on its own

@pytest.mark.parametrize('kind', ['exact', 'lowrank', 'generic', 'wide'])
def test_block_trials_equal_one_at_a_time(kind):
    "Algorithm 2 by block trials returns exactly what one trial per neuron returns, for the fixed and a pre-drawn random order."
    from netsim.match.api import make_engine
    from netsim.match.theory import _order, _min_match_seq, minimal_match_blocks
    n_cmp = 0
    for seed in range(40):
        if kind == 'wide':       # more neurons than the oracle can enumerate: shared blocks, duplicates, noise
            rng = np.random.default_rng(stable_seed('match-blocks', seed))
            d, n, m = 30, int(rng.integers(4, 16)), int(rng.integers(4, 16))
            L = rng.normal(size=(d, 8))
            A = L[:, rng.integers(0, 8, n)] * (rng.random((1, n)) < 0.7) + 0.05 * rng.normal(size=(d, n)) * rng.integers(0, 2, n)
            B = L[:, rng.integers(0, 8, m)] + A[:, rng.integers(0, n, m)] * rng.integers(0, 2, m)
            A, B, eps = torch.tensor(A), torch.tensor(B), float(rng.choice([0.0, 0.1, 0.3]))
        else: A, B, eps = instance(kind, seed)
        for meth in ('fast', 'plain') if kind != 'wide' else ('fast',):
            eng = make_engine(A, B, eps, meth)
            for g in sorted(eng.members(eng.start())):
                st = eng.start(watch=g)
                for randomized in (False, True):
                    order = _order(eng, st, g, randomized, seed)
                    assert eng.members(minimal_match_blocks(eng, st, g, order)) == eng.members(_min_match_seq(eng, st, g, order))
                    n_cmp += 1
    assert n_cmp >= 200

@pytest.fixture
def no_kernels(monkeypatch):
    "The Python half-passes of `25_match_engine` instead of the compiled ones (what runs on torch tableaus / without numba)."
    import netsim.match.kernels as mk
    monkeypatch.setattr(mk, 'KERNELS', False)

@pytest.fixture
def lazy_everywhere(monkeypatch, no_kernels):
    "Queue rank-one updates in every tableau, flushing every 2 (the default only queues for 128+ spanning neurons); Python half-passes, which do the updates."
    import netsim.match.gram as mf
    monkeypatch.setattr(mf, 'LAZY_MIN', 1); monkeypatch.setattr(mf, 'LAZY_B', 2)

def test_kernels_are_on():
    "numba is a dependency: the default CPU engine runs its half-passes compiled (the oracle cases above test that path)."
    import netsim.match.kernels as mk
    assert mk.KERNELS and Matcher(torch.randn(5, 2), torch.randn(5, 2)).engine(0.1).kern is mk

@pytest.mark.parametrize('kind', ['exact', 'lowrank', 'generic'])
def test_python_half_passes_against_oracle(kind, no_kernels):
    for seed in range(25): max_and_min_against_oracle(*instance(kind, seed))

@pytest.mark.parametrize('kind', ['exact', 'lowrank', 'generic'])
def test_kernel_giving_up_falls_back(kind, monkeypatch):
    "Compiled calls that report a non-definite factor (status 2) hand over to the Python path: still the oracle's answers."
    import netsim.match.kernels as mk
    calls = [0]
    def refuse(*a): calls[0] += 1; return 2, False, a[9], a[11], a[16]
    def refuse_trials(*a): calls[0] += 1; return 2, False, a[9], a[11], 0
    monkeypatch.setattr(mk, 'cascade_run', refuse); monkeypatch.setattr(mk, 'trials_run', refuse_trials)
    for seed in range(10): max_and_min_against_oracle(*instance(kind, seed))
    assert calls[0] > 0

def test_kernel_cascade_records_long(no_kernels):
    "On a 120-half-pass cascade the compiled and the Python half-passes give the same records (half-pass; rho to 1e-9)."
    import netsim.match.kernels as mk
    A, B, _ = cascade_pair(60, 400, seed=5)
    p = max_match(A, B, 0.5)
    mk.KERNELS = True
    try: c = max_match(A, B, 0.5)
    finally: mk.KERNELS = False
    assert c == p == ((), ()) and {v: h for v, (h, _) in c.removed.items()} == {v: h for v, (h, _) in p.removed.items()}
    assert max(abs(c.removed[v][1] - p.removed[v][1]) for v in c.removed) < 1e-9

def test_kernel_cascade_rebuilds_at_half(no_kernels, monkeypatch):
    "A cascade on 300 slots stops when half are gone, rebuilds smaller tableaus and goes on: same records as Python."
    import netsim.match.kernels as mk
    A, B, _ = cascade_pair(150, 600, seed=7)
    p = max_match(A, B, 0.5)
    stops, run = [], mk.cascade_run
    def counted(*a):
        r = run(*a); stops.append(r[0]); return r
    monkeypatch.setattr(mk, 'cascade_run', counted)
    mk.KERNELS = True
    try: c = max_match(A, B, 0.5); l = max_match(A[:, :40], B[:, :40], 0.5)
    finally: mk.KERNELS = False
    assert stops == [3, 0, 0]          # 300 slots: stop at 150 (before an X half-pass); 150 and 80 < REBUILD_MIN: no stop
    assert c == p == ((), ()) and {v: h for v, (h, _) in c.removed.items()} == {v: h for v, (h, _) in p.removed.items()}
    assert max(abs(c.removed[v][1] - p.removed[v][1]) for v in c.removed) < 1e-9
    assert len(c.removed) == 300 and max(h for h, _ in c.removed.values()) > 280   # a long cascade, across the rebuild
    assert l == max_match(A[:, :40], B[:, :40], 0.5, method='plain')

def max_and_min_against_oracle(A, B, eps, torch_tableaus=False):
    "max_match and min_match (every v) of a fresh Matcher against the oracle; optionally on torch tableaus (what CUDA runs)."
    n, m = A.shape[1], B.shape[1]
    ms = brute_force_matches(A, B, eps)
    mt = Matcher(A, B)
    if torch_tableaus: mt.Gn = None; assert type(mt._tab([0], [n]).M) is torch.Tensor
    top = MatchResult(sorted(set().union(*[r.X for r in ms])), sorted(set().union(*[r.Y for r in ms])))
    assert max_match(mt, None, eps) == top
    for v in [('a', i) for i in range(n)] + [('b', j) for j in range(m)]:
        mins = minimal_from_matches(ms, n, v)
        r = min_match(mt, None, eps, v)
        assert (r is None) if not mins else (r in mins)

@pytest.mark.parametrize('kind', ['exact', 'lowrank', 'generic'])
def test_queued_updates_against_oracle(kind, lazy_everywhere):
    for seed in range(25): max_and_min_against_oracle(*instance(kind, seed))

def test_queued_updates_on_a_long_cascade(lazy_everywhere):
    "The cascade of `test_cascade_and_similarity` with queued updates: the same deletions in the same half-passes."
    A, B, _ = cascade_pair(30, 200, seed=3)
    r = max_match(A, B, 0.5)
    p = max_match(A, B, 0.5, method='plain')
    assert r == p == ((), ()) and {v: h for v, (h, _) in r.removed.items()} == {v: h for v, (h, _) in p.removed.items()}
    assert max(abs(r.removed[v][1] - p.removed[v][1]) for v in r.removed) < 1e-8

@pytest.mark.parametrize('lazy', [False, True])
def test_torch_tableaus_against_oracle(lazy, monkeypatch):
    "The tableau code on torch tensors (what CUDA runs), forced on the CPU, with and without queued updates."
    import netsim.match.gram as mf
    if lazy: monkeypatch.setattr(mf, 'LAZY_MIN', 1); monkeypatch.setattr(mf, 'LAZY_B', 2)
    for kind in ('exact', 'lowrank', 'generic'):
        for seed in range(8): max_and_min_against_oracle(*instance(kind, seed), torch_tableaus=True)

@pytest.mark.parametrize('seed', range(6))
def test_fast_keeps_removal_records(seed):
    "The fast engine's maximum match carries the plain engine's removal records (half-pass, rho) and distances, also when it starts on fresh factorisations (few passes)."
    g = torch.Generator().manual_seed(seed)
    d, n, r = 300, 24, 8
    U = torch.randn(d, r, generator=g, dtype=torch.float64)
    A = torch.cat([U @ torch.randn(r, r, generator=g, dtype=torch.float64), torch.randn(d, n - r, generator=g, dtype=torch.float64)], 1)
    B = torch.cat([U @ torch.randn(r, r, generator=g, dtype=torch.float64), torch.randn(d, n - r, generator=g, dtype=torch.float64)], 1)
    A += 0.02 * torch.randn(d, n, generator=g, dtype=torch.float64)
    for eps in (0.2, 0.5):
        f, p = max_match(A, B, eps), max_match(A, B, eps, method='plain')
        assert f.pair == p.pair and len(f.removed) >= n - r
        assert {v: h for v, (h, _) in f.removed.items()} == {v: h for v, (h, _) in p.removed.items()}
        assert max(abs(f.removed[v][1] - p.removed[v][1]) for v in f.removed) < 1e-8
        assert max(abs(a - b) for a, b in zip(f.dist_x + f.dist_y, p.dist_x + p.dist_y)) < 1e-8

@pytest.mark.parametrize('kind,least', [('exact', 20), ('lowrank', 60), ('wide', 100)])
def test_compiled_trials_equal_python_trials(kind, least):
    "Algorithm 2's trials in one compiled call (`FastEngine.run_trials`) end in the state the Python one-at-a-time trials reach, for both orders ('generic' instances always have dependent vectors: no compiled trials)."
    from netsim.match.api import make_engine
    from netsim.match.theory import _order, _min_match_seq
    n_cmp = 0
    for seed in range(40):
        if kind == 'wide':
            rng = np.random.default_rng(stable_seed('match-compiled', seed))
            d, n, m = 40, int(rng.integers(8, 24)), int(rng.integers(8, 24))    # shared 6-dim part, noise of three sizes
            U = rng.normal(size=(d, 6))
            A = U @ rng.normal(size=(6, n)) + rng.normal(size=(d, n)) * rng.choice([0.01, 0.05, 0.3], size=n)
            B = U @ rng.normal(size=(6, m)) + rng.normal(size=(d, m)) * rng.choice([0.01, 0.05, 0.3], size=m)
            A, B, eps = torch.tensor(A), torch.tensor(B), float(rng.choice([0.1, 0.3, 0.5]))
        else: A, B, eps = instance(kind, seed)
        eng = make_engine(A, B, eps)
        for g in sorted(eng.members(eng.start())):
            st = eng.start(watch=g)
            for randomized in (False, True):
                order = _order(eng, st, g, randomized, seed)
                c = eng.run_trials(st, g, order)
                if c is None: continue                      # dependent vectors: the Python trials run instead
                assert eng.members(c) == eng.members(_min_match_seq(eng, st, g, order))
                n_cmp += 1
    assert n_cmp >= least

def test_cpu_matcher_keeps_freed_memory():
    "A CPU Matcher asks glibc (once per process) to keep freed blocks for reuse, unless NETSIM_KEEP_MEMORY=0."
    import sys, netsim.match.gram as mf
    from netsim.core import switch_on
    Matcher(torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 2, dtype=torch.float64))
    if switch_on('NETSIM_KEEP_MEMORY') and sys.platform.startswith('linux'): assert mf._KEPT == [True]
    code = ("import torch, netsim.match.gram as mf; mf.Matcher(torch.randn(9, 2), torch.randn(9, 2)); "
            "from netsim.core import switch_on; assert not switch_on('NETSIM_KEEP_MEMORY') and mf._KEPT == []")
    env = dict(os.environ, NETSIM_KEEP_MEMORY='0')
    assert subprocess.run([sys.executable, '-c', code], env=env).returncode == 0

def test_one_thread_sets_and_restores():
    "one_thread: one BLAS thread per loaded library and one torch thread inside, the previous counts after."
    from netsim.core import one_thread, _BLAS
    with one_thread(): pass
    old, t = [c.get_num_threads() for c in _BLAS], torch.get_num_threads()
    try:
        for c in _BLAS: c.set_num_threads(2)
        torch.set_num_threads(2)
        with one_thread(): assert [c.get_num_threads() for c in _BLAS] == [1] * len(_BLAS) and torch.get_num_threads() == 1
        assert [c.get_num_threads() for c in _BLAS] == [2] * len(_BLAS) and torch.get_num_threads() == 2
    finally:
        for c, o in zip(_BLAS, old): c.set_num_threads(o)
        torch.set_num_threads(t)
