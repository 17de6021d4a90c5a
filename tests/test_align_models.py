"Properties of `netsim.align_models` (align, renormalise, interpolation_barrier) over seeds and architectures."
import copy
import numpy as np
import pytest
import torch
from torch import nn
from netsim.align_models import (align, activation_perms, interpolation_barrier, interpolate_state, layer_stats,
                                 renormalise, _corr, _spec_activations)
from netsim.data import stable_seed
from netsim.models import make_model
from netsim.permute import permute_model
from netsim.symmetry import perm_spec

torch.set_num_threads(1)
ARCHS = [('mlp4', (1, 8, 8)), ('plain5', (1, 8, 8)), ('res5', (3, 8, 8)), ('resnet', (3, 8, 8)), ('vgg', (3, 8, 8)),
         ('gru2', (6, 5))]

def _x(shape, n=128, seed=0):
    "Random inputs; for sequences, one-hot rows (as GRUNet expects)."
    g = torch.Generator().manual_seed(stable_seed('test-align-models', seed))
    if len(shape) == 2: return nn.functional.one_hot(torch.randint(shape[1], (n, shape[0]), generator=g), shape[1]).float()
    return torch.randn(n, *shape, generator=g)

def _equal_states(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)

@pytest.mark.parametrize('arch,shape', ARCHS, ids=[a for a, _ in ARCHS])
@pytest.mark.parametrize('method', ['weight', 'activation'])
def test_permuted_copy_comes_back_exactly(arch, shape, method):
    "align(permute_model(A, seed=s), to=A) has A's state dict bit for bit, for 4 seeds."
    A = make_model(arch, shape, 10, width=0.25, seed=stable_seed(arch)).eval()
    for s in range(4):
        B = permute_model(A, seed=s)
        assert not _equal_states(A, B)
        C, perms = align(B, to=A, method=method, data=_x(shape))
        assert _equal_states(A, C), (arch, method, s)
        assert set(perms) == set(perm_spec(A).perm_sizes)

@pytest.mark.parametrize('seed', range(3))
def test_alignment_keeps_the_function(seed):
    "The aligned copy of an independent model computes B's function (only units are reordered)."
    A, B = (make_model('res5', (3, 8, 8), 10, width=0.25, seed=seed + k).eval() for k in (0, 10))
    x = _x((3, 8, 8), seed=seed)
    for method in ('weight', 'activation'):
        C, _ = align(B, to=A, method=method, data=x)
        torch.testing.assert_close(C(x), B(x), atol=1e-5, rtol=1e-5)

def test_corr_matches_numpy():
    "`_corr` against numpy's corrcoef."
    g = np.random.default_rng(stable_seed('corr'))
    a, b = g.normal(size=(50, 4)), g.normal(size=(50, 3))
    ref = np.corrcoef(a.T, b.T)[:4, 4:]
    np.testing.assert_allclose(_corr(torch.from_numpy(a), torch.from_numpy(b)).numpy(), ref, atol=1e-12)

@pytest.mark.parametrize('seed', range(3))
def test_head_blocks(seed):
    "Units of k channels (attention heads) are matched as blocks."
    from netsim.symmetry import PermSpec
    g = torch.Generator().manual_seed(stable_seed('heads', seed))
    a = torch.randn(300, 6*4, generator=g, dtype=torch.float64)
    heads = torch.randperm(6, generator=g)
    b = a.view(300, 6, 4)[:, heads].reshape(300, 24) + 0.2*torch.randn(300, 24, generator=g, dtype=torch.float64)
    assert torch.equal(activation_perms({'h': a}, {'h': b}, PermSpec({'h': 6}, {}))['h'], torch.argsort(heads))

