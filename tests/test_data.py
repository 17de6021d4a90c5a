"""Tests of netsim.data: every loader (real data where installed, tiny fixtures in each on-disk format otherwise),
solution classes, model-level splits and the error messages for bad input."""
import gzip, itertools, math, os, pickle, time
from pathlib import Path
import numpy as np
import pytest
import torch
import netsim.data as D
from netsim.formats import load_namedata, load_cifar100, load_tiny_imagenet
from netsim.data import (stable_seed, Dataset, DataNotFoundError, load_dataset, DATASETS, load_digits, read_idx,
                         load_fashion_mnist, load_words, clean_words,
                         fold_text, encode_words, decode_words, VOCAB, WORD_LISTS, solution_classes, SolutionClass,
                         classification_split, retrieval_split)

FASHION = Path('/usr/share/datasets/fashion-mnist')
DICT = Path('/usr/share/dict')

@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    "No test sees the user's NETSIM_DATA; the disk cache goes to a temporary folder."
    monkeypatch.delenv('NETSIM_DATA', raising=False)
    monkeypatch.setenv('NETSIM_CACHE', str(tmp_path / 'cache'))

def unnorm(ds, x):
    "Undo the per-channel standardisation of `ds`."
    m, s = (torch.tensor(ds.info[k]).view(1, -1, 1, 1) for k in ('mean', 'std'))
    return x * s + m

# ---------------------------------------------------------------- seeds
def test_stable_seed_known_values():
    assert stable_seed('digits', 0) == 2703388408182895909      # pinned: must never change between runs/versions
    assert stable_seed() == 7183457195969485844
    assert stable_seed('a', 'b') != stable_seed('b', 'a') and stable_seed(1) != stable_seed('1')
    assert all(0 <= stable_seed(i) < 2**63 for i in range(100))
    assert stable_seed(np.int64(7), np.float32(0.5)) == stable_seed(7, 0.5)     # numpy scalars hash like Python numbers

# ---------------------------------------------------------------- digits
def test_digits():
    ds = load_digits()
    assert (len(ds.y_train), len(ds.y_test), ds.in_shape, ds.n_classes) == (1257, 540, (1, 8, 8), 10)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert abs(ds.x_train.mean()) < 1e-5 and abs(ds.x_train.std() - 1) < 1e-3
    raw = unnorm(ds, ds.x_train) * 16                                       # back to the 0..16 pixel values
    assert torch.allclose(raw, raw.round(), atol=1e-3) and raw.min() > -1e-3 and raw.max() < 16 + 1e-3
    for c in range(10):                                                     # stratified
        n_te, n = (ds.y_test == c).sum().item(), (ds.y_test == c).sum().item() + (ds.y_train == c).sum().item()
        assert abs(n_te - 0.3 * n) <= 1
    assert torch.equal(load_digits().x_test, ds.x_test)
    other = load_digits(seed=1)
    assert not torch.equal(other.x_test, ds.x_test) and len(other.y_test) == 540
    assert 'digits' in repr(ds) and '1257 train' in repr(ds)

# ---------------------------------------------------------------- IDX / fashion-mnist
def write_idx(path, a, gz=True):
    code = {np.uint8: 0x08, np.int32: 0x0C}[a.dtype.type]
    data = bytes([0, 0, code, a.ndim]) + np.array(a.shape, '>u4').tobytes() + a.astype(a.dtype.newbyteorder('>')).tobytes()
    (gzip.open if gz else open)(path, 'wb').write(data)

def fashion_fixture(d, gz=True, n=(12, 5), dotted=False):
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for split, m in (('train', n[0]), ('t10k', n[1])):
        x, y = rng.integers(0, 256, (m, 28, 28), dtype=np.uint8), (np.arange(m) % 10).astype(np.uint8)
        sep = '.' if dotted else '-'
        write_idx(d / (f'{split}-images{sep}idx3-ubyte' + ('.gz' if gz else '')), x, gz)
        write_idx(d / (f'{split}-labels{sep}idx1-ubyte' + ('.gz' if gz else '')), y, gz)
        arrays[split] = (x, y)
    return arrays

