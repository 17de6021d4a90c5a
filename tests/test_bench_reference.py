"""The benchmark's reference (`benchmarks/match.py`: the authors' subspace-match algorithm in their own form) against
netsim on inputs with clear margins, so that the benchmark's 'identical' column and its lower bounds can be trusted."""
import sys
from pathlib import Path
import pytest
sys.path.insert(0, str(Path(__file__).parent.parent/'benchmarks'))
import match as bm
from netsim.match import max_match, min_match

def pair(X, Y): return tuple(X), tuple(Y)

@pytest.mark.parametrize('form', ['numpy', 'torch'])
@pytest.mark.parametrize('kind', ['few', 'cascade', 'pairs', 'chain', 'blocks'])
def test_reference_equals_netsim(kind, form):
    A, B, eps = bm.make_input(kind, 300, 32, seed=3)
    R = bm.Ref(A, B, form)
    X, Y, h, done = bm.ref_max_match(R, eps)
    assert done and pair(X, Y) == max_match(A, B, eps).pair
    if not X: return
    v = ('a', X[0])
    ours = min_match(A, B, eps, v).pair
    assert pair(*bm.ref_min_match(R, eps, v)) == ours
    assert pair(*bm.ref_min_match_code(R, eps, v)) == ours

def test_reference_drops_zero_columns():
    "The authors' code deletes all-zero neurons before it starts; netsim keeps them (a zero vector lies in every span)."
    A, B, eps = bm.make_input('few', 300, 32, seed=3)
    A[:, 5] = 0
    X, Y, _, done = bm.ref_max_match(bm.Ref(A, B), eps)
    ours = max_match(A, B, eps).pair
    assert done and 5 not in X and 5 in ours[0]
    assert pair(X, Y) == (tuple(i for i in ours[0] if i != 5), ours[1])

def test_reference_stops_early_with_what_it_deleted():
    "A reference stopped after K half-passes has deleted exactly the neurons netsim deletes in its first K half-passes."
    A, B, eps = bm.make_input('cascade', 300, 32)
    r = max_match(A, B, eps)
    for k in (1, 2, 7):
        R = bm.Ref(A, B)
        X, Y, h, done = bm.ref_max_match(R, eps, max_half=k)
        assert not done and h == k
        assert bm.ref_deleted(R, X, Y) == {v for v, (hp, _) in r.removed.items() if hp < k}
    _, _, h, done = bm.ref_max_match(bm.Ref(A, B), eps, deadline=0.0)
    assert not done and h == 0
