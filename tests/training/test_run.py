"""``zoo.train`` end to end on a tiny data set: the run directory, reproducibility, resume rules, errors."""
import io
import json
import logging
import math
import re
import shutil
import signal
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.training.precision as precision
from tests.training.conftest import tiny_config
from zoo.config import Config, ConfigError
from zoo.data import TooFewClassesError
from zoo.training import (LossDivergedError, NonFiniteLossError, RunDirectoryError, TrainingInterrupted,
                           load_run, train)
from zoo.training.checkpoints import model_variables
from zoo.training.data import load_splits
from zoo.training.fit import last_update_learning_rate
from zoo.training.optimizers import GroupedOptimizer, WarmupSchedule


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def _learning(history):
    """History records without the timing fields."""
    return [{k: v for k, v in r.items() if k not in ("examples_per_s", "seconds")} for r in history]


@pytest.fixture(scope="module")
def finished(tiny_csv, tmp_path_factory):
    """One finished tiny run with early stopping and TensorBoard (shared by the tests that only read it)."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    config = tiny_config(tiny_csv, run_dir, training={"epochs": 3, "early_stopping": {"patience": 2},
                                                      "checkpoint_every": 5, "keep_checkpoints": 8},
                         schedule={"name": "cosine", "warmup_steps": 3},
                         model={"overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32,
                                              "dropout": 0.1}})
    return train(config)


def test_run_directory_holds_everything_to_reuse_the_run(finished):
    run_dir = finished.run_dir
    assert Config.load(run_dir / "config.yaml") == finished.config
    history = json.loads((run_dir / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3] == [r["epoch"] for r in finished.history]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "examples_per_s"} <= set(history[0])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["examples"] == {"train": 192, "validation": 64, "test": 64}
    assert metrics["label_names"] == ["neg", "pos"] and metrics["test"]["accuracy"] > 0.5
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-36")
    assert (run_dir / "checkpoints" / "ckpt-20.index").exists()
    assert tf.train.latest_checkpoint(str(run_dir / "best")) is not None
    assert list((run_dir / "logs" / "train").glob("events.out.tfevents.*"))
    assert list((run_dir / "logs" / "validation").glob("events.out.tfevents.*"))

    model, tokenizer, labels, config = load_run(run_dir)
    assert labels == ["neg", "pos"] and config == finished.config
    texts = tf.constant(["w1 great w2", "w3 awful"])
    ids = tokenizer.encode(texts, config.data.sequence_length)
    np.testing.assert_array_equal(ids, finished.tokenizer.encode(texts, config.data.sequence_length))
    np.testing.assert_allclose(model(ids), finished.model(ids), rtol=1e-6)


def test_a_damaged_run_directory_is_named_not_a_traceback(finished, tmp_path):
    # h5py's "OSError: Unable to synchronously open file (file signature not found)" and json's "Expecting
    # property name ..." reached zoo predict, export and evaluate without the file's name.
    for name, damage, problem in [("model.weights.h5", "garbage\n", "cannot be read"),
                                  ("model.json", "{bad", "is not valid JSON")]:
        run_dir = tmp_path / name
        shutil.copytree(finished.run_dir, run_dir)
        (run_dir / name).write_text(damage)
        with pytest.raises(RunDirectoryError, match=f"^{re.escape(str(run_dir / name))} {problem} .*: the run "
                                                    "directory is damaged; train the run again"):
            load_run(run_dir)


@pytest.fixture(scope="module")
def overshot(tiny_csv, tmp_path_factory):
    """A 2-epoch tiny run whose learning rate warms up to 0.3 and overshoots in epoch 2: val_loss is best at epoch 1."""
    run_dir = tmp_path_factory.mktemp("overshot") / "run"
    return train(tiny_config(tiny_csv, run_dir, training={"epochs": 2, "early_stopping": {"patience": 2,
                                                                                           "monitor": "val_loss"}},
                             schedule={"name": "linear", "warmup_steps": 24, "final_fraction": 1.0},
                             optimizer={"name": "adam", "learning_rate": 0.3, "weight_decay": 0.0}))


def _checkpoint_weights(directory):
    """The flat ``weights`` list of the newest checkpoint in ``directory`` (as ``model_variables`` orders it)."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(directory)))
    count = sum(1 for name in reader.get_variable_to_shape_map() if name.startswith("weights/"))
    return [reader.get_tensor(f"weights/{i}/.ATTRIBUTES/VARIABLE_VALUE") for i in range(count)]


