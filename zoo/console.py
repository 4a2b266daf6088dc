"""How every ``zoo`` command fails: one ``zoo <command>: error: ...`` line on standard error, and its exit status.

Kept free of TensorFlow: the command line reports errors before importing it (``import_tensorflow_quietly`` does,
when called).
"""
import importlib
import os
import signal
import sys


def exit_status_for_signal(signal_number):
    """The exit status of a command stopped by a signal: 128 + its number, as a shell reports it.

    Args:
        signal_number: The signal that stopped the work, e.g. ``signal.SIGTERM``.

    Example:
        >>> exit_status_for_signal(signal.SIGTERM)
        143
    """
    return 128 + int(signal_number)


EXIT_FAILED = 1  # the work ran and failed: no usable trial, a diverged run
EXIT_USAGE = 2  # an error the user can fix: a bad key, value or path
EXIT_INTERRUPTED = exit_status_for_signal(signal.SIGINT)  # Ctrl-C: 130
EXIT_BROKEN_PIPE = exit_status_for_signal(signal.SIGPIPE)  # the reader of standard output went away: 141


def a_task(task):
    """``task`` after its indefinite article, as it is read aloud ("an el-em").

    Example:
        >>> a_task("lm"), a_task("seq2seq")
        ('an lm', 'a seq2seq')
    """
    return f"{'an' if task in ('lm', 'mlm', 'embedding') else 'a'} {task}"


def counted(number, noun):
    """``number`` and ``noun``, plural unless it is one.

    Example:
        >>> counted(1, "trial"), counted(2, "replica")
        ('1 trial', '2 replicas')
    """
    return f"{number} {noun}{'' if number == 1 else 's'}"


def error(command, message):
    """Print ``zoo <command>: error: <message>`` on standard error in one write.

    ``print`` writes a line and its newline apart, and a Ctrl-C landing between the two glued the next line
    (the interrupt message) onto this one.

    Args:
        command: The sub-command's name, e.g. ``train``.
        message: What went wrong and how to fix it (any object; its ``str`` is printed, and an exception's
            notes, ``add_note``, each on a line below).

    Example:
        >>> from contextlib import redirect_stderr
        >>> with redirect_stderr(sys.stdout):
        ...     error("train", "config file not found: run.yaml")
        zoo train: error: config file not found: run.yaml
    """
    notes = "".join(f"  {note}\n" for note in getattr(message, "__notes__", ()))
    sys.stderr.write(f"zoo {command}: error: {message}\n{notes}")


def import_tensorflow_quietly(module="tensorflow"):
    """Import ``module`` without TensorFlow's C++ start-up lines on standard error, and return it.

    TensorFlow's libraries print lines on loading (CUDA drivers not found, oneDNN on, ...) straight to the process's
    standard error, which Jupyter shows under the cell; they say nothing about the user's code. So standard error is
    pointed at ``os.devnull`` during the import (an import error is still raised; in Jupyter, whose ``sys.stderr`` is
    not that file descriptor, a Python warning still shows). ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3, which hides
    the lines logged later (a failed ``cuInit`` on a machine without a GPU is an ERROR line); a level the user set
    is kept.

    Args:
        module: What to import: ``"tensorflow"``, or ``"keras"``, which loads TensorFlow on its TensorFlow backend.

    Example:
        >>> import_tensorflow_quietly().__name__
        'tensorflow'
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            return importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
