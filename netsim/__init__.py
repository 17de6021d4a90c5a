__version__ = "0.1.2"

import os
# OpenMP threads that spin while waiting make every multi-threaded torch call collapse on a busy machine (measured 40x
# slower zoo training at load average 10, benchmarks/zoo.py). Sleep instead, unless the user chose otherwise; this only
# takes effect when netsim is imported before torch.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

from . import compare   # `netsim.compare(model_a, model_b, data)`: the one-call comparison (a callable module)
