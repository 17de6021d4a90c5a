"Run every notebook in nbs/ the way `nbdev_test` does (cells flagged `slow`/`gpu` skipped), one pytest test each."
import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
FLAGS = ['slow', 'gpu']   # settings.ini tst_flags: these cells run only in the sweep / with `nbdev_test --flags slow`

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, capsys):
    from nbdev.test import test_nb
    os.environ.setdefault('MPLBACKEND', 'Agg')
    ok, secs = test_nb(nb, skip_flags=FLAGS, basepath=ROOT)
    assert ok, f'{nb.name} failed (traceback above)'
