"Properties of `netsim.compare` / `netsim.activations` that must hold for any model: the issue's acceptance tests."
import copy
import numpy as np
import pytest
import torch
from torch import nn
from netsim.models import make_model
from netsim.permute import permute_model
from netsim.activations import collect_activations, plan_passes, probe_layers, unit_bytes, draw_coords, as_inputs
from netsim.comparison import compare, match_report, match_scores, linear_cka, EPS

SMALL = dict(n_coords=400, n_draws=1, device='cpu', batch_size=32)
EPS2 = (0.15, 0.5)

def _x(n=40, seed=0): return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))

@pytest.mark.parametrize('arch', ['vgg', 'resnet'])
def test_self_is_one(arch):
    "A model with itself: similarity 1 for every layer and eps (Def. 1 zeros), and 1 - dead fraction in the code's convention."
    m = make_model(arch, (1,28,28), 10, width=0.25, seed=0)
    t = compare(m, m, _x(), zeros='match', eps=EPS2, **SMALL).table
    assert len(t) == len(EPS2) * len(probe_layers([m], _x(2)))
    assert (t.similarity == 1.0).all()
    t = compare(m, m, _x(), eps=EPS2, **SMALL).table
    np.testing.assert_allclose(t.similarity, 1 - (t.dead_a + t.dead_b) / (t.n_a + t.n_b))
    np.testing.assert_allclose(t.cka.dropna(), 1.0, atol=1e-9)

@pytest.mark.parametrize('arch,seed', [('vgg', 1), ('resnet', 2)])
def test_permuted_copy_is_one(arch, seed):
    "A copy with permuted hidden units (netsim.permute) computes the same function; every layer matches fully."
    m = make_model(arch, (1,28,28), 10, width=0.25, seed=seed)
    p = permute_model(m, seed=seed + 10)
    torch.testing.assert_close(p(_x(4)), m(_x(4)), atol=1e-5, rtol=1e-5)
    t = compare(m, p, _x(), zeros='match', eps=EPS2, **SMALL).table
    assert (t.similarity == 1.0).all()
    assert (t.size_a == t.n_a).all() and (t.size_b == t.n_b).all()

@pytest.mark.parametrize('seed', [0, 1])
def test_invertible_mix_is_one_at_that_layer(seed):
    "Mixing a conv layer's output channels by an invertible matrix keeps its span: similarity 1 at that layer."
    m = make_model('vgg', (1,28,28), 10, width=0.25, seed=seed)
    mixed = copy.deepcopy(m)
    g = torch.Generator().manual_seed(seed)
    for conv in [mixed.body[3]]:                                   # the second conv: 16 channels at width 0.25
        c = conv.out_channels
        M = torch.randn(c, c, generator=g) + 2 * torch.eye(c)
        assert torch.linalg.matrix_rank(M) == c
        with torch.no_grad():
            conv.weight.copy_(torch.einsum('oi,i...->o...', M, conv.weight))
            conv.bias.copy_(M @ conv.bias)
    t = compare(m, mixed, _x(), layers=['body.3', 'body.4'], **SMALL).table
    assert (t[t.layer == 'body.3'].similarity == 1.0).all()
    assert (t[t.layer == 'body.4'].similarity < 1.0).any()          # after the ReLU the mix is not linear any more

@pytest.mark.parametrize('seed', range(3))
def test_unrelated_random_features_near_zero(seed):
    "Two unrelated random feature sets of full rank, d >> n: similarity ~0 (directly and through compare)."
    g = torch.Generator().manual_seed(seed)
    A, B = torch.randn(3000, 20, generator=g), torch.randn(3000, 25, generator=g)
    assert all(r['similarity'] == 0.0 for r in match_scores(A, B))
    # two random one-layer models on random high-dimensional inputs: spans are two random 16-dim subspaces of R^4000
    ma = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU())
    mb = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU())
    torch.manual_seed(seed); ma.apply(lambda l: isinstance(l, nn.Linear) and nn.init.normal_(l.weight))
    torch.manual_seed(seed + 100); mb.apply(lambda l: isinstance(l, nn.Linear) and nn.init.normal_(l.weight))
    t = compare(ma, mb, _x(4000, seed), eps=(0.15, 0.3, 0.5), device='cpu').table
    assert (t.similarity <= 0.05).all(), t

def test_activations_match_naive_and_budget():
    "Streamed vectors equal the naive full dump at the drawn coordinates; passes respect the memory budget."
    m = make_model('resnet', (1,28,28), 10, width=0.25, seed=3).eval()
    x = _x(24)
    infos = probe_layers([m], x)
    acts = collect_activations([m], x, n_coords=300, n_draws=2, batch_size=5, device='cpu')
    for info in infos:
        store = {}
        h = dict(m.named_modules())[info.name].register_forward_hook(lambda mod, i, o: store.update(o=o))
        with torch.no_grad(): m(x)
        h.remove()
        o = store['o']; full = o.permute(0, 2, 3, 1).reshape(-1, o.shape[1]) if o.ndim == 4 else o
        torch.testing.assert_close(acts[(info.name, 0)][0], full[draw_coords(info, 300, 0)])
    budget = 3 * unit_bytes(infos[0], 300)
    for p in plan_passes(infos, 300, 2, budget):
        by = {i.name: i for i in infos}
        assert len(p) == 1 or sum(unit_bytes(by[n], 300) for n, _ in p) <= budget

def test_match_report_and_bad_input():
    "match_report averages compare over pairs; bad input raises a clear ValueError."
    ms = [make_model('vgg', (1,28,28), 10, width=0.25, seed=s) for s in range(3)]
    kw = dict(eps=(0.2, 0.5), layers=['body.4', 'body.14'], **SMALL)
    rep = match_report(ms, _x(), **kw)
    per = [compare(ms[i], ms[j], _x(), **kw).table.similarity.values for i, j in [(0,1), (0,2), (1,2)]]
    np.testing.assert_allclose(rep.similarity.values, np.mean(per, 0))
    assert (rep.n_pairs == 3).all()
    with pytest.raises(ValueError, match=r'\[0, 1\)'): compare(ms[0], ms[1], _x(), eps=1.5, **SMALL)
    with pytest.raises(ValueError, match='not in the model'): compare(ms[0], ms[1], _x(), layers=['nope'], **SMALL)
    with pytest.raises(ValueError, match='zeros must be'): compare(ms[0], ms[1], _x(), zeros='keep', **SMALL)
    with pytest.raises(ValueError, match='tensor of inputs'): as_inputs('images')
    with pytest.raises(ValueError, match='spatial sizes must agree'):
        compare(ms[0], make_model('resnet', (1,28,28), 10, width=0.25, seed=0), _x(), layers=['body.3'], **SMALL)
