#!/usr/bin/env python
"""Open the built docs site in headless Chromium and check what a reader would see.

Every page is loaded from disk (file://) in one browser, driven over the DevTools protocol through a pipe
(`--remote-debugging-pipe`: no port, no websocket library). For each page it records every request the page makes,
JavaScript errors, failed loads, the links, the element ids, whether MathJax typeset every formula and whether any raw
TeX (`$...$`, `\\(...\\)`) is left in the text. It also runs the search page and takes screenshots.
`check_site(site)` returns a report dict; `problems(report, ...)` turns it into a list of readable failures.
CLI: `python docs/check_site.py _site --shots artifacts/docs` prints the problems and exits 1 if there are any.
"""
import argparse, base64, json, os, re, select, shutil, subprocess, sys, tempfile, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse, unquote, quote

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SCHEMES = {'file', 'data', 'blob', 'about'}
LOCAL_HOSTS = {'localhost', '127.0.0.1', '[::1]', ''}

def find_chromium():
    "Path of a Chromium/Chrome binary, or None."
    for name in (os.environ.get('CHROMIUM', ''), 'chromium', 'chromium-browser', 'google-chrome', 'chrome'):
        if name and shutil.which(name): return shutil.which(name)
    return None

class Chrome:
    "Headless Chromium driven over the DevTools protocol through a pipe (fd 3 in, fd 4 out)."
    def __init__(self, exe=None, width=1280, height=1800, timeout=30):
        exe = exe or find_chromium()
        if not exe: raise RuntimeError('chromium not found (apt-get install chromium, or run scripts/install_data.sh)')
        self.timeout, self.width, self.height = timeout, width, height
        self.profile = tempfile.mkdtemp(prefix='netsim-chromium-')
        import fcntl
        to_r, self._to_w = os.pipe(); self._from_r, from_w = os.pipe()
        hi = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_r, from_w)]   # >= 10: cannot collide with 3 and 4
        os.close(to_r); os.close(from_w)
        args = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--disable-default-apps', '--disable-extensions', '--disable-sync',
                '--no-first-run', '--mute-audio', '--hide-scrollbars', '--disable-dev-shm-usage',
                '--allow-file-access-from-files',            # Sphinx's search loads searchindex.js from disk
                '--host-resolver-rules=MAP * ~NOTFOUND',     # belt and braces: no host resolves, the check still sees
                f'--user-data-dir={self.profile}', f'--window-size={width},{height}',
                '--remote-debugging-pipe', 'about:blank']
        # bash puts our pipe ends on fds 3 and 4, where --remote-debugging-pipe expects them
        wrap = ['bash', '-c', f'exec "$@" 3<&{hi[0]} 4>&{hi[1]} {hi[0]}<&- {hi[1]}>&-', 'bash'] + args
        self.proc = subprocess.Popen(wrap, pass_fds=hi, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in hi: os.close(fd)
        self._buf, self._id, self.events = b'', 0, []
        try:
            tid = self.send('Target.createTarget', url='about:blank')['targetId']
            self.session = self.send('Target.attachToTarget', targetId=tid, flatten=True)['sessionId']
            for dom in ('Page', 'Network', 'Runtime'): self.send(f'{dom}.enable', session=True)
            self.send('Emulation.setDeviceMetricsOverride', session=True, width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close(); raise

    def _read(self, deadline):
        "Next message from the browser, or None at the deadline."
        while b'\0' not in self._buf:
            left = deadline - time.time()
            if left <= 0: return None
            r, _, _ = select.select([self._from_r], [], [], left)
            if not r: return None
            chunk = os.read(self._from_r, 1 << 20)
            if not chunk: raise RuntimeError('chromium closed the DevTools pipe (crashed?)')
            self._buf += chunk
        msg, self._buf = self._buf.split(b'\0', 1)
        return json.loads(msg)

    def send(self, method, session=False, timeout=None, **params):
        "Call DevTools `method`; returns its result (events that arrive meanwhile go to `self.events`)."
        self._id += 1; mid = self._id
        msg = dict(id=mid, method=method, params=params)
        if session: msg['sessionId'] = self.session
        os.write(self._to_w, json.dumps(msg).encode() + b'\0')
        deadline = time.time() + (timeout or self.timeout)
        while True:
            m = self._read(deadline)
            if m is None: raise TimeoutError(f'chromium did not answer {method} in {timeout or self.timeout}s')
            if m.get('id') == mid:
                if 'error' in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get('result', {})
            if 'method' in m: self.events.append(m)

    def wait_event(self, method, timeout=None):
        "Wait for event `method` (already received or coming); returns it or None."
        deadline = time.time() + (timeout or self.timeout)
        while True:
            for e in self.events:
                if e['method'] == method: return e
            m = self._read(deadline)
            if m is None: return None
            if 'method' in m: self.events.append(m)

    def goto(self, url, timeout=None):
        "Load `url` and wait for its load event; events of this page are in `self.events` afterwards."
        self.events = []
        self.send('Page.navigate', session=True, url=url)
        if self.wait_event('Page.loadEventFired', timeout) is None: raise TimeoutError(f'{url} did not load')

    def eval(self, js, timeout=None):
        "Evaluate `js` (an expression, may be a promise) in the page; returns its JSON value."
        r = self.send('Runtime.evaluate', session=True, timeout=timeout, expression=js, awaitPromise=True,
                      returnByValue=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r['result'].get('value')

    def screenshot(self, path, full=False):
        "Save a PNG of the viewport (or the whole page) to `path`."
        kw = {}
        if full:
            h = min(int(self.eval('document.documentElement.scrollHeight')), 12000)
            kw['clip'] = dict(x=0, y=0, width=self.width, height=h, scale=1); kw['captureBeyondViewport'] = True
        data = self.send('Page.captureScreenshot', session=True, format='png', **kw)['data']
        Path(path).parent.mkdir(parents=True, exist_ok=True); Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        "Stop the browser we started (by its pid) and remove its profile."
        try: self.send('Browser.close', timeout=5)
        except Exception: pass
        try: self.proc.wait(5)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        for fd in (self._to_w, self._from_r):
            try: os.close(fd)
            except OSError: pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self): return self
    def __exit__(self, *a): self.close()

# In-page collection. MathJax is loaded with `defer` by Sphinx: wait for its startup promise (typesetting done).
PAGE_JS = r"""(async () => {
  const t0 = Date.now(), sleep = ms => new Promise(r => setTimeout(r, ms));
  const usesMJ = !!document.querySelector('script[src*="tex-mml-chtml"]');
  let mathjax = usesMJ ? 'timeout' : 'absent';
  if (usesMJ) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 15000) await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; mathjax = 'done'; }
  }
  const main = document.querySelector('article') || document.querySelector('main') || document.body;
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, .highlight, textarea').forEach(e => e.remove());
  const maths = Array.from(main.querySelectorAll('.math'));
  const body = main.innerText;
  return {
    url: location.href, title: document.title, body: body.slice(0, 20000),
    h1: Array.from(main.querySelectorAll('h1')).map(h => h.textContent.replace(/[#¶]\s*$/, '').trim()),
    text: clone.textContent,
    links: Array.from(document.querySelectorAll('a[href], link[href]')).map(a => ({href: a.href, raw: a.getAttribute('href'), text: (a.textContent || a.rel || '').trim().slice(0, 80)})),
    ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
    mathjax, n_math: maths.length, n_typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    n_mjx_errors: document.querySelectorAll('mjx-merror').length,
    images: Array.from(main.querySelectorAll('img')).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    sidebar: Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference')).map(a => a.href),
    prev: (document.querySelector('a.left-prev') || {}).href || null,
    next: (document.querySelector('a.right-next') || {}).href || null,
    page_toc: Array.from(document.querySelectorAll('.bd-toc-nav a, nav.page-toc a')).map(a => a.getAttribute('href')),
    h2: main.querySelectorAll('h2').length,
  };
})()"""

SEARCH_JS = r"""(async () => {
  const t0 = Date.now(), sleep = ms => new Promise(r => setTimeout(r, ms));
  const done = () => document.querySelector('#search-results ul.search li') ||
                     /did not match|found \d+ page|Search finished/i.test((document.querySelector('#search-results') || {}).textContent || '');
  while (!done() && Date.now() - t0 < 15000) await sleep(100);
  return {results: Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.href),
          status: ((document.querySelector('#search-results') || {}).textContent || '').trim().slice(0, 200)};
})()"""

RAW_MATH = [(re.compile(r'\\\(.+?\\\)', re.S), r'\( ... \)'), (re.compile(r'\\\[.+?\\\]', re.S), r'\[ ... \]'),
            (re.compile(r'\$\$.+?\$\$', re.S), '$$ ... $$'),
            (re.compile(r'(?<![\w$\\])\$(?=[^\s$])[^$\n]{1,200}?(?<=[^\s$\\])\$(?![\w$])'), '$ ... $'),
            (re.compile(r'\\begin\{(equation|align|gather|aligned)\*?\}'), r'\begin{...}')]

def raw_math(text):
    "Snippets of TeX left unrendered in `text` (the page text without code blocks and typeset math)."
    found = []
    for rx, _ in RAW_MATH:
        found += [m.group(0)[:60] for m in rx.finditer(text)]
    return found

def external_requests(urls):
    "The requests in `urls` that leave the machine (anything but file:, data:, blob:, about: and localhost)."
    bad = []
    for u in urls:
        p = urlparse(u)
        if p.scheme in LOCAL_SCHEMES: continue
        if p.scheme in ('http', 'https', 'ws', 'wss') and (p.hostname or '') in LOCAL_HOSTS: continue
        bad.append(u)
    return bad

class _Ids(HTMLParser):
    def __init__(self): super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == 'id' or (tag == 'a' and k == 'name'): self.ids.add(v)

def _ids_of(path, cache):
    if path not in cache:
        p = _Ids(); p.feed(Path(path).read_text(errors='replace')); cache[path] = p.ids
    return cache[path]

def broken_links(pages, site):
    "Internal links (file: URLs) of visited `pages` whose file or #anchor does not exist, or that leave `site`."
    site = Path(site).resolve(); ids = {Path(unquote(urlparse(p['url']).path)).resolve(): set(p['ids']) for p in pages}
    cache, bad = {}, []
    for p in pages:
        for l in p['links']:
            u = urlparse(l['href'])
            if u.scheme != 'file': continue
            path = Path(unquote(u.path)).resolve()
            where = f"{Path(unquote(urlparse(p['url']).path)).name}: link {l['raw']!r} ({l['text']!r})"
            if site != path and site not in path.parents: bad.append(f'{where} points outside the site'); continue
            if path.is_dir(): path = path/'index.html'
            if not path.is_file(): bad.append(f'{where}: no such file'); continue
            if u.fragment and path.suffix == '.html':
                known = ids[path] if path in ids else _ids_of(path, cache)
                if unquote(u.fragment) not in known: bad.append(f'{where}: no element with id {unquote(u.fragment)!r}')
    return bad

def check_site(site, shots=None, search_terms=(), full_shots=False, only=None):
    "Visit every HTML page of `site` (or those named in `only`) in Chromium; returns a report dict."
    site = Path(site).resolve()
    skip = ('_static', '_sources', 'mathjax', '_images')
    htmls = sorted(p for p in site.rglob('*.html') if not any(x in skip for x in p.relative_to(site).parts))
    if only is not None: htmls = [p for p in htmls if p.relative_to(site).as_posix() in only]
    rep = dict(site=str(site), pages={}, search={}, shots=[])
    if shots is not None:
        Path(shots).mkdir(parents=True, exist_ok=True)
        for old in Path(shots).glob('*.png'): old.unlink()
    t0 = time.time()
    with Chrome() as ch:
        for f in htmls:
            rel = f.relative_to(site).as_posix()
            ch.goto(f.as_uri())
            d = ch.eval(PAGE_JS, timeout=40)
            ev = ch.events
            d['requests'] = [e['params']['request']['url'] for e in ev if e['method'] == 'Network.requestWillBeSent']
            d['requests'] += [e['params']['url'] for e in ev if e['method'] == 'Network.webSocketCreated']
            d['failed'] = [(e['params'].get('errorText'), e['params'].get('requestId')) for e in ev
                           if e['method'] == 'Network.loadingFailed' and not e['params'].get('canceled')]
            byid = {e['params']['requestId']: e['params']['request']['url'] for e in ev if e['method'] == 'Network.requestWillBeSent'}
            d['failed'] = [f"{byid.get(r, r)} ({err})" for err, r in d['failed']]
            d['js_errors'] = [e['params']['exceptionDetails'].get('exception', {}).get('description')
                              or e['params']['exceptionDetails'].get('text') for e in ev if e['method'] == 'Runtime.exceptionThrown']
            d['console_errors'] = [' '.join(str(a.get('value', a.get('description', ''))) for a in e['params']['args'])
                                   for e in ev if e['method'] == 'Runtime.consoleAPICalled' and e['params']['type'] == 'error']
            d['raw_math'] = raw_math(d.pop('text'))
            rep['pages'][rel] = d
            if shots is not None and rel.count('/') == 0 and not rel.startswith(('genindex', 'search', 'py-modindex')):
                out = Path(shots)/rel.replace('.html', '.png'); ch.screenshot(out, full=full_shots); rep['shots'].append(str(out))
        for term in search_terms:
            ch.goto((site/'search.html').as_uri() + '?q=' + quote(term))
            r = ch.eval(SEARCH_JS, timeout=40)
            r['requests'] = [e['params']['request']['url'] for e in ch.events if e['method'] == 'Network.requestWillBeSent']
            r['js_errors'] = [e['params']['exceptionDetails'].get('text') for e in ch.events if e['method'] == 'Runtime.exceptionThrown']
            rep['search'][term] = r
    rep['seconds'] = round(time.time() - t0, 1)
    return rep

def problems(rep, expect=None, search_expect=None, api_expect=None, landing=None):
    """Readable failures in report `rep`. `expect`: [{docname, title}] chapters that must be pages with that h1, in
    sidebar order; `search_expect`: {term: page.html that a search result must link to}; `api_expect`:
    {page.html: [(module, symbol)]} that must each have a section; `landing`: texts the landing page must show."""
    out, site = [], Path(rep['site'])
    pages = list(rep['pages'].values())
    for rel, p in rep['pages'].items():
        for u in external_requests(p['requests']): out.append(f'{rel}: request to another host: {u}')
        for f in p['failed']: out.append(f'{rel}: failed to load {f}')
        for e in p['js_errors']: out.append(f'{rel}: JavaScript error: {e}')
        for e in p['console_errors']: out.append(f'{rel}: console error: {e}')
        for m in p['raw_math']: out.append(f'{rel}: raw TeX left in the page: {m!r}')
        if p['mathjax'] == 'timeout': out.append(f'{rel}: MathJax did not start (is mathjax/ in the site?)')
        if p['n_typeset'] < p['n_math']: out.append(f"{rel}: MathJax typeset {p['n_typeset']} of {p['n_math']} formulas")
        if p['n_mjx_errors']: out.append(f"{rel}: {p['n_mjx_errors']} TeX error(s) in formulas")
        for i in p['images']:
            if not i['ok']: out.append(f"{rel}: image does not load: {i['src']}")
    out += broken_links(pages, site)
    if expect is not None:
        order = [e['docname'] + '.html' for e in expect if e['docname'] + '.html' in rep['pages']]   # missing: said below
        first_side = None
        for e in expect:
            rel = e['docname'] + '.html'
            p = rep['pages'].get(rel)
            if p is None: out.append(f"chapter {e['entry']}: page {rel} was not built"); continue
            if not p['h1'] or p['h1'][0] != e['title']: out.append(f"{rel}: title is {p['h1'][:1]}, expected {e['title']!r}")
            if e['title'] not in p['title']: out.append(f"{rel}: <title> {p['title']!r} lacks {e['title']!r}")
            if p['h2'] >= 2 and not p['page_toc']: out.append(f'{rel}: no per-page table of contents')
        for rel in order:
            p = rep['pages'].get(rel)
            if p is None: continue
            side = [Path(site/unquote(urlparse(s).path)).resolve() for s in p['sidebar'] if urlparse(s).scheme == 'file']
            side = [(s/'index.html' if s.is_dir() else s) for s in side]
            got = [s.relative_to(site).as_posix() for s in side if site in s.parents]
            got = [g for g in got if g in order]
            if [o for o in order if o != 'index.html'] != [g for g in got if g != 'index.html'] and got != first_side:
                out.append(f'{rel}: sidebar lists {got}, expected {order}')
            first_side = got if first_side is None else first_side
            i = order.index(rel)
            nxt = order[i + 1] if i + 1 < len(order) else None
            prv = order[i - 1] if i > 0 else None
            if (Path(unquote(urlparse(p['next']).path)).name if p['next'] else None) != nxt:
                out.append(f"{rel}: 'next' link goes to {p['next']}, expected {nxt}")
            if (Path(unquote(urlparse(p['prev']).path)).name if p['prev'] else None) != prv:
                out.append(f"{rel}: 'previous' link goes to {p['prev']}, expected {prv}")
    from docutils.nodes import make_id
    for page, syms in (api_expect or {}).items():
        p = rep['pages'].get(page)
        if p is None:
            out.append(f"API reference of {', '.join(sorted({m for m, _ in syms}))}: page {page} was not built"); continue
        miss = [n for _, n in syms if make_id(n) not in p['ids']]
        if miss: out.append(f"{page}: no API section (show_doc) for {', '.join(miss)}")
    if landing is not None:
        p = rep['pages'].get('index.html')
        if p is None: out.append('index.html (the landing page) was not built')
        else:
            for t in landing['texts']:
                if t not in p['body']: out.append(f'index.html: the landing page does not show {t!r}')
            if landing.get('picture') and not any(i['ok'] for i in p['images']):
                out.append('index.html: the landing page has no picture (a figure output or an image in index.ipynb)')
    for term, want in (search_expect or {}).items():
        r = rep['search'].get(term)
        if r is None: out.append(f'search {term!r} was not run'); continue
        for u in external_requests(r['requests']): out.append(f'search page: request to another host: {u}')
        for e in r['js_errors']: out.append(f'search page: JavaScript error: {e}')
        names = [Path(unquote(urlparse(u).path)).name for u in r['results']]
        if want is None and names: out.append(f'search {term!r} should find nothing, found {names}')
        if want is not None and want not in names:
            out.append(f"search {term!r} found {names or 'nothing'} ({r['status']!r}), expected a link to {want}")
    return out

def expected_chapters(root=ROOT):
    "Chapters of `_quarto.yml` whose source exists, with the title the page must show (from the notebook's H1)."
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nb2sphinx import read_site, chapters
    out = []
    for c in chapters(read_site(Path(root)/'_quarto.yml', Path(root)/'nbs')):
        if not (c['exists'] or c['generated']): continue
        title = None
        if c['src'].suffix == '.ipynb':
            for cell in json.loads(c['src'].read_text())['cells']:
                if cell['cell_type'] == 'markdown':
                    m = re.match(r'\s*#\s+(.+)', ''.join(cell['source']))
                    if m: title = m.group(1).strip(); break
        elif c['src'].exists():
            m = re.search(r'^#\s+(.+)$', c['src'].read_text(), re.M); title = m.group(1).strip() if m else None
        else: title = 'Latest sweep report'
        out.append(dict(entry=c['entry'], docname=c['docname'], title=_plain(title or c['docname'])))
    return out

def _plain(md):
    "Heading text as the browser shows it (markdown emphasis and code marks removed)."
    return re.sub(r'[`*_]{1,2}([^`*_]+)[`*_]{1,2}', r'\1', md).strip()

def search_expectations(root=ROOT, terms=('max_match', 'make_model')):
    "{term: page that defines it} for the terms exported by netsim (from nbdev's _modidx), plus a nonsense word."
    sys.path.insert(0, str(root))
    import importlib; modidx = importlib.import_module('netsim._modidx').d
    out = {}
    for t in terms:
        for mod, syms in modidx['syms'].items():
            if f'{mod}.{t}' in syms: out[t] = syms[f'{mod}.{t}'][0].split('#')[0]
    out['zqxwvnonsenseword'] = None
    return out

def api_expectations(root=ROOT):
    "{page.html: [(module, name)]} for every public top-level symbol nbdev indexed (netsim/_modidx.py)."
    sys.path.insert(0, str(root))
    import importlib; modidx = importlib.import_module('netsim._modidx').d
    out = {}
    for mod, syms in modidx['syms'].items():
        for k, (url, _) in syms.items():
            name = k[len(mod) + 1:]
            if '.' not in name and not name.startswith('_'): out.setdefault(url.split('#')[0], []).append((mod, name))
    return out

LANDING = dict(texts=['make sweep', 'make test'], picture=True)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('site', nargs='?', default=str(ROOT/'_site'))
    ap.add_argument('--shots', default=None, help='folder for screenshots (landing page and every chapter)')
    ap.add_argument('--full', action='store_true', help='full-page screenshots')
    ap.add_argument('--json', default=None, help='write the full report here')
    a = ap.parse_args()
    se = search_expectations()
    rep = check_site(a.site, a.shots, list(se), a.full)
    probs = problems(rep, expected_chapters(), se, api_expectations(), LANDING)
    if a.json: Path(a.json).write_text(json.dumps(rep, indent=1))
    n = len(rep['pages'])
    for p in probs: print('  ' + p)
    print(f"check_site: {n} pages, {sum(len(p['requests']) for p in rep['pages'].values())} requests, "
          f"search {', '.join(f'{k!r}' for k in rep['search'])}; {len(probs)} problem(s); {rep['seconds']}s"
          + (f"; screenshots in {a.shots}" if a.shots else ''))
    sys.exit(1 if probs else 0)

if __name__ == '__main__':
    main()
