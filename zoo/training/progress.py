"""Training progress: a tqdm bar inside each epoch (a widget in Jupyter), or one line per epoch off a terminal."""
import sys
import time

from zoo.config import PROGRESS_MODES


def _format_duration(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def in_jupyter():
    """True inside a Jupyter kernel, where ``tqdm.auto`` draws a widget (the test ``tqdm.autonotebook`` makes).

    The kernel's standard error is no terminal, so without this check a notebook would get epoch lines only.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config


def shows_bar(stream):
    """Whether a progress bar belongs on ``stream``: a terminal, or Jupyter (where tqdm draws a widget).

    A log or a pipe gets none: tqdm redraws with carriage returns, which pile up there as one long line.

    Example:
        >>> import io
        >>> shows_bar(io.StringIO())
        False
    """
    return getattr(stream, "isatty", lambda: False)() or in_jupyter()


class Progress:
    """Shows training progress on ``stream``.

    Args:
        mode: ``bar`` (a ``tqdm.auto`` bar per epoch: steps, ETA, running loss and accuracy, examples/s,
            then the epoch's line), ``epoch`` (one line per epoch), ``none``, or ``auto`` (``bar`` on a
            terminal or in Jupyter, else ``epoch``: logs and pipes get no redrawn lines).
        stream: Where to write; standard error by default (Jupyter shows a widget instead of the bar).

    Example:
        >>> import sys
        >>> progress = Progress("epoch", stream=sys.stdout)
        >>> progress.start_epoch(0, 3, steps=100)
        >>> progress.end_epoch({"loss": 0.51, "accuracy": 0.75, "val_loss": 0.48, "val_accuracy": 0.77})
        epoch 1/3  loss 0.5100  accuracy 0.7500  val_loss 0.4800  val_accuracy 0.7700  ...s
    """

    def __init__(self, mode="auto", stream=None):
        if mode not in PROGRESS_MODES:
            raise ValueError(f"output.progress must be one of {', '.join(PROGRESS_MODES)}, got {mode!r}")
        self.stream = sys.stderr if stream is None else stream
        if mode == "auto":
            mode = "bar" if shows_bar(self.stream) else "epoch"
        self.mode = mode
        self._bar = None

    def message(self, text):
        """Print a line (not in ``none`` mode)."""
        if self.mode != "none":
            self.close()
            self._line(text)

    def start_epoch(self, epoch, epochs, steps, start_step=0):
        """Begin epoch ``epoch`` (0-based) of ``epochs`` with ``steps`` steps, resuming at ``start_step``."""
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self._epoch_start = time.perf_counter()
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.close()
            self._bar = tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}/{epochs}", unit="step",
                             file=self.stream, leave=False, dynamic_ncols=True)

    def update(self, step, loss, accuracy, examples_per_s):
        """Advance the bar to ``step`` steps of the epoch, with the running loss, accuracy and speed."""
        if self._bar is None:
            return
        self._bar.set_postfix_str(f"loss {loss:.4f} acc {accuracy:.4f} {examples_per_s:,.0f} ex/s", refresh=False)
        self._bar.update(step - self._bar.n)

    def end_epoch(self, record):
        """Finish the epoch with its history ``record`` (loss, accuracy, validation metrics, speed)."""
        if self.mode == "none":
            return
        self.close()
        parts = [f"epoch {self.epoch + 1}/{self.epochs}"]
        # Token tasks (lm, mlm, seq2seq) also report perplexity, the figure their runs are judged by.
        for key in ("loss", "accuracy", "perplexity", "val_loss", "val_accuracy", "val_perplexity"):
            if key in record:
                parts.append(f"{key} {record[key]:.4f}")
        if "examples_per_s" in record:
            parts.append(f"{record['examples_per_s']:,.0f} ex/s")
        parts.append(_format_duration(time.perf_counter() - self._epoch_start))
        self._line("  ".join(parts))

    def _line(self, text):
        # One write with its newline: print writes the two apart, and a Ctrl-C landing between them left the
        # command line's interrupt message glued to the end of the line.
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self):
        """Remove an unfinished bar (training stopped inside an epoch), so that what follows starts a line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
