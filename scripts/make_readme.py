#!/usr/bin/env python
"Write README.md from nbs/index.ipynb without Quarto (what `nbdev_readme` does when Quarto is present)."
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _fix_links(md):
    "Point relative links/images of the notebook at nbs/ and chapter links at their notebooks."
    def fix(m):
        text, url = m.group(1), m.group(2)
        if re.match(r'^(https?:|#|/|mailto:)', url): return m.group(0)
        return f'{text}(nbs/{url})'
    return re.sub(r'(!?\[[^\]]*\])\(([^)\s]+)\)', fix, md)

def make_readme(nb=ROOT/'nbs'/'index.ipynb', out=ROOT/'README.md'):
    "Convert the markdown cells and visible code/outputs of `nb` into `out`."
    cells = json.loads(Path(nb).read_text())['cells']
    parts = []
    for c in cells:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(_fix_links(src)); continue
        if re.search(r'^#\|\s*(hide|include:\s*false)', src, re.M): continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and not re.search(r'^#\|\s*echo:\s*false', src, re.M): parts.append(f'```python\n{code}\n```')
        for o in c.get('outputs', []):
            txt = o.get('text') or o.get('data', {}).get('text/markdown') or o.get('data', {}).get('text/plain')
            if 'text/markdown' in o.get('data', {}): parts.append(''.join(o['data']['text/markdown']))
            elif txt: parts.append('```\n' + ''.join(txt).rstrip() + '\n```')
    parts.append('<!-- generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, not this file -->')
    Path(out).write_text('\n\n'.join(p.strip('\n') for p in parts if p.strip()) + '\n')

if __name__ == '__main__': make_readme(); print('wrote README.md')
