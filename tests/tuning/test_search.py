"""``zoo.tune`` end to end on a tiny data set: resume, tables, best config, failures, tuners, strategies."""
import argparse
import csv
import json
import re
import shlex
import signal
from pathlib import Path

import keras
import keras_tuner
import pytest
import yaml
from keras_tuner.engine.trial import TrialStatus

from tests.tuning.conftest import search_config, write_texts
from zoo.config import Config, ConfigError
from zoo.paths import OutputPathError
from zoo.training import TrainingInterrupted, train
from zoo.tuning.cli import add_tune_command
from zoo.tuning.hypermodel import ZooHyperModel, trial_config
from zoo.tuning.search import TuneDirectoryError, retrain, tune
from zoo.tuning.settings import load_search
from zoo.tuning.space import SearchSpace
from zoo.tuning.trial import prepare_data
from zoo.tuning.tuners import hyperband_trials, make_tuner


class _InterruptAt:
    """A progress stream that sends this process SIGINT when it shows ``line`` after showing ``after``."""

    def __init__(self, after, line):
        self.after, self.line, self.seen, self.sent = after, line, False, False

    def write(self, text):
        if self.after in text:
            self.seen = True
        elif self.seen and not self.sent and self.line in text:
            self.sent = True
            signal.raise_signal(signal.SIGINT)

    def flush(self):
        pass


@pytest.fixture(scope="module")
def interrupted(texts_csv, tmp_path_factory):
    """A two-trial search interrupted by SIGINT after the first epoch of trial 1: (config, stream, error, csv)."""
    directory = tmp_path_factory.mktemp("search") / "tiny-tuning"
    config = search_config(texts_csv, directory, max_trials=2)
    stream = _InterruptAt("trial 1 started", "epoch 1/2")
    with pytest.raises(TrainingInterrupted) as error:
        tune(config, overrides=["output.progress=epoch"], progress_stream=stream)
    partial = (directory / "results.csv").read_text()
    return config, stream, error.value, partial


@pytest.fixture(scope="module")
def search(interrupted):
    """The interrupted search, rerun to its end (shared by the tests that only read it)."""
    return tune(interrupted[0])


def _trial_json(directory, trial_id):
    return json.loads((directory / "search" / f"trial_{trial_id}" / "trial.json").read_text())


def run_zoo_tune(config, tmp_path, *flags):
    """``zoo tune --config <config as JSON> FLAGS`` through the command's own parser; its exit status."""
    config["output"]["progress"] = "epoch"
    (tmp_path / "search.json").write_text(json.dumps(config))
    parser = argparse.ArgumentParser(prog="zoo")
    add_tune_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tune", "--config", str(tmp_path / "search.json"), *flags])
    return args.handler(args)


def test_an_interrupted_search_continues_where_it_stopped(interrupted, search):
    _, stream, error, partial = interrupted
    assert stream.sent and error.signal_number == signal.SIGINT
    assert "rerun the same command to continue" in str(error)
    assert "\n0,COMPLETED," in partial and "\n1,RUNNING," in partial
    assert search.ran == ["1"]  # trial 0 is kept; the interrupted trial runs again
    assert [(r.trial_id, r.status) for r in search.trials] == [("0", "COMPLETED"), ("1", "COMPLETED")]


def test_trials_train_exactly_as_zoo_train_does(search, tmp_path):
    # Trial 1 was interrupted and rerun: it must equal a fresh training of its config.
    record = search.trials[1]
    config = trial_config(search.config, search.settings, search.space, record.values)
    heads = record.values["model.overrides.num_heads"]
    assert config.model.overrides["d_model"] == record.values["model.overrides.head_dim"] * heads
    assert config.optimizer.learning_rate == record.values["optimizer.learning_rate"]
    assert (config.training.early_stopping.monitor, config.training.epochs) == ("val_accuracy", 2)
    rerun = train(config.override([f"output.dir={tmp_path / 'run'}", "output.tensorboard=false"]))
    assert max(r["val_accuracy"] for r in rerun.history) == pytest.approx(record.objective, abs=1e-6)
    assert rerun.metrics["best_epoch"] == record.best_epoch
    best = Config.load(search.files["best_config"])
    assert best == search.best_config == trial_config(search.config, search.settings, search.space,
                                                      search.best.values)


