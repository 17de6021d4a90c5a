"""Tracing any model to a `PermSpec` (netsim.trace): soundness by `check_spec` on reference architectures, exact
recovery of a permuted copy by weight matching, hand counts, agreement with the walked specs of netsim's own
architectures, and clear errors on bad input."""
import sys, pathlib
import pytest
import torch
from torch import nn
import torch.nn.functional as F
sys.path.insert(0, str(pathlib.Path(__file__).parent))
from models_zoo import zoo, FunctionalMLP
from netsim.models import make_model, stack_models, MLP
from netsim.symmetry import perm_spec as walked_spec, permute_state, random_perms
from netsim.trace import perm_spec, trace_spec, check_spec, activation_layers, perm_activations, TraceError
from netsim.permute import permute_model
from netsim.align import weight_match, sort_perms
from netsim.chain import chain_features

torch.set_num_threads(1)
ZOO = zoo(seed=0)
SPECS = {}

def spec_of(name):
    "The traced (and checked) spec of a zoo model, computed once."
    if name not in SPECS: SPECS[name] = perm_spec(*ZOO[name])
    return SPECS[name]

@pytest.mark.parametrize('name', list(ZOO))
def test_check_spec_three_seeds(name):
    m, x = ZOO[name]
    spec = spec_of(name)
    assert spec.perm_sizes, name                                    # every reference model has some symmetry
    assert check_spec(m, spec, x, seeds=(0, 1, 2), atol=1e-10) < 1e-10

@pytest.mark.parametrize('name', list(ZOO))
def test_weight_match_recovers_permuted_copy(name):
    "Weight matching (Git Re-Basin coordinate ascent) of permute_model(A, seed) to A gives A's state dict back exactly."
    m, x = ZOO[name]
    spec = spec_of(name)
    for s in (1, 2):
        b = permute_model(m, seed=s)
        assert not all(torch.equal(v, m.state_dict()[k]) for k, v in b.state_dict().items())
        st = stack_models([b])
        perms = weight_match(st.params, spec, ref=m.state_dict())
        back = permute_state(st.params, spec, perms, batch_dims=1)
        for k, v in m.state_dict().items(): assert torch.equal(back[k][0], v), (name, s, k)

def test_hand_counts():
    r = spec_of('resnet18')                                         # stem+layer1, 3 stage outputs, 8 block-inner perms
    assert len(r.perm_sizes) == 12
    assert sorted(r.perm_sizes.values()) == sorted([8, 16, 32, 64] + [8, 8, 16, 16, 32, 32, 64, 64])
    assert r.axes_to_perm['layer1.0.conv2.weight'][0] == r.axes_to_perm['conv1.weight'][0]           # identity skips merge
    assert r.axes_to_perm['layer2.0.downsample.0.weight'][0] == r.axes_to_perm['layer2.1.conv2.weight'][0]
    v = spec_of('vit_tiny')                                         # residual stream + per block: qk, v (2 heads), MLP
    assert len(v.perm_sizes) == 7 and v.perm_sizes['patch'] == 16
    assert v.groups == {f'blocks.{i}.attn.{p}': 2 for i in range(2) for p in ('qk', 'v')}
    assert v.axes_to_perm['blocks.0.attn.in_proj_weight'] == ([('blocks.0.attn.qk', 2, 1), ('blocks.0.attn.v', 1, 1)], 'patch')
    assert v.axes_to_perm['pos_embed'] == (None, None, 'patch') and v.axes_to_perm['cls_token'] == (None, None, 'patch')
    l = spec_of('lstm')                                             # one perm per layer, on 4 gate blocks
    assert l.perm_sizes == {'lstm.l0': 12, 'lstm.l1': 12}
    assert l.axes_to_perm['lstm.weight_ih_l1'] == (('lstm.l1', 4), 'lstm.l0')
    assert l.axes_to_perm['lstm.weight_hh_l0'] == (('lstm.l0', 4), 'lstm.l0')
    assert l.axes_to_perm['fc.weight'] == (None, 'lstm.l1')
    c = spec_of('cat_cnn')                                          # cat of two maps -> two blocks on conv3's input axis
    assert c.axes_to_perm['conv3.weight'][1] == [('conv1', 1, 1), ('conv2', 1, 1)]
    assert c.axes_to_perm['fc.weight'][1] == ('conv3', 1, 16)
    mb = spec_of('mobilenet_v2')                                    # depthwise convs pass their input perm through
    assert mb.axes_to_perm['features.2.conv.1.0.weight'][0] == mb.axes_to_perm['features.2.conv.0.0.weight'][0]

