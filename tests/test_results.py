"Results a reader can trust: the authors' FFL recipe, tie-averaged mAP, zoo progress callbacks, GRU recurrent chains."
import numpy as np
import pytest
import torch
import netsim.ffl.learner as ffl        # where `ffl_scores` looks up `fit_ffl` (the spy below replaces it there)
from netsim.ffl import FFL_RECIPES, fit_ffl, fit_ffl_direct, evaluate_retrieval, ffl_report, alignment_features

@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)

@pytest.fixture(scope='module')
def small_zoo(tmp_path_factory):
    "4 pairs of digits x 6 MLP-4s at width 0.1, 2 epochs: 24 models, a few seconds."
    from netsim.zoo import train_zoo
    return train_zoo(tmp_path_factory.mktemp('zoo')/'mlp4', dataset='digits', arch='mlp4', models_per_class=6, epochs=2,
                     scheme='pairs', n_classes=4, examples_per_class=50, width=0.1, batch_size=32, device='cpu',
                     progress=False, workers=1)

def test_paper_recipe_settings_used(small_zoo, monkeypatch):
    "ffl_report(recipe='paper') trains every projection with batch 1, lr 1e-3, 10 epochs, raw features, on full D x D Grams."
    calls, fit = [], ffl.fit_ffl
    def spy(X, *a, **kw):
        r = fit(X, *a, **kw); calls.append((ffl.as_source(X).shape[1], r.settings)); return r
    monkeypatch.setattr(ffl, 'fit_ffl', spy)
    df = ffl_report(small_zoo, chains=[1, 2], alignments=('chain',), seeds=(0,), device='cpu', progress=False, recipe='paper')
    assert len(calls) == 4 and set(df.metric) >= {'top1', 'cmc1', 'mAP'}        # 2 chains x 2 protocols
    D = 64                                                                     # digits: 8x8 inputs
    for width, s in calls:
        assert width == D * D                                                  # the full Gram, not its upper triangle
        assert (s['recipe'], s['batch_size'], s['lr'], s['epochs'], s['momentum'], s['step_at']) == ('paper', 1, 1e-3, 10, 0.9, 0.6)
        assert not s['standardize'] and not s['row_norm'] and not s['scale_by_width']

def test_paper_recipe_is_linear_on_raw_features(small_zoo):
    "In kernel form the paper recipe is exactly nn.Linear + SGD (batch 1, lr 1e-3) on the raw full-Gram features."
    (_, _, X), = alignment_features(small_zoo.stack(), 'chain', chains=[2], triu=False)
    y = small_zoo.meta.solution_class.to_numpy(); tr = np.arange(len(y))[np.arange(len(y)) % 6 < 4]
    r = fit_ffl(X, y, tr, recipe='paper', device='cpu')
    p = FFL_RECIPES['paper']
    ref = fit_ffl_direct(X, y, tr, epochs=p['epochs'], batch_size=p['batch_size'], lr=p['lr'], device='cpu')
    torch.testing.assert_close(r.logits, ref, rtol=1e-3, atol=1e-3 * float(ref.abs().max()))

def test_default_recipe_unchanged():
    "recipe=None keeps the arguments as given (the netsim defaults), and reports them."
    g = torch.Generator().manual_seed(0); X = torch.randn(20, 8, generator=g); y = np.arange(20) % 2
    r = fit_ffl(X, y, np.arange(12), device='cpu')
    assert {k: r.settings[k] for k in ('epochs', 'batch_size', 'lr')} == {k: FFL_RECIPES['netsim'][k] for k in ('epochs', 'batch_size', 'lr')}
    assert torch.equal(r.logits, fit_ffl(X, y, np.arange(12), recipe='netsim', device='cpu').logits)

@pytest.mark.parametrize('seed', range(3))
def test_map_matches_sklearn_with_ties(seed):
    "mAP equals scikit-learn's average_precision_score per query, also when many similarities tie."
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(seed)
    emb = torch.tensor(rng.integers(0, 3, size=(40, 2)), dtype=torch.float64) + 0.5   # few distinct directions: many ties
    y = rng.integers(0, 4, size=40); q, g = np.arange(8), np.arange(8, 40)
    e = emb / (emb.norm(dim=1, keepdim=True) + 1e-8); sim = torch.round(e[q] @ e[g].T, decimals=9).numpy()   # as the code (and the authors)
    want = np.mean([average_precision_score(y[g] == y[i], sim[k]) if (y[g] == y[i]).any() else 0.0 for k, i in enumerate(q)])
    assert abs(evaluate_retrieval(emb, y, q, g)['mAP'] - want) < 1e-12

def test_map_all_tied():
    "All similarities equal: AP is the fraction of same-class gallery models, wherever they sit in the gallery."
    emb, y = torch.ones(7, 4), np.array([0, 1,   0, 0, 1, 1, 1])
    for gal in ([2, 3, 4, 5, 6], [4, 5, 6, 2, 3]):
        r = evaluate_retrieval(emb, y, [0, 1], gal)
        assert abs(r['mAP'] - (2/5 + 3/5) / 2) < 1e-12

def test_zoo_progress_callable(tmp_path):
    "train_zoo calls a progress callable with (done, total), ending at total."
    from netsim.zoo import train_zoo
    seen = []
    train_zoo(tmp_path/'z', dataset='digits', arch='mlp4', models_per_class=2, epochs=1, n_classes=2, examples_per_class=20,
              width=0.1, batch_size=32, device='cpu', chunk=2, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)

@pytest.mark.parametrize('seed', range(5))
def test_recurrent_gru_chains_invariant(seed):
    "R1 and R2 do not move under random hidden-unit permutations of both GRU layers (float64); a non-symmetry moves them."
    from netsim.models import make_model
    from netsim.symmetry import perm_spec, random_perms, permute_state
    from netsim.gru_chains import recurrent_chains, RECURRENT_CHAINS
    m = make_model('gru2', (6, 9), 3, width=1/8, seed=seed).double(); spec = perm_spec(m)
    p = make_model('gru2', (6, 9), 3, width=1/8).double(); p.load_state_dict(permute_state(m.state_dict(), spec, random_perms(spec, 1000 + seed)))
    x = torch.randn(5, 6, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(p(x), m(x), rtol=0, atol=1e-12)                      # a symmetry of the network ...
    assert not torch.equal(p.gru.weight_hh_l1, m.gru.weight_hh_l1)                  # ... that moved W_hh
    Rm, Rp = recurrent_chains([m], dtype=torch.float64), recurrent_chains([p], dtype=torch.float64)
    for k in RECURRENT_CHAINS: torch.testing.assert_close(Rp[k], Rm[k], rtol=0, atol=1e-12)
    H = m.gru.hidden_size; rows = torch.randperm(H, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(): p.gru.weight_hh_l1.copy_(p.gru.weight_hh_l1.view(3, H, H)[:, rows].reshape(3*H, H))   # rows only
    assert (recurrent_chains([p], dtype=torch.float64)['R2'] - Rm['R2']).abs().max() > 1e-6