@pytest.mark.parametrize('gz,dotted', [(True, False), (False, False), (False, True)])
def test_fashion_fixture(tmp_path, gz, dotted):
    arrays = fashion_fixture(tmp_path / 'fm', gz, dotted=dotted)
    ds = load_fashion_mnist(root=tmp_path / 'fm')
    assert (len(ds.y_train), len(ds.y_test), ds.in_shape) == (12, 5, (1, 28, 28))
    assert torch.allclose(unnorm(ds, ds.x_train)[:, 0] * 255, torch.from_numpy(arrays['train'][0]).float(), atol=1e-3)
    assert ds.y_test.tolist() == arrays['t10k'][1].tolist() and ds.classes[9] == 'Ankle boot'

def test_fashion_env_and_subfolder(tmp_path, monkeypatch):
    fashion_fixture(tmp_path / 'data' / 'fashion-mnist')
    monkeypatch.setenv('NETSIM_DATA', str(tmp_path / 'data'))
    assert len(load_dataset('fashion-mnist').y_train) == 12
    assert len(load_dataset('fashion-mnist', root=tmp_path / 'data').y_train) == 12     # root/fashion-mnist

def test_idx_corrupt(tmp_path):
    fashion_fixture(tmp_path, gz=False)
    f = tmp_path / 'train-images-idx3-ubyte'
    f.write_bytes(f.read_bytes()[:-10])                                        # truncated
    with pytest.raises(ValueError, match='train-images-idx3-ubyte: truncated'): load_fashion_mnist(root=tmp_path)
    f.write_bytes(b'\x08\x03\0\0' + bytes(20))                                 # bad magic
    with pytest.raises(ValueError, match='train-images-idx3-ubyte: not an IDX file'): read_idx(f)
    g = tmp_path / 'x.gz'; g.write_bytes(gzip.compress(b'\0\0\x08\x01\0\0\0\x02ab')[:-6])   # broken gzip stream
    with pytest.raises(ValueError, match=r'x\.gz: corrupt gzip'): read_idx(g)
    fashion_fixture(tmp_path / 'm', gz=False)
    write_idx(tmp_path / 'm' / 't10k-labels-idx1-ubyte', np.zeros(4, np.uint8), gz=False)   # 5 images, 4 labels
    with pytest.raises(ValueError, match='t10k-labels-idx1-ubyte: inconsistent'): load_fashion_mnist(root=tmp_path / 'm')

def test_fashion_missing(tmp_path):
    with pytest.raises(DataNotFoundError) as e: load_fashion_mnist(root=tmp_path)
    msg = str(e.value)
    assert 'apt-get install dataset-fashion-mnist' in msg and 'NETSIM_DATA' in msg and str(tmp_path) in msg
    assert 'train-images-idx3-ubyte' in msg
    assert isinstance(e.value, ValueError) and isinstance(e.value, FileNotFoundError)

@pytest.mark.skipif(not FASHION.is_dir(), reason='Debian package dataset-fashion-mnist not installed')
def test_fashion_real():
    t0 = time.time(); ds = load_dataset('fashion-mnist'); secs = time.time() - t0
    assert (len(ds.y_train), len(ds.y_test), ds.in_shape, ds.n_classes) == (60000, 10000, (1, 28, 28), 10)
    assert torch.bincount(ds.y_test).tolist() == [1000] * 10
    assert abs(ds.info['mean'][0] - 0.2860) < 1e-3 and abs(ds.info['std'][0] - 0.3530) < 1e-3
    assert secs < 30, secs

# ---------------------------------------------------------------- text
def test_fold_and_clean():
    assert fold_text('Straße Ærø Łódź Čapek façade ĉiu Þór ð ŋ') == 'Strasse AEro Lodz Capek facade ciu THor d ng'
    assert fold_text('e\u0301') == 'e'                                        # already-decomposed input
    text = "Émile\nemile\ndog's\ndog’s\nQ\nnaïve-ish\n日本\ncafé au lait\nveryverylongword\r\n"
    assert clean_words(text) == ['Emile', 'Naive-ish', 'Cafe au lait']
    assert clean_words(text, case='lower', max_len=None) == ['emile', 'naive-ish', 'cafe au lait', 'veryverylongword']
    assert clean_words("ABc\nabc", case='keep', min_len=1) == ['ABc', 'abc']
    with pytest.raises(ValueError, match='case must be'): clean_words('a', case='upper')

