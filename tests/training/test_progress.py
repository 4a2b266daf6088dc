"""The terminal progress display."""
import io

from zoo.training.progress import Progress


def test_bar_shows_loss_accuracy_and_speed_then_one_line_per_epoch():
    stream = io.StringIO()
    progress = Progress("bar", stream=stream)
    progress.start_epoch(1, 5, steps=10)
    progress.update(10, 0.4321, 0.875, 1234.0)
    progress.end_epoch({"loss": 0.4321, "accuracy": 0.875, "val_loss": 0.5, "val_accuracy": 0.8,
                        "examples_per_s": 1234.0})
    text = stream.getvalue()
    assert "\repoch 2/5 [" in text and "10/10 loss 0.4321 acc 0.8750 1,234 ex/s" in text
    assert text.endswith("\n") and "epoch 2/5  loss 0.4321  accuracy 0.8750  val_loss 0.5000  val_accuracy 0.8000" in text


def test_auto_is_one_line_per_epoch_off_a_terminal_and_none_is_silent():
    stream = io.StringIO()
    progress = Progress("auto", stream=stream)
    assert progress.mode == "epoch"
    progress.start_epoch(0, 1, steps=3)
    progress.update(3, 1.0, 0.5, 10.0)
    assert stream.getvalue() == ""
    silent = io.StringIO()
    quiet = Progress("none", stream=silent)
    quiet.message("hello")
    quiet.start_epoch(0, 1, steps=3)
    quiet.end_epoch({"loss": 1.0})
    assert silent.getvalue() == ""
