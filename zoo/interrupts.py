"""Ctrl-C that is never lost: the command line's SIGINT handler remembers the signal as well as raising.

Python raises ``KeyboardInterrupt`` wherever the main thread is when SIGINT arrives. Inside a garbage-collector
callback the exception is reported as "ignored" and dropped, and such callbacks run often: JAX installs one,
and ``import tensorflow`` imports JAX wherever it is installed. A Ctrl-C could therefore be lost and the run go
on to exit 0. The handler installed here also records the signal, and the safe points (creating the run
directory, the training loop, the end of a command) call ``raise_if_pending`` or read ``pending``.

Kept free of TensorFlow: the command line installs it before importing TensorFlow.
"""
import signal
import sys
import threading

_received = []
_previous_unraisable_hook = []


def install():
    """Handle SIGINT as Python does (raise ``KeyboardInterrupt``), and remember it.

    Forgets signals an earlier command of this process received. Leaves SIGINT alone outside the main
    thread and where it is not Python's default handler (ignored in a background job, or the caller's own).
    """
    _received.clear()
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) in (
            signal.default_int_handler, _on_sigint):
        signal.signal(signal.SIGINT, _on_sigint)
        if sys.unraisablehook is not _unraisable:
            _previous_unraisable_hook[:] = [sys.unraisablehook]
            sys.unraisablehook = _unraisable


def _on_sigint(number, frame):
    _received.append(number)
    raise KeyboardInterrupt


def _unraisable(info):
    # The swallowed KeyboardInterrupt is remembered and acted on: no "Exception ignored" traceback for it.
    if isinstance(info.exc_value, KeyboardInterrupt) and _received:
        return
    _previous_unraisable_hook[0](info)


def pending():
    """Return the number of the last signal the installed handler received, or ``None``.

    Example:
        >>> pending() is None
        True
    """
    return _received[-1] if _received else None


def raise_if_pending():
    """Raise ``KeyboardInterrupt`` if a SIGINT arrived whose ``KeyboardInterrupt`` was swallowed on the way."""
    if _received:
        raise KeyboardInterrupt
