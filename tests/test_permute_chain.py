"Property tests for netsim.symmetry, netsim.permute and netsim.chain: permuted models compute the same function, chain features are invariant, unaligned features are not."
import itertools
import pytest
import torch
from torch import nn
from netsim.models import make_model, stack_models, MLP, PlainNet, ResNet, ModelStack
from netsim.symmetry import perm_spec, permute_state, random_perms
from netsim.permute import permute_model
from netsim.chain import chain_features, chain_info, chain_factors, unaligned_features, projected_chain

F64 = torch.float64
RTOL, ATOL = 1e-5, 1e-9          # one tolerance for every invariance check (float64)
ARCHS = ['mlp4', 'mlp4-leaky', 'plain5', 'plain5-leaky', 'plain6', 'res5', 'resnet', 'vgg', 'gru2']
SEEDS = range(4)
MAX_D = 800                      # skip Grams wider than this in the quick tests
MAX_RAW = 10**5                  # and raw (head) chains longer than this


def shape_of(arch): return (6, 9) if arch.startswith('gru') else (1, 8, 8)


def randomize(m, seed):
    "Random BatchNorm affine terms and running statistics (a fresh BN is permutation-invariant and would hide bugs)."
    g = torch.Generator().manual_seed(1000 + seed)
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            n = mod.num_features
            with torch.no_grad():
                mod.weight.copy_(torch.randn(n, generator=g, dtype=F64))
                mod.bias.copy_(torch.randn(n, generator=g, dtype=F64))
                mod.running_mean.copy_(torch.randn(n, generator=g, dtype=F64))
                mod.running_var.copy_(0.5 + torch.rand(n, generator=g, dtype=F64))
    return m


WIDTH = {'resnet': 0.25, 'mlp4': 0.0625, 'mlp4-leaky': 0.0625, 'gru2': 0.0625}   # others 0.125: every hidden layer >= 2 units


def model(arch, seed):
    width = WIDTH.get(arch, 0.125)
    return randomize(make_model(arch, shape_of(arch), 3, width=width, seed=seed).double().eval(), seed)


def inputs(arch, n=5, seed=0):
    g, s = torch.Generator().manual_seed(seed), shape_of(arch)
    if arch.startswith('gru'): return torch.eye(s[1], dtype=F64)[torch.randint(s[1], (n, s[0]), generator=g)]
    return torch.randn(n, *s, generator=g, dtype=F64)


def non_identity_perms(spec, seed):
    "Random permutations, none of them the identity (so a permuted tensor must differ)."
    ps = random_perms(spec, seed)
    return {k: (p.roll(1) if torch.equal(p, torch.arange(len(p))) else p) for k, p in ps.items()}


def small_chains(m, **kw):
    return [c.name for c in chain_info(m, **kw) if (c.kind == 'raw' and c.size <= MAX_RAW) or c.D <= MAX_D]


@pytest.mark.parametrize('arch,seed', list(itertools.product(ARCHS, SEEDS)))
def test_permuted_model_same_function_and_invariant_chains(arch, seed):
    m = model(arch, seed)
    mp = permute_model(m, non_identity_perms(perm_spec(m), seed + 100))
    x = inputs(arch, seed=seed)
    torch.testing.assert_close(mp(x), m(x), rtol=RTOL, atol=ATOL)
    chains = small_chains(m)
    assert len(chains) >= 3
    for a, b in zip(chain_features(m, chains, dtype=F64, device='cpu'), chain_features(mp, chains, dtype=F64, device='cpu')):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(unaligned_features(m, dtype=F64), unaligned_features(mp, dtype=F64)):
        assert a.shape == b.shape and not torch.allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize('arch,opts', [(a, o) for a in ['plain5', 'res5', 'resnet', 'vgg']
                                      for o in [dict(fold_bn=True), dict(biases=True), dict(fold_bn=True, biases=True)]]
                         + [('mlp4', dict(biases=True)), ('mlp4', dict(normalize=False)), ('mlp4', dict(head='raw'))])
def test_chain_options_invariant(arch, opts):
    for seed in range(2):
        m = model(arch, seed); mp = permute_model(m, seed=seed + 7)
        chains = small_chains(m, **{k: v for k, v in opts.items() if k in ('biases', 'head')})
        for a, b in zip(chain_features(m, chains, dtype=F64, device='cpu', **opts), chain_features(mp, chains, dtype=F64, device='cpu', **opts)):
            torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


