"""The ``zoo`` command line: parsing, errors naming the key, and ``zoo train`` interrupted then resumed."""
import json
import signal
import subprocess
import time

import pytest
import tensorflow as tf

from tests.training.conftest import PYTHON, subprocess_env, tiny_config, write_tiny_csv
from zoo.cli import build_parser, main
from zoo.config import Config


def test_help_lists_the_train_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "train" in capsys.readouterr().out


def test_train_arguments_parse():
    args = build_parser().parse_args(["train", "--config", "run.yaml", "--data", "trec", "--output", "runs/t",
                                      "--set", "training.epochs=3", "--set", "optimizer.name=sgd"])
    assert (args.config, args.data, args.output) == ("run.yaml", "trec", "runs/t")
    assert args.assignments == ["training.epochs=3", "optimizer.name=sgd"]


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


@pytest.mark.parametrize("argv, message", [
    (["train", "--set", "training.epoch=3"], "unknown key 'training.epoch' (did you mean 'epochs'?)"),
    (["train", "--set", "training.batch_size=-2"], "training.batch_size must be > 0"),
    (["train", "--config", "missing.yaml"], "config file not found: missing.yaml"),
])
def test_bad_arguments_exit_2_naming_the_problem(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_config_then_data_then_set(tmp_path, capsys):
    path = Config.from_dict({"data": {"source": "mr"}, "training": {"epochs": 7}}).save(tmp_path / "run.yaml")
    # An impossible override stops the command before any training, after the earlier layers applied.
    assert main(["train", "--config", str(path), "--data", str(tmp_path / "absent.csv"),
                 "--set", "training.epochs=0"]) == 2
    assert "training.epochs must be > 0, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_sigterm_saves_and_the_same_command_resumes(tmp_path):
    """Exact resumption (weights equal to an uninterrupted run) is tested in tests/training."""
    data = write_tiny_csv(tmp_path / "data.csv", n=1000, seed=2)
    config = tiny_config(data, tmp_path / "run", training={"epochs": 2, "checkpoint_every": 10},
                         output={"progress": "epoch"})
    path = Config.from_dict(config).save(tmp_path / "run.yaml")
    command = [PYTHON, "-m", "zoo.cli", "train", "--config", str(path)]
    checkpoints = tmp_path / "run" / "checkpoints"

    first = subprocess.Popen(command, env=subprocess_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not (checkpoints / "ckpt-10.index").exists():
        assert time.monotonic() < deadline and first.poll() is None, "no checkpoint appeared"
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "training interrupted at epoch" in err and "rerun the same command to resume" in err
    saved = tf.train.latest_checkpoint(str(checkpoints))
    # The signal can land right after the periodic checkpoint at step 10, so that step itself is valid.
    assert 10 <= int(saved.rsplit("-", 1)[1]) < 74, "the interrupt saves the step it stopped at"

    second = subprocess.run(command, env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == str(tmp_path / "run")

    assert f"resuming from {saved}" in second.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2
    assert [r["epoch"] for r in json.loads((tmp_path / "run" / "history.json").read_text())] == [1, 2]


@pytest.mark.slow
def test_commands_hide_tensorflows_start_up_lines_unless_verbose(tmp_path):
    env = subprocess_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")
    absent = tmp_path / "absent"
    error = f"zoo predict: error: model directory not found: {absent}"
    command = [PYTHON, "-m", "zoo.cli", "predict", str(absent), "a text"]
    quiet = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 2 and quiet.stderr.splitlines() == [error], quiet.stderr
    verbose = subprocess.run(command + ["--verbose"], env=env, capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 2 and verbose.stderr.splitlines()[-1].endswith(error), verbose.stderr