def test_results_tables_hold_every_trial(search):
    with open(search.files["results_csv"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["trial", "status", *search.space.keys, "val_accuracy", "best_epoch", "epochs",
                             "seconds", "error"]
    for row in rows:
        stored = _trial_json(search.directory, row["trial"])  # keras-tuner's own record of the trial
        assert row["status"] == stored["status"] == "COMPLETED"
        for key in search.space.keys:
            assert row[key] == str(stored["hyperparameters"]["values"][key])
        assert float(row["val_accuracy"]) == pytest.approx(stored["score"])
        assert row["epochs"] == "2" and 1 <= int(row["best_epoch"]) <= 2 and float(row["seconds"]) > 0
    best = max(rows, key=lambda r: (float(r["val_accuracy"]), -int(r["trial"])))
    assert search.best.trial_id == best["trial"]
    markdown = search.files["results_md"].read_text()
    assert "2 of 2 trials completed" in markdown and f"| {best['trial']} * | COMPLETED |" in markdown


def test_a_finished_search_is_reused_and_its_best_retrained_and_exported(search, tmp_path, capsys):
    from zoo.export import read_metadata

    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search_config(search.config.data.source, search.directory, max_trials=2)))
    parser = argparse.ArgumentParser(prog="zoo")
    add_tune_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["tune", "--config", str(path), "--retrain-best", "--export-to", str(tmp_path / "tiny")])
    assert args.handler(args) == 0
    out, err = capsys.readouterr()
    assert f"2 of 2 trials completed; best trial {search.best.trial_id}" in out
    assert "Reloading Tuner" not in out  # keras-tuner's own line; zoo's says the search continues
    # The next commands name the retrained run and its export (a tuning run printed none).
    assert [shlex.split(line)[:3] for line in err.split("next:\n", 1)[1].splitlines()] == [
        ["zoo", "evaluate", str(search.directory / "best")], ["zoo", "predict", str(tmp_path / "tiny" / "1")]]
    assert sorted(p.name for p in (search.directory / "search").glob("trial_*")) == ["trial_0", "trial_1"]
    run_dir = search.directory / "best"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == {"train": 192, "test": 48}  # train + validation, the test set held out
    assert metrics["epochs_completed"] == search.best.best_epoch
    retrained = Config.load(run_dir / "config.yaml")
    assert retrained.data.validation_split == 0 and retrained.model == search.best_config.model
    assert f"exported: {tmp_path / 'tiny' / '1'}" in out
    assert read_metadata(tmp_path / "tiny" / "1")["label_names"] == ["food", "sport", "tech"]

    finished = (run_dir / "metrics.json").stat().st_mtime_ns
    again, export = retrain(search.best_config, search.best, search.directory, export_to=tmp_path / "tiny")
    assert (run_dir / "metrics.json").stat().st_mtime_ns == finished  # the finished retraining is reused
    assert again.metrics == metrics and export.path == tmp_path / "tiny" / "2"


def test_a_search_suggests_training_its_best_config_in_a_directory_of_its_own(search, tmp_path, capsys,
                                                                              monkeypatch):
    # `zoo train --config best_config.yaml` stopped on the earlier run in the config's default directory.
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search_config(search.config.data.source, search.directory, max_trials=2)))
    assert main(["tune", "--config", str(path)]) == 0
    suggested = shlex.split(capsys.readouterr().err.split("next:\n", 1)[1].splitlines()[0])
    assert suggested == ["zoo", "train", "--config", str(search.directory / "best_config.yaml"), "--output",
                         str(search.directory.with_name("tiny-tuned"))]  # the search's is tiny-tuning
    assert main([*suggested[1:], "--set", "training.epochs=1"]) == 0
    assert (Path(suggested[-1]) / "metrics.json").is_file()


def test_a_search_on_a_validation_file_compares_trials_on_it_and_suggests_no_retraining(tmp_path, capsys,
                                                                                       monkeypatch):
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    config = search_config(write_texts(tmp_path / "train.csv", 120), tmp_path / "search", max_trials=1)
    del config["data"]["validation_split"]
    config["data"]["validation_source"] = str(write_texts(tmp_path / "dev.csv", 30, seed=1))
    config["training"]["epochs"] = 1
    data = prepare_data(Config.from_dict({key: value for key, value in config.items() if key != "tuning"}))
    assert len(data["validation"][1]) == 30 and len(data["train"][1]) == 96  # 20 % of 120 held out for test
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["tune", "--config", str(path)]) == 0
    # It suggested --retrain-best, which refuses a validation file (it cannot join the training data).
    assert capsys.readouterr().err.split("next:\n", 1)[1] == (
        f"  zoo train --config {tmp_path / 'search' / 'best_config.yaml'} --output {tmp_path / 'search-tuned'}\n")