def test_figure1_numbers_exact():
    W1 = torch.tensor([[0.8, 0.1, 0.8], [0.9, 0.7, 0.2]], dtype=F64)
    W2 = torch.tensor([[0.5, 0.3, 0.4], [0.9, 0.1, 0.3], [0.5, 0.4, 0.2]], dtype=F64)
    net = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Linear(3, 3, bias=False), nn.Linear(3, 2, bias=False)).double()
    with torch.no_grad(): net[0].weight.copy_(W1.T); net[1].weight.copy_(W2.T)
    netp = permute_model(net, {'0': torch.tensor([1, 0, 2])})
    assert torch.equal(netp[0].weight.detach().T, torch.tensor([[0.1, 0.8, 0.8], [0.7, 0.9, 0.2]], dtype=F64))
    assert torch.equal(netp[1].weight.detach().T, torch.tensor([[0.9, 0.1, 0.3], [0.5, 0.3, 0.4], [0.5, 0.4, 0.2]], dtype=F64))
    h1 = torch.tensor([0.2, 0.7, 0.5], dtype=F64)
    assert torch.equal(h1[torch.tensor([1, 0, 2])], torch.tensor([0.7, 0.2, 0.5], dtype=F64))
    for n in (net, netp):
        g1, g2 = chain_features(n, [1, 2], normalize=False, triu=False, dtype=F64, device='cpu')
        torch.testing.assert_close(g1.view(2, 2), torch.tensor([[1.29, 0.95], [0.95, 1.34]], dtype=F64), rtol=0, atol=1e-14)
        torch.testing.assert_close(g2.view(2, 2), torch.tensor([[1.3771, 1.6007], [1.6007, 1.9409]], dtype=F64), rtol=0, atol=1e-14)


def test_stack_equals_per_model_loop_and_chunks():
    ms = [model('plain5', s) for s in range(5)]
    st = stack_models(ms)
    chains = small_chains(ms[0])
    full = chain_features(st, chains, dtype=F64, device='cpu')
    for chunk in (1, 2, 5):
        for a, b in zip(full, chain_features(st, chains, dtype=F64, device='cpu', chunk=chunk)): torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
    for i, m in enumerate(ms):
        for a, b in zip(full, chain_features(m, chains, dtype=F64, device='cpu')): torch.testing.assert_close(a[i], b[0], rtol=1e-12, atol=1e-14)
    assert all(f.dtype == torch.float32 for f in chain_features(ms[:2], chains, device='cpu'))


def test_stack_permuted_per_model_invariant():
    ms = [model('res5', s) for s in range(4)]
    st = stack_models(ms); spec = perm_spec(st.template)
    pst = ModelStack(st.template, permute_state(st.params, spec, random_perms(spec, 3, n_models=4), batch_dims=1))
    chains = small_chains(ms[0])
    for a, b in zip(chain_features(st, chains, dtype=F64, device='cpu'), chain_features(pst, chains, dtype=F64, device='cpu')):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


def test_conv_chain_brute_force_oracle():
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Conv2d(2, 4, 3)).double()
    Ks = [m.weight.detach().reshape(m.out_channels, m.in_channels, 9) for m in net if isinstance(m, nn.Conv2d)]
    T3, = chain_factors(net, [3], dtype=F64, device='cpu', head='gram')
    T3 = T3[0]
    for taps in itertools.product(range(9), repeat=3):
        col0 = (taps[0] * 81 + taps[1] * 9 + taps[2])       # column of input channel 0: (((c*9+t1)*9+t2)*9+t3)
        blk = Ks[2][:, :, taps[2]] @ Ks[1][:, :, taps[1]] @ Ks[0][:, :, taps[0]]
        torch.testing.assert_close(T3[:, [col0, 729 + col0]], blk, rtol=1e-12, atol=1e-14)


def test_mlp_biases_homogeneous_known_answer():
    m = MLP(4, 2, widths=(3,)).double()
    W, b = m.body[1].weight.detach(), m.body[1].bias.detach()
    g1, = chain_features(m, [1], biases=True, triu=False, dtype=F64, device='cpu')
    G = g1.view(5, 5)
    torch.testing.assert_close(G[:4, :4], W.T @ W); torch.testing.assert_close(G[:4, 4], W.T @ b)
    torch.testing.assert_close(G[4, 4], b @ b + 1)