def test_best_epoch_weights_are_restored(overshot):
    history = overshot.history
    best = min(range(len(history)), key=lambda i: (history[i]["val_loss"], i))
    # Without an earlier best epoch, restoring it and keeping the last weights could not be told apart.
    assert best + 1 < len(history) and history[best]["val_loss"] < history[-1]["val_loss"] - 0.05
    assert overshot.metrics["best_epoch"] == best + 1
    assert overshot.metrics["validation"]["loss"] == pytest.approx(history[best]["val_loss"], rel=1e-5)
    assert overshot.metrics["validation"]["accuracy"] == pytest.approx(history[best]["val_accuracy"])
    # The training metrics are those of the epoch whose weights the model ends with, too.
    assert overshot.metrics["train"] == {"loss": history[best]["loss"], "accuracy": history[best]["accuracy"]}

    best_weights = _checkpoint_weights(overshot.run_dir / "best")
    last_weights = _checkpoint_weights(overshot.run_dir / "checkpoints")  # saved at the last epoch's end
    assert len(best_weights) == len(last_weights) == len(model_variables(overshot.model))
    saved = load_run(overshot.run_dir)[0]
    for model in (overshot.model, saved):  # the returned model and model.weights.h5
        # Dropout's seed-generator states are checkpointed too but are no weights: evaluation draws from them.
        final = {i: v.numpy() for i, v in enumerate(model_variables(model)) if "seed_generator" not in v.name}
        assert len(final) > 10
        for i, got in final.items():
            np.testing.assert_array_equal(got, best_weights[i])
        assert any(not np.array_equal(got, last_weights[i]) for i, got in final.items())


