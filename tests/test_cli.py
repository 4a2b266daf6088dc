"""The ``zoo`` command line: parsing, errors naming the key, and ``zoo train`` interrupted then resumed."""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import tensorflow as tf

from tests.training.conftest import PYTHON, free_port, subprocess_env, terminal_sigint, tiny_config, write_tiny_csv
from zoo.cli import TRAIN_INTERRUPTED, build_parser, main
from zoo.config import Config
from zoo.training.strategies import ONE_WORKER_TF_CONFIG


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


@pytest.mark.parametrize("argv, message", [
    (["train", "--config", "a.yaml", "--config", "b.yaml"],
     "zoo train: error: --config given twice (a.yaml, then b.yaml)"),
    (["predict", "m", "t", "--input", "a.txt", "--input", "b.txt"], "zoo predict: error: --input given twice"),
    (["cv", "--config", "absent.yaml", "--folds", "5", "--folds", "10"],
     "zoo cv: error: --folds given twice (5, then 10); give it once"),
])
def test_an_option_given_twice_is_an_error(argv, message, capsys):
    # argparse kept the last silently: the first config file was ignored.
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_an_unknown_option_is_named_with_its_command_s_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "saved_models/rev", "a text", "--bogus"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("usage: zoo predict ")
    assert err.endswith("zoo predict: error: unrecognized arguments: --bogus\n")


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


@pytest.mark.parametrize("argv, message", [
    (["train", "--set", "training.epoch=3"], "unknown key 'training.epoch' (did you mean 'epochs'?)"),
    (["train", "--set", "training.batch_size=-2"], "training.batch_size must be > 0"),
    (["train", "--config", "missing.yaml"], "config file not found: missing.yaml"),
    # `--pretrained "$CKPT"` with CKPT unset trained from scratch without a word
    (["train", "--pretrained", ""], "model.init_from is empty; give a value, or leave the key out for its default"),
    (["train", "--output", " "], "output.dir is empty"),
    (["train", "--set", "data.test_source="], "data.test_source is empty"),
    # --set won silently: the run trained from the --set path, not the --pretrained one.
    (["train", "--pretrained", "ckpt", "--set", "model.init_from=runs/rev"],
     "--pretrained and --set model.init_from=runs/rev both set model.init_from: give one of them"),
    (["tune", "--data", "mr", "--set", " data.source = trec"],
     "--data and --set  data.source = trec both set data.source: give one of them"),
    (["cv", "--data", "mr", "--set", "data.source=trec"],
     "--data and --set data.source=trec both set data.source: give one of them"),
    # A key given twice trained with the last value, without a word (missing.csv: an error if it went on).
    (["train", "--data", "missing.csv", "--set", "training.epochs=1", "--set", "training.epochs=3"],
     "training.epochs is set twice, by --set training.epochs=1 and --set training.epochs=3; give it once"),
    (["pretrain", "--data", "missing.csv", "--set", "model.overrides={num_layers: 1}",
      "--set", "model.overrides.num_layers=2"],
     "model.overrides holds model.overrides.num_layers, and --set model.overrides={num_layers: 1} and --set "
     "model.overrides.num_layers=2 both set it; give one of them (or num_layers inside model.overrides's value)"),
    (["tune", "--data", "missing.csv", "--set", "tuning.patience=1", "--set", " tuning.patience = 2"],
     "tuning.patience is set twice, by --set tuning.patience=1 and --set  tuning.patience = 2; give it once"),
    (["cv", "--data", "missing.csv", "--set", "training.epochs=1", "--set", "training.epochs=3"],
     "training.epochs is set twice, by --set training.epochs=1 and --set training.epochs=3; give it once"),
])
def test_bad_arguments_exit_2_naming_the_problem(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option, value, message", [
    # These named the Python arguments (`top_p`), where --num-beams' error names its flag too.
    ("--top-p", "1.5", "top_p (--top-p) must be in (0, 1], got 1.5"),
    ("--temperature", "0", "temperature (--temperature) must be a positive number, got 0.0"),
    ("--top-k", "0", "top_k (--top-k) must be a positive integer, got 0"),
])
def test_zoo_generate_names_the_flag_of_a_bad_sampling_option(option, value, message, tmp_path, capsys):
    # Checked before the run is read: the run directory need not exist.
    assert main(["generate", str(tmp_path / "no-run"), "a film", "--method", "sample", option, value]) == 2
    assert capsys.readouterr().err.endswith(f"zoo generate: error: {message}\n")