def test_a_different_config_is_not_mixed_into_an_existing_search(search):
    config = search_config(search.config.data.source, search.directory, max_trials=2)
    config["optimizer"]["name"] = "sgd"
    with pytest.raises(TuneDirectoryError, match="optimizer.name: 'adam' -> 'sgd'") as error:
        tune(config)
    # It named only the config keys, while `zoo tune` users set them with --directory and --overwrite.
    assert str(error.value).endswith("rerun with its config to continue it, or set tuning.directory (--directory) "
                                     "to a new directory, or tuning.overwrite: true (--overwrite) to start afresh")


def test_a_search_on_data_edited_at_the_same_path_is_refused_until_overwritten(tmp_path):
    # `cp imb.csv t.csv` between two runs left search.yaml alike: the rerun ranked trials on the new rows against
    # the trial on the old ones, and its best was a majority-class rate of the new data.
    data = write_texts(tmp_path / "t.csv", 120)
    directory = tmp_path / "search"
    config = search_config(data, directory, max_trials=1, epochs=1)
    config["tuning"]["space"] = {"optimizer.learning_rate": [3e-3, 1e-2]}
    tune(config)
    write_texts(data, 120, seed=1)
    with pytest.raises(TuneDirectoryError) as error:
        tune(config, tuning={"max_trials": 2})
    recorded = json.loads((directory / "data_fingerprint.json").read_text())
    train, validation = recorded["train"]["examples"], recorded["validation"]["examples"]
    assert str(error.value) == (
        f"{directory} holds a search on other data: the train split ({data} [train], {train} examples then, {train} "
        f"now) and the validation split ({data} [val], {validation} examples then, {validation} now) differ from the "
        f"examples its trials trained on ({directory / 'data_fingerprint.json'}); restore the data to continue it, "
        "or set tuning.directory (--directory) to a new directory, or tuning.overwrite: true (--overwrite) to start "
        "afresh")
    assert [p.name for p in (directory / "search").glob("trial_*")] == ["trial_0"]
    result = tune(config, tuning={"max_trials": 2, "overwrite": True})
    # Both trials on the new data: the old trial went with its fingerprint, which now records the new examples.
    assert len(result.trials) == 2
    assert json.loads((directory / "data_fingerprint.json").read_text()) != recorded


@pytest.mark.parametrize("epochs,factor", [(1, 3), (2, 3), (2, 2), (4, 3), (9, 3), (10, 2), (27, 3), (5, 4)])
def test_hyperband_trials_is_the_number_keras_tuners_oracle_runs(epochs, factor, tmp_path):
    hyperparameters = keras_tuner.HyperParameters()
    hyperparameters.Float("x", 0.0, 1.0)  # a space that never runs out of values
    oracle = keras_tuner.oracles.HyperbandOracle(objective=keras_tuner.Objective("loss", "min"), max_epochs=epochs,
                                                 factor=factor, hyperparameters=hyperparameters, seed=1)
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), "oracle")
    ran = 0
    while (trial := oracle.create_trial("tuner0")).status == TrialStatus.RUNNING:
        oracle.update_trial(trial.trial_id, {"loss": trial.hyperparameters.values["x"]})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
        ran += 1
    assert hyperband_trials(epochs, factor) == ran


def test_zoo_tune_says_when_hyperbands_brackets_hold_fewer_trials_than_max_trials(texts_csv, tmp_path, capsys):
    # It said "up to 6 trials", then "2 of 2 trials completed", and never why.
    config = search_config(texts_csv, tmp_path / "hyperband")
    assert run_zoo_tune(config, tmp_path, "--tuner", "hyperband", "--max-trials", "3", "--epochs", "1") == 0
    out, err = capsys.readouterr()
    # One epoch leaves no room for another bracket, so a smaller hyperband_factor would not help.
    why = ("Hyperband's brackets for at most 1 epoch a trial and hyperband_factor 3 hold only 1 trial, fewer than "
           "max_trials 3; for more, raise tuning.epochs (--epochs) or set tuning.tuner (--tuner) to random or "
           "bayesian")
    assert f"hyperband, up to 3 trials over 3 hyperparameters, objective val_accuracy; {why}\n" in err
    assert out.startswith(f"1 of 1 trials completed ({why}); best trial 0: ")


