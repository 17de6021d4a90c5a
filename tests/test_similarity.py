"""Similarity measures (netsim.similarity): invariance properties over seeds, and cross-checks against the field's
implementations, `repsim` 0.1.5 (CKA, HSIC, CCA, SVCCA, PWCCA) and `rsatoolbox` 0.3.2 (RSA), skipped when absent.

Where a definition differs, the test states how and checks the relation:
- repsim's debiased CKA ('song' estimator) divides the unbiased HSIC(A, B) by the *biased* HSIC(A, A), HSIC(B, B);
  netsim's `cka_debiased` uses unbiased HSIC in all three places (Nguyen et al., Kornblith et al.'s debiased CKA).
- repsim's SVCCA applies the 99%-variance cut to an orthonormal basis of each side's (uncentred) columns, whose
  singular values are all about 1, rather than to the centred activations (Raghu et al.), and divides the sum of the
  kept canonical correlations by min(rank A, rank B) instead of by their number. So
  repsim.svcca = sum(canonical_correlations(Q_A, Q_B, keep=0.99)) / min(rank A, rank B), Q = that basis.
- repsim's CCA 'pillai' summary is netsim's `cca` (mean canonical correlation); its 'yanai' summary is the mean
  *squared* canonical correlation.
"""
import functools
import numpy as np
import pytest
import torch
from netsim import similarity as S
from netsim.similarity import MEASURES, INVARIANCES, check_measure

SEEDS = range(5)
TOL = 1e-6          # one tolerance for every check that must hold exactly (up to rounding)

def relu_acts(seed, d=300, n=12, m=9):
    "Two related ReLU layers on the same d inputs: B is a noisy nonlinear function of A."
    r = np.random.default_rng(seed)
    A = np.maximum(r.standard_normal((d, 16)) @ r.standard_normal((16, n)), 0)
    B = np.maximum(A @ r.standard_normal((n, m)) + 0.5 * r.standard_normal((d, m)), 0)
    return A, B

def smooth_acts(seed, d=80, n=10, m=7):
    "Related activations without constant columns (for the library cross-checks)."
    r = np.random.default_rng(seed)
    A = r.standard_normal((d, n)) + 2
    return A, np.tanh(A @ r.standard_normal((n, m)) / 3) + 0.3 * r.standard_normal((d, m))

@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('name', sorted(MEASURES))
def test_check_measure(name, seed):
    A, _ = relu_acts(seed)
    rows = check_measure(name, A, seed=seed)
    assert [r['check'] for r in rows] == ['self', 'permutation', 'rotation', 'random']
    assert all(r['ok'] for r in rows), rows

@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('name', sorted(MEASURES))
def test_range_symmetry_and_invariances(name, seed):
    f, (A, B) = MEASURES[name], relu_acts(seed)
    v = f(A, B)
    assert 0 <= v <= 1 and np.isfinite(v)
    if name != 'max_match':                       # the match is symmetric too, but only up to its eps tolerance
        assert abs(f(B, A) - v) <= TOL
    r = np.random.default_rng([seed, 1])
    Q, _ = np.linalg.qr(r.standard_normal((B.shape[1], B.shape[1])))
    moves = dict(permutation=B[:, r.permutation(B.shape[1])], rotation=B @ Q, scale=3.7 * B, shift=B + 1.3,
                 linear=B @ (r.standard_normal((B.shape[1],) * 2) + 3 * np.eye(B.shape[1])))
    for inv in INVARIANCES[name]:
        assert abs(f(A, moves[inv]) - v) <= (TOL if name != 'max_match' else 0.1), (inv, f(A, moves[inv]), v)

@pytest.mark.parametrize('name', sorted(MEASURES))
def test_constant_neurons_counted_not_nan(name):
    A, B = relu_acts(0)
    f = MEASURES[name]
    B2 = np.c_[B, np.zeros(len(B)), np.full(len(B), 4.0)]       # a dead and a constant neuron
    assert abs(f(A, B2) - f(A, B)) <= TOL
    assert S.prepare(A, B2)[3] == 2 + int(S.constant_neurons(B).sum())
    assert f(A, np.zeros_like(B)) == 0.0 and f(np.ones_like(A), np.zeros_like(B)) == 0.0

def test_bad_input():
    A, B = relu_acts(0)
    with pytest.raises(ValueError, match='d=300 and d=299'): S.cka(A, B[:-1])
    B = B.copy(); B[3, 2] = np.nan
    with pytest.raises(ValueError, match='NaN/inf'): S.rsa(A, B)
    with pytest.raises(ValueError, match='d=3'): S.cka_debiased(A[:3], A[:3])
    with pytest.raises(ValueError, match="unknown measure 'cka2'"): S.get_measure('cka2')
    with pytest.raises(TypeError, match='numeric'): S.cka(A, 'B')

def test_torch_input():
    A, B = relu_acts(1)
    for f in MEASURES.values():
        assert f(torch.tensor(A, dtype=torch.float32), torch.tensor(B)) == pytest.approx(f(A.astype(np.float32), B), abs=TOL)

