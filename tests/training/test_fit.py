"""The epoch loop (``zoo.training.fit``): what it reports, apart from the steps' arithmetic (test_loop.py)."""
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.models
from zoo.training import fit as fit_module
from zoo.training.checkpoints import Checkpointer, CheckpointWriteError
from zoo.training import loop
from zoo.training.fit import EarlyStopping, fit, resume_message
from zoo.training.loop import Trainer, TrainingInterrupted, TrainingState
from zoo.training.objectives import Objective

TINY = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32}


def _trainer(batch_size=4):
    model = zoo.models.build("transformer-tiny", vocab_size=50, sequence_length=8, num_classes=2, **TINY)
    return Trainer(model, keras.optimizers.SGD(0.1), tf.distribute.get_strategy(), Objective(), batch_size)


@pytest.mark.parametrize("checkpoint_every", [0, 5])
def test_parameter_server_throughput_counts_steps_when_they_finish(monkeypatch, checkpoint_every):
    """The coordinator runs scheduled steps asynchronously and hands over a chunk's results after ``join``: the
    rate is the examples over the time the steps took, not over the moments it takes to hand them over."""
    clock = [0.0]
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock[0])
    trainer = _trainer()
    trainer.parameter_server = True
    monkeypatch.setattr(trainer, "parameter_server_iterator", lambda *args: None)

    def schedule_steps(iterator, steps):
        clock[0] += 0.1 * steps  # the workers take 0.1 s a step; join() returns when all are done
        return [(np.float32(0.7 * 4), np.float32(2.0), np.float32(4.0))] * steps

    monkeypatch.setattr(trainer, "schedule_steps", schedule_steps)
    ids = np.ones((80, 8), np.int32)  # 20 steps of 4 an epoch
    records = []
    fit(trainer, TrainingState(), (ids, np.zeros(80, np.int32)), epochs=2, seed=0,
        checkpoint_every=checkpoint_every, on_epoch_end=records.append)
    for record in records:
        assert record["examples_per_s"] == pytest.approx(4 / 0.1)  # 40 ex/s, not millions


def test_synchronous_throughput_still_counts_every_step(monkeypatch):
    seen = []
    monkeypatch.setattr(fit_module.Throughput, "add", lambda self, examples: seen.append(examples))
    trainer = _trainer()
    ids = np.ones((16, 8), np.int32)
    fit(trainer, TrainingState(), (ids, np.zeros(16, np.int32)), epochs=1, seed=0)
    assert seen == [4] * 4


def test_a_checkpoint_the_disk_cannot_hold_ends_training_with_the_rerun_advice(tmp_path, monkeypatch):
    trainer = _trainer()
    state = TrainingState()
    checkpoints = Checkpointer(tmp_path / "checkpoints", state=state)

    def full_disk(prefix, options=None):
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device [Op:SaveV2]")

    monkeypatch.setattr(checkpoints.checkpoint, "_write", full_disk)
    ids = np.ones((16, 8), np.int32)
    with pytest.raises(CheckpointWriteError) as caught:
        fit(trainer, state, (ids, np.zeros(16, np.int32)), epochs=1, seed=0, checkpoints=checkpoints,
            rerun="rerun the same command with output.overwrite: false")
    assert str(caught.value) == (
        f"cannot write checkpoint ckpt-4 in {tmp_path / 'checkpoints'}: no space left on device; free space there "
        "and rerun the same command with output.overwrite: false: it starts the run afresh (no checkpoint was "
        "complete)")


def test_a_resume_after_the_last_epoch_says_training_was_complete():
    state = TrainingState()
    state.epoch.assign(3)
    assert resume_message("ckpt-240", state, epochs=3) == ("training was complete; finishing the run from ckpt-240 "
                                                           "(after epoch 3)")  # not "(epoch 4, step 0)"
    state.epoch.assign(2)
    assert resume_message("ckpt-160", state, epochs=3) == "resuming from ckpt-160 (epoch 3, step 0)"
    stopping = EarlyStopping(state, "val_loss", patience=1)
    state.wait.assign(1)
    assert resume_message("ckpt-160", state, epochs=3, early_stopping=stopping) == (
        "training had stopped early (no val_loss improvement for 1 epochs); finishing the run from ckpt-160 "
        "(after epoch 2)")


def test_an_interrupt_of_synchronous_workers_names_the_checkpoint_and_the_steps_it_loses(tmp_path, monkeypatch):
    """With more than one synchronous worker an interrupt cannot save: the rerun resumes from the last periodic
    checkpoint, and the message says how many steps that retrains (it said nothing of them)."""
    from zoo.training.run import _rerun

    trainer = _trainer()
    run_steps = trainer.run_steps

    def interrupted_at_step_5(iterator, steps):
        for done, result in enumerate(run_steps(iterator, steps), 1):
            if done == 5:
                signal.raise_signal(signal.SIGINT)
            yield result

    monkeypatch.setattr(trainer, "run_steps", interrupted_at_step_5)
    state = TrainingState()
    checkpoints = Checkpointer(tmp_path / "checkpoints", state=state)
    ids = np.ones((32, 8), np.int32)  # 8 steps of 4 an epoch
    with pytest.raises(TrainingInterrupted) as caught:
        fit(trainer, state, (ids, np.zeros(32, np.int32)), epochs=1, seed=0, checkpoints=checkpoints,
            checkpoint_every=3, synchronous_workers=2, rerun=_rerun(overwrite=False, workers=2))
    kept = tmp_path / "checkpoints" / "ckpt-3"
    assert str(caught.value) == (
        f"training interrupted at epoch 1, step 5/8; rerun the same command on every task of TF_CONFIG's cluster to "
        f"resume from {kept}; the 2 steps trained since that checkpoint are lost (synchronous workers cannot save at "
        "an interrupt; a smaller training.checkpoint_every loses fewer)")
    assert checkpoints.latest == str(kept)  # nothing saved at the interrupt


def test_each_epoch_records_the_distribution_it_trained_under():
    records = []
    ids = np.ones((16, 8), np.int32)
    fit(_trainer(), TrainingState(), (ids, np.zeros(16, np.int32)), epochs=2, seed=0, on_epoch_end=records.append,
        distribution={"strategy": "default", "replicas": 1})
    assert [record["distribution"] for record in records] == [{"strategy": "default", "replicas": 1}] * 2
