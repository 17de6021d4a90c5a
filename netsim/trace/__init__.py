"""The permutation symmetry of any PyTorch model, found by tracing.

`spec` (chapter 02b) is the front door: `perm_spec(model, example_input)`, `check_spec`, `perm_activations`,
`activation_layers`. Below it, `facts` (02c) holds the union-find over axes, the tracer and the rules for elementwise,
shape and contraction ops, and `layers` (02d) the rules for weight layers and modules (Linear, conv, norms,
embedding, attention, RNN/GRU/LSTM).
"""
from .spec import *
from .facts import TraceError
