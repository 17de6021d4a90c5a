__version__ = "0.1.4"

import os
# OpenMP threads that spin while waiting make every multi-threaded torch call collapse on a busy machine (measured 40x
# slower zoo training at load average 10, benchmarks/zoo.py), but threads that go to sleep at once pay a wake-up between
# every pair of small operations (one MLP-4 or GRU-2 trained with 2 threads: 17-24% slower on an idle machine). So: a
# passive policy, plus, for GNU OpenMP (torch's Linux wheels), a short spin: GOMP_SPINCOUNT=1000, about 10 us by
# libgomp's estimate of 100 spins per us, overrides the passive policy's spin of 0. That gives the idle speed and no
# collapse under load. Settings the user made win; these only take effect when netsim is imported before torch (zoo
# chapter, 'Threads on a CPU').
if os.environ.get('OMP_WAIT_POLICY', 'PASSIVE').upper() == 'PASSIVE': os.environ.setdefault('GOMP_SPINCOUNT', '1000')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

from . import compare   # `netsim.compare(model_a, model_b, data)`: the one-call comparison (a callable module)
