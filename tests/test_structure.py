"The package's shape: imports point one way (no circle), nothing private crosses a module, `import netsim` is cheap."
import ast, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / 'netsim'

def modules() -> dict:
    "Dotted module name -> path, for every module of the package."
    out = {}
    for p in PKG.rglob('*.py'):
        if p.name == '_modidx.py': continue
        parts = p.relative_to(ROOT).with_suffix('').parts
        out['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = p
    return out

MODS = modules()

def imports(name: str, path: Path):
    "(imported module, names taken) for every import of a netsim module in `path`, at any depth (lazy imports too)."
    pkg = name if path.name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith('netsim'): yield a.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                up = pkg.split('.')[:len(pkg.split('.')) - node.level + 1]
                base = '.'.join(up + ([base] if base else []))
            if not base.startswith('netsim'): continue
            names = [a.name for a in node.names]
            subs = [f'{base}.{n}' for n in names if f'{base}.{n}' in MODS]
            yield from ((s, []) for s in subs)
            rest = [n for n in names if f'{base}.{n}' not in MODS]
            if rest or not subs: yield base, rest

def graph() -> dict:
    return {m: {t for t, _ in imports(m, p) if t != m} for m, p in MODS.items()}

def cycles(g: dict) -> list:
    "Strongly connected components with more than one module (Tarjan)."
    idx, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        idx[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in g.get(v, ()):
            if w not in g: continue
            if w not in idx: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    for v in g:
        if v not in idx: visit(v)
    return out

def test_cycle_finder_finds_a_cycle():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    assert cycles({'a': {'b'}, 'b': set()}) == []

def test_no_import_cycle():
    assert cycles(graph()) == []

def test_core_is_the_ground_floor():
    assert graph()['netsim.core'] == set(), "netsim.core imports nothing of netsim"
    for low in ('netsim.formats', 'netsim.models'):
        assert graph()[low] <= {'netsim.core'}, f"{low} imports only netsim.core"

def test_match_does_not_reach_up():
    "netsim.match depends on core alone outside itself; zoo does not depend on match, comparison or ffl."
    g = graph()
    for m, ts in g.items():
        if m.startswith('netsim.match'): assert all(t.startswith('netsim.match') or t == 'netsim.core' for t in ts), (m, ts)
        if m.startswith('netsim.zoo'):
            assert not any(t.startswith(('netsim.match', 'netsim.comparison', 'netsim.ffl', 'netsim.sweep')) for t in ts), (m, ts)

def test_nothing_private_crosses_a_module():
    bad = [(m, t, n) for m, p in MODS.items() for t, names in imports(m, p) for n in names
           if n.startswith('_') and not n.startswith('__') and t != m]
    assert bad == []

def test_import_netsim_is_cheap():
    code = "import sys, netsim; print(sorted(k for k in sys.modules if k.startswith(('torch', 'numpy', 'netsim.'))))"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == '[]', out

def test_front_door():
    import netsim
    from netsim.comparison import compare
    assert netsim.compare is compare
    from netsim.match import max_match, Matcher; from netsim.zoo import Zoo, train_zoo
    assert callable(max_match) and Matcher and Zoo and train_zoo
    with pytest.raises(AttributeError): netsim.no_such_name
