"""netsim: do neural networks trained from different seeds learn the same function, and how can we tell?

`import netsim` is cheap: it imports no torch and no submodule. The user-facing functions below are loaded on first
use (PEP 562), so `netsim.compare(a, b, data)` and `from netsim import perm_spec` work without paying for the rest.
The package's rooms and their one-way dependencies are described in ARCHITECTURE.md.
"""
__version__ = "0.2.0"

import os
# OpenMP threads that spin while waiting make every multi-threaded torch call collapse on a busy machine, but threads
# that go to sleep at once pay a wake-up between small operations. A passive policy plus, for GNU OpenMP, a short spin
# (GOMP_SPINCOUNT=1000, about 10 us) gives the idle speed and no collapse. Settings the user made win; these only take
# effect when netsim is imported before torch (`netsim.core`, the switch table).
if os.environ.get('OMP_WAIT_POLICY', 'PASSIVE').upper() == 'PASSIVE': os.environ.setdefault('GOMP_SPINCOUNT', '1000')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

_FRONT_DOOR = {   # name -> module that defines it
    'load_dataset': 'data', 'solution_classes': 'data', 'make_model': 'models', 'perm_spec': 'trace', 'check_spec': 'trace',
    'permute_model': 'permute', 'chain_features': 'chain', 'align_stack': 'align',
    'align': 'align_models', 'interpolation_barrier': 'align_models',
    'Zoo': 'zoo', 'train_zoo': 'zoo', 'load_zoo': 'zoo',
    'max_match': 'match', 'min_match': 'match', 'max_match_similarity': 'match',
    'compare': 'comparison', 'match_report': 'comparison',
    'MEASURES': 'similarity', 'check_measure': 'similarity', 'min_matches': 'match',
}

def __getattr__(name):
    "Load a front-door function on first use."
    if name in _FRONT_DOOR:
        import importlib
        obj = getattr(importlib.import_module(f'{__name__}.{_FRONT_DOOR[name]}'), name)
        globals()[name] = obj
        return obj
    raise AttributeError(f"module 'netsim' has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_FRONT_DOOR))