def _rewound(finished, tmp_path):
    """A copy of the finished run rewound to its mid-epoch checkpoint at step 20, as a kill would leave it."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished.run_dir, run_dir)
    (run_dir / "metrics.json").unlink()
    # The later checkpoints go too: a resume finds checkpoints by their files, not only through the index.
    for path in (run_dir / "checkpoints").glob("ckpt-*"):
        if int(path.name.split(".")[0].split("-")[1]) > 20:
            path.unlink()
    (run_dir / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-20"\n'
                                                         'all_model_checkpoint_paths: "ckpt-20"\n')
    return run_dir


def test_a_run_resumed_mid_epoch_ends_with_the_uninterrupted_weights(finished, tmp_path):
    """Rerun a copy rewound to step 20: the example order, dropout draws, optimizer and early-stopping state all
    continue. The rerun saves checkpoints at other steps and keeps fewer, which decide nothing computed: a resume
    may change them (and output's keys); any other change is refused."""
    run_dir = _rewound(finished, tmp_path)
    changes = [f"output.dir={run_dir}", "training.checkpoint_every=7", "training.keep_checkpoints=3",
               "output.tensorboard=false", "output.progress=epoch"]
    with pytest.raises(RunDirectoryError) as error:
        train(finished.config, overrides=changes + ["training.seed=2"])
    assert "different config (training.seed: 1 -> 2); rerun with its config to resume (only distribution, " \
           "output, training.checkpoint_every, training.keep_checkpoints, training.divergence_factor may change)" \
           in str(error.value)
    stream = io.StringIO()
    resumed = train(finished.config, overrides=changes, progress_stream=stream)
    assert f"resuming from {run_dir / 'checkpoints' / 'ckpt-20'} (epoch 2, step 8)" in stream.getvalue()
    assert _learning(resumed.history) == _learning(finished.history)
    for a, b in zip(_weights(resumed.model), _weights(finished.model)):
        np.testing.assert_array_equal(a, b)
    # The new settings took effect: saves at steps 21, 24 (epoch end), 28, 35 and 36, the last 3 kept.
    kept = tf.train.get_checkpoint_state(str(run_dir / "checkpoints")).all_model_checkpoint_paths
    assert [Path(path).name for path in kept] == ["ckpt-28", "ckpt-35", "ckpt-36"]


def test_history_records_the_learning_rate_of_each_epochs_last_step(finished):
    """The finished run: cosine decay from 0.01 after a 3-step warm-up, 12 steps an epoch, 36 in all. Keras's
    optimizer.learning_rate after an epoch is the next step's rate (steps 13, 25, 37 here)."""
    def cosine(step):  # the 1-based step's rate, from the schedule's definition
        return 0.01 * min(step / 3, 1.0) if step <= 3 else 0.01 * 0.5 * (1 + math.cos(math.pi * (step - 3) / 34))

    recorded = [record["learning_rate"] for record in finished.history]
    assert recorded == pytest.approx([cosine(12), cosine(24), cosine(36)], rel=1e-5, abs=1e-9)
    assert recorded[0] != pytest.approx(cosine(13), rel=1e-3)


@pytest.mark.parametrize("wrap", ["plain", "loss_scale", "grouped"])
def test_the_last_updates_learning_rate_is_the_schedules_at_the_step_before(wrap):
    schedule = WarmupSchedule(0.01, "linear", warmup_steps=4, total_steps=10)
    if wrap == "grouped":  # reports its first group's rate
        optimizer = GroupedOptimizer([keras.optimizers.SGD(schedule), keras.optimizers.SGD(0.5)], [[], []])
    else:
        optimizer = keras.optimizers.SGD(schedule)
        if wrap == "loss_scale":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    inner = optimizer.optimizers[0] if wrap == "grouped" else getattr(optimizer, "inner_optimizer", optimizer)
    inner.iterations.assign(6)  # six updates made: the sixth used step 6's rate, 0.01 * (1 - 2/7)
    assert last_update_learning_rate(optimizer) == pytest.approx(0.01 * 5 / 7)
    assert float(np.asarray(optimizer.learning_rate)) == pytest.approx(0.01 * 4 / 7)  # the next update's


def test_an_interrupted_run_resumes_without_overwrite_and_times_both_invocations(tiny_csv, tmp_path, monkeypatch):
    """output.overwrite: true starts afresh, so "rerun the same command" would throw the checkpoints away. The
    resumed run's wall_seconds adds both invocations' times (up to the checkpoint), as train_seconds adds their
    epochs'; it used to count the last invocation only."""
    from zoo.training.loop import Trainer

    run_steps = Trainer.run_steps

    def slow_then_interrupted(self, iterator, steps):
        for done, result in enumerate(run_steps(self, iterator, steps), 1):
            if done == 5:
                time.sleep(1.0)  # a first invocation surely longer than the rest of the run
                signal.raise_signal(signal.SIGINT)
            yield result

    monkeypatch.setattr(Trainer, "run_steps", slow_then_interrupted)
    config = tiny_config(tiny_csv, tmp_path / "run", output={"overwrite": True})
    start = time.perf_counter()
    with pytest.raises(TrainingInterrupted) as error:
        train(config)
    first = time.perf_counter() - start
    checkpoint = tmp_path / "run" / "checkpoints" / "ckpt-5"
    assert str(error.value) == ("training interrupted at epoch 1, step 5/12; rerun the same command with "
                                f"output.overwrite: false to resume from {checkpoint}")
    monkeypatch.setattr(Trainer, "run_steps", run_steps)
    stream = io.StringIO()
    start = time.perf_counter()
    metrics = train(config, overrides=["output.overwrite=false", "output.progress=epoch"],
                    progress_stream=stream).metrics
    second = time.perf_counter() - start
    assert f"resuming from {checkpoint} (epoch 1, step 5)" in stream.getvalue()
    assert second + 1.0 < metrics["wall_seconds"] <= first + second
    assert 1.0 < metrics["train_seconds"] < metrics["wall_seconds"]


def test_a_run_resumed_under_another_strategy_records_each_epochs_strategy(tiny_csv, tmp_path, monkeypatch):
    """metrics.json names the last invocation's strategy only: a run whose first epoch trained on one device and
    its second on two said "mirrored, 2 replicas" and nothing of the first. The start line names the strategy
    and its devices (it said "2 replica(s)" alike for mirrored and multi_worker)."""
    from zoo.training.loop import Trainer

    run_steps = Trainer.run_steps

    def interrupted_in_the_last_step(self, iterator, steps):
        for done, result in enumerate(run_steps(self, iterator, steps), 1):
            if done == steps:
                signal.raise_signal(signal.SIGINT)
            yield result

    monkeypatch.setattr(Trainer, "run_steps", interrupted_in_the_last_step)
    config = tiny_config(tiny_csv, tmp_path / "run", output={"progress": "epoch"})
    stream = io.StringIO()
    with pytest.raises(TrainingInterrupted, match="training interrupted after epoch 1"):
        train(config, progress_stream=stream)
    assert ", 1 replica (default)\n" in stream.getvalue()
    monkeypatch.setattr(Trainer, "run_steps", run_steps)
    stream = io.StringIO()
    result = train(config, overrides=["distribution.strategy=mirrored", "distribution.devices=[/cpu:0,/cpu:1]"],
                   progress_stream=stream)
    assert ", 2 replicas (mirrored: /cpu:0, /cpu:1)\n" in stream.getvalue()
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [record["distribution"] for record in history] == [{"strategy": "default", "replicas": 1},
                                                              {"strategy": "mirrored", "replicas": 2}]
    assert (result.metrics["strategy"], result.metrics["replicas"]) == ("mirrored", 2)


def test_a_cluster_s_tasks_are_all_told_to_rerun():
    """The chief of a multi_worker run said "rerun the same command" where its peers said "... on every task of
    TF_CONFIG's cluster": rerun alone, it would wait for the others for ever."""
    from zoo.training.run import _rerun

    assert _rerun(overwrite=False, workers=1) == "rerun the same command"
    assert _rerun(overwrite=False, workers=2) == "rerun the same command on every task of TF_CONFIG's cluster"


def test_a_finished_run_is_not_overwritten(finished):
    with pytest.raises(RunDirectoryError, match="holds a finished run"):
        train(finished.config)


def test_same_seed_gives_identical_weights_and_metrics(finished, tmp_path):
    """The finished run (dropout 0.1: seeded draws too) trained again in another directory."""
    again = train(finished.config, overrides=[f"output.dir={tmp_path / 'again'}"])
    for a, b in zip(_weights(finished.model), _weights(again.model)):
        np.testing.assert_array_equal(a, b)
    assert _learning(finished.history) == _learning(again.history)
    assert finished.history[0]["loss"] != finished.history[1]["loss"]


# The tiny run stops on a non-finite loss with these settings, its checkpoints (one a step) kept: an unfinished run.
_EXPLODING = {"optimizer": {"name": "sgd", "learning_rate": 1e18}, "training": {"epochs": 3, "checkpoint_every": 1}}


@pytest.fixture(scope="module")
def exploded(tiny_csv, tmp_path_factory):
    """``(run directory, NonFiniteLossError)`` of the tiny run with ``_EXPLODING`` settings (tests copy or read it)."""
    run_dir = tmp_path_factory.mktemp("exploded") / "run"
    with pytest.raises(NonFiniteLossError) as error:
        train(tiny_config(tiny_csv, run_dir, **_EXPLODING))
    return run_dir, error.value


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(exploded):
    run_dir, error = exploded
    assert re.search(r"the loss became (NaN|Inf) at epoch \d+, step \d+; the last good checkpoint .*ckpt-\d+ is "
                     r"intact", str(error)), str(error)
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert path in str(error)
    reader = tf.train.load_checkpoint(path)
    weights = [name for name in reader.get_variable_to_dtype_map() if name.startswith("weights/")]
    assert weights
    for name in weights:
        assert np.all(np.isfinite(reader.get_tensor(name))), name
    assert not (run_dir / "metrics.json").exists()


def test_resuming_with_another_config_is_an_error(exploded, tiny_csv, tmp_path):
    shutil.copytree(exploded[0], tmp_path / "run")
    config = tiny_config(tiny_csv, tmp_path / "run", **_EXPLODING)
    with pytest.raises(RunDirectoryError, match=r"different config \(optimizer.learning_rate: 1e\+18 -> 0.01\)"):
        train(config, overrides=["optimizer.learning_rate=0.01"])
    restarted = train(config, overrides=["optimizer.learning_rate=0.01", "output.overwrite=true"])
    assert len(restarted.history) == 3


def _reversed_words(text):
    header, *rows = text.splitlines()
    return "\n".join([header] + [" ".join(row.rsplit(",", 1)[0].split()[::-1]) + "," + row.rsplit(",", 1)[1]
                                 for row in rows]) + "\n"


_EXAMPLES = "training examples (192 then, 192 now) and validation examples (64 then, 64 now)"


@pytest.mark.parametrize("edit, changed, files", [
    (lambda text: text.replace("w1 ", "new "), f"vocabulary, {_EXAMPLES}", ["tokenizer", "data_fingerprint.json"]),
    (lambda text: text.replace(",pos", ",positive"), f"label names, {_EXAMPLES}",
     ["tokenizer", "data_fingerprint.json"]),
    (_reversed_words, _EXAMPLES, ["data_fingerprint.json"]),  # the same words and labels in other examples
])
def test_resuming_after_the_data_changed_is_an_error(tiny_csv, tmp_path, edit, changed, files):
    """The tokenizer and label ids are fitted afresh on a resume: from edited data, the restored weights would
    take other words and classes for the ones they learned; edits keeping both would train on other examples."""
    data = tmp_path / "data.csv"
    shutil.copy(tiny_csv, data)
    run_dir = tmp_path / "run"
    config = tiny_config(data, run_dir, **_EXPLODING)
    with pytest.raises(NonFiniteLossError):
        train(config)  # an unfinished run with checkpoints
    recorded = [run_dir / "data_fingerprint.json", *(run_dir / "tokenizer").iterdir()]
    saved = {path: path.read_bytes() for path in recorded}
    data.write_text(edit(data.read_text()))
    with pytest.raises(RunDirectoryError) as error:
        train(config)
    assert str(error.value) == (
        f"{run_dir} holds an unfinished run trained on other data: the {changed} of {data} now differ from those the "
        f"run recorded in {' and '.join(str(run_dir / name) for name in files)} (the data changed since the run "
        "started); restore the data to resume, or set output.overwrite: true to start afresh, or output.dir to a "
        "new directory to keep this run")
    assert {path: path.read_bytes() for path in recorded} == saved


@pytest.mark.parametrize("overrides, message", [
    (["model.name=transformer-huge"], "model.name: unknown model 'transformer-huge'"),
    (["model.overrides.depth=3"], "does not take depth; it accepts: vocab_size"),
    (["data.load_options.colour=red"], "data.load_options: unknown option(s) ['colour']"),
    (["training.batch_size=500"], "training.batch_size 500 is larger than the 192 training examples"),
    (["data.validation_split=0", "training.early_stopping.patience=2"],
     "training.early_stopping.patience needs a validation set"),
    # 2 epochs of 12 steps: the rate used to climb for the whole run, to a hundredth of its peak.
    (["schedule.warmup_steps=25"], "schedule.warmup_steps: 25 is more than the 24 optimizer steps of the whole run"),
    # Settings the optimizer or schedule never reads used to train without a word.
    (["optimizer.momentum=0.9"], "optimizer.momentum: 0.9 would be ignored: optimizer.name is 'adam', and only sgd "
                                 "and rmsprop take momentum; remove optimizer.momentum, or change optimizer.name"),
    (["schedule.warmup_steps=4", "schedule.warmup_fraction=0.2"],
     "schedule.warmup_fraction: 0.2 would be ignored: schedule.warmup_steps is 4, and a warm-up of warmup_steps > 0 "
     "replaces the fraction"),
    # The fixture's test_split of 0.2 was held out of nothing beside a test file, without a word.
    (["data.test_source=held_out.csv"], "data.test_split: 0.2 would be ignored: data.test_source is 'held_out.csv', "
                                        "and the test_source is the test set, so none is held out; remove "
                                        "data.test_split, or change data.test_source"),
])
def test_bad_settings_are_errors_naming_the_key(tiny_csv, tmp_path, overrides, message):
    with pytest.raises(ValueError) as error:
        train(tiny_config(tiny_csv, tmp_path / "run"), overrides=overrides)
    assert message in str(error.value)


def test_a_resumed_auto_precision_run_keeps_the_precision_it_began_in(tiny_csv, tmp_path, monkeypatch):
    """training.precision: auto decides per machine; a run resumed on another CPU goes on in the precision of its
    checkpoints, as a changed training.precision is refused, and says so."""
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})  # began on an AVX2-only CPU: float32
    config = tiny_config(tiny_csv, tmp_path / "run", training={"epochs": 1, "precision": "auto"})
    began = train(config)
    assert began.metrics["precision"] == "float32"
    (began.run_dir / "metrics.json").unlink()  # interrupted after its last checkpoint
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})  # resumed where auto picks bf16
    stream = io.StringIO()
    resumed = train(config, overrides=["output.progress=epoch"], progress_stream=stream)
    assert resumed.metrics["precision"] == "float32" and resumed.metrics["precision_choice"]["kept_from_checkpoint"]
    assert ("precision float32 (training.precision: auto, kept from the checkpoint this run resumes: it chose "
            "otherwise on this machine)") in stream.getvalue()
    assert resumed.model.dtype_policy.name == "float32"  # built in it, not in auto's mixed_bfloat16 here