def test_encode_decode_roundtrip_and_grunet_lengths():
    from netsim.models import GRUNet
    rng = np.random.default_rng(0)
    words = [''.join(rng.choice(list(VOCAB), rng.integers(1, 10))) for _ in range(200)]
    words = [w if w[-1] != ' ' else w + 'a' for w in words]
    x = encode_words(words, T=10)
    assert x.shape == (200, 10, 58) and decode_words(x) == words
    assert ((x.abs().sum(-1) > 0).sum(1) == torch.tensor([len(w) for w in words])).all()   # what GRUNet reads
    assert GRUNet(58, 3, hidden=8)(x).shape == (200, 3)
    with pytest.raises(ValueError, match='longer than T=2'): encode_words(['abc'], T=2)
    with pytest.raises(ValueError, match="outside VOCAB"): encode_words(['a!'])

def words_fixture(d):
    d.mkdir(parents=True, exist_ok=True)
    en = ["apple", "banana", "dog's", "shared", "café", "Zebra", "a", "extraordinarily", "kiwi", "lemon", "mango", "melon"]
    de = ["Straße", "Äpfel", "shared", "Hund", "Katze", "Maus", "Vogel", "Fisch", "Baum"]
    sv = ["språk", "smörgås", "Shared", "hus", "bil", "båt", "katt", "fisk", "träd"]
    (d / 'american-english').write_text('\n'.join(en) + '\n', encoding='utf-8')
    (d / 'ngerman').write_text('\n'.join(de) + '\n', encoding='utf-8')
    (d / 'swedish').write_bytes(('\n'.join(sv) + '\n').encode('latin-1'))

def test_words_fixture(tmp_path):
    words_fixture(tmp_path / 'dict')
    kw = dict(root=tmp_path / 'dict', languages=['english', 'german', 'swedish'], n_per_class=6)
    ds = load_words(**kw)
    assert ds.classes == ['english', 'german', 'swedish'] and ds.in_shape == (12, 58)
    assert (len(ds.y_train), len(ds.y_test)) == (9, 9)                      # 6 per language, 50/50
    words = ds.info['words_train'] + ds.info['words_test']
    assert 'Shared' not in words and "Dog's" not in words and 'A' not in words and 'Extraordinarily' not in words
    assert set(words) <= {'Apple', 'Banana', 'Cafe', 'Zebra', 'Kiwi', 'Lemon', 'Mango', 'Melon', 'Strasse', 'Apfel',
                          'Hund', 'Katze', 'Maus', 'Vogel', 'Fisch', 'Baum', 'Sprak', 'Smorgas', 'Hus', 'Bil', 'Bat',
                          'Katt', 'Fisk', 'Trad'}
    assert decode_words(ds.x_test) == ds.info['words_test']
    for c, lang in enumerate(ds.classes):                                   # labels follow the language of each word
        src = {'english': 'american-english', 'german': 'ngerman', 'swedish': 'swedish'}[lang]
        pool = set(clean_words((tmp_path / 'dict' / src).read_bytes().decode(WORD_LISTS[lang][1])))
        assert {w for w, y in zip(ds.info['words_train'], ds.y_train.tolist()) if y == c} <= pool
    assert ds.info['counts']['english'] == {'lines': 12, 'cleaned': 9, 'shared': 1, 'train': 3, 'test': 3}
    assert load_words(**kw).info['words_train'] == ds.info['words_train']                      # deterministic
    assert load_words(**kw, seed=1).info['words_train'] != ds.info['words_train']
    both = load_words(**{**kw, 'n_per_class': None}, dedupe=False)
    assert 'Shared' in both.info['words_train'] + both.info['words_test']

def test_words_disk_cache(tmp_path):
    words_fixture(tmp_path / 'dict')
    kw = dict(root=tmp_path / 'dict', languages=['english', 'german'], n_per_class=4)
    a = load_words(**kw)
    assert len(list((tmp_path / 'cache').glob('text-*.json'))) == 1
    import netsim.formats as F; F.IDX_CACHE.clear()
    b = load_words(**kw)                                                    # read back from the JSON file
    assert b.info['words_train'] == a.info['words_train'] and torch.equal(a.x_train, b.x_train)
    load_words(**kw, cache=False); assert len(list((tmp_path / 'cache').glob('text-*.json'))) == 1