def _canon(spec):
    "axes and layers with perms renamed in order of first appearance"
    ren = {}
    def r(a):
        if a is None: return None
        if isinstance(a, str): return ren.setdefault(a, f'p{len(ren)}')
        if isinstance(a, tuple): return (r(a[0]),) + a[1:]
        return [(r(s[0]),) + tuple(s[1:]) if s[0] else s for s in a]
    axes = {k: tuple(r(a) for a in v) for k, v in spec.axes_to_perm.items()}
    return axes, {ren[k]: v for k, v in spec.perm_sizes.items()}, [(l.name, l.kind, l.keys, r(l.in_perm), r(l.out_perm), l.role, l.bn) for l in spec.layers]

@pytest.mark.parametrize('arch', ['mlp4', 'mlp4-leaky', 'plain5', 'plain6', 'res5', 'resnet', 'vgg', 'gru2'])
def test_traced_equals_walked(arch):
    shape = (7, 5) if arch == 'gru2' else (1, 8, 8)
    m = make_model(arch, shape, 3, width=0.1, seed=0)
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    if arch == 'gru2': x = (x > 0.5).float()
    assert _canon(trace_spec(m, x)) == _canon(walked_spec(m))
    assert perm_spec(m, x) == walked_spec(m)                       # the front door keeps the walked spec

def test_chain_features_of_traced_mlp():
    mlp = MLP(12, 3, widths=(10, 9)); mine = FunctionalMLP()
    mine.load_state_dict(dict(zip(mine.state_dict(), mlp.state_dict().values())))
    perm_spec(mine, torch.randn(2, 12))
    for a, b in zip(chain_features(mine), chain_features(mlp)): torch.testing.assert_close(a, b)
    spec_of('vit_tiny')                                             # traced and remembered on the model
    with pytest.raises(ValueError, match="'mha' layer"): chain_features(ZOO['vit_tiny'][0])

def test_sort_perms_canonical_with_groups():
    "Sorting canonicalises a permuted copy to the same state, also with per-head (grouped) permutations."
    m, x = ZOO['transformer']; spec = spec_of('transformer')
    st = stack_models([m, permute_model(m, seed=3)])
    s = permute_state(st.params, spec, sort_perms(st.params, spec), batch_dims=1)
    for k, v in s.items(): assert torch.equal(v[0], v[1]), k

def test_activation_layers_and_perm_activations():
    assert activation_layers(*ZOO['functional_mlp']) == ['fc1:relu', 'fc2:relu']
    assert activation_layers(*ZOO['cat_cnn']) == ['conv1:relu', 'conv2:relu', 'conv3:relu']
    r = activation_layers(*ZOO['resnet18'])                         # block ReLUs are called twice: one layer per call
    assert r[:3] == ['relu', 'layer1.0.relu#0', 'layer1.0.relu#1'] and len(r) == 17
    m, x = ZOO['vit_tiny']
    acts = perm_activations(m, spec_of('vit_tiny'), x, max_rows=20)
    assert set(acts) == {'patch', 'blocks.0.mlp.0', 'blocks.1.mlp.0'}      # per-head perms act inside the attention only
    assert acts['blocks.0.mlp.0'].shape == (20, 32)
    pm = permute_model(m, seed=4); ps = random_perms(spec_of('vit_tiny'), 4)
    acts_p = perm_activations(pm, spec_of('vit_tiny'), x, max_rows=20)
    torch.testing.assert_close(acts_p['blocks.0.mlp.0'], acts['blocks.0.mlp.0'][:, ps['blocks.0.mlp.0']])

def test_compare_resnet18_reused_relu():
    "compare on torchvision-style ResNet-18: a ReLU module called twice per block gives two layers; a permuted copy matches."
    from netsim.comparison import compare
    m, x = ZOO['resnet18']; m.eval()
    res = compare(m, permute_model(m, seed=0, spec=spec_of('resnet18')), torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1)), n_images=8, n_draws=1)
    assert list(res.table.layer.unique())[:3] == ['relu', 'layer1.0.relu#0', 'layer1.0.relu#1']
    assert (res.table.cka > 1 - 1e-5).all()                       # the same function at every point, call by call

