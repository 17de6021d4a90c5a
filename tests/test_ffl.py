"Function feature learning (`netsim.ffl`) and the other alignments (`netsim.align`): oracles, known answers, properties over seeds."
import math
import numpy as np
import pytest
import torch
from netsim.ffl import (GramSource, TensorSource, ConcatRows, standardised_gram, fit_ffl, fit_ffl_direct, classification_split,
                        retrieval_split, evaluate_classification, evaluate_retrieval, ci_mean, toy_permuted_zoo, toy_features,
                        ffl_scores, summarise)
from netsim.align import sort_perms, weight_match, align_stack
from netsim.models import make_model, stack_models
from netsim.symmetry import perm_spec, permute_state, random_perms

@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)

@pytest.mark.parametrize('seed', range(4))
def test_kernel_form_equals_direct_sgd(seed):
    "The dual (Gram) learner trains exactly the nn.Linear + SGD-momentum model, for random data, batch sizes, lr steps."
    g = torch.Generator().manual_seed(seed)
    M, Fd, N = 30, 17 + seed, 3 + seed % 2
    X = torch.randn(M, Fd, generator=g, dtype=torch.float64); y = np.arange(M) % N
    tr = np.sort(np.random.default_rng(seed).permutation(M)[:20])
    Xn = X / X.norm(dim=1, keepdim=True)
    Xs = (Xn - Xn[tr].mean(0)) / Xn[tr].std(0, unbiased=False) / math.sqrt(Fd)
    kw = dict(epochs=4 + seed, batch_size=1 + seed, lr=0.3, step_at=0.5, seed=seed, device='cpu')
    torch.testing.assert_close(fit_ffl(X, y, tr, **kw).logits, fit_ffl_direct(Xs.float(), y, tr, **kw), atol=2e-4, rtol=1e-3)

def test_gram_source_blocks_and_gram():
    C = torch.randn(5, 9, 3, dtype=torch.float64)
    full = torch.cat(list(GramSource(C).blocks(10**6)), 1)
    iu = torch.triu_indices(9, 9)
    torch.testing.assert_close(full, (C @ C.transpose(1, 2))[:, iu[0], iu[1]])
    for cols in (1, 7, 20):
        torch.testing.assert_close(standardised_gram(GramSource(C), [0, 1, 2], cols=cols, device='cpu'),
                                   standardised_gram(full, [0, 1, 2], cols=1000, device='cpu'), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat(list(ConcatRows([full[:2], full[2:]]).blocks(4)), 1).double(), full)
    with pytest.raises(ValueError, match='different widths'): ConcatRows([full, full[:, :3]])

def test_known_answer_toy_zoo():
    "Permuted noisy copies of per-class base weights: chains identify the class, hidden layers are at chance."
    Ws, y = toy_permuted_zoo(n_classes=6, per_class=10, seed=3)
    chains, layers = toy_features(Ws)
    tr, te = classification_split(y, seed=5)
    for name, X in chains.items():
        assert evaluate_classification(fit_ffl(X, y, tr, device='cpu'), y, te)['top1'] == 1.0, name
    for name in ('layer2', 'layer3'):
        assert evaluate_classification(fit_ffl(layers[name], y, tr, device='cpu'), y, te)['top1'] <= 0.4, name
    tr, q, gal = retrieval_split(y, seed=5)
    assert evaluate_retrieval(fit_ffl(chains['chain3'], y, tr, device='cpu'), y, q, gal)['cmc1'] == 1.0

def _retrieval_oracle(emb, y, q, g, ranks):
    "Brute force: per query, walk the gallery in similarity order (ties: gallery order)."
    e = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-8)
    cmc, aps = {k: [] for k in ranks}, []
    for i in q:
        sims = [(-round(float(e[i] @ e[j]), 9), r, j) for r, j in enumerate(g)]
        order = [j for _, _, j in sorted(sims)]
        hits = [y[j] == y[i] for j in order]
        first = hits.index(True) if any(hits) else len(hits)
        for k in ranks: cmc[k].append(first < k)
        prec = [sum(hits[:r+1])/(r+1) for r in range(len(hits)) if hits[r]]
        aps.append(np.mean(prec) if prec else 0.0)
    return {**{f'cmc{k}': float(np.mean(v)) for k, v in cmc.items()}, 'mAP': float(np.mean(aps))}

@pytest.mark.parametrize('seed', range(6))
def test_retrieval_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    M = 40; emb = rng.normal(size=(M, 4)); y = rng.integers(0, 4, M)
    if seed % 2: emb = np.round(emb)               # ties
    idx = rng.permutation(M); q, g = idx[:10], idx[10:]
    got = evaluate_retrieval(torch.tensor(emb), y, q, g, ranks=(1, 3, 5), ties='stable')   # the oracle ranks ties in gallery order
    want = _retrieval_oracle(emb, y, q, g, (1, 3, 5))
    assert got == pytest.approx(want)