def test_the_error_line_is_one_write_so_a_ctrl_c_cannot_split_it(monkeypatch):
    writes = []
    monkeypatch.setattr(sys, "stderr", type("Writes", (), {"write": writes.append, "flush": lambda self: None})())
    assert main(["train", "--config", "missing.yaml"]) == 2
    assert writes == ["zoo train: error: config file not found: missing.yaml\n"]


def test_a_config_file_not_in_utf8_exits_2_naming_the_file_and_line(tmp_path, capsys):
    # It was a UnicodeDecodeError traceback and exit status 1.
    path = tmp_path / "run.yaml"
    path.write_bytes("data:\n  source: café.csv\n".encode("latin-1"))
    assert main(["train", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (f"zoo train: error: {path}: line 2: not UTF-8 (byte 0xe9); save the file as "
                                       "UTF-8\n")


@pytest.mark.parametrize("command", ["train", "cv"])
def test_a_data_error_names_the_config_keys_of_its_fix(command, tmp_path, capsys):
    # The fix was named only as zoo.data.load's arguments (text_column=, header=False), which the command line
    # sets as data.load_options.* keys.
    path = tmp_path / "reviews.csv"
    path.write_text("sentence,score\na great film,1\na dull film,0\n", encoding="utf-8")
    assert main([command, "--data", str(path), "--output" if command == "train" else "--out",
                 str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (
        f"zoo {command}: error: {path}, line 1, column 'text': text column 'text' does not exist; the header has "
        "['sentence', 'score']: name the column with text_column=, or, if line 1 is an example rather than a "
        "header, pass header=False and column indices\n"
        "  in a run config, these are data.load_options.text_column and data.load_options.header "
        "(--set data.load_options.text_column=...)\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("setting, message", [
    ("data.vocab_size=3", "data.vocab_size: vocab_size=3 is too small: the 5 reserved tokens"),
    ("data.tokenizer_options.min_count=1000", "data.tokenizer_options.min_count: min_count=1000 leaves no token"),
    ("data.tokenizer_options.bogus=1", "data.tokenizer_options.bogus: a word tokenizer has no option 'bogus'; its "
                                       "options: min_count, name, split"),
])
def test_a_tokenizer_setting_that_cannot_work_names_its_key(setting, message, tmp_path, capsys):
    # Each was "data.tokenizer / data.tokenizer_options / data.cleaning: ...", the size's with "column 'vocab_size'",
    # the unknown option's with Python's "__init__() got an unexpected keyword argument".
    data = write_tiny_csv(tmp_path / "d.csv", n=40)
    assert main(["train", "--data", str(data), "--set", "data.tokenizer=word", "--set", setting,
                 "--output", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.startswith(f"zoo train: error: {message}")


def test_a_reader_closing_standard_output_ends_the_command_quietly_with_141(tmp_path):
    # `zoo predict ... | head -1` ended in a BrokenPipeError traceback and exit status 1.
    (tmp_path / "many_lines.py").write_text(
        "import sys\n"
        "import zoo.cli\n"
        "def handler(args):\n"
        "    for i in range(100000):\n"
        "        print(i)\n"
        "    return 0\n"
        "zoo.cli.run_train = handler\n"
        "sys.exit(zoo.cli.main(['train', '--verbose']))\n")  # --verbose: no TensorFlow import
    child = subprocess.Popen([PYTHON, "-m", "many_lines"], env=subprocess_env(), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline() == b"0\n"
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 128 + signal.SIGPIPE and err == "", err


def test_zoo_pretrain_defaults_sit_under_its_config_file(tmp_path):
    # With --config, zoo pretrain dropped its defaults: the same keys in a file instead of --set trained with
    # label smoothing 0.1, and a file without model.name was refused as a classification model.
    from zoo.cli import PRETRAIN_DEFAULTS, _config

    path = tmp_path / "pre.yaml"
    path.write_text("data:\n  source: mr\ntraining:\n  epochs: 1\n")
    from_file = _config(build_parser().parse_args(["pretrain", "--config", str(path)]), "pretrain", PRETRAIN_DEFAULTS)
    from_flags = _config(build_parser().parse_args(["pretrain", "--data", "mr", "--set", "training.epochs=1"]),
                         "pretrain", PRETRAIN_DEFAULTS)
    assert from_file == from_flags
    assert (from_file.model.name, from_file.training.label_smoothing, from_file.training.epochs) == ("mlm", 0.0, 1)
    path.write_text("model:\n  name: lm\ntraining:\n  label_smoothing: 0.05\n")  # the file's keys win
    given = _config(build_parser().parse_args(["pretrain", "--config", str(path)]), "pretrain", PRETRAIN_DEFAULTS)
    assert (given.model.name, given.training.label_smoothing) == ("lm", 0.05)


@pytest.mark.parametrize("text_pairs", [False, True])
def test_the_next_commands_run_as_pasted_when_the_run_directory_has_spaces(text_pairs, capsys):
    # They printed `zoo evaluate runs/my run`, which evaluates runs/my.
    from zoo.cli import print_next_commands

    result = types.SimpleNamespace(run_dir=Path("runs/my run"), config=Config(), metrics={"task": "classification"},
                                   text_pairs=text_pairs, example_input=(), chief="")
    print_next_commands(result)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "next:"
    texts = ["a gripping film", "the film grips"] if text_pairs else ["a gripping film"]
    assert [shlex.split(line) for line in lines[1:]] == [
        ["zoo", "evaluate", "runs/my run"], ["zoo", "export", "runs/my run"],
        ["zoo", "predict", "saved_models/my run", *texts]]


@pytest.mark.parametrize("example", [("Free entry! Text WIN to 8007 for £1,000 \"cash\" $$$",),
                                     ("what's the film's name ?", "a `grip`"), ("it's it",)])
def test_the_next_commands_show_an_example_of_the_run_s_own_data_quoted_for_the_shell(example, capsys):
    # An sms_spam run was told to predict "a gripping , beautifully acted film".
    from zoo.cli import print_next_commands

    result = types.SimpleNamespace(run_dir=Path("runs/sms"), config=Config(), metrics={"task": "classification"},
                                   text_pairs=len(example) == 2, example_input=example, chief="")
    print_next_commands(result)
    assert shlex.split(capsys.readouterr().err.splitlines()[-1]) == ["zoo", "predict", "saved_models/sms", *example]


@pytest.mark.parametrize("splits, command", [
    ({}, ["zoo", "evaluate", "runs/held out"]),
    # It printed `zoo evaluate RUN`, which fails with "run RUN has no test split".
    ({"test_split": 0}, ["zoo", "evaluate", "runs/held out", "--split", "validation"]),
    ({"test_split": 0, "validation_split": 0}, ["zoo", "evaluate", "runs/held out", "--data", "FILE"]),
    ({"test_split": 0, "validation_split": 0, "validation_source": "dev.csv"},
     ["zoo", "evaluate", "runs/held out", "--split", "validation"]),
])
def test_the_next_evaluate_command_scores_a_split_the_run_held_out(splits, command, capsys):
    from zoo.cli import print_next_commands

    config = Config.from_dict({"data": {"source": "mr", **splits}})
    print_next_commands(types.SimpleNamespace(run_dir=Path("runs/held out"), config=config,
                                               metrics={"task": "classification"}, text_pairs=False, example_input=(),
                                               chief=""))
    assert shlex.split(capsys.readouterr().err.splitlines()[1], comments=True) == command


@pytest.mark.parametrize("task, last", [("lm", ["zoo", "generate", "runs/lm", "the film"]),
                                        ("seq2seq", ["zoo", "generate", "runs/lm", "the film"]),
                                        ("mlm", ["zoo", "train", "--pretrained", "runs/lm"])])
def test_the_next_commands_of_a_token_run_generate_where_it_can(task, last, capsys):
    from zoo.cli import print_next_commands

    print_next_commands(types.SimpleNamespace(run_dir=Path("runs/lm"), config=Config(), metrics={"task": task},
                                               text_pairs=False, example_input=("the film",), chief=""))
    lines = capsys.readouterr().err.splitlines()
    assert shlex.split(lines[1]) == ["zoo", "evaluate", "runs/lm"] and shlex.split(lines[-1]) == last


def test_a_task_other_than_the_chief_points_at_the_chief_for_the_next_commands(capsys):
    # Worker 1 printed "next: zoo evaluate runs/mw ...": on its own host that directory holds nothing.
    from zoo.cli import print_next_commands

    print_next_commands(types.SimpleNamespace(run_dir=Path("runs/mw"), config=Config(), chief="worker 0",
                                               metrics={"task": "classification"}, text_pairs=False, example_input=()))
    assert capsys.readouterr().err == (
        "next: see the chief's output: the chief (worker 0) wrote the run directory runs/mw, on its host, and lists "
        "the commands to run next (zoo evaluate, ...); this task wrote nothing there\n")


def test_config_then_data_then_set(tmp_path, capsys):
    path = Config.from_dict({"data": {"source": "mr"}, "training": {"epochs": 7}}).save(tmp_path / "run.yaml")
    # An impossible override stops the command before any training, after the earlier layers applied.
    assert main(["train", "--config", str(path), "--data", str(tmp_path / "absent.csv"),
                 "--set", "training.epochs=0"]) == 2
    assert "training.epochs must be > 0, got 0" in capsys.readouterr().err


def _rerun(command, cwd, capsys, monkeypatch):
    """Run a ``python -m zoo.cli ...`` command again, through ``main`` in this process; returns (stdout, stderr).

    The interrupted run was a real process (its signal, exit status and messages are what those tests check); the
    rerun resumes it with the same code, without another Python and TensorFlow start (~6 s of CPU).
    """
    assert command[1:3] == ["-m", "zoo.cli"], command
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = main(command[3:])
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    return out, err


@pytest.mark.slow
def test_sigterm_saves_and_the_same_command_resumes(tmp_path, capsys, monkeypatch):
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

    out, err = _rerun(command, tmp_path, capsys, monkeypatch)
    assert out.strip() == str(tmp_path / "run")
    assert f"resuming from {saved}" in err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 2
    assert [r["epoch"] for r in json.loads((tmp_path / "run" / "history.json").read_text())] == [1, 2]


def test_multi_worker_without_tf_config_stops_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--output", str(tmp_path / "run"), "--set", "distribution.strategy=multi_worker"]) == 2
    assert "zoo train: error: distribution.strategy: multi_worker found no cluster (TF_CONFIG is not set)" in (
        capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_tf_config_under_a_strategy_that_trains_alone_stops_before_any_work(tmp_path, capsys, monkeypatch):
    # Chief and worker so launched each trained alone, writing the same run directory, and exited 0.
    config = {"cluster": {"chief": ["127.0.0.1:2222"], "worker": ["127.0.0.1:2223"]},
              "task": {"type": "chief", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert main(["train", "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: distribution.strategy: default trains in this process alone, but "
                          "TF_CONFIG places it in task chief 0 of a cluster"), err
    assert "set distribution.strategy: multi_worker" in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_stopped_peer_is_one_error_line_with_exit_status_1(monkeypatch, capsys):
    # The survivor of a killed multi_worker task ended in a traceback (UnavailableError: Collective ops is aborted).
    from zoo.training.strategies import PeerStoppedError

    def train(config):
        raise PeerStoppedError("another task of the multi_worker cluster stopped, so worker 0 stopped too")

    monkeypatch.setattr("zoo.training.train", train)
    assert main(["train", "--set", "output.progress=none"]) == 1
    assert capsys.readouterr().err == ("zoo train: error: another task of the multi_worker cluster stopped, so "
                                       "worker 0 stopped too\n")


def test_an_output_under_a_file_says_the_run_directory_cannot_be_created(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    data = write_tiny_csv(tmp_path / "data.csv", n=40)
    assert main(["train", "--data", str(data), "--output", str(tmp_path / "afile" / "run")]) == 2
    assert capsys.readouterr().err == (f"zoo train: error: cannot create the run directory {tmp_path}/afile/run: "
                                       f"{tmp_path}/afile is a file, not a directory; set output.dir (--output) to "
                                       "a directory you can write\n")


class _Child:
    """``zoo train`` in a child process whose stderr is read line by line as it comes."""

    def __init__(self, config_path, cwd, **env):
        self.process = subprocess.Popen([PYTHON, "-m", "zoo.cli", "train", "--config", str(config_path)],
                                        env=subprocess_env(**env), cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, preexec_fn=terminal_sigint)
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True)
        self.reader.start()

    def wait_for(self, ready, what, timeout=240):
        deadline = time.monotonic() + timeout
        while not ready(self):
            assert self.process.poll() is None, f"exited before {what}: " + "".join(self.lines)[-2000:]
            assert time.monotonic() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.01)

    def interrupt(self):
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=120)
        self.reader.join(timeout=10)
        return self.process.returncode, "".join(self.lines)


def _importing_tensorflow(child):
    with open(f"/proc/{child.process.pid}/maps") as maps:
        return "libtensorflow_framework" in maps.read()


def _shown(text):
    return lambda child: any(line.startswith(text) for line in child.lines)


@pytest.mark.slow
@pytest.mark.parametrize("moment, ready", [
    ("importing TensorFlow", _importing_tensorflow),
    ("the data is loaded, before the loop", _shown("training in ")),
    ("in the loop, after a checkpoint", lambda child: any(child.run_dir.glob("checkpoints/ckpt-*.index"))),
    ("after the last epoch", _shown("epoch 2/2")),
])
def test_ctrl_c_at_any_moment_exits_130_with_one_line_and_a_usable_run_directory(tmp_path, moment, ready, capsys,
                                                                                 monkeypatch):
    data = write_tiny_csv(tmp_path / "data.csv", n=1000, seed=2)
    config = tiny_config(data, tmp_path / "run", training={"epochs": 2, "checkpoint_every": 10},
                         output={"progress": "epoch", "tensorboard": False})
    path = Config.from_dict(config).save(tmp_path / "run.yaml")
    child = _Child(path, tmp_path)
    child.run_dir = tmp_path / "run"
    child.wait_for(ready, moment)
    code, err = child.interrupt()
    ours = [line for line in err.splitlines() if line.startswith("zoo train:")]
    assert code == 130 and "Traceback" not in err and len(ours) == 1, err[-3000:]
    assert "interrupted" in ours[0], ours
    if moment in ("importing TensorFlow", "the data is loaded, before the loop"):
        assert not child.run_dir.exists(), "nothing is written before the run has passed its checks"
    if moment != "after the last epoch":
        return  # resuming from a checkpoint saved in the loop: test_sigterm_saves_and_the_same_command_resumes
    if (child.run_dir / "metrics.json").is_file():
        # The signal landed after the test split's metrics were written: the run is finished, and says so.
        assert ours[0] == (f'zoo train: error: interrupted (Ctrl-C) after the run finished: {child.run_dir} holds '
                           f'it (zoo evaluate "{child.run_dir}")'), ours
        return
    _, err = _rerun(child.process.args, tmp_path, capsys, monkeypatch)
    assert "training was complete; finishing the run from" in err
    assert json.loads((child.run_dir / "metrics.json").read_text())["epochs_completed"] == 2


@pytest.mark.parametrize("finished", [True, False])
def test_ctrl_c_after_the_run_finished_says_it_finished_not_to_rerun(tmp_path, capsys, monkeypatch, finished):
    # It said "rerun the same command to resume", and the rerun refused the finished run.
    import zoo.training
    import zoo.training.run  # noqa: F401 (imported by a real run before its metrics can exist)

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    old = run_dir / "metrics.json"
    if not finished:  # an earlier run's metrics, older than this command: not this run's end
        old.write_text("{}")
        os.utime(old, (0, 0))

    def train(config):
        if finished:
            (run_dir / "metrics.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo.training, "train", train)
    assert main(["train", "--output", str(run_dir)]) == 130
    said = capsys.readouterr().err.strip()
    assert said == (f'zoo train: error: interrupted (Ctrl-C) after the run finished: {run_dir} holds it (zoo '
                    f'evaluate "{run_dir}")' if finished else f"zoo train: error: {TRAIN_INTERRUPTED}")


def test_ctrl_c_that_escaped_a_string_exec_still_exits_130_under_python_m(tmp_path):
    # CPython kills a `python -m` process by SIGINT at exit once a KeyboardInterrupt escaped an exec of source
    # (a dataclass or namedtuple being defined when Ctrl-C lands), whatever status the program returned.
    (tmp_path / "interrupted_in_exec.py").write_text(
        "import sys\n"
        "import zoo.cli\n"
        "def handler(args):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "zoo.cli.run_train = handler\n"
        "sys.exit(zoo.cli.main(['train', '--verbose']))\n")  # --verbose: no quiet TensorFlow import
    result = subprocess.run([PYTHON, "-m", "interrupted_in_exec"], env=subprocess_env(), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 130, (result.returncode, result.stderr[-2000:])
    assert result.stderr.splitlines()[-1].startswith("zoo train: error: interrupted"), result.stderr


@pytest.mark.slow
def test_a_one_worker_cluster_runs_when_tf_config_says_so(tmp_path):
    data = write_tiny_csv(tmp_path / "data.csv", n=200)
    config = tiny_config(data, tmp_path / "run", training={"epochs": 1},
                         distribution={"strategy": "multi_worker"})
    path = Config.from_dict(config).save(tmp_path / "run.yaml")
    tf_config = ONE_WORKER_TF_CONFIG.replace("localhost:12345", f"127.0.0.1:{free_port()}")
    result = subprocess.run([PYTHON, "-m", "zoo.cli", "train", "--config", str(path)],
                            env=subprocess_env(TF_CONFIG=tf_config), cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["strategy"], metrics["replicas"]) == ("multi_worker", 1)


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
