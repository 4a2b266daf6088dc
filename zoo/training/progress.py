"""Terminal progress: a live bar with loss, accuracy and examples/s, or one line per epoch when not a TTY."""
import sys
import time

MODES = ("auto", "bar", "epoch", "none")


def _format_duration(seconds):
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Shows training progress on ``stream``.

    Args:
        mode: ``bar`` (a bar redrawn in place, at most 10 times a second), ``epoch`` (one line per epoch),
            ``none``, or ``auto`` (``bar`` on a terminal, else ``epoch``).
        stream: Where to write; standard error by default.
        width: Characters of the bar itself.

    Example:
        >>> progress = Progress("epoch")
        >>> progress.start_epoch(0, 3, steps=100)
        >>> progress.end_epoch({"loss": 0.51, "accuracy": 0.75, "val_loss": 0.48, "val_accuracy": 0.77})
    """

    def __init__(self, mode="auto", stream=None, width=24):
        if mode not in MODES:
            raise ValueError(f"output.progress must be one of {', '.join(MODES)}, got {mode!r}")
        self.stream = sys.stderr if stream is None else stream
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "epoch"
        self.mode = mode
        self.width = width
        self._last_draw = 0.0
        self._line_length = 0

    def message(self, text):
        """Print a line (not in ``none`` mode)."""
        if self.mode != "none":
            self._clear()
            print(text, file=self.stream, flush=True)

    def start_epoch(self, epoch, epochs, steps, start_step=0):
        """Begin epoch ``epoch`` (0-based) of ``epochs`` with ``steps`` steps, resuming at ``start_step``."""
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self._epoch_start = time.perf_counter()
        self._start_step = start_step

    def update(self, step, loss, accuracy, examples_per_s):
        """Redraw the bar after ``step`` steps of the epoch (``bar`` mode, throttled)."""
        if self.mode != "bar":
            return
        now = time.perf_counter()
        if step < self.steps and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        done = int(self.width * step / max(self.steps, 1))
        bar = "=" * max(done - 1, 0) + (">" if 0 < done < self.width else "=" if done else "") \
            + "." * (self.width - done)
        taken = max(step - self._start_step, 1)
        eta = (now - self._epoch_start) / taken * (self.steps - step)
        line = (f"epoch {self.epoch + 1}/{self.epochs} [{bar}] {step}/{self.steps} "
                f"loss {loss:.4f} acc {accuracy:.4f} {examples_per_s:,.0f} ex/s ETA {_format_duration(eta)}")
        self.stream.write("\r" + line + " " * max(self._line_length - len(line), 0))
        self.stream.flush()
        self._line_length = len(line)

    def end_epoch(self, record):
        """Finish the epoch with its history ``record`` (loss, accuracy, validation metrics, speed)."""
        if self.mode == "none":
            return
        self._clear()
        parts = [f"epoch {self.epoch + 1}/{self.epochs}"]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in record:
                parts.append(f"{key} {record[key]:.4f}")
        if "examples_per_s" in record:
            parts.append(f"{record['examples_per_s']:,.0f} ex/s")
        parts.append(_format_duration(time.perf_counter() - self._epoch_start))
        print("  ".join(parts), file=self.stream, flush=True)

    def _clear(self):
        if self.mode == "bar" and self._line_length:
            self.stream.write("\r" + " " * self._line_length + "\r")
            self._line_length = 0
