"""How every ``zoo`` command fails: one ``zoo <command>: error: ...`` line on standard error, and its exit status.

Kept free of TensorFlow: the command line reports errors before importing it.
"""
import sys

EXIT_FAILED = 1  # the work ran and failed: no usable trial, a diverged run
EXIT_USAGE = 2  # an error the user can fix: a bad key, value or path
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process stopped by Ctrl-C


def error(command, message):
    """Print ``zoo <command>: error: <message>`` on standard error in one write.

    ``print`` writes a line and its newline apart, and a Ctrl-C landing between the two glued the next line
    (the interrupt message) onto this one.

    Args:
        command: The sub-command's name, e.g. ``train``.
        message: What went wrong and how to fix it (any object; its ``str`` is printed).

    Example:
        >>> error("train", "config file not found: run.yaml")  # doctest: +SKIP
    """
    sys.stderr.write(f"zoo {command}: error: {message}\n")