def test_held_out_splits_are_the_splits_the_run_scored(finished, tiny_csv, tmp_path):
    # zoo train's next command and zoo evaluate's threshold hint decided apart: from the config and metrics.json.
    from zoo.training.run import held_out_splits

    alone = train(tiny_config(tiny_csv, tmp_path / "alone", data={"validation_split": 0}, training={"epochs": 1}))
    for run, splits in ((finished, ["validation", "test"]), (alone, ["test"])):
        assert held_out_splits(run.run_dir) == held_out_splits(run.config) == splits
        assert [split for split in ("validation", "test") if split in run.metrics["examples"]] == splits


def test_mixed_float16_on_a_cpu_warns_once_naming_what_auto_picks(tiny_csv, tmp_path, monkeypatch, caplog):
    # It trained in emulated float16 without a word.
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma", "f16c"})
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    with caplog.at_level(logging.WARNING):
        result = train(tiny_config(tiny_csv, tmp_path / "run", training={"epochs": 1, "precision": "mixed_float16"}))
    assert result.metrics["precision"] == "mixed_float16"
    warnings = [record.getMessage() for record in caplog.records if "mixed_float16" in record.getMessage()]
    assert warnings == ["warning: training.precision: mixed_float16 is meant for GPUs, and this run has none: this "
                        "CPU has none of amx_fp16, avx512_fp16, so TensorFlow emulates float16 (expect it to be slower "
                        "than float32); training.precision: auto picks float32 on this CPU (--set "
                        "training.precision=auto)"]


