#!/usr/bin/env python
"""Turn the notebooks into a Sphinx (MyST-NB) source tree, reading the site's definition from the top-level `_quarto.yml`.

1. nbdev's own processing (`nbdev.processors.FilterDefaults`, what `nbdev_docs` runs before Quarto) renders the
   `show_doc` cells, adds `show_doc` for every exported symbol, links backticked names and moves the title and summary
   into front matter. Results are cached in `_build/docs/proc/`, keyed on the notebook and the package source.
2. The Quarto-isms Sphinx does not know are translated: front matter -> `# title` + summary, `#| echo: false` ->
   `remove-input`, `#| output: asis` markdown -> a markdown cell, nbdev's absolute doc links -> links between pages
   (checked by Sphinx), callouts -> admonitions.
3. The chapter order of `website.sidebar.contents` becomes the toctree of the landing page (index.ipynb). Chapters
   that do not exist yet are left out without a warning; a notebook nbdev cannot process is an error (the rest of the
   site is still written, so it can be looked at).
"""
import argparse, ast, hashlib, json, os, re, shutil, sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT/'_build'/'docs'
VERSION = '3'   # part of the processing cache key (with this file's own bytes and the package source)
ASSET_EXTS = {'.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.csv', '.txt'}

def info(msg): print(f'nb2sphinx: {msg}', file=sys.stderr)

class DocsError(Exception): pass

# ---------------------------------------------------------------------------------------------- the site definition
def read_site(quarto=ROOT/'_quarto.yml', nbs=ROOT/'nbs'):
    "Title, description and chapter list (entries of `website.sidebar.contents`, with `exists`) from `_quarto.yml`."
    cfg = yaml.safe_load(Path(quarto).read_text()) or {}
    web = cfg.get('website') or {}
    side = web.get('sidebar') or {}
    if isinstance(side, list): side = side[0] if side else {}
    groups, cur = [], {'caption': None, 'items': []}
    def add(entry, group):
        if isinstance(entry, str): group['items'].append(_chapter(entry, nbs))
        elif isinstance(entry, dict) and 'section' in entry:
            g = {'caption': entry['section'], 'items': []}
            for e in entry.get('contents') or []: add(e, g)
            groups.append(g)
        elif isinstance(entry, dict) and 'href' in entry:
            ch = _chapter(entry['href'], nbs)
            if entry.get('text'): ch['text'] = entry['text']
            group['items'].append(ch)
        else: raise DocsError(f"_quarto.yml: sidebar entry {entry!r} is not supported (use a file name, "
                              "{href: FILE, text: TITLE} or {section: NAME, contents: [...]})")
    for e in side.get('contents') or []:
        if isinstance(e, dict) and 'section' in e:
            if cur['items']: groups.append(cur)
            add(e, None); cur = {'caption': None, 'items': []}
        else: add(e, cur)
    if cur['items']: groups.append(cur)
    listed = {c['src'].resolve() for g in groups for c in g['items']}
    extras = [dict(_chapter(p.relative_to(nbs).as_posix(), nbs), listed=False) for p in sorted(Path(nbs).rglob('*.ipynb'))
              if p.resolve() not in listed and not any(x.startswith(('.', '_')) for x in p.relative_to(nbs).parts)]
    return dict(title=web.get('title') or cfg.get('title') or 'Documentation',
                description=web.get('description', ''), groups=groups, extras=extras)

def _chapter(entry, nbs):
    "One sidebar entry: source path (relative to nbs/), docname, and whether it exists."
    rel = Path(entry)
    if rel.suffix not in ('.ipynb', '.md', '.qmd'): raise DocsError(f"_quarto.yml: sidebar entry {entry!r}: only "
                                                                     ".ipynb/.md/.qmd files are supported")
    stem = re.sub(r'^\d+[a-zA-Z0-9]*_', '', rel.stem.lower()) if rel.suffix == '.ipynb' else rel.stem
    return dict(entry=entry, src=nbs/rel, docname=(rel.parent/stem).as_posix(), exists=(nbs/rel).exists(),
                generated=rel.name == 'sweep_report.md', listed=True)