def test_words_errors(tmp_path):
    words_fixture(tmp_path / 'dict')
    with pytest.raises(DataNotFoundError) as e: load_words(root=tmp_path / 'dict', languages=['english', 'polish'])
    assert 'apt-get install wpolish' in str(e.value) and str(tmp_path / 'dict') in str(e.value)
    with pytest.raises(ValueError, match=r"unknown languages \['klingon'\]"): load_words(languages=['klingon'])
    (tmp_path / 'dict' / 'ngerman').write_bytes(b'Hund\n\xff\xfeKatze\n')
    with pytest.raises(ValueError, match='ngerman: cannot be decoded as utf-8'):
        load_words(root=tmp_path / 'dict', languages=['german', 'english'], cache=False)
    with pytest.raises(ValueError, match='n_per_class must be >= 2'): load_words(root=tmp_path / 'dict', languages=['english'], n_per_class=1)

@pytest.mark.skipif(not all((DICT / f).is_file() for f in ('irish', 'gaelic', 'manx')), reason='wirish/wgaelic/wmanx missing')
def test_words_real_small_languages():
    ds = load_words(languages=['gaelic', 'irish', 'manx'], n_per_class=300)
    assert (ds.n_classes, len(ds.y_train), len(ds.y_test), ds.in_shape) == (3, 450, 450, (12, 58))
    ws = ds.info['words_train'] + ds.info['words_test']
    assert len(set(ws)) == 900 and all(1 < len(w) <= 12 and set(w) <= set(VOCAB) for w in ws)

# ---------------------------------------------------------------- NameData
def test_namedata_fixture(tmp_path):
    d = tmp_path / 'data' / 'names'; d.mkdir(parents=True)
    (d / 'Czech.txt').write_text('Adamčík\nNovák\nDvořák\nSvoboda\n', encoding='utf-8')
    (d / 'Arabic.txt').write_text('Nader\nKhoury\nHaddad\nNader\nSaliba\nAbadi\n', encoding='utf-8')
    (d / 'Irish.txt').write_text("O'Neal\nNovák\n", encoding='utf-8')
    ds = load_dataset('namedata', root=tmp_path / 'data')
    assert ds.classes == ['Arabic', 'Czech', 'Irish']
    assert (len(ds.y_train), len(ds.y_test)) == (3 + 2 + 1, 2 + 2 + 1)    # 5 Arabic (dup removed), 4 Czech, 2 Irish; test = floor(n/2)
    names = set(ds.info['words_train'] + ds.info['words_test'])
    assert {'Adamcik', 'Dvorak', "O'Neal"} <= names and ds.in_shape == (7, 58)
    with pytest.raises(DataNotFoundError, match="names/\\*.txt"): load_namedata(root=tmp_path / 'nothing')

# ---------------------------------------------------------------- CIFAR-100
def cifar_fixture(d, n=(8, 4)):
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, m in (('train', n[0]), ('test', n[1])):
        obj = {b'data': rng.integers(0, 256, (m, 3072), dtype=np.uint8), b'fine_labels': list(np.arange(m) % 100),
               b'coarse_labels': list(np.arange(m) % 20), b'filenames': [b'x.png'] * m}
        pickle.dump(obj, open(d / split, 'wb'))
    pickle.dump({b'fine_label_names': [f'fine{i}'.encode() for i in range(100)],
                 b'coarse_label_names': [f'coarse{i}'.encode() for i in range(20)]}, open(d / 'meta', 'wb'))

