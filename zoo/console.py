"""How every ``zoo`` command fails: one ``zoo <command>: error: ...`` line on standard error, and its exit status.

Kept free of TensorFlow: the command line reports errors before importing it.
"""
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