def test_memory_bounded_paths(monkeypatch):
    "The float32 distance store (above DENSE_MAX_D) and RSA's input subset give the same or nearby values."
    A, B = smooth_acts(0, d=120)
    dense = S.cka_rbf(A, B)
    monkeypatch.setattr(S, 'DENSE_MAX_D', 50)
    assert abs(S.cka_rbf(A, B, block=16) - dense) < 1e-6
    assert S.rsa(A, B, max_d=60, seed=3) == S.rsa(A, B, max_d=60, seed=3) != S.rsa(A, B)

def test_old_linear_cka_is_the_same():
    from netsim.comparison import linear_cka
    A, B = smooth_acts(2)
    assert linear_cka is S.linear_cka
    assert abs(S.cka(A, B) - linear_cka(torch.tensor(A), torch.tensor(B))) < 1e-12

# ---------------------------------------------------------------- cross-checks against repsim and rsatoolbox

def _repsim():
    return pytest.importorskip('repsim')

def _onb(X):
    "repsim's orthonormal basis of X's (uncentred) columns: left singular vectors above 1e-12 x the largest."
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    return U[:, s > 1e-12 * s[0]]

@pytest.mark.parametrize('seed', range(3))
def test_repsim_cka_hsic(seed):
    rs, (A, B) = _repsim(), smooth_acts(seed)
    assert abs(S.cka(A, B) - rs.cka([A, B], 'linear', 'gretton')[0, 1]) < TOL
    assert abs(S.hsic_linear(A, B) - rs.hsic([A, B], 'linear', 'gretton')[0, 1]) < TOL
    assert abs(S.hsic_linear(A, B, True) - rs.hsic([A, B], 'linear', 'song')[0, 1]) < TOL
    assert abs(S.cka_rbf(A, B) - rs.cka([A, B], 'rbf', 'gretton')[0, 1]) < TOL
    # debiased CKA: repsim normalises with biased HSIC(A, A), HSIC(B, B) (see the module docstring)
    hu, hb = functools.partial(S.hsic_linear, unbiased=True), S.hsic_linear
    rel = S.cka_debiased(A, B) * np.sqrt(hu(A, A) * hu(B, B) / (hb(A, A) * hb(B, B)))
    assert abs(rel - rs.cka([A, B], 'linear', 'song')[0, 1]) < TOL

@pytest.mark.parametrize('seed', range(3))
def test_repsim_cca_family(seed):
    rs, (A, B) = _repsim(), smooth_acts(seed)
    rho = S.canonical_correlations(A, B)
    assert abs(S.cca(A, B) - rs.cca([A, B], 'pillai')[0, 1]) < TOL
    assert abs(np.mean(rho ** 2) - rs.cca([A, B], 'yanai')[0, 1]) < TOL
    assert abs(S.pwcca(A, B) - rs.pwcca([A, B])[0, 1]) < TOL
    Qa, Qb = _onb(A), _onb(B)
    rel = S.canonical_correlations(Qa, Qb, keep=0.99).sum() / min(Qa.shape[1], Qb.shape[1])
    assert abs(rel - rs.svcca([A, B], 'pillai')[0, 1]) < TOL

@pytest.mark.parametrize('seed', range(3))
def test_rsatoolbox_rsa(seed):
    pytest.importorskip('rsatoolbox')
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare
    A, B = smooth_acts(seed)
    ra, rb = calc_rdm(Dataset(A), method='correlation'), calc_rdm(Dataset(B), method='correlation')
    assert np.abs(ra.get_vectors()[0] - S.rdm(A)).max() < TOL
    assert abs(S.rsa(A, B) - compare(ra, rb, method='spearman')[0, 0]) < TOL

# ---------------------------------------------------------------- calibration in compare

def test_compare_measures_reference_points():
    "A netsim model gets ref_permuted = 1 for every measure; a model without a PermSpec gets NaN, not an error."
    from torch import nn
    from netsim.comparison import compare, measure_table
    from netsim.models import make_model
    x = torch.randn(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a, b, c = (make_model('mlp4', (1, 8, 8), 2, width=0.05, seed=s) for s in range(3))
    res = compare(a, b, x, eps=0.3, device='cpu', measures=list(MEASURES), n_boot=5, n_perm=5, baseline=c)
    m = res.measures
    assert len(m) == 3 * len(MEASURES) and (m.ref_permuted > 1 - 1e-6).all() and m.ref_other.notna().all()
    assert m.p.between(1 / 6, 1).all() and (m.lo <= m.hi).all()
    plain = [nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Linear(10, 2)) for _ in range(2)]
    assert measure_table(*plain, x, ['cka'], device='cpu').ref_permuted.iloc[0] > 1 - 1e-6   # any model with a PermSpec
    torch.manual_seed(0)
    nospec = [nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2)) for _ in range(2)]  # un-pooled Flatten
    t = measure_table(*nospec, x, ['cka'], n_coords=100, device='cpu')
    assert len(t) == 1 and np.isnan(t.ref_permuted.iloc[0]) and 0 <= t.value.iloc[0] <= 1