def chapters(site):
    "The chapters of `site` (the sidebar's entries), in order."
    return [c for g in site['groups'] for c in g['items']]

def pages(site):
    "Every page source: the chapters, then the notebooks in nbs/ that the sidebar does not list (built, not in the book)."
    return chapters(site) + site['extras']

# ------------------------------------------------------------------------------------------------- nbdev processing
def _pkg_hash():
    "Hash of everything besides the notebook that nbdev's processing output depends on."
    h = hashlib.sha256(VERSION.encode() + Path(__file__).read_bytes())
    for p in sorted((ROOT/'netsim').rglob('*.py')) + [ROOT/'settings.ini']:
        if '__pycache__' not in p.parts: h.update(p.relative_to(ROOT).as_posix().encode()); h.update(p.read_bytes())
    import nbdev; h.update(nbdev.__version__.encode())
    return h.hexdigest()

_EXEC_DIRS = {'export', 'exports', 'exporti', 'exec_doc'}

def _directives(src):
    "Names of the `#|` directives of a code cell's source."
    return {m.group(1) for m in map(_DIRECTIVE.match, src.split('\n')) if m}

def mixed_import_cells(cells, flags=('slow', 'gpu')):
    """[(index, source)] of code cells that import *and* run other top-level code (not just define functions/classes).
    nbdev runs every cell with an import whole when it renders docs (`nbdev_docs`: experiments, side effects; it warns
    "Found cells containing imports and other code"); this build runs only their imports. Keep imports apart."""
    out = []
    for i, c in enumerate(cells):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        d = _directives(src)
        if d & _EXEC_DIRS or d & set(flags) or re.search(r'^\s*#\|\s*eval:\s*false', src, re.M | re.I): continue
        tree = _parse(src)
        if tree is None: continue
        imp = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)
        other = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                 ast.AsyncFunctionDef, ast.ClassDef)) and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        if imp and other: out.append((i, src))
    return out

def _parse(src):
    "AST of a cell's code (directives, magics and shell lines blanked), or None."
    lines = ['' if re.match(r'\s*(#\||%|!)', l) else l for l in src.split('\n')]
    try: return ast.parse('\n'.join(lines))
    except SyntaxError: return None