def test_a_rerun_with_fewer_max_trials_says_the_directory_already_holds_more(search, tmp_path, capsys):
    config = search_config(search.config.data.source, search.directory, max_trials=1)
    assert run_zoo_tune(config, tmp_path) == 0
    out, err = capsys.readouterr()
    # It said "up to 1 trials" and then "2 of 2 trials completed".
    assert (f"random, up to 1 trial over 3 hyperparameters, objective val_accuracy; {search.directory} already holds 2 "
            "finished trials, max_trials 1: no new trial runs (raise tuning.max_trials (--max-trials) to add "
            "trials)\n") in err
    assert out.startswith(f"2 of 2 trials completed ({search.directory} held 2 trials before this run, more than "
                          f"max_trials 1); best trial {search.best.trial_id}: ")


def test_a_damaged_search_file_is_named_before_any_work(texts_csv, tmp_path):
    directory = tmp_path / "search"
    directory.mkdir()
    for damaged in ("[1, 2]\n", "config: [\n", "config: [data]\n"):
        (directory / "search.yaml").write_text(damaged)
        with pytest.raises(TuneDirectoryError, match=f"{directory / 'search.yaml'} is not a zoo search file"):
            tune(search_config(texts_csv, directory))
    # A file from a search with other sections names every difference instead of failing on the first.
    (directory / "search.yaml").write_text("tuning: {}\n")
    with pytest.raises(TuneDirectoryError, match="holds a search with a different config.*optimizer.name: None"):
        tune(search_config(texts_csv, directory))


def test_a_search_directory_that_cannot_be_written_is_named_before_any_work(texts_csv, tmp_path):
    (tmp_path / "notes.txt").write_text("")
    # keras-tuner failed creating it, with TensorFlow's traceback: "FailedPreconditionError: ... is not a directory".
    with pytest.raises(OutputPathError) as error:
        tune(search_config(texts_csv, tmp_path / "notes.txt" / "search"))
    assert str(error.value) == (f"cannot write {tmp_path / 'notes.txt' / 'search'}: {tmp_path / 'notes.txt'} is a "
                                "file, not a directory; set tuning.directory (--directory) to a directory you can "
                                "write")


def test_trials_under_mirrored_strategy_match_single_device_trials(search, texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "mirrored", max_trials=1)
    config["distribution"] = {"strategy": "mirrored", "devices": ["/cpu:0", "/cpu:1"]}
    (mirrored,) = tune(config).trials
    single = search.trials[0]  # same seed, same first trial, one device
    assert mirrored.values == single.values
    assert mirrored.objective == pytest.approx(single.objective, abs=1e-6)
    assert mirrored.metrics["val_loss"] == pytest.approx(single.metrics["val_loss"], rel=1e-5)
    with pytest.raises(ConfigError, match="batch size 15 must be divisible by the 2 replicas"):
        tune(config, overrides=["training.batch_size=15", "tuning.overwrite=true"])


def test_the_seed_decides_the_sequence_of_trials(texts_csv, tmp_path):
    # One data set and hypermodel for every tuner (make_tuner takes the seed): the seed is all that differs.
    base, settings = load_search(search_config(texts_csv, tmp_path))
    space = SearchSpace.for_config(settings.space, base)
    hypermodel = ZooHyperModel(base, settings, space, prepare_data(base), strategy=None)

    def first_trials(seed, directory):
        tuner = make_tuner(settings, hypermodel, directory, epochs=2, seed=seed)
        return [tuner.oracle.create_trial(f"tuner{i}").hyperparameters.values for i in range(3)]

    assert first_trials(5, tmp_path / "a") == first_trials(5, tmp_path / "b")
    assert first_trials(5, tmp_path / "c") != first_trials(6, tmp_path / "d")