def test_fold_bn_is_exact():
    "A conv with the folded weights and bias computes conv -> BN (eval) exactly."
    m = model('plain5', 0); conv, bn = m.body[0], m.body[1]
    s = bn.weight / (bn.running_var + bn.eps).sqrt()
    folded = nn.Conv2d(1, conv.out_channels, 3, padding=1).double()
    with torch.no_grad(): folded.weight.copy_(conv.weight * s[:, None, None, None]); folded.bias.copy_(s * conv.bias + bn.bias - s * bn.running_mean)
    x = inputs('plain5')
    torch.testing.assert_close(folded(x), bn(conv(x)))
    T1, = chain_factors(m, [1], fold_bn=True, dtype=F64, device='cpu')
    torch.testing.assert_close(T1[0], folded.weight.detach().reshape(conv.out_channels, -1))


def test_projected_chain_matches_features():
    ms = [model('mlp4', s) for s in range(3)]
    f, = chain_features(ms, [2], dtype=F64, device='cpu')
    th = torch.randn(5, f.shape[1], dtype=F64)
    torch.testing.assert_close(projected_chain(ms, 2, th, chunk=2), f @ th.T)
    U, V = torch.randn(2, 5, 64, 2, dtype=F64).unbind(0)
    full, = chain_features(ms, [2], dtype=F64, device='cpu', triu=False)
    torch.testing.assert_close(projected_chain(ms, 2, (U, V)), torch.einsum('mij,kij->mk', full.view(3, 64, 64), U @ V.transpose(1, 2)))


def test_paper_feature_sizes():
    assert [c.size for c in chain_info(make_model('mlp4', (3, 32, 32), 50))] == [3072 * 3073 // 2] * 4
    assert [c.D for c in chain_info(make_model('plain5', (3, 32, 32), 50))] == [27, 243, 2187, 19683, 19683]
    assert [c.size for c in chain_info(make_model('gru2', (19, 58), 2))] == [1711, 15225, 1711, 1044]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="type LayerNorm"): perm_spec(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)))
    with pytest.raises(ValueError, match="type LSTM"): permute_model(nn.Sequential(nn.Linear(3, 3), nn.LSTM(3, 3)), seed=0)
    with pytest.raises(ValueError, match="needs `perms` or a `seed`"): permute_model(MLP(3, 2))
    with pytest.raises(ValueError, match="unknown chain 9"): chain_features(MLP(3, 2, widths=(4,)), [9])
    with pytest.raises(ValueError, match="not an MLP"): chain_features(model('plain5', 0), [1], normalize=True)
    with pytest.raises(ValueError, match="expected an nn.Module"): chain_features('mlp4')
    with pytest.raises(ValueError, match="grouped conv"): perm_spec(nn.Sequential(nn.Conv2d(4, 4, 3, groups=2)))


def test_wide_gram_row_copy_path(monkeypatch):
    "Grams wider than _TRIU_INDEX_MAX are vectorised row by row; same result as the index path."
    import netsim.chain as nc
    ms = [model('plain5', s) for s in range(2)]
    ref = chain_features(ms, [2, 3], dtype=F64, device='cpu')
    monkeypatch.setattr(nc, '_TRIU_INDEX_MAX', 10)
    for a, b in zip(ref, chain_features(ms, [2, 3], dtype=F64, device='cpu')): assert torch.equal(a, b)


def test_three_layer_gru_chains_invariant():
    from netsim.models import GRUNet
    for seed in range(3):
        torch.manual_seed(seed)
        m = GRUNet(7, 2, hidden=6, layers=3).double()
        mp = permute_model(m, non_identity_perms(perm_spec(m), seed))
        x = inputs('gru2', seed=seed)[..., :7]
        x[:, :, 0] += 1e-3     # keep every step non-padding
        torch.testing.assert_close(mp(x), m(x), rtol=RTOL, atol=ATOL)
        names = [c.name for c in chain_info(m)]
        assert names == ['G1', 'G1_gates', 'G2', 'G3', 'head']
        for a, b in zip(chain_features(m, dtype=F64, device='cpu'), chain_features(mp, dtype=F64, device='cpu')):
            torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
