"""Neuron activation subspace match: definitions, Algorithms 1-3, the oracle, and the fast engine.

Layers, bottom up: `theory` (definitions, Algorithms 1-3 written against an engine, the brute-force oracle, the plain
engine), `gram` (the Gram form: `Matcher`, sweep tableaus), `kernels` (compiled half-passes, loaded on first use),
`engine` (`FastEngine`), and `api` (the public calls, which pick the engine). Everything public is re-exported here,
so `from netsim.match import max_match` is the usual import. Chapters: 06_match_theory, 06a_match_api and, in the
engine room, 24-26.
"""
from .theory import *
from .gram import Matcher, gram_pair
from .engine import FastEngine
from .api import *
