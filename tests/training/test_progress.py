"""The progress display: a bar inside the epoch on a terminal or in Jupyter, one line per epoch elsewhere."""
import io
import math
import re
import time

import pytest

from zoo.training.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_shows_steps_eta_running_loss_and_speed_then_one_line_per_epoch():
    stream = Terminal()
    progress = Progress("auto", stream=stream)
    assert progress.mode == "bar"
    progress.start_epoch(1, 5, steps=10)
    for step in range(1, 4):
        time.sleep(0.15)  # the bar redraws at most 10 times a second
        progress.update(step, 0.5 - step / 100, 0.875, 1234.0)
    drawn = stream.getvalue()
    # The step count, the time left (tqdm's "elapsed<remaining"), the running loss and accuracy, examples/s.
    assert re.search(r"epoch 2/5: +30%\|.*\| 3/10 \[\d\d:\d\d<\d\d:\d\d, .*loss 0\.4700 acc 0\.8750 1,234 ex/s\]",
                     drawn), drawn
    progress.end_epoch({"loss": 0.47, "accuracy": 0.875, "val_loss": 0.5, "val_accuracy": 0.8,
                        "examples_per_s": 1234.0})
    last_line = stream.getvalue().rsplit("\r", 1)[-1]
    assert last_line.lstrip().startswith("epoch 2/5  loss 0.4700  accuracy 0.8750  val_loss 0.5000  "
                                         "val_accuracy 0.8000  1,234 ex/s")
    assert last_line.endswith("\n")


def test_a_resumed_epoch_starts_its_bar_at_the_resumed_step():
    stream = Terminal()
    progress = Progress("bar", stream=stream)
    progress.start_epoch(0, 1, steps=100, start_step=40)
    time.sleep(0.15)
    progress.update(41, 1.0, 0.5, 10.0)
    assert "41/100" in stream.getvalue()
    progress.close()


def test_auto_is_one_line_per_epoch_off_a_terminal_and_none_is_silent():
    stream = io.StringIO()
    progress = Progress("auto", stream=stream)
    assert progress.mode == "epoch"
    progress.start_epoch(0, 1, steps=3)
    progress.update(3, 1.0, 0.5, 10.0)
    assert stream.getvalue() == ""
    progress.end_epoch({"loss": 1.0})
    assert stream.getvalue().startswith("epoch 1/1  loss 1.0000")
    silent = io.StringIO()
    quiet = Progress("none", stream=silent)
    quiet.message("hello")
    quiet.start_epoch(0, 1, steps=3)
    quiet.end_epoch({"loss": 1.0})
    assert silent.getvalue() == ""


class Writes(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, text):
        self.writes.append(text)
        return super().write(text)


def test_each_line_is_one_write_so_a_ctrl_c_cannot_leave_it_without_its_newline():
    stream = Writes()
    progress = Progress("epoch", stream=stream)
    progress.message("precision float32 (training.precision: float32)")
    progress.start_epoch(0, 1, steps=10)
    progress.end_epoch({"loss": 0.5})
    assert len(stream.writes) == 2 and all(w.endswith("\n") and w.count("\n") == 1 for w in stream.writes), \
        stream.writes


def test_bad_mode_names_the_key():
    with pytest.raises(ValueError, match="output.progress must be one of auto, bar, epoch, none"):
        Progress("fancy")


@pytest.mark.slow
def test_jupyter_gets_the_tqdm_widget_without_a_warning():
    """In a real kernel (stderr is no terminal there), ``auto`` draws tqdm.auto's widget, with no warning."""
    from nbclient import NotebookClient
    import nbformat

    code = ("import warnings\nwarnings.simplefilter('error')\nfrom zoo.training.progress import Progress\n"
            "p = Progress('auto')\nprint(p.mode)\np.start_epoch(0, 1, steps=4)\np.update(2, 0.7, 0.5, 100.0)\n"
            "p.close()")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False).execute()
    outputs = nb.cells[0].outputs
    assert [o.get("text", "").strip() for o in outputs if o.output_type == "stream"] == ["bar"], outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs
    assert not any(o.get("name") == "stderr" for o in outputs), outputs


def test_a_token_tasks_epoch_line_shows_its_perplexity():
    # lm, mlm and seq2seq runs are judged by perplexity: history.json had it, the epoch line did not.
    stream = io.StringIO()
    progress = Progress("epoch", stream=stream)
    progress.start_epoch(0, 1, steps=1)
    progress.end_epoch({"loss": 2.0, "accuracy": 0.5, "perplexity": math.exp(2.0), "val_loss": 3.0,
                        "val_accuracy": 0.25, "val_perplexity": math.inf})
    assert stream.getvalue().startswith("epoch 1/1  loss 2.0000  accuracy 0.5000  perplexity 7.3891  val_loss 3.0000  "
                                        "val_accuracy 0.2500  val_perplexity inf  ")
