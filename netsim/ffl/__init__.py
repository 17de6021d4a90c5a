"""Function feature learning: one linear projection per chain tells which data subset a model was trained on.

`netsim.ffl` gathers the learner (`learner`: feature sources, `fit_ffl`, splits, classification and retrieval metrics,
`ffl_scores`, chapter 05_ffl) and the zoo-level report (`report`: `alignment_features`, `zoo_features`, also as Dask
tasks, `ffl_report`, chapter 05a_ffl_report).
"""
from .learner import *
from .report import *
