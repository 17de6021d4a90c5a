"""Zoos: many models trained on solution classes, stored on disk and read back lazily.

`netsim.zoo` gathers the store (`store`: `Zoo`, `train_zoo`, `load_zoo`, `merge_zoos`, the `netsim-zoo` CLI), training
(`train`: recipes, `train_one`, `train_stack`), the job runner (`jobs`) and the fused CPU steps (`fused_mlp`,
`fused_gru`), and the Dask runner (`cluster`: chunks, sweeps and model pairs as tasks). Chapters: 04_zoo, 04a_zoo_store,
04b_scaling_out and, in the engine room, 21-23.
"""
from .train import *
from .store import *
from .cluster import *   # registers the Dask chunk runner that `train_zoo(client=...)` uses
