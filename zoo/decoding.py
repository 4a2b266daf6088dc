"""Decoding methods and their defaults: one definition for ``zoo.generate``, ``zoo evaluate`` and ``zoo generate``.

Kept free of Keras so the command line lists the methods and states the defaults without importing it.
"""
import numbers

# ``zoo evaluate`` scores the deterministic methods only.
SCORED_METHODS = ("greedy", "beam")
METHODS = (*SCORED_METHODS, "sample")
# The options only one decoding method reads; ``generate`` refuses them with another, which would ignore them.
METHOD_OPTIONS = {"beam": ("num_beams", "length_penalty"), "sample": ("temperature", "top_k", "top_p", "seed")}
# The values used for those of them left unset.
DEFAULT_NUM_BEAMS, DEFAULT_LENGTH_PENALTY, DEFAULT_TEMPERATURE = 4, 0.6, 1.0


def check_sampling(temperature=None, top_k=None, top_p=None, *, flags=False):
    """Raise a ValueError naming the first bad sampling option (``None``: unset, so fine).

    ``flags``: name each as an argument and its ``zoo generate`` flag (``top_p (--top-p)``), as the command line's
    other errors do, rather than as the Python argument alone (`` `top_p` ``).

    Example:
        >>> check_sampling(top_p=1.5, flags=True)
        Traceback (most recent call last):
        ...
        ValueError: top_p (--top-p) must be in (0, 1], got 1.5
    """
    def named(name):
        return f"{name} (--{name.replace('_', '-')})" if flags else f"`{name}`"

    def real(value):  # numpy scalars too; not a bool
        return not isinstance(value, bool) and isinstance(value, numbers.Real)

    if temperature is not None and not (real(temperature) and temperature > 0):
        raise ValueError(f"{named('temperature')} must be a positive number, got {temperature!r}")
    if top_k is not None and not (real(top_k) and isinstance(top_k, numbers.Integral) and top_k > 0):
        raise ValueError(f"{named('top_k')} must be a positive integer, got {top_k!r}")
    if top_p is not None and not (real(top_p) and 0 < top_p <= 1):
        raise ValueError(f"{named('top_p')} must be in (0, 1], got {top_p!r}")
