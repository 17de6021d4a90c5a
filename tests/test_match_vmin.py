"v-minimal matches with close calls settled from the Gram matrix (`06d`, `_settle`) against the old path (close call -> plain engine) and the oracle."
import numpy as np, pytest, torch
import netsim.match.engine as me
from netsim.data import stable_seed
from netsim.match import (min_match, min_matches, max_match, brute_force_matches, minimal_from_matches, FALLBACKS,
                          TooManyTrials)
from netsim.match.gram import Matcher

def old_path(f):
    "f() with close calls sent to the plain engine, as before they were settled (its fallbacks not counted in FALLBACKS)."
    old, f0 = me.REFINE, FALLBACKS[0]; me.REFINE = False
    try: return f()
    finally: me.REFINE = old; FALLBACKS[0] = f0

def instance(seed, d, n, m):
    "Shared low-rank blocks with small noise (many near-dependent columns: close calls), a ladder, independent columns."
    rng = np.random.default_rng(stable_seed('vmin', seed))
    r = int(rng.integers(2, max(3, min(n, m) // 2)))
    U = rng.normal(size=(d, r))
    ks = [int(rng.integers(r, n + 1)), int(rng.integers(r, m + 1))]
    A = np.concatenate([U @ rng.normal(size=(r, ks[0])), rng.normal(size=(d, n - ks[0]))], 1)
    B = np.concatenate([U @ rng.normal(size=(r, ks[1])), rng.normal(size=(d, m - ks[1]))], 1)
    noise = 10.0 ** rng.uniform(-5, -2)
    A += noise * rng.normal(size=A.shape) * np.linalg.norm(A, axis=0) / np.sqrt(d)
    B += noise * rng.normal(size=B.shape) * np.linalg.norm(B, axis=0) / np.sqrt(d)
    return torch.from_numpy(A), torch.from_numpy(B), float(rng.choice([0.05, 0.1, 0.2, 0.3]))

@pytest.mark.parametrize('size', ['small', 'medium'])
def test_new_equals_old_path(size):
    "min_match (fixed and random order) and min_matches: the same matches as the old path, over many seeds (medium: about 50 of the 222 old-path calls meet a close call that the new path settles)."
    n_cmp = 0
    for seed in range(30 if size == 'small' else 8):
        d, n, m = (40, 8, 8) if size == 'small' else (400, 60, 70)
        A, B, eps = instance(seed, d, n, m)
        M = Matcher(A, B)
        vs = sorted(max_match(M, None, eps).neurons())[:: (1 if size == 'small' else 7)]
        for v in vs:
            for rnd in (False, True):
                new = min_match(M, None, eps, v, randomized=rnd, seed=seed)
                old = old_path(lambda: min_match(Matcher(A, B), None, eps, v, randomized=rnd, seed=seed))
                assert new == old, (seed, v, rnd, new, old); n_cmp += 1
        mm = min_matches(M, None, eps, vs)
        for v in vs: assert mm[v] == min_match(A, B, eps, v, randomized=True, seed=stable_seed(0, *v))
    assert n_cmp > 40

def test_oracle_tiny():
    "Every min_matches answer is v-minimal by the brute-force oracle."
    for seed in range(15):
        A, B, eps = instance(seed, 30, 6, 6)
        mins = {}
        allm = brute_force_matches(A, B, eps)
        for v, r in min_matches(A, B, eps).items():
            assert r in minimal_from_matches(allm, 6, v)

def test_ladder_no_fallback():
    "A shared space of near-dependent neurons: no call goes to the plain engine any more, and the match is v-minimal."
    g = torch.Generator().manual_seed(0)
    rn = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    S = rn(600, 12)
    A, B = S @ rn(12, 20), S @ rn(12, 24)
    for Z in (A, B): Z += 1e-4 * Z.norm(dim=0) / 600 ** 0.5 * rn(*Z.shape)
    f0 = FALLBACKS[0]
    mm = min_matches(A, B, 0.2)
    assert len(mm) == 44 and FALLBACKS[0] == f0
    M = Matcher(A, B)
    for v in [('a', 0), ('b', 3)]:
        r = mm[v]
        assert v in r and r == min_match(M, None, 0.2, v, randomized=True, seed=stable_seed(0, *v))

def test_give_up_keeps_found():
    A, B, eps = instance(1, 40, 8, 8)
    with pytest.raises(TooManyTrials) as e: min_matches(A, B, eps, max_calls=3)
    assert isinstance(e.value.found, dict)