def test_a_failed_trial_is_reported_with_its_error_and_not_counted(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "failing", max_trials=3, epochs=1)
    # Two configurations only; a learning rate of 1e30 turns the loss NaN, which no check before training sees.
    config["tuning"]["space"] = {"optimizer.learning_rate": [3e-3, 1e30]}
    result = tune(config)
    by_value = {r.values["optimizer.learning_rate"]: r for r in result.trials}
    assert len(result.trials) == 2 and by_value[3e-3].completed and by_value[1e30].status == "FAILED"
    failed = by_value[1e30]
    assert "the loss became NaN" in failed.error and failed.objective is None
    assert "Traceback" in open(failed.error_file).read()
    assert result.best.trial_id == by_value[3e-3].trial_id
    markdown = result.files["results_md"].read_text()
    assert "1 of 2 trials completed" in markdown and f"trial {failed.trial_id}: " in markdown
    row = next(r for r in csv.DictReader(open(result.files["results_csv"])) if r["trial"] == failed.trial_id)
    assert row["status"] == "FAILED" and "the loss became NaN" in row["error"] and row["val_accuracy"] == ""


def test_zoo_tune_names_a_failed_trials_error_file_and_an_exhausted_space(texts_csv, tmp_path, capsys):
    config = search_config(texts_csv, tmp_path / "failing", max_trials=3, epochs=1)
    config["tuning"]["space"] = {"optimizer.learning_rate": [3e-3, 1e30]}
    assert run_zoo_tune(config, tmp_path) == 0
    out, err = capsys.readouterr()
    assert "FAILED after" in err and "error.txt)" in err
    # it said "1 of 2 trials completed" after "up to 3 trials", without saying why no third ran
    assert out.startswith("1 of 2 trials completed (the search space holds only 2 distinct sets of values, all "
                          "tried, fewer than max_trials 3); best trial")
    # the trial line said 2.8s where results.csv said 2.74 and results.md 2.7
    shown = re.search(r"trial (\d+) done in ([0-9.]+)s", err)
    row = next(r for r in csv.DictReader(open(tmp_path / "failing" / "results.csv")) if r["trial"] == shown[1])
    assert row["seconds"] == shown[2]
    assert f"| {shown[1]} * | COMPLETED | 0.003 | " in (tmp_path / "failing" / "results.md").read_text()
    assert f" | {shown[2]} |" in (tmp_path / "failing" / "results.md").read_text()


def test_a_space_whose_defaults_cannot_build_fails_before_any_trial(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "broken")
    config["tuning"]["space"] = {"model.overrides.activation": ["bogus", "relu"]}
    with pytest.raises(ConfigError, match=r"tuning.space: the first trial's model \(transformer-tiny, each key at "
                                          r"its default: model.overrides.activation='bogus'\) cannot be built: "
                                          "`activation` must be one of"):
        tune(config)
    config["tuning"]["space"] = {"model.name": ["lstm"]}
    with pytest.raises(ConfigError, match=r"tuning.space: the first trial's model \(lstm, .* model 'lstm' .* does "
                                          "not take ff_dim, num_layers"):
        tune(config)
    assert not list((tmp_path / "broken").glob("search/trial_*"))


def test_hyperband_continues_promoted_trials_from_their_weights(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "hyperband", tuner="hyperband", hyperband_factor=2, max_trials=3)
    result = tune(config)
    assert len(result.trials) == 3 and all(r.completed for r in result.trials)
    continued = [r for r in result.trials
                 if "tuner/trial_id" in _trial_json(result.directory, r.trial_id)["hyperparameters"]["values"]]
    assert continued, "hyperband promoted no trial"
    for record in continued:
        source = _trial_json(result.directory, record.trial_id)["hyperparameters"]["values"]["tuner/trial_id"]
        parent = next(r for r in result.trials if r.trial_id == source)
        assert record.values == parent.values and parent.epochs == 1
        # Only the second epoch ran in the continued trial: it started from the parent's first epoch.
        assert (record.epochs, record.best_epoch) == (2, 2)


def test_bayesian_search_over_precisions_completes_and_restores_the_dtype_policy(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "bayesian", tuner="bayesian", max_trials=2, initial_points=1,
                           epochs=1)
    config["tuning"]["space"]["training.precision"] = ["mixed_bfloat16", "float32"]
    result = tune(config)
    assert [r.status for r in result.trials] == ["COMPLETED", "COMPLETED"]
    assert result.trials[0].values != result.trials[1].values
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_trial_that_xla_cannot_compile_fails_with_the_config_error(texts_csv, tmp_path):
    # Dropout on the packed real tokens (skip_padding, transformer-tiny's default) has a run-time row count.
    config = search_config(texts_csv, tmp_path / "jit", max_trials=2, epochs=1)
    config["training"]["jit_compile"] = True
    config["tuning"]["space"] = {"model.overrides.dropout": [0.0, 0.1]}
    result = tune(config)
    by_value = {r.values["model.overrides.dropout"]: r for r in result.trials}
    assert by_value[0.0].completed and by_value[0.1].status == "FAILED"
    assert "training.jit_compile: true cannot compile dropout on the packed real tokens" in by_value[0.1].error