def test_cifar100_fixture(tmp_path):
    cifar_fixture(tmp_path / 'cifar-100-python')
    ds = load_dataset('cifar100', root=tmp_path)
    assert (len(ds.y_train), len(ds.y_test), ds.in_shape, ds.n_classes) == (8, 4, (3, 32, 32), 100)
    raw = pickle.load(open(tmp_path / 'cifar-100-python' / 'train', 'rb'), encoding='bytes')[b'data']
    assert torch.allclose(unnorm(ds, ds.x_train) * 255, torch.from_numpy(raw.reshape(-1, 3, 32, 32)).float(), atol=1e-3)
    assert ds.classes[3] == 'fine3' and ds.y_train.tolist() == list(range(8))
    co = load_cifar100(root=tmp_path, label='coarse')
    assert co.n_classes == 20 and co.classes[0] == 'coarse0'
    with pytest.raises(ValueError, match="label must be 'fine' or 'coarse'"): load_cifar100(root=tmp_path, label='x')
    (tmp_path / 'cifar-100-python' / 'test').write_bytes(b'not a pickle')
    with pytest.raises(ValueError, match='cifar-100-python/test: not a CIFAR-100 python pickle'): load_cifar100(root=tmp_path)

def test_cifar100_missing(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError, match='never downloads') as e: load_cifar100(root=tmp_path)
    assert str(tmp_path / 'cifar-100-python') in str(e.value)
    with pytest.raises(DataNotFoundError, match='no root= and no NETSIM_DATA'): load_cifar100()

# ---------------------------------------------------------------- tiny ImageNet
def tiny_fixture(d, wnids=('n02', 'n01', 'n03'), n_train=3, n_val=2):
    from PIL import Image
    (d / 'val' / 'images').mkdir(parents=True)
    (d / 'wnids.txt').write_text('\n'.join(wnids) + '\n')
    (d / 'words.txt').write_text(''.join(f'{w}\tthing {w}, other name\n' for w in wnids) + 'n99\tunused\n')
    colour = {w: (40 * i, 255 - 40 * i, 100) for i, w in enumerate(sorted(wnids))}
    for w in wnids:
        (d / 'train' / w / 'images').mkdir(parents=True)
        for j in range(n_train): Image.new('RGB', (64, 64), colour[w]).save(d / 'train' / w / 'images' / f'{w}_{j}.JPEG')
    ann = []
    for j, w in enumerate([w for w in wnids for _ in range(n_val)]):
        Image.new('L' if j == 0 else 'RGB', (64, 64), 7 if j == 0 else colour[w]).save(d / 'val' / 'images' / f'val_{j}.JPEG')
        ann.append(f'val_{j}.JPEG\t{w}\t0\t0\t63\t63')
    (d / 'val' / 'val_annotations.txt').write_text('\n'.join(ann) + '\n')
    return colour

def test_tiny_imagenet_fixture(tmp_path):
    colour = tiny_fixture(tmp_path / 'tiny-imagenet-200')
    ds = load_dataset('tiny-imagenet', root=tmp_path)
    assert (len(ds.y_train), len(ds.y_test), ds.in_shape) == (9, 6, (3, 32, 32))
    assert ds.info['wnids'] == ['n01', 'n02', 'n03'] and ds.classes == ['thing n01', 'thing n02', 'thing n03']
    assert ds.y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and sorted(ds.y_test.tolist()) == [0, 0, 1, 1, 2, 2]
    px = unnorm(ds, ds.x_train)[:, :, 16, 16] * 255                           # solid colours survive JPEG + resize
    want = torch.tensor([colour[ds.info['wnids'][y]] for y in ds.y_train.tolist()]).float()
    assert (px - want).abs().max() < 6
    assert load_tiny_imagenet(root=tmp_path, size=16, max_per_class=2).x_train.shape == (6, 3, 16, 16)
    (tmp_path / 'tiny-imagenet-200' / 'val' / 'images' / 'val_3.JPEG').write_bytes(b'garbage')
    with pytest.raises(ValueError, match='val_3.JPEG: cannot read image'): load_tiny_imagenet(root=tmp_path, size=31)

def test_tiny_imagenet_errors(tmp_path):
    tiny_fixture(tmp_path / 'tiny-imagenet-200')
    f = tmp_path / 'tiny-imagenet-200' / 'val' / 'val_annotations.txt'
    f.write_text(f.read_text() + 'val_0.JPEG\tn77\t0\t0\t1\t1\n')
    with pytest.raises(ValueError, match="unknown wnid 'n77'"): load_tiny_imagenet(root=tmp_path)
    with pytest.raises(DataNotFoundError, match='tiny-imagenet-200.zip'): load_tiny_imagenet(root=tmp_path / 'none')