def test_mixed_bfloat16_trains_and_restores_the_policy(tiny_csv, tmp_path, monkeypatch, caplog):
    # An AVX2-only CPU as far as the precision choice can tell: the run says so and warns.
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    monkeypatch.delenv("ZOO_ATTENTION_CORE_DTYPE", raising=False)
    stream = io.StringIO()
    with caplog.at_level(logging.WARNING):
        result = train(tiny_config(tiny_csv, tmp_path / "run", training={"epochs": 1, "precision": "mixed_bfloat16"},
                                   optimizer={"clipnorm": 1.0}), overrides=["output.progress=epoch"],
                       progress_stream=stream)
    line = "precision mixed_bfloat16 (training.precision: mixed_bfloat16), attention core in float32"
    assert line in stream.getvalue()
    assert "which this CPU emulates" in caplog.text
    assert result.metrics["precision"] == "mixed_bfloat16"
    assert result.metrics["precision_choice"]["policy"] == "mixed_bfloat16"
    assert result.model.layers[-1].compute_dtype == "bfloat16" or any(
        layer.compute_dtype == "bfloat16" for layer in result.model.layers)
    assert all(w.dtype == np.float32 for w in result.model.get_weights())
    assert keras.mixed_precision.global_policy().name == "float32"
    # metrics.json scores the saved model as zoo evaluate, predict and export rebuild it: in float32. Scored in
    # bfloat16, its figures were those of no model anyone could load.
    saved = load_run(result.run_dir)[0]
    data = load_splits(Config.from_dict(tiny_config(tiny_csv, tmp_path / "run")))
    for split in ("validation", "test"):
        ids, labels = data[split]
        logits = saved(ids, training=False).numpy().astype(np.float64)
        smoothed = np.eye(2)[labels] * 0.9 + 0.05  # label_smoothing 0.1, the default, over 2 classes
        log_probabilities = logits - logits.max(1, keepdims=True)
        log_probabilities -= np.log(np.exp(log_probabilities).sum(1, keepdims=True))
        assert result.metrics[split]["accuracy"] == np.mean(logits.argmax(1) == labels)
        assert result.metrics[split]["loss"] == pytest.approx(-(smoothed * log_probabilities).sum(1).mean(), abs=1e-6)