@pytest.mark.parametrize('arch,shape', ARCHS, ids=[a for a, _ in ARCHS])
def test_barrier_of_permuted_copy_is_zero(arch, shape):
    "A and a permuted copy: after alignment the whole line is A, barrier 0 with and without renormalisation."
    A = make_model(arch, shape, 10, width=0.25, seed=1).eval()
    x = _x(shape, n=64); y = torch.arange(64) % 10
    r = interpolation_barrier(A, permute_model(A, seed=5), (x, y), steps=3, align=['weight', 'activation'])
    assert list(r.barriers.index) == ['none', 'none+repair', 'weight', 'weight+repair', 'activation', 'activation+repair']
    for v in ('weight', 'activation'): assert abs(r.barriers.loss_barrier[v]) < 1e-5
    for v in ('weight+repair', 'activation+repair'): assert abs(r.barriers.loss_barrier[v]) < 1e-4
    assert len(r.table) == 6 * 3 and set(r.table.columns) == {'variant', 'alpha', 'loss', 'acc'}

def test_repair_hits_targets():
    "REPAIR gives every rescaled layer the interpolated endpoint statistics, exactly (one pass, same data)."
    A, B = (make_model('mlp4', (1, 8, 8), 10, width=0.1, seed=s).eval() for s in (0, 1))
    s, x = perm_spec(A), _x((1, 8, 8), n=256)
    la, lb = layer_stats(A, s, x), layer_stats(B, s, x)
    m = copy.deepcopy(A); m.load_state_dict(interpolate_state(A.state_dict(), B.state_dict(), 0.5))
    tgt = {k: tuple((u + v) / 2 for u, v in zip(la[k], lb[k])) for k in la}
    got = layer_stats(renormalise(m, x, s, tgt), s, x)
    assert set(got) == {'body.1', 'body.3', 'body.5'}              # hidden layers, not the output layer
    for k in got:
        torch.testing.assert_close(got[k][0], tgt[k][0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(got[k][1], tgt[k][1], atol=1e-5, rtol=1e-5)

def test_bad_input():
    "Different architectures, wrong data shapes, bad labels and unknown options give clear errors."
    A = make_model('plain5', (1, 8, 8), 10, width=0.125, seed=0)
    x, y = _x((1, 8, 8), n=20), torch.arange(20) % 10
    with pytest.raises(ValueError, match="permutation 'body.0' has 4 units in to, 8 in model_b"):
        align(make_model('plain5', (1, 8, 8), 10, width=0.25), to=A)
    with pytest.raises(ValueError, match="not one architecture"):
        interpolation_barrier(A, make_model('res5', (1, 8, 8), 10, width=0.125), (x, y))
    with pytest.raises(ValueError, match=r"inputs of shape \(20, 64\) do not fit"):
        interpolation_barrier(A, A, (x.view(20, 64), y))
    with pytest.raises(ValueError, match=r"inputs of shape \(20, 3, 8, 8\) do not fit"):
        align(A, to=A, method='activation', data=torch.randn(20, 3, 8, 8))
    with pytest.raises(ValueError, match=r"labels must be an integer tensor of shape \(20,\)"):
        interpolation_barrier(A, A, (x, y.float()))
    with pytest.raises(ValueError, match="steps must be"):
        interpolation_barrier(A, A, (x, y), steps=1)
    with pytest.raises(TypeError, match="must be one torch.nn.Module"):
        align('model', to=A)


def test_align_any_model_traced():
    "A custom model netsim's walker does not know (functional ReLU): traced spec, exact recovery by both methods."
    import torch.nn.functional as F
    from netsim.permute import permute_model
    from netsim.align_models import align
    class Net(torch.nn.Module):
        def __init__(s): super().__init__(); s.a, s.b, s.c = torch.nn.Linear(8, 16), torch.nn.Linear(16, 12), torch.nn.Linear(12, 3)
        def forward(s, x): return s.c(F.relu(s.b(F.relu(s.a(x)))))
    torch.manual_seed(0); A, x = Net(), torch.randn(64, 8)
    B = permute_model(A, seed=3, example_input=x[:2])
    for method in ('weight', 'activation'):
        C, _ = align(B, to=A, method=method, data=x)
        for k, v in A.state_dict().items(): assert torch.equal(v, C.state_dict()[k]), (method, k)