def test_compare_finds_functional_layers():
    from netsim.comparison import compare
    torch.manual_seed(0)
    m = FunctionalMLP().eval(); x = torch.randn(64, 12)
    res = compare(m, permute_model(m, seed=0, example_input=x[:2]), x, n_images=64)
    assert list(res.table.layer.unique()) == ['fc1:relu', 'fc2:relu']
    with torch.no_grad(): h1 = F.relu(m.fc1(x)); h2 = m.fc2(h1).relu()
    live = {'fc1:relu': (h1 > 0).any(0).float().mean().item(), 'fc2:relu': (h2 > 0).any(0).float().mean().item()}
    for layer, sim in zip(res.table.layer, res.table.similarity):   # every live unit finds its twin; dead units never match
        assert abs(sim - live[layer]) < 1e-6, (layer, sim, live[layer])

def test_unsupported_ops_block():
    "An op without a rule fixes the axes it touches (never permuted silently); the spec stays sound."
    class Cum(nn.Module):
        def __init__(self): super().__init__(); self.a, self.b, self.c = nn.Linear(4, 6), nn.Linear(6, 5), nn.Linear(5, 2)
        def forward(self, x): return self.c(F.relu(self.b(self.a(x).cumsum(-1))))
    m, x = Cum(), torch.randn(3, 4)
    spec = perm_spec(m, x)
    assert list(spec.perm_sizes) == ['b']
    assert 'cumsum' in spec.fixed['a.weight'][0][1] and 'cumsum' in spec.explain()

def test_bad_input():
    class Branchy(nn.Module):
        def __init__(self): super().__init__(); self.a = nn.Linear(4, 4)
        def forward(self, x):
            if x.mean() > 0: return self.a(x)
            return -self.a(x)
    with pytest.raises(TraceError, match=r"test_trace.py:\d+.*if x.mean\(\) > 0.*data-dependent control flow"):
        perm_spec(Branchy(), torch.randn(2, 4))
    with pytest.raises(ValueError, match='pass example_input='): perm_spec(FunctionalMLP())
    with pytest.raises(TraceError, match='failed on example_input'): perm_spec(FunctionalMLP(), torch.randn(2, 5))
    class Sub(nn.Linear):
        def forward(self, x): return super().forward(x).flip(-1)
    with pytest.raises(ValueError, match='its own forward'): permute_model(nn.Sequential(Sub(3, 4), nn.ReLU(), nn.Linear(4, 2)), seed=0)
    m = nn.Sequential(Sub(3, 4), nn.ReLU(), nn.Linear(4, 2)); x = torch.randn(2, 3)
    spec = perm_spec(m, x)                                          # traced instead: the flip is an op without a rule
    assert spec.perm_sizes == {} and 'flip' in spec.explain()

def test_huggingface_bert_gpt2():
    "Tiny random-init BERT and GPT-2 built from configs (no download): traced and checked. Their outputs are the hidden states, so the residual stream is fixed; the feed-forward perms are found; q/k/v are split into heads by a `view`, which fixes them."
    tf = pytest.importorskip('transformers')
    torch.manual_seed(0)
    ids = torch.randint(50, (2, 7))
    bert = tf.BertModel(tf.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=16)).eval()
    spec = perm_spec(bert, {'input_ids': ids})
    assert spec.perm_sizes == {f'encoder.layer.{i}.intermediate.dense': 32 for i in range(2)}
    assert 'view at' in spec.fixed['encoder.layer.0.attention.self.query.weight'][0][1]
    gpt2 = tf.GPT2Model(tf.GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=16, bos_token_id=0, eos_token_id=0)).eval()
    spec = perm_spec(gpt2, {'input_ids': ids})
    assert sorted(spec.perm_sizes.values()) == [64, 64]
    assert spec.axes_to_perm['h.0.mlp.c_proj.weight'] == (spec.axes_to_perm['h.0.mlp.c_fc.weight'][1], None)