# ---------------------------------------------------------------- registry
def test_import_order():
    import subprocess, sys
    # importing netsim.data first is what every other test does; here data_formats comes first (no import cycle)
    code = "import netsim.formats; from netsim.data import DATASETS; assert DATASETS['cifar100'].__name__ == 'load_cifar100'"
    subprocess.run([sys.executable, '-c', code], check=True)

def test_registry():
    assert sorted(DATASETS) == ['cifar100', 'digits', 'fashion-mnist', 'namedata', 'tiny-imagenet', 'words']
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'; known: \['cifar100', 'digits', 'fashion-mnist'"):
        load_dataset('mnist')
    with pytest.raises(ValueError, match=r"unknown options \['size'\] for dataset 'digits'"): load_dataset('digits', size=3)

# ---------------------------------------------------------------- solution classes
def toy(n_classes=7, per=(5, 3), name='toy'):
    ytr = torch.arange(n_classes).repeat_interleave(per[0]); yte = torch.arange(n_classes).repeat_interleave(per[1])
    return Dataset(name, torch.randn(len(ytr), 1, 2, 2), ytr, torch.randn(len(yte), 1, 2, 2), yte,
                   [f'c{i}' for i in range(n_classes)], (1, 2, 2))

@pytest.mark.parametrize('C,k', [(10, 2), (7, 2), (9, 3), (5, 1), (6, 6)])
def test_disjoint_solution_classes(C, k):
    ds = toy(C)
    sc = solution_classes(ds, k=k)
    assert [s.labels for s in sc] == [tuple(range(k * i, k * i + k)) for i in range(C // k)]
    assert [s.id for s in sc] == list(range(C // k))
    used = torch.cat([s.train_idx for s in sc])
    assert len(used) == len(set(used.tolist())) == 5 * k * (C // k)           # disjoint, every example of its classes
    for s in sc:
        x, y, xt, yt = s.data(ds)
        assert torch.equal(ds.y_train[s.train_idx], torch.tensor(s.labels).repeat_interleave(5))
        assert y.tolist() == [i for i in range(k) for _ in range(5)] and sorted(set(yt.tolist())) == list(range(k))
        assert torch.equal(x, ds.x_train[s.train_idx]) and len(xt) == 3 * k
        assert (s.train_idx.diff() > 0).all() and (s.test_idx.diff() > 0).all()

def test_pairs_all_and_limits():
    ds = toy(6)
    assert [s.labels for s in solution_classes(ds, 'pairs')] == list(itertools.combinations(range(6), 2))
    assert len(solution_classes(ds, 'pairs', k=3)) == math.comb(6, 3)
    assert len(solution_classes(ds, 'pairs', n_classes=4)) == 4
    (a,) = solution_classes(ds, 'all')
    assert a.labels == tuple(range(6)) and len(a.train_idx) == 30 and torch.equal(a.data(ds)[1], ds.y_train)
    assert len({s.seed for s in solution_classes(ds, 'pairs')}) == 15           # distinct per-class seeds

@pytest.mark.parametrize('seed', range(5))
def test_examples_per_class_deterministic(seed):
    ds = toy(4, per=(20, 2))
    a = solution_classes(ds, k=2, seed=seed, examples_per_class=7)
    b = solution_classes(ds, k=2, seed=seed, examples_per_class=7)
    c = solution_classes(ds, k=2, seed=seed + 100, examples_per_class=7)
    assert all(torch.equal(x.train_idx, y.train_idx) and x.seed == y.seed for x, y in zip(a, b))
    assert any(not torch.equal(x.train_idx, y.train_idx) for x, y in zip(a, c))
    for s in a: assert torch.bincount(ds.y_train[s.train_idx], minlength=4)[list(s.labels)].tolist() == [7, 7]
    assert [len(s.train_idx) for s in solution_classes(ds, k=2, examples_per_class=99)] == [40, 40]   # capped

def test_solution_class_errors():
    ds = toy(4)
    with pytest.raises(ValueError, match="unknown scheme 'ring'"): solution_classes(ds, 'ring')
    with pytest.raises(ValueError, match='k must be in 1..4'): solution_classes(ds, k=5)
    with pytest.raises(ValueError, match='n_classes must be >= 1'): solution_classes(ds, n_classes=0)
    with pytest.raises(ValueError, match='examples_per_class must be >= 1'): solution_classes(ds, examples_per_class=0)
    with pytest.raises(ValueError, match="used with dataset 'other'"): solution_classes(ds)[0].data(toy(4, name='other'))

def test_words_and_digits_solution_classes():
    ds = load_digits()
    assert [s.labels for s in solution_classes(ds, k=2)] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    assert 'labels=(0, 1)' in repr(solution_classes(ds)[0])

# ---------------------------------------------------------------- model-level splits
@pytest.mark.parametrize('seed', range(4))
def test_classification_split(seed):
    rng = np.random.default_rng(seed)
    sol = rng.permutation(np.repeat(np.array([3, 8, 11, 20]), [10, 12, 7, 9]))  # uneven classes, arbitrary ids
    s = classification_split(sol, frac=0.6, seed=seed)
    assert s['classes'].tolist() == [3, 8, 11, 20]
    assert sorted(np.concatenate([s['train'], s['test']]).tolist()) == list(range(len(sol)))
    for j, (c, n) in enumerate(zip([3, 8, 11, 20], [10, 12, 7, 9])):
        assert (sol[s['train']] == c).sum() == round(0.6 * n) and (s['y_train'] == j).sum() == round(0.6 * n)
    assert (s['classes'][s['y_test']] == sol[s['test']]).all()
    assert np.array_equal(classification_split(sol, seed=seed)['train'], s['train'])
    t = classification_split(sol, n_per_class=5, seed=seed)
    assert np.bincount(t['y_train']).tolist() == [3] * 4 and np.bincount(t['y_test']).tolist() == [2] * 4

@pytest.mark.parametrize('seed', range(4))
def test_retrieval_split(seed):
    sol = np.repeat(np.arange(9), 10)
    r = retrieval_split(sol, 5, n_queries=3, seed=seed)
    assert len(r['train_classes']) == 5 and len(r['test_classes']) == 4
    assert not set(r['train_classes']) & set(r['test_classes'])
    assert set(sol[r['train']]) == set(r['train_classes']) and len(r['train']) == 50
    assert (r['train_classes'][r['y_train']] == sol[r['train']]).all()
    assert np.bincount(sol[r['query']], minlength=9)[r['test_classes']].tolist() == [3] * 4
    assert np.bincount(sol[r['gallery']], minlength=9)[r['test_classes']].tolist() == [7] * 4
    assert not set(r['query']) & set(r['gallery'])
    assert np.array_equal(retrieval_split(sol, 5, 3, seed=seed)['query'], r['query'])
    assert len(retrieval_split(sol, 5, 3, n_per_class=6, seed=seed)['gallery']) == 4 * 3
    seeds = {tuple(retrieval_split(sol, 5, 3, seed=s)['train_classes']) for s in range(10)}
    assert len(seeds) > 1                                                    # classes really are shuffled

def test_split_errors():
    sol = np.repeat(np.arange(3), 4)
    with pytest.raises(ValueError, match='1-d integer array'): classification_split(sol.astype(float))
    with pytest.raises(ValueError, match='leaves an empty train or test part'): classification_split(sol, frac=0.1)
    with pytest.raises(ValueError, match='n_train_classes must be in 1..2'): retrieval_split(sol, 3)
    with pytest.raises(ValueError, match='leaves no gallery'): retrieval_split(sol, 1, n_queries=4)

def test_retrieval_split_fractions_classes_and_strings():
    "The FFL-style options: class and query fractions, a class subset (all test), string labels."
    sol = np.repeat(np.arange(9), 20)
    r = retrieval_split(sol, query_frac=0.2, seed=1)                      # 5 of 9 classes train, 4 queries per test class
    assert (len(r['train_classes']), len(r['query']), len(r['gallery'])) == (5, 16, 64)
    r = retrieval_split(sol, 0, query_frac=0.25, classes=[2, 5, 7], seed=1)
    assert r['train'].size == 0 and r['test_classes'].tolist() == [2, 5, 7] and len(r['query']) == 15
    s = classification_split(np.array(list('abc') * 5), seed=2)
    assert s['classes'].tolist() == ['a', 'b', 'c'] and len(s['train']) == 9