def test_trials_weigh_the_classes_as_zoo_train_does(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "weighted", max_trials=1, epochs=1)
    config["tuning"]["space"] = {"optimizer.learning_rate": [3e-3]}
    config["training"]["class_weight"] = {"sport": 5.0}
    result = tune(config)
    record = result.trials[0]
    rerun = train(trial_config(result.config, result.settings, result.space, record.values)
                  .override([f"output.dir={tmp_path / 'run'}", "output.tensorboard=false"]))
    assert rerun.metrics["class_weight"] == {"food": 1.0, "sport": 5.0, "tech": 1.0}
    # The trial's training loss is the weighted objective zoo train minimised, not the unweighted one.
    observed = _trial_json(result.directory, record.trial_id)["metrics"]["metrics"]["loss"]["observations"]
    assert observed[0]["value"][0] == pytest.approx(rerun.history[0]["loss"], rel=1e-5)
    config["training"]["class_weight"] = {"spot": 2.0}
    config["tuning"]["directory"] = str(tmp_path / "unknown")
    with pytest.raises(ConfigError, match="training.class_weight.spot: no such class; the classes are food, sport, "
                                          "tech"):
        tune(config)
    assert not (tmp_path / "unknown" / "search").exists()


def test_a_schedule_the_first_trial_cannot_follow_is_refused_before_any_trial(texts_csv, tmp_path):
    config = search_config(texts_csv, tmp_path / "warmup", max_trials=1, epochs=1)
    config["schedule"] = {"warmup_steps": 50}  # one epoch of the training split is 8 steps of 16
    with pytest.raises(ConfigError, match=r"^schedule.warmup_steps: 50 is more than the 8 optimizer steps"):
        tune(config)
    assert not list((tmp_path / "warmup").glob("search/trial_*"))


def test_a_search_in_an_emulated_precision_warns_once_as_zoo_train_does(texts_csv, tmp_path, monkeypatch, caplog):
    # zoo train warned of mixed_bfloat16 on a CPU that emulates it; a search of such trials said nothing.
    import logging

    import tensorflow as tf

    from zoo.training import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    config = search_config(texts_csv, tmp_path / "search", max_trials=1)
    config["training"].update(epochs=1, precision="mixed_bfloat16")
    with caplog.at_level(logging.WARNING):
        tune(config)
    warnings = [record.getMessage() for record in caplog.records if "emulates" in record.getMessage()]
    assert warnings == ["warning: training.precision: mixed_bfloat16 trains in bfloat16, which this CPU emulates (it "
                        "has none of amx_bf16, avx512_bf16): expect it to be slower than float32, not faster; "
                        "training.precision: auto picks float32 here"]


def test_zoo_tune_names_a_multilabel_accuracy_per_label(texts_csv, tmp_path, capsys):
    # the objective and the retrained model's "test accuracy" were per-label accuracies, named as zoo evaluate's
    # accuracy (for a multi-label model, subset accuracy: the examples with every label right)
    config = search_config(texts_csv, tmp_path / "tags-tuning", max_trials=1, epochs=1)
    config["model"]["overrides"]["mode"] = "multilabel"
    assert run_zoo_tune(config, tmp_path, "--retrain-best", "--export-to", str(tmp_path / "exported")) == 0
    out, err = capsys.readouterr()
    assert "objective val_accuracy (per-label accuracy)" in err
    assert re.search(r"best trial \d+: val_accuracy \(per-label accuracy\) [0-9.]+\n", out)
    assert re.search(r"retrained: .*, test per-label accuracy [0-9.]+\n", out)
    markdown = (tmp_path / "tags-tuning" / "results.md").read_text()
    assert "Objective: val_accuracy (per-label accuracy) (higher is better)" in markdown
    assert re.search(r"Best: trial \d+ \(marked \*\), val_accuracy \(per-label accuracy\) [0-9.]+\.", markdown)