class _Seq(nn.Module):
    "A model from a forward function and named submodules."
    def __init__(self, fwd, **mods): super().__init__(); self.fwd = fwd; [self.add_module(k, v) for k, v in mods.items()]
    def forward(self, x): return self.fwd(self, x)

KITCHEN = {   # name -> (model, input, number of perms): every rule family once, each proven by check_spec
    'conv_transpose_bn': (_Seq(lambda s, x: s.c2(F.relu(s.bn(s.t(F.relu(s.c1(x)))))), c1=nn.Conv2d(3, 6, 3), t=nn.ConvTranspose2d(6, 5, 2, stride=2),
                               bn=nn.BatchNorm2d(5), c2=nn.Conv2d(5, 2, 1)), (2, 3, 6, 6), 2),
    'conv1d_groupnorm_rmsnorm': (_Seq(lambda s, x: s.fc(s.rn(s.c2(F.gelu(s.gn(s.c1(x)))).transpose(1, 2))), c1=nn.Conv1d(3, 8, 3),
                                      gn=nn.GroupNorm(2, 8), c2=nn.Conv1d(8, 4, 1), rn=nn.RMSNorm(4), fc=nn.Linear(4, 2)), (2, 3, 10), 2),
    'bigru_lstm_proj_rnn': (_Seq(lambda s, x: s.fc(s.lstm(s.rnn(s.gru(x)[0])[0])[1][0][-1]), gru=nn.GRU(5, 6, 2, batch_first=True, bidirectional=True),
                                 rnn=nn.RNN(12, 7, batch_first=True), lstm=nn.LSTM(7, 8, batch_first=True, proj_size=4), fc=nn.Linear(4, 3)), (2, 6, 5), 7),
    'mha_kdim_vdim': (_Seq(lambda s, x: s.fc(s.att(s.q(x), s.k(x), s.v(x), need_weights=False)[0]), q=nn.Linear(4, 8), k=nn.Linear(4, 6),
                           v=nn.Linear(4, 5), att=nn.MultiheadAttention(8, 2, kdim=6, vdim=5, batch_first=True), fc=nn.Linear(8, 2)), (2, 5, 4), 6),
    'einsum_attention': (_Seq(lambda s, x: s.o(torch.einsum('bij,bjd->bid', torch.einsum('bid,bjd->bij', s.q(x), s.k(x)).softmax(-1), s.v(x))),
                              q=nn.Linear(4, 6), k=nn.Linear(4, 6), v=nn.Linear(4, 5), o=nn.Linear(5, 2)), (2, 5, 4), 2),
    'pad_interpolate_pool': (_Seq(lambda s, x: s.fc(F.adaptive_max_pool2d(s.c2(F.interpolate(F.pad(F.silu(s.c1(x)), (1, 1, 1, 1)), scale_factor=2)), 1).flatten(1)),
                                  c1=nn.Conv2d(3, 5, 3), c2=nn.Conv2d(5, 4, 3), fc=nn.Linear(4, 2)), (2, 3, 6, 6), 2),
    'embedding_mean': (_Seq(lambda s, x: s.fc(F.relu(s.l(s.e(x))).mean(1)), e=nn.Embedding(20, 6), l=nn.Linear(6, 7), fc=nn.Linear(7, 2)), None, 2),
}

@pytest.mark.parametrize('name', list(KITCHEN))
def test_rules_each_family(name):
    m, shape, n = KITCHEN[name]
    torch.manual_seed(0)
    x = torch.randint(20, (2, 5)) if shape is None else torch.randn(*shape)
    spec = perm_spec(m, x)                                          # runs check_spec (3 seeds, float64)
    assert len(spec.perm_sizes) == n, (name, spec.perm_sizes)

def test_perm_activations_with_walked_spec():
    "perm_activations names the activations after the spec it is given (a walked spec here), through the axes they act on."
    m = make_model('res5', (1, 8, 8), 3, width=0.1, seed=0).eval(); spec = walked_spec(m)
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    acts = perm_activations(m, spec, x)
    assert set(acts) == set(spec.perm_sizes)
    assert all(v.shape[1] == spec.perm_sizes[k] for k, v in acts.items())
    assert perm_spec(stack_models([m, m])) == spec                  # a ModelStack: its template's spec
