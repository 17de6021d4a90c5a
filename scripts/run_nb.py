#!/usr/bin/env python
"Execute a notebook in place (as nbdev_test does, in-process with execnb) and save its outputs, so docs show figures."
import argparse, os, sys
from pathlib import Path

def run_nb(fn, flags=()):
    "Run every cell of notebook `fn` except those flagged with a `tst_flags` word not in `flags`; write outputs back."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from fastcore.xtras import working_directory
    fn = Path(fn).resolve()
    skip = {'slow', 'gpu'} - set(flags)
    nb = read_nb(fn)
    proc = NBProcessor(fn, process=True)   # parses `#|` directives into cell.directives_
    def _skip(cell):
        if cell.cell_type != 'code': return True
        d = getattr(cell, 'directives_', {}) or {}
        if d.get('eval:', [''])[0].lower() == 'false': return True
        if 'nbdev_export'+'(' in cell.source: return True
        return bool(skip & d.keys())
    os.environ.setdefault('MPLBACKEND', 'Agg')
    sys.path.insert(0, str(fn.parents[1]))
    k = CaptureShell(fn)
    with working_directory(fn.parent):
        k.run_all(proc.nb, exc_stop=True, preproc=_skip)
    if len(proc.nb.cells) != len(nb.cells): raise RuntimeError(f"{fn}: processing changed the number of cells")
    for c, pc in zip(nb.cells, proc.nb.cells):
        if c.cell_type == 'code': c['outputs'] = pc.get('outputs', []); c['execution_count'] = None
    shrink_outputs(nb.cells)
    write_nb(nb, fn)

def shrink_outputs(cells):
    "Re-encode every saved PNG output of `cells` (in place) with `shrink_png`."
    for c in cells:
        for o in c.get('outputs', []):
            if 'image/png' in o.get('data', {}): o['data']['image/png'] = shrink_png(o['data']['image/png'])

def shrink_png(b64:str, colors:int=64)->str:
    "A base64 PNG re-encoded with a `colors`-colour palette (plots have few colours: about 3-4x smaller), if smaller."
    import base64, io
    from PIL import Image
    raw = base64.b64decode(b64)
    im = Image.open(io.BytesIO(raw)).convert('RGB').quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO(); im.save(out, 'PNG', optimize=True)
    return base64.b64encode(out.getvalue()).decode() if out.tell() < len(raw) else b64

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('notebooks', nargs='+'); ap.add_argument('--flags', nargs='*', default=[], help='also run cells with these flags, e.g. slow')
    ap.add_argument('--shrink-only', action='store_true', help='do not execute: only re-encode the saved PNG outputs smaller')
    a = ap.parse_args()
    for nb in a.notebooks:
        if a.shrink_only:
            import json
            d = json.loads(Path(nb).read_text()); shrink_outputs(d['cells'])
            Path(nb).write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n'); print('shrunk', nb)
        else: run_nb(nb, a.flags); print('executed', nb)
