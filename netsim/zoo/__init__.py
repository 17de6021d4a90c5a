"""Zoos: many models trained on solution classes, stored on disk and read back lazily.

`netsim.zoo` gathers the store (`store`: `Zoo`, `train_zoo`, `load_zoo`, `merge_zoos`, the `netsim-zoo` CLI), training
(`train`: recipes, `train_one`, `train_stack`), the job runner (`jobs`) and the fused CPU steps (`fused_mlp`,
`fused_gru`). Chapters: 04_zoo, 04a_zoo_store and, in the engine room, 21-23.
"""
from .train import *
from .store import *