def imports_only(src):
    "The directives and top-level import statements of `src` (what nbdev means to run from an imports cell)."
    tree = _parse(src)
    keep = [l for l in src.split('\n') if l.lstrip().startswith('#|')]
    keep += [ast.get_source_segment(src, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return '\n'.join(keep)

def _proc_one(args):
    "Run nbdev's docs processors on notebook `src`, writing `dst`; returns (src, problems) (runs in a worker process)."
    src, dst = args
    os.chdir(Path(src).parent); os.environ['IN_TEST'] = '1'; os.environ.setdefault('MPLBACKEND', 'Agg')
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    import io, contextlib, warnings
    from execnb.nbio import read_nb, write_nb
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults
    nb = read_nb(src)
    flags = set(get_config().get('tst_flags', '').split())
    # Run only what rendering needs: never cells flagged slow/gpu, and only the imports of cells that mix imports with
    # other code (nbdev would run such cells whole: experiments, side effects). Shown sources are restored afterwards.
    orig = {}
    for cell in nb.cells:
        if cell.cell_type == 'code' and flags & _directives(cell.source):
            orig[id(cell)] = (cell.source, '#| eval: false\n' + cell.source)
    mixed = {i for i, _ in mixed_import_cells(nb.cells, flags)}
    for i, cell in enumerate(nb.cells):
        if i in mixed: orig[id(cell)] = (cell.source, imports_only(cell.source))
    for cell in nb.cells:
        if id(cell) in orig: cell.source = orig[id(cell)][1]
    problems = []
    with warnings.catch_warnings(record=True) as ws, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter('always')
        try: FilterDefaults()(nb)
        except Exception as e:
            cause = e.__cause__
            msg = str(e).strip().replace('\n', '\n    ')
            if cause is not None: msg += f"\n    -> {type(cause).__name__}: {cause}"
            problems.append(f"nbdev's docs processing failed: {msg}")
    for cell in nb.cells:
        if id(cell) in orig and cell.get('source') == orig[id(cell)][1]: cell.source = orig[id(cell)][0]
    for w in ws:   # nbdev's import warning is left for cells that only import and define: nbdev runs those whole too
        if 'Found cells containing imports and other code' not in str(w.message):
            problems.append(f"warning: {str(w.message).strip()}")
    if not problems: write_nb(nb, dst)
    return str(src), problems

NB_TIMEOUT = float(os.environ.get('DOCS_NB_TIMEOUT', 120))   # seconds nbdev may spend on one notebook

def _child(fn, a, conn):
    try: conn.send(fn(a))
    except BaseException as e: conn.send((str(a[0]), [f"nbdev's docs processing crashed: {type(e).__name__}: {e}"]))
    conn.close()

def run_limited(fn, args, workers, timeout):
    """`[fn(a) for a in args]` (each `fn(a)` returns `(src, problems)`), in up to `workers` processes, each stopped
    after `timeout` seconds (a notebook whose import cells also run an experiment would otherwise stall the build)."""
    import multiprocessing as mp, time
    ctx = mp.get_context('fork')
    pending, running, results = list(args), {}, {}
    while pending or running:
        while pending and len(running) < max(1, workers):
            a = pending.pop(0); r, w = ctx.Pipe(False)
            p = ctx.Process(target=_child, args=(fn, a, w), daemon=True); p.start(); w.close()
            running[p] = (a, r, time.time())
        for p, (a, r, t0) in list(running.items()):
            if r.poll(): results[str(a[0])] = r.recv(); p.join()
            elif not p.is_alive(): results[str(a[0])] = (str(a[0]), [f"nbdev's docs processing died (exit code {p.exitcode})"])
            elif time.time() - t0 > timeout:
                p.kill(); p.join()
                results[str(a[0])] = (str(a[0]), [f"nbdev's docs processing did not finish in {timeout:.0f}s (it runs every "
                    "cell that contains an import: is an experiment in such a cell? DOCS_NB_TIMEOUT raises the limit)"])
            else: continue
            r.close(); del running[p]
        time.sleep(0.05)
    return [results[str(a[0])] for a in args]

def _warm_up():
    "Import what every notebook's processing imports (torch, IPython, netsim...) once, before the workers fork."
    import importlib
    os.environ.setdefault('MPLBACKEND', 'Agg')
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    names = ['torch', 'numpy', 'pandas', 'matplotlib.pyplot', 'fastcore.test', 'execnb.shell', 'nbdev.processors',
             'nbdev.showdoc', 'IPython']
    try: names += [f'netsim.{p.stem}' for p in sorted((ROOT/'netsim').glob('*.py')) if not p.stem.startswith('_')]
    except OSError: pass
    for n in names:
        try: importlib.import_module(n)
        except Exception: pass   # a module that does not import yet: its notebook will say so

def process(chs, workers=2):
    """nbdev-process the existing notebook chapters into `BUILD/proc`; returns ({src: processed path}, {src: problems}).
    Cached on the notebook and the package source: failures too, so an unchanged broken notebook costs nothing."""
    proc = BUILD/'proc'; proc.mkdir(parents=True, exist_ok=True)
    pkg = _pkg_hash()
    todo, res, bad = [], {}, {}
    for c in chs:
        if not (c['exists'] and c['src'].suffix == '.ipynb'): continue
        key = hashlib.sha256(pkg.encode() + c['src'].read_bytes()).hexdigest()
        dst = proc/(c['docname'].replace('/', '__') + '.ipynb')
        keyf = dst.with_suffix('.key')
        try: cached = json.loads(keyf.read_text())
        except Exception: cached = {}
        if cached.get('key') == key and (cached.get('problems') or dst.exists()):
            if cached.get('problems'): bad[c['src']] = cached['problems']
            else: res[c['src']] = dst
        else: todo.append((c['src'], dst, keyf, key))
    if todo:
        info(f"nbdev processing {len(todo)} notebook(s): {', '.join(t[0].name for t in todo)}")
        for t in todo: t[2].unlink(missing_ok=True); t[1].unlink(missing_ok=True)
        if len(todo) > 1: _warm_up()
        results = dict(run_limited(_proc_one, [(t[0], t[1]) for t in todo], workers, NB_TIMEOUT))
        for src, dst, keyf, key in todo:
            probs = results[str(src)]
            keyf.write_text(json.dumps(dict(key=key, problems=probs)))
            if probs: bad[src] = probs
            else: res[src] = dst
    return res, bad

# ----------------------------------------------------------------------------------------------------- translation
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_CALLOUT = re.compile(r'^(:{3,})\s*\{\.callout-(\w+)[^}]*\}\s*$', re.M)
_ATTRS_AFTER_LINK = re.compile(r'(\]\([^)\s]+\))\{[^}\n]*\}')
_SOURCE_LINK = re.compile(r'\[source\]\(([^)\s]+)\)\{[^}\n]*\}')
_MD_LINK = re.compile(r'(?<!!)\[([^\]\n]*)\]\(([^)\s]+)\)')

def _slug(s):
    from myst_parser.mdit_to_docutils.base import default_slugify
    return default_slugify(s)

class Translator:
    "Translate nbdev-processed notebooks and markdown into MyST-NB sources for one site."
    def __init__(self, site, nbs=ROOT/'nbs', doc_prefix=None):
        self.site, self.nbs = site, Path(nbs)
        self.by_src = {c['src'].resolve(): c for c in pages(site)}
        self.by_doc = {c['docname']: c for c in pages(site)}
        if doc_prefix is None:
            from nbdev.config import get_config
            cfg = get_config(path=ROOT)
            doc_prefix = '/'.join(x for x in (cfg.doc_host.rstrip('/'), cfg.doc_baseurl.strip('/')) if x) + '/'
        self.doc_prefix = doc_prefix
        self.problems = []

    def link(self, url, here):
        "Rewrite one link target found in page `here` (a docname); returns the new target."
        if url.startswith(self.doc_prefix):   # nbdev doc link to a netsim symbol: resolved by `resolve_symbol_links`
            page, _, frag = url[len(self.doc_prefix):].partition('#')
            return f"nbdev-doc:{page[:-5] if page.endswith('.html') else page}#{frag}"
        if re.match(r'^[a-z][a-z0-9+.-]*:', url) or url.startswith('#'): return url
        path, _, frag = url.partition('#')
        if not path.endswith(('.ipynb', '.md', '.qmd')): return url
        src = (self.nbs/Path(here).parent/path).resolve() if not path.startswith('/') else (self.nbs/path[1:]).resolve()
        c = self.by_src.get(src)
        if c is None: return url   # not a chapter: Sphinx will say whether it exists
        if not c['exists']: return None   # a chapter that has not landed yet: plain text for now
        rel = os.path.relpath(c['docname'], str(Path(here).parent) or '.')
        ext = '.md' if self._is_md(c['docname']) else '.ipynb'
        return rel + ext + (f"#{_slug(frag)}" if frag else '')

    def _is_md(self, doc):
        c = self.by_doc.get(doc)
        return c is not None and c['src'].suffix != '.ipynb'

    def markdown(self, text, here):
        "Translate Quarto/nbdev markdown to MyST."
        text = _SOURCE_LINK.sub(lambda m: f'<a class="nbdev-source reference external" href="{m.group(1)}" '
                                          f'target="_blank">[source]</a>', text)
        text = _ATTRS_AFTER_LINK.sub(r'\1', text)
        def sub(m):
            new = self.link(m.group(2), here)
            return m.group(1) if new is None else f'[{m.group(1)}]({new})'
        text = _MD_LINK.sub(sub, text)
        text = _CALLOUT.sub(lambda m: f"{m.group(1)}{{{_callout(m.group(2))}}}", text)
        return text

    def notebook(self, nb, here):
        "Translate a processed notebook (dict) for docname `here`; returns the new notebook dict."
        cells = []
        for cell in nb['cells']:
            src = ''.join(cell.get('source') or '')
            if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
                fm = yaml.safe_load(src.strip().strip('-')) or {}
                head = f"# {fm.get('title', Path(here).name)}"
                if fm.get('description'): head += f"\n\n> {fm['description']}"
                cells.append(_md(head)); continue
            if cell['cell_type'] == 'markdown':
                if not src.strip() or re.fullmatch(r'\s*<!-- WARNING: THIS FILE WAS AUTOGENERATED!.*-->\s*', src, re.S):
                    continue
                cells.append(_md(self.markdown(src, here))); continue
            if cell['cell_type'] != 'code': continue
            lines = src.split('\n'); d = {}
            while lines and (m := _DIRECTIVE.match(lines[0])): d[m.group(1)] = m.group(2).lower(); lines.pop(0)
            code = '\n'.join(lines).strip('\n')
            if d.get('include') == 'false': continue
            outs = cell.get('outputs') or []
            tags = list((cell.get('metadata') or {}).get('tags') or [])
            asis = d.get('output') == 'asis'
            if d.get('output') == 'false': outs = []
            if asis:
                md = ''.join(''.join(o['data']['text/markdown']) if isinstance(o['data']['text/markdown'], list)
                             else o['data']['text/markdown'] for o in outs if 'text/markdown' in o.get('data', {}))
                outs = [o for o in outs if 'text/markdown' not in o.get('data', {})]
            if d.get('echo') == 'false' or not code: code_cell = None if not outs else 'noinput'
            else: code_cell = 'input'
            if code_cell:
                c = dict(cell_type='code', execution_count=None, metadata={}, source=code, outputs=outs)
                if code_cell == 'noinput': tags.append('remove-input')
                tags = [t for t in dict.fromkeys(tags) if t in ('remove-input', 'remove-output', 'remove-cell',
                                                                 'hide-input', 'hide-output', 'hide-cell')]
                if d.get('code-fold') in ('true', 'show'): tags.append('hide-input')
                if tags: c['metadata']['tags'] = tags
                cells.append(c)
            if asis:
                md = re.sub(r'\A\s*---\s*\n', '', md)   # show_doc output starts with a rule docutils cannot place
                if md.strip(): cells.append(_md(self.markdown(md, here)))
        return dict(cells=cells, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python'),
                                               language_info=dict(name='python')), nbformat=4, nbformat_minor=5)

_HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$', re.M)
_FENCE = re.compile(r'^ {0,3}(```|~~~).*?^ {0,3}\1', re.M | re.S)

def heading_slugs(md):
    "The MyST anchors (`myst_heading_anchors` slugs) of the headings in markdown `md`."
    md = _FENCE.sub('', md)
    return {_slug(re.sub(r'[`*]', '', m.group(2))) for m in _HEADING.finditer(md)}

def resolve_symbol_links(texts, slugs, here, is_md):
    """Point nbdev's symbol links (`nbdev-doc:page#anchor`) at the symbol's section, else its class's, else the page.
    nbdev links every exported name, documented or not (a method without its own `show_doc` has no section)."""
    def sub(m):
        doc, frag = m.group(2).split('#', 1)
        if doc not in slugs: return m.group(1)   # a page that is not in the site: plain text
        rel = os.path.relpath(doc, str(Path(here).parent) or '.') + ('.md' if is_md(doc) else '.ipynb')
        parts = frag.split('.')
        while parts and _slug('.'.join(parts)) not in slugs[doc]: parts.pop()
        return f"[{m.group(1)}]({rel}" + (f"#{_slug('.'.join(parts))})" if parts else ')')
    return [re.sub(r'\[([^\]\n]*)\]\(nbdev-doc:([^)\s]+)\)', sub, t) for t in texts]

def _callout(kind):
    return {'note': 'note', 'tip': 'tip', 'warning': 'warning', 'important': 'important', 'caution': 'caution'}.get(kind, 'note')

def _md(text): return dict(cell_type='markdown', metadata={}, source=text)

def _nb_md_cells(nb): return [c for c in nb['cells'] if c['cell_type'] == 'markdown']

# ---------------------------------------------------------------------------------------------------- sweep report
def sweep_report_md(runs=ROOT/'runs', base=None, extra=BUILD/'extra'):
    "The 'Sweep report' page: links to the latest report (copied into the site) or how to make one."
    text = base or '# Latest sweep report\n\n> The report of the last `make sweep` run on this machine, when there is one.\n'
    dst = extra/'runs'
    if dst.exists(): shutil.rmtree(dst)
    text += committed_report_md()
    reports = [p for p in (runs/'report.html', runs/'report.md') if p.exists()]
    if not reports:
        return text + ("\n\nNo sweep report has been produced on this machine yet. Run\n\n```bash\nmake sweep\n```\n\n"
                       "to train the default model zoo on the bundled digits data; it writes `runs/report.html` and "
                       "`runs/report.md`, and the next `make docs` links them here.\n")
    copied = _copy_report(runs, dst, reports)
    links = ' and '.join(f'<a class="reference external" href="runs/{p.name}">runs/{p.name}</a>' for p in reports)
    when = max(p.stat().st_mtime for p in reports)
    import datetime
    stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    return text + (f"\n\nThe latest sweep report (written {stamp}): {links}.\n\n"
                   f"`make docs` copied it from `runs/` into the site, with the {copied} figure and table file(s) it "
                   "refers to. Run `make sweep` and then `make docs` again to refresh it.\n")

def committed_report_md(report=ROOT/'nbs'/'reports'/'report.md'):
    "The committed report (`nbs/reports/`, made by `netsim report nbs/reports`), one heading level down, images re-rooted."
    if not report.exists(): return ''
    lines = report.read_text().splitlines()[1:]            # drop its '# netsim sweep report' title
    body = '\n'.join(('#' + l) if l.startswith('#') else l for l in lines)
    body = re.sub(r'!\[([^\]]*)\]\((?!https?:)([^)]+)\)', lambda m: f'![{m[1]}](reports/{m[2]})', body)
    return ("\n\n## The committed run: reduced Fashion-MNIST preset\n\nThis run ships with the repository "
            "(`nbs/reports/`: results.json, CSV tables and figures; the executed notebook stays in the run folder), so the numbers below are "
            "the same on every clone. It is `netsim sweep -f presets/fashion-mnist-reduced.yaml` on the 2-core CPU machine; "
            "`netsim report nbs/reports` rebuilds this section from it.\n" + body + '\n')

def _copy_report(runs, dst, reports):
    "Copy the report files and the local files they reference (figures, tables) under `dst`."
    n = 0
    for p in reports:
        dst.mkdir(parents=True, exist_ok=True); shutil.copy2(p, dst/p.name)
        refs = re.findall(r'(?:src|href)="([^"#?:]+)"', p.read_text(errors='replace'))
        refs += re.findall(r'\]\(([^)#?:\s]+)\)', p.read_text(errors='replace'))
        for r in refs:
            f = (p.parent/r).resolve()
            if f.is_file() and runs.resolve() in f.parents and f.stat().st_size < 20_000_000:
                t = dst/f.relative_to(runs.resolve()); t.parent.mkdir(parents=True, exist_ok=True)
                if not t.exists(): shutil.copy2(f, t); n += 1
    return n

# ------------------------------------------------------------------------------------------------------- the build
def _write(path, text):
    "Write `text` to `path` only when it changed (keeps Sphinx's incremental build incremental)."
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text: path.write_text(text)

def toctree(site):
    "MyST toctree directives (hidden: the theme's sidebar shows them) for every existing chapter, in order."
    out = []
    for g in site['groups']:
        items = [c for c in g['items'] if (c['exists'] or c['generated']) and c['docname'] != 'index']
        if not items: continue
        lines = ['```{toctree}', ':hidden:', ':maxdepth: 2'] + ([f":caption: {g['caption']}"] if g['caption'] else [])
        lines += [f"{c['text']} <{c['docname']}>" if c.get('text') else c['docname'] for c in items] + ['```']
        out.append('\n'.join(lines))
    return '\n\n'.join(out)

def prune_site(out, docnames):
    "Delete pages in the built site `out` whose source is gone (a renamed or removed chapter), before Sphinx runs."
    out = Path(out)
    if not out.is_dir(): return
    keep = {f'{d}.html' for d in docnames} | {'genindex.html', 'search.html', 'py-modindex.html'}
    for p in out.rglob('*.html'):
        rel = p.relative_to(out)
        if rel.parts[0] in ('_static', '_images', 'mathjax', 'runs', '_sources'): continue
        if rel.as_posix() not in keep: info(f'removing stale page {out.name}/{rel}'); p.unlink()
    shutil.rmtree(out/'_sources', ignore_errors=True)

def build_source(src_dir=BUILD/'src', workers=2, nbs=ROOT/'nbs', quarto=ROOT/'_quarto.yml', out=None):
    "Write the Sphinx source tree for the site into `src_dir` (and prune site `out`); returns the site definition."
    src_dir = Path(src_dir).resolve()
    site = read_site(quarto, nbs)
    chs, allp = chapters(site), pages(site)
    if not any(c['docname'] == 'index' and c['exists'] for c in chs):
        raise DocsError("_quarto.yml must list index.ipynb (the landing page) and nbs/index.ipynb must exist")
    missing = [c['entry'] for c in chs if not c['exists'] and not c['generated']]
    if missing: info(f"not written yet, left out: {', '.join(missing)}")
    if site['extras']: info(f"note: not in _quarto.yml's sidebar, built as pages outside the book: "
                            f"{', '.join(c['entry'] for c in site['extras'])}")
    seen = {}
    for c in allp:
        if c['docname'] in seen: raise DocsError(f"{c['entry']} and {seen[c['docname']]} both become page {c['docname']}.html")
        seen[c['docname']] = c['entry']
    procd, bad = process(allp, workers)
    for c in allp:   # notebooks nbdev cannot process are left out; the build still fails (after building the rest)
        if c['src'] in bad: c['exists'] = False
    for c in allp:
        if c['exists'] and c['src'].suffix == '.ipynb':
            mixed = mixed_import_cells(json.loads(c['src'].read_text())['cells'])
            if mixed: info(f"note: {c['entry']}: {len(mixed)} cell(s) mix imports with other code; this build ran only "
                           f"their imports, nbdev_docs would run them whole (cells {', '.join(str(i) for i, _ in mixed)})")
    tr = Translator(site, nbs)
    docs = {}   # docname -> (kind, content)
    for c in allp:
        if not (c['exists'] or c['generated']): continue
        if c['src'].suffix == '.ipynb':
            nb = tr.notebook(json.loads(procd[c['src']].read_text()), c['docname'])
            if not any(cl.get('outputs') for cl in json.loads(c['src'].read_text())['cells'] if cl['cell_type'] == 'code'):
                info(f"note: {c['entry']} has no saved outputs (figures appear once it is run, e.g. scripts/run_nb.py)")
            if c['docname'] == 'index': nb['cells'].append(_md(toctree(site)))
            docs[c['docname']] = ('ipynb', nb)
        else:
            base = tr.markdown(c['src'].read_text(), c['docname']) if c['exists'] else None
            docs[c['docname']] = ('md', sweep_report_md(base=base) if c['generated'] else base)
    slugs = {d: heading_slugs('\n'.join(''.join(x['source']) for x in _nb_md_cells(v)) if k == 'ipynb' else v)
             for d, (k, v) in docs.items()}
    is_md = lambda d: docs[d][0] == 'md'
    keep = set()
    for d, (k, v) in docs.items():
        if k == 'ipynb':
            cells = _nb_md_cells(v)
            for cell, t in zip(cells, resolve_symbol_links([''.join(x['source']) for x in cells], slugs, d, is_md)):
                cell['source'] = t
            for i, cell in enumerate(v['cells']): cell['id'] = f"c{i:03d}"
            text = json.dumps(v, indent=1, ensure_ascii=False) + '\n'
        else: text = resolve_symbol_links([v], slugs, d, is_md)[0]
        out = src_dir/f"{d}.{k}"
        _write(out, text); keep.add(out.resolve())
    for p in nbs.rglob('*'):   # images and other files the notebooks refer to
        if p.is_file() and p.suffix.lower() in ASSET_EXTS and not any(x.startswith(('.', '_')) for x in p.relative_to(nbs).parts):
            t = src_dir/p.relative_to(nbs); t.parent.mkdir(parents=True, exist_ok=True)
            if not t.exists() or t.read_bytes() != p.read_bytes(): shutil.copy2(p, t)
            keep.add(t.resolve())
    for p in list(src_dir.rglob('*')):   # pages of chapters that were removed or renamed
        if p.is_file() and p.resolve() not in keep: p.unlink()
    built = [c for c in allp if c['docname'] in docs]
    if out is not None: prune_site(out, docs)
    (BUILD/'site.json').write_text(json.dumps(dict(title=site['title'], description=site['description'],
        pages=[dict(docname=c['docname'], entry=c['entry'], kind=c['src'].suffix[1:], listed=c['listed']) for c in built]),
        indent=1))
    info(f"{len(built)} page(s) written to {src_dir.relative_to(ROOT) if ROOT in src_dir.parents else src_dir}")
    if bad: raise DocsError('\n'.join(f"{src.relative_to(ROOT)}: {p}" for src, probs in bad.items() for p in probs) +
                            f"\n(left out of the site: {', '.join(str(s.relative_to(ROOT)) for s in bad)})")
    return site

def check_notebooks(names, workers=2):
    "Run only nbdev's docs processing on the notebooks `names` (paths or stems) and print what would break the build."
    bad = 0
    for n in names:
        p = Path(n) if Path(n).suffix == '.ipynb' and Path(n).exists() else next(iter(sorted((ROOT/'nbs').glob(f'{Path(n).stem}*.ipynb'))), None)
        if p is None: print(f'{n}: no such notebook'); bad += 1; continue
        with __import__('tempfile').TemporaryDirectory() as d:
            _, probs = _proc_one((p.resolve(), Path(d)/'out.ipynb'))
        probs += [f"cell {i} mixes imports with other code (nbdev_docs runs it whole; move the imports into a cell of "
                  f"their own):\n    " + src.replace('\n', '\n    ') for i, src in mixed_import_cells(json.loads(p.read_text())['cells'])]
        for q in probs: print(f'{p.relative_to(ROOT) if ROOT in p.resolve().parents else p}: {q}')
        if not probs: print(f'{p.name}: ok')
        bad += bool(probs)
    return bad

def explain(log, src_dir=BUILD/'src'):
    "Sphinx's warnings with the generated page/line replaced by the source notebook and the cell's first words."
    src_dir = Path(src_dir).resolve()
    pages = {p['docname']: p['entry'] for p in json.loads((BUILD/'site.json').read_text())['pages']} \
        if (BUILD/'site.json').exists() else {}
    def sub(m):
        doc, line = m.group(1), int(m.group(3) or 0)
        entry = pages.get(doc, doc)
        if m.group(2) == "ipynb" and line >= 10000:   # MyST-NB numbers lines as (cell + 1) * 10000 + line in cell
            try:
                cell = json.loads((src_dir/f"{doc}.ipynb").read_text())["cells"][line // 10000 - 1]
                first = ''.join(cell['source']).strip().split('\n')[0][:70]
                return f'nbs/{entry} (the {cell["cell_type"]} cell that starts "{first}")'
            except Exception: pass
        return f'nbs/{entry}'
    rx = re.compile(re.escape(str(src_dir)) + r'/([^:\s]+)\.(ipynb|md)(?::(\d+))?')
    return '\n'.join(rx.sub(sub, l) for l in Path(log).read_text().splitlines())

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default=str(BUILD/'src'), help='Sphinx source folder to write')
    ap.add_argument('--workers', type=int, default=2, help='processes for nbdev processing')
    ap.add_argument('--explain', metavar='LOG', help="print Sphinx's log LOG with generated files mapped to notebooks")
    ap.add_argument('--out', default=None, help='the built site: pages whose source is gone are deleted')
    ap.add_argument('--check', nargs='+', metavar='NB', help="only run nbdev's docs processing on these notebooks "
                    "(e.g. `--check 03_chain_alignment`) and report what would break the docs build")
    a = ap.parse_args()
    if a.check: sys.exit(1 if check_notebooks(a.check) else 0)
    if a.explain: print(explain(a.explain, a.src)); return
    try: build_source(Path(a.src), a.workers, out=a.out)
    except DocsError as e: print(f'nb2sphinx: error: {e}', file=sys.stderr); sys.exit(2)

if __name__ == '__main__':   # run as the module `nb2sphinx` so worker processes can find its functions
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import nb2sphinx; nb2sphinx.main()
