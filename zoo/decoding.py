"""Decoding methods and their defaults: one definition for ``zoo.generate``, ``zoo evaluate`` and ``zoo generate``.

Kept free of Keras so the command line lists the methods and states the defaults without importing it.
"""
# ``zoo evaluate`` scores the deterministic methods only.
SCORED_METHODS = ("greedy", "beam")
METHODS = (*SCORED_METHODS, "sample")
# The options only one decoding method reads; ``generate`` refuses them with another, which would ignore them.
METHOD_OPTIONS = {"beam": ("num_beams", "length_penalty"), "sample": ("temperature", "top_k", "top_p", "seed")}
# The values used for those of them left unset.
DEFAULT_NUM_BEAMS, DEFAULT_LENGTH_PENALTY, DEFAULT_TEMPERATURE = 4, 0.6, 1.0
