#!/usr/bin/env python
"Convert a percent-format script (`# %%` code cells, `# %% [markdown]` prose cells) into a clean notebook."
import sys, json, re
from pathlib import Path

def py2nb(src, dst):
    "Write notebook `dst` from percent-format text file `src`."
    text = Path(src).read_text()
    cells, cur, kind = [], [], None
    def flush():
        if kind is None: return
        lines = cur[:]
        while lines and not lines[-1].strip(): lines.pop()
        while lines and not lines[0].strip(): lines.pop(0)
        if kind == 'markdown': lines = [re.sub(r'^# ?', '', l) for l in lines]
        src = '\n'.join(lines)
        src_lines = [l + '\n' for l in src.split('\n')]
        if src_lines: src_lines[-1] = src_lines[-1].rstrip('\n')
        c = {'cell_type': kind, 'metadata': {}, 'source': src_lines}
        if kind == 'code': c.update(execution_count=None, outputs=[])
        cells.append(c)
    for line in text.split('\n'):
        m = re.match(r'^# %%( \[markdown\])?(.*)$', line)
        if m:
            flush(); cur.clear(); kind = 'markdown' if m.group(1) else 'code'
            tags = re.findall(r'tags=\[([^\]]*)\]', m.group(2))
            if tags and kind == 'code':
                flush_tags = [t.strip().strip('"\'') for t in tags[0].split(',')]
                cur.append(f'__TAGS__{json.dumps(flush_tags)}')
            continue
        cur.append(line)
    flush()
    for c in cells:
        if c['source'] and c['source'][0].startswith('__TAGS__'):
            c['metadata']['tags'] = json.loads(c['source'][0][8:].strip()); c['source'] = c['source'][1:]
    nb = {'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 4}
    Path(dst).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__': py2nb(sys.argv[1], sys.argv[2])
