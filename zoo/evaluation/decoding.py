"""Decoding methods of ``zoo evaluate`` and ``zoo generate``, apart so the command line lists them without Keras.

``GENERATE_METHODS`` are ``zoo.models.generate``'s methods; ``zoo evaluate`` scores the deterministic ones.
"""
SCORED_METHODS = ("greedy", "beam")
GENERATE_METHODS = (*SCORED_METHODS, "sample")
