__version__ = "0.1.0"

from . import compare   # `netsim.compare(model_a, model_b, data)`: the one-call comparison (a callable module)