def test_jit_compile_is_refused_for_dropout_on_packed_tokens(tiny_csv, tmp_path):
    # transformer-tiny skips padding and drops out 0.1 by default: XLA failed at the first step, run dir written.
    with pytest.raises(ConfigError) as error:
        train(tiny_config(tiny_csv, tmp_path / "run", training={"jit_compile": True}))
    assert str(error.value) == (
        "training.jit_compile: true cannot compile dropout on the packed real tokens of a model that skips padding; "
        "set model.overrides.skip_padding=false or model.overrides.dropout=0, or leave training.jit_compile off")
    assert not (tmp_path / "run").exists()


def test_jit_compile_is_refused_under_a_distribution_strategy(tiny_csv, tmp_path):
    with pytest.raises(ConfigError, match="training.jit_compile: true works only with distribution.strategy: default"):
        train(tiny_config(tiny_csv, tmp_path / "run", training={"jit_compile": True},
                          distribution={"strategy": "mirrored"}))


def _rerun_copy(finished, tmp_path, damage, caplog):
    """Copy the finished run as an interrupted one (no metrics.json), ``damage`` its checkpoints, rerun it."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished.run_dir, run_dir)
    (run_dir / "metrics.json").unlink()
    damage(run_dir / "checkpoints")
    stream = io.StringIO()
    with caplog.at_level(logging.WARNING):
        resumed = train(finished.config, overrides=[f"output.dir={run_dir}", "output.progress=epoch"],
                        progress_stream=stream)
    return resumed, stream.getvalue(), caplog.text


def test_a_damaged_newest_checkpoint_resumes_from_the_one_before(finished, tmp_path, caplog):
    def delete_newest_data(checkpoints):
        (checkpoints / "ckpt-36.data-00000-of-00001").unlink()

    resumed, shown, logged = _rerun_copy(finished, tmp_path, delete_newest_data, caplog)
    assert (f"checkpoint {tmp_path / 'run' / 'checkpoints' / 'ckpt-36'} is damaged: "
            f"{tmp_path / 'run' / 'checkpoints' / 'ckpt-36.data-00000-of-00001'} is missing; trying the one before "
            "it") in logged
    assert f"resuming from {tmp_path / 'run' / 'checkpoints' / 'ckpt-35'} (epoch 3, step 11)" in shown
    assert _learning(resumed.history) == _learning(finished.history), "no step was lost or repeated"
    for a, b in zip(_weights(resumed.model), _weights(finished.model)):
        np.testing.assert_array_equal(a, b)


def test_a_lost_checkpoint_index_does_not_restart_the_run(finished, tmp_path, caplog):
    resumed, shown, logged = _rerun_copy(finished, tmp_path, lambda c: (c / "checkpoint").unlink(), caplog)
    assert "(the list of checkpoints) is missing or unreadable; found ckpt-36, ckpt-35" in logged
    # The newest checkpoint follows the last of the 3 epochs: the rerun only finishes the run ("epoch 4" before).
    assert (f"training was complete; finishing the run from {tmp_path / 'run' / 'checkpoints' / 'ckpt-36'} (after "
            "epoch 3)") in shown
    assert "epoch 1/3" not in shown and _learning(resumed.history) == _learning(finished.history)


def test_validation_failures_leave_no_run_directory_and_keep_an_old_run(finished, tiny_csv, tmp_path):
    run_dir = tmp_path / "new" / "run"
    shown = io.StringIO()
    with pytest.raises(ValueError, match="training.batch_size 500 is larger than the 192 training examples"):
        train(tiny_config(tiny_csv, run_dir, training={"batch_size": 500}, output={"dir": str(run_dir), "progress": "epoch"}),
              progress_stream=shown)
    assert not (tmp_path / "new").exists()
    assert "0 batches" not in shown.getvalue()  # the summary said "each epoch trains 0 batches of 500" first
    # output.overwrite replaces a finished run only once the new run has passed every check
    with pytest.raises(ConfigError, match="model.overrides"):
        train(finished.config, overrides=["output.overwrite=true", "model.overrides.depth=3"])
    assert (finished.run_dir / "metrics.json").is_file()


def test_overwrite_deletes_only_a_run_directory(tiny_csv, tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("months of work")
    with pytest.raises(RunDirectoryError) as error:
        train(tiny_config(tiny_csv, folder, output={"overwrite": True}))
    assert str(error.value) == (f"{folder} is not a zoo run directory (it has no config.yaml), and output.overwrite "
                                "would delete everything in it; set output.dir to a new directory or a run's")
    assert [path.name for path in folder.iterdir()] == ["chapter1.tex"]


@pytest.mark.parametrize("where, why", [
    ("file", "{parent} is a file, not a directory"),
    ("/proc", "/proc does not accept new directories (No such file or directory)"),
])
def test_a_run_directory_that_cannot_be_created_says_why(tiny_csv, tmp_path, where, why):
    parent = tmp_path / "afile"
    parent.write_text("not a directory")
    run_dir = parent / "run" if where == "file" else Path("/proc/zoo_run")
    with pytest.raises(RunDirectoryError) as error:
        train(tiny_config(tiny_csv, run_dir))
    assert str(error.value) == (f"cannot create the run directory {run_dir}: {why.format(parent=parent)}; set "
                                "output.dir (--output) to a directory you can write")


def test_one_class_data_names_the_source_and_the_label_column(tmp_path):
    source = tmp_path / "one.csv"
    source.write_text("text,label\n" + "".join(f"text number {i},pos\n" for i in range(50)), encoding="utf-8")
    with pytest.raises(TooFewClassesError) as error:
        train(tiny_config(source, tmp_path / "run"))
    assert str(error.value) == (f"{source}: 50 examples with only the class 'pos' in label column 'label': a "
                                "classifier needs examples of at least 2 classes; check data.source and "
                                "data.load_options.label_column")
    assert not (tmp_path / "run").exists()


_DIVERGING = {"optimizer": {"name": "adamw", "learning_rate": 1e3}}


@pytest.fixture(scope="module")
def unchecked(tiny_csv, tmp_path_factory):
    """One epoch of the tiny run with ``_DIVERGING`` settings and the divergence check off: it trains to the end."""
    config = tiny_config(tiny_csv, tmp_path_factory.mktemp("unchecked") / "run", **_DIVERGING,
                         training={"epochs": 1, "divergence_factor": 0})
    return train(config)


def test_a_diverging_loss_stops_like_a_nan(tiny_csv, unchecked, tmp_path):
    config = tiny_config(tiny_csv, tmp_path / "run", **_DIVERGING)
    with pytest.raises(LossDivergedError, match=r"training stopped: the loss diverged to \S+ at epoch 1, step \d+, "
                                                r"more than training.divergence_factor 10 x the chance-level loss "
                                                r"0.6931; no checkpoint had been written yet. Lower "
                                                r"optimizer.learning_rate") as error:
        train(config)
    assert isinstance(error.value, NonFiniteLossError), "handled wherever a NaN loss is"
    assert not (tmp_path / "run" / "metrics.json").exists()
    # the switch: with the check off, the same run (one epoch of it, ``unchecked``) reports a chance-level model as done
    assert unchecked.history[0]["loss"] > 1e3 and unchecked.metrics["test"]["accuracy"] <= 0.6


def test_a_diverged_run_resumes_with_the_check_off_as_the_error_advises(tiny_csv, unchecked, tmp_path):
    """The rerun with training.divergence_factor: 0 was refused as a different config: the run had to start afresh.
    Resumed, it ends as the run with the check off from the start (``unchecked``: no checkpoints, which change
    nothing computed)."""
    config = tiny_config(tiny_csv, tmp_path / "run", **_DIVERGING, training={"epochs": 1, "checkpoint_every": 1})
    with pytest.raises(LossDivergedError, match=r"the last checkpoint \S+ckpt-\d+ is kept. .* or set "
                                                r"training.divergence_factor: 0 to turn this check off"):
        train(config)
    stream = io.StringIO()
    resumed = train(config, overrides=["training.divergence_factor=0", "output.progress=epoch"], progress_stream=stream)
    assert "resuming from" in stream.getvalue()
    assert _learning(resumed.history) == _learning(unchecked.history)
    for a, b in zip(_weights(resumed.model), _weights(unchecked.model)):
        np.testing.assert_array_equal(a, b)


def test_class_weights_are_recorded_and_refused_where_they_weigh_nothing(tiny_csv, tmp_path, capsys):
    import zoo

    imbalanced = tmp_path / "imbalanced.csv"
    rows = tiny_csv.read_text(encoding="utf-8").splitlines()
    header, body = rows[0], rows[1:]
    kept = [row for row in body if not row.endswith(",pos")] + [row for row in body if row.endswith(",pos")][:40]
    imbalanced.write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    config = tiny_config(imbalanced, tmp_path / "run", training={"epochs": 1, "batch_size": 16, "seed": 1,
                                                                 "class_weight": "balanced"})
    result = zoo.train(config)
    train_labels = load_splits(Config.from_dict(config))["train"][1]
    counts = np.bincount(train_labels, minlength=2)
    expected = {name: len(train_labels) / (2 * counts[i]) for i, name in enumerate(result.label_names)}
    assert result.metrics["class_weight"] == pytest.approx(expected) and expected["pos"] > 2
    # Validation scores stay unweighted: the saved model's loss is the plain mean (smoothed) cross-entropy.
    from zoo.training.loop import Evaluator
    from zoo.training.objectives import Objective

    unweighted = Evaluator(result.model, Objective(label_smoothing=result.config.training.label_smoothing))(
        *load_splits(Config.from_dict(config))["validation"])
    assert result.metrics["validation"]["loss"] == pytest.approx(unweighted["loss"], rel=1e-5)
    report = zoo.evaluate(result.run_dir, out_dir=tmp_path / "eval", progress=False)
    assert report["info"]["class_weight"] == "balanced"
    assert "- **class_weight**: balanced" in (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")
    # A large weight raises the loss with it: the divergence check measured it against the unweighted chance
    # level and stopped the first step ("the loss diverged to 103.4 ... 10 x the chance-level loss 0.6931").
    heavy = tiny_config(tiny_csv, tmp_path / "heavy", training={"epochs": 1, "class_weight": {"pos": 100}})
    assert zoo.train(heavy).metrics["class_weight"] == {"neg": 1.0, "pos": 100.0}
    with pytest.raises(ConfigError, match=r"^training\.class_weight\.spam: no such class; the classes are neg, pos$"):
        zoo.train(tiny_config(imbalanced, tmp_path / "bad", training={"class_weight": {"spam": 2}}))
    with pytest.raises(ConfigError, match=r"^training\.class_weight weighs the classes of a single-label classifier; "
                                          r"this run trains an lm model: leave it out$"):
        zoo.train(tiny_config(imbalanced, tmp_path / "lm", model={"name": "lm"}, training={"class_weight": "balanced"}))
    with pytest.raises(ConfigError, match=r"^training\.r_drop compares two passes' class predictions; this run "
                                          r"trains an lm model, which predicts tokens: leave it out$"):
        zoo.train(tiny_config(imbalanced, tmp_path / "lm", model={"name": "lm"}, training={"r_drop": 1.0}))
    with pytest.raises(ConfigError, match=r"training\.r_drop must be >= 0, got -0\.5"):
        Config.from_dict({"training": {"r_drop": -0.5}})
    with pytest.raises(ConfigError, match=r"training\.class_weight must be 'balanced' or a mapping; got 'heavy'"):
        Config.from_dict({"training": {"class_weight": "heavy"}})
    with pytest.raises(ConfigError, match=r"training\.class_weight\.pos must be a number > 0, got 0"):
        Config.from_dict({"training": {"class_weight": {"pos": 0}}})


def test_a_multilabel_run_names_its_accuracy_per_label():
    from zoo.training.run import _metrics_summary

    metrics = {"task": "classification", "test": {"accuracy": 0.575}, "wall_seconds": 3}
    assert "test per-label accuracy 0.5750" in _metrics_summary(metrics, "runs/ml", "multilabel")
    assert "test accuracy 0.5750" in _metrics_summary(metrics, "runs/s", "multiclass")


def test_an_override_the_model_does_not_take_is_refused_before_any_data_is_read(tiny_csv, tmp_path, monkeypatch):
    # The typo's error came after the data load and the run summary.
    def no_data(*args, **kwargs):
        raise AssertionError("the data were read before the config was checked")

    monkeypatch.setattr("zoo.training.run.load_splits", no_data)
    config = tiny_config(tiny_csv, tmp_path / "run", model={"overrides": {"num_layer": 1}})
    with pytest.raises(ConfigError, match=r"^model.overrides \{'pooling': 'attention', 'num_layer': 1\}: model "
                                          r"'transformer-tiny' \(classification, build_transformer\) does not take "
                                          "num_layer; it accepts"):
        train(config)
    assert not (tmp_path / "run").exists()