def test_hand_built_cmc():
    ang = torch.tensor([0., 0.04, 1.0, 2.0, 0.15, 0.05])
    emb = torch.stack([ang.cos(), ang.sin()], 1); y = np.array([0, 1, 1, 0, 1, 0])
    r = evaluate_retrieval(emb, y, [0, 1], [2, 3, 4, 5], ranks=(1, 2))
    assert (r['cmc1'], r['cmc2']) == (0.5, 1.0)
    assert r['mAP'] == pytest.approx(((1 + 2/4)/2 + (1/2 + 2/3)/2) / 2)

@pytest.mark.parametrize('seed', range(5))
def test_splits_properties(seed):
    y = np.repeat(np.arange(7), 10)
    tr, te = classification_split(y, seed=seed)
    assert not set(tr) & set(te) and len(tr) + len(te) == len(y)
    assert (np.bincount(y[tr]) == 6).all()
    tr, q, g = retrieval_split(y, seed=seed)
    assert not set(y[tr]) & (set(y[q]) | set(y[g])) and set(y[q]) == set(y[g])
    assert len(np.unique(y[tr])) == 4 and (np.bincount(y[q], minlength=7)[np.unique(y[q])] == 2).all()
    assert not np.array_equal(classification_split(y, seed=seed)[0], classification_split(y, seed=seed + 1)[0])

def test_bad_inputs():
    X, y = torch.randn(10, 4), np.arange(10) % 2
    with pytest.raises(ValueError, match='one entry per model'): fit_ffl(X, y[:3], [0, 1], device='cpu')
    with pytest.raises(ValueError, match='at least 2 training classes'): fit_ffl(X, y, [0, 2], device='cpu')
    with pytest.raises(ValueError, match='out of range'): standardised_gram(X, [11], device='cpu')
    with pytest.raises(ValueError, match='too few'): classification_split(np.arange(5))
    with pytest.raises(ValueError, match='unknown protocol'): ffl_scores(X, y, protocols=('ranking',), device='cpu')
    with pytest.raises(ValueError, match='2-d tensor'): TensorSource(torch.zeros(3))
    with pytest.raises(ValueError, match='classes'): evaluate_classification(torch.zeros(3, 2), [0, 1, 0], [0])

def test_ci_and_summary():
    assert ci_mean([0.5]) == (0.5, 0.5, 0.5)
    mu, lo, hi = ci_mean([0.2, 0.4, 0.6], bounds=None)
    assert ci_mean([0.2, 0.4, 0.6])[1:] == (0.0, pytest.approx(0.8968, abs=1e-3))   # clipped to [0, 1]
    assert mu == pytest.approx(0.4) and lo < mu < hi and hi - mu == pytest.approx(mu - lo)
    df = summarise([dict(m='a', seed=s, value=v) for s, v in enumerate([1, 2, 3])])
    assert df.iloc[0]['mean'] == 2 and df.iloc[0]['n_seeds'] == 3

@pytest.mark.parametrize('arch,shape', [('mlp4', (1, 6, 6)), ('plain5', (2, 8, 8)), ('gru2', (5, 6))])
@pytest.mark.parametrize('seed', range(2))
def test_alignments_undo_permutations(arch, shape, seed):
    "Weight matching to the original undoes random permutations; sorting gives every permuted copy one canonical form."
    m = make_model(arch, shape, 3, width=0.1, seed=seed); s = perm_spec(m)
    P = permute_state(stack_models([m]*3).params, s, random_perms(s, seed=seed + 10, n_models=3), batch_dims=1)
    A = permute_state(P, s, weight_match(P, s, m.state_dict(), seed=seed), batch_dims=1)
    C = permute_state(P, s, sort_perms(P, s), batch_dims=1)
    for k, v in m.state_dict().items():
        if v.is_floating_point():
            torch.testing.assert_close(A[k], v[None].expand_as(A[k]))
            torch.testing.assert_close(C[k], C[k][:1].expand_as(C[k]))

