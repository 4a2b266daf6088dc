"""Argument checks shared by the layers; every message names the argument and the value it got."""
import numbers


def _number(value, kind):
    # numbers.Integral / numbers.Real take numpy scalars too (np.int64(16) is a positive integer); bools are not.
    return not isinstance(value, bool) and isinstance(value, kind)


def positive_int(name, value, allow_none=False):
    """Return ``value`` as a Python int (a numpy integer too, so configs stay JSON), or ``None`` if allowed."""
    if value is None and allow_none:
        return None
    if not _number(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def integer(name, value):
    """Return ``value`` as a Python int (a numpy integer too); not a bool or a float."""
    if not _number(value, numbers.Integral):
        raise ValueError(f"`{name}` must be an integer, got {value!r}")
    return int(value)


def rate(name, value):
    if not _number(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1), got {value!r}")
    return float(value)


def flag(name, value, allow_none=False):
    """Return ``value`` as a bool (or ``None`` if allowed); not any truthy value, where the string "false" is true."""
    if value is None and allow_none:
        return None
    if value not in (True, False):
        raise ValueError(f"`{name}` must be {'None, ' if allow_none else ''}True or False, got {value!r}")
    return bool(value)


def choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {sorted(allowed)}, got {value!r}")
    return value


def positions(name, start_index, length, limit, limit_name):
    """Raise a ValueError unless positions ``start_index .. start_index + length - 1`` lie in ``[0, limit)``.

    Checks Python integers only: a traced index or length passes, so a compiled graph gains no op.
    """
    if not (isinstance(start_index, numbers.Integral) and isinstance(length, numbers.Integral)):
        return
    if start_index < 0 or start_index + length > limit:
        raise ValueError(f"positions {start_index}..{start_index + length - 1} (`{name}`={start_index}, length "
                         f"{length}) fall outside {limit_name}={limit} (positions 0..{limit - 1})")


def positive_float(name, value):
    if not _number(value, numbers.Real) or value <= 0:
        raise ValueError(f"`{name}` must be a positive number, got {value!r}")
    return float(value)