def test_align_stack_keeps_functions():
    ms = [make_model('mlp4', (1, 6, 6), 3, width=0.1, seed=i) for i in range(3)]
    st = stack_models(ms); x = torch.randn(5, 1, 6, 6)
    for meth in ('sort', 'match'):
        al = align_stack(st, meth, ref=1)
        for i in range(3):
            with torch.no_grad(): torch.testing.assert_close(al.module(i)(x), ms[i](x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='out of range'): align_stack(st, 'match', ref=7)

# ---------------------------------------------------------------- one split implementation, pinned stream
def test_ffl_splits_are_the_data_splits_and_pinned():
    "netsim.ffl's tuples are netsim.data's dicts; the random stream is pinned (saved FFL results depend on it)."
    from netsim import data
    y = np.repeat(np.arange(5), 6)
    tr, te = classification_split(y, seed=3)
    assert te.tolist() == [0, 2, 8, 10, 13, 14, 21, 22, 27, 28]                  # the stream of the original FFL helper
    tr, q, g = retrieval_split(y, seed=3)
    assert (q.tolist(), g.tolist()) == ([1, 14], [0, 2, 3, 4, 5, 12, 13, 15, 16, 17])
    for seed in range(3):
        yy = np.random.default_rng(seed).permutation(np.repeat(np.arange(7), 9))
        d = data.classification_split(yy, frac=0.6, seed=seed)
        assert all(np.array_equal(a, b) for a, b in zip(classification_split(yy, 0.6, seed), (d['train'], d['test'])))
        d = data.retrieval_split(yy, seed=seed, train_frac=0.6, query_frac=0.2)
        assert all(np.array_equal(a, b) for a, b in zip(retrieval_split(yy, 0.6, 0.2, seed), (d['train'], d['query'], d['gallery'])))
    with pytest.raises(ValueError, match='too few for 2 training classes'): retrieval_split(np.repeat(np.arange(2), 5))

# ---------------------------------------------------------------- wide chains through the factored path
@pytest.mark.parametrize('arch,shape,chain', [('mlp4', (1, 5, 5), 2), ('mlp4', (1, 5, 5), 4), ('plain5', (2, 6, 6), 2),
                                              ('gru2', (4, 7), 'G1'), ('gru2', (4, 7), 'G2')])
def test_gram_source_from_chain_matches_chain_features(arch, shape, chain):
    from netsim.chain import chain_features, chain_info
    from netsim.ffl import alignment_features
    st = stack_models([make_model(arch, shape, 3, width=0.05, seed=s) for s in range(7)])
    dense, = chain_features(st, [chain], device='cpu'); fac = GramSource.from_chain(st, chain)
    assert fac.shape == tuple(dense.shape)
    torch.testing.assert_close(torch.cat(list(fac.blocks(37)), 1), dense, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fac.sq_norms(), dense.double().pow(2).sum(1), rtol=1e-4, atol=1e-8)
    for cols in (5, 1000):
        torch.testing.assert_close(standardised_gram(fac, [0, 2, 3, 5], cols=cols, device='cpu'),
                                   standardised_gram(dense, [0, 2, 3, 5], device='cpu'), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(standardised_gram(ConcatRows([fac, fac]), [0, 1, 9], device='cpu'),
                               standardised_gram(torch.cat([dense, dense]), [0, 1, 9], device='cpu'), rtol=1e-4, atol=1e-5)
    kinds = {c.name: c.kind for c in chain_info(st)}
    for _, name, X in alignment_features(st, 'chain', dense_max=0):                     # every Gram chain factored
        assert isinstance(X, GramSource) if kinds[name] == 'gram' else torch.is_tensor(X), name
    (_, _, X), = alignment_features(st, 'chain', chains=[chain])                           # a small chain stays dense
    assert torch.is_tensor(X)

# ---------------------------------------------------------------- precomputed feature numbering, transfer without leaks
def test_feature_index_from_name():
    from netsim.ffl import feature_index
    got = [feature_index(n, p) for n, p in [('chain5', 4), ('layer3', 1), ('G1', 1), ('G2', 3), ('head', 4), ('chain', 2), ('chain2x', 1)]]
    assert got == [5, 3, 1, 3, 4, 2, 1]

@pytest.mark.parametrize('seed', range(3))
def test_transfer_held_out_pairs_by_key(seed):
    "keys: a=b gives the within-zoo score; b's row order and dropped models do not change which models are tested."
    from netsim.ffl_results import transfer_scores
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 8); X = torch.tensor(rng.normal(size=(len(y), 6)) + y[:, None] * 0.3, dtype=torch.float32)
    k = [(c, r) for c in range(4) for r in range(8)]
    kw = dict(protocols=('classification',), seeds=(seed,), device='cpu')
    held = transfer_scores(X, y, X, y, keys_a=k, keys_b=k, **kw)[0]['value']
    assert held == pytest.approx(ffl_scores(X, y, **kw)[0]['value'])
    p = rng.permutation(len(y))                                    # b in another order, with its keys
    assert transfer_scores(X, y, X[p], y[p], keys_a=k, keys_b=[k[i] for i in p], **kw)[0]['value'] == pytest.approx(held)
    tr, te = classification_split(y, 0.6, seed)                    # drop a training model from b: nothing changes
    keep = np.setdiff1d(np.arange(len(y)), tr[:1])
    assert transfer_scores(X, y, X[keep], y[keep], keys_a=k, keys_b=[k[i] for i in keep], **kw)[0]['value'] == pytest.approx(held)
    with pytest.raises(ValueError, match='both'): transfer_scores(X, y, X, y, keys_b=k, **kw)
    with pytest.raises(ValueError, match='keys for'): transfer_scores(X, y, X, y, keys_a=k[1:], keys_b=k, **kw)
