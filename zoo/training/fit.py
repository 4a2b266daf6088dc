"""The epoch loop: resumable steps, periodic checkpoints, validation, early stopping, interrupts."""
import math
import time
from pathlib import Path

import keras
import numpy as np

from zoo.training.checkpoints import CheckpointWriteError
from zoo.training.divergence import DivergenceCheck, chance_loss
from zoo.training.loop import EpochBatches, Throughput, TrainingInterrupted, check_finite, interruptible
from zoo.training.objectives import perplexity

# What an interrupt's message tells the user to do to resume; a cluster's tasks must all rerun it.
RERUN = "rerun the same command"
ON_EVERY_TASK = "on every task of TF_CONFIG's cluster"


class EarlyStopping:
    """Tracks the monitored validation metric; its state lives in the checkpointed ``TrainingState``.

    Args:
        state: The ``TrainingState`` (``best_value``, ``best_epoch``, ``wait``).
        monitor: ``val_loss`` (lower is better) or ``val_accuracy`` (higher is better).
        patience: Epochs without improvement before stopping; 0 never stops (the best epoch is still kept).
        min_delta: An improvement must better the best value by more than this (as in Keras; 0: any strict gain).
    """

    def __init__(self, state, monitor="val_accuracy", patience=0, min_delta=0.0):
        self.state, self.monitor, self.patience, self.min_delta = state, monitor, patience, min_delta
        self.sign = -1.0 if monitor == "val_loss" else 1.0

    def update(self, record, epoch):
        """Record epoch ``epoch``'s metrics; return ``(improved, stop)``."""
        value = record[self.monitor]
        best = float(self.state.best_value.numpy())
        improved = math.isnan(best) or self.sign * (value - best) > self.min_delta
        if improved:
            self.state.best_value.assign(value)
            self.state.best_epoch.assign(epoch)
            self.state.wait.assign(0)
        else:
            self.state.wait.assign_add(1)
        return improved, self.stopped()

    def stopped(self):
        """Whether the epochs recorded so far end the run (true again for a run resumed after its last epoch)."""
        return bool(self.patience) and int(self.state.wait.numpy()) >= self.patience


def resume_message(path, state, epochs, early_stopping=None):
    """Say where a run restored from checkpoint ``path`` goes on: which epoch and step, or that training was done.

    A checkpoint written after the last epoch (or after early stopping ended the run) leaves no step to take:
    the rerun only finishes the run (final metrics, model files), and "epoch 4" of a 3-epoch run would say
    otherwise.

    Args:
        path: The restored checkpoint.
        state: The restored ``TrainingState``.
        epochs: Total epochs of the run.
        early_stopping: The run's ``EarlyStopping``, or ``None``.

    Example:
        >>> from zoo.training.loop import TrainingState
        >>> state = TrainingState()
        >>> _ = state.epoch.assign(1), state.step_in_epoch.assign(5)
        >>> resume_message("runs/demo/checkpoints/ckpt-45", state, epochs=3)
        'resuming from runs/demo/checkpoints/ckpt-45 (epoch 2, step 5)'
        >>> _ = state.epoch.assign(3), state.step_in_epoch.assign(0)
        >>> resume_message("runs/demo/checkpoints/ckpt-120", state, epochs=3)
        'training was complete; finishing the run from runs/demo/checkpoints/ckpt-120 (after epoch 3)'
    """
    epoch, step = int(state.epoch.numpy()), int(state.step_in_epoch.numpy())
    if epoch >= epochs:
        return f"training was complete; finishing the run from {path} (after epoch {epoch})"
    if early_stopping is not None and early_stopping.stopped():
        return (f"training had stopped early (no {early_stopping.monitor} improvement for {early_stopping.patience} "
                f"epochs); finishing the run from {path} (after epoch {epoch})")
    return f"resuming from {path} (epoch {epoch + 1}, step {step})"


def fit(trainer, state, train, validation=None, *, epochs, seed, checkpoints=None, best=None, early_stopping=None,
        checkpoint_every=0, progress=None, on_epoch_end=None, synchronous_workers=1, bucket_by_length=False,
        divergence_factor=0.0, rerun=RERUN, distribution=None):
    """Train ``trainer.model`` from wherever ``state`` says until ``epochs`` are done or early stopping ends it.

    Args:
        trainer: A ``Trainer``.
        state: The ``TrainingState`` saved in ``checkpoints`` (already restored when resuming).
        train: ``(features, labels)`` of the training split (see ``Trainer``).
        validation: ``(features, labels)`` of the validation split, or ``None``.
        epochs: Total epochs of the run.
        seed: Seed of the example order (see ``EpochBatches``).
        checkpoints: ``Checkpointer`` of the resumable state, or ``None``.
        best: ``Checkpointer`` that receives the weights of each new best epoch, or ``None``.
        early_stopping: An ``EarlyStopping``, or ``None`` (needs ``validation``).
        checkpoint_every: Also save every this many global steps (0: at epoch ends only).
        progress: A ``Progress``, or ``None``.
        on_epoch_end: Called with each epoch's history record (a dict) after its checkpoint is written.
        synchronous_workers: Workers stepping in lock-step; with more than one, an interrupt cannot save
            (the others would wait for this worker forever), so it stops at the last checkpoint, its message
            counting the steps trained since.
        bucket_by_length: Batch examples of similar length together (see ``EpochBatches``).
        divergence_factor: Stop when an epoch's running loss exceeds this many times the larger of the
            chance-level and the first epoch's loss (``zoo.training.divergence``); 0 never does.
        rerun: What an interrupt's message tells the user to do to resume (``zoo.train`` names
            ``output.overwrite`` when it is set, since the same command would then start afresh, and every task of
            a cluster).
        distribution: ``{"strategy": ..., "replicas": ...}`` the epochs train under, kept in each epoch's history
            record under ``distribution`` (a resumed run may train under another), or ``None``.

    Returns:
        ``stopped_early``: whether early stopping ended the run.

    Raises:
        NonFiniteLossError: The loss became NaN or Inf, or diverged (``LossDivergedError``).
        TrainingInterrupted: SIGINT or SIGTERM arrived, at any step: raised after saving a checkpoint to
            resume from, even in the last epoch (a rerun then only finishes the run).
    """
    features, labels = train
    lengths = trainer.objective.lengths(features)
    batches = EpochBatches(len(lengths), trainer.batch_size, seed, lengths=lengths if bucket_by_length else None)
    steps = batches.steps
    throughput = Throughput()
    first_epoch, first_step = int(state.epoch.numpy()), int(state.step_in_epoch.numpy())
    if early_stopping is not None and early_stopping.stopped():
        return True
    records = state.records()
    chance = chance_loss(trainer.objective, trainer.model.outputs[0].shape[-1], labels)
    divergence = DivergenceCheck(divergence_factor, chance, records[0]["loss"] if records else None)
    if trainer.parameter_server:
        iterator = trainer.parameter_server_iterator(features, labels, seed)
    elif first_epoch < epochs:
        remaining = np.concatenate([batches.indices(e)[first_step if e == first_epoch else 0:]
                                    for e in range(first_epoch, epochs)])
        iterator = iter(trainer.distribute(features, labels, remaining, first_step=first_epoch * steps + first_step))
    with interruptible() as received:
        for epoch in range(first_epoch, epochs):
            start = int(state.step_in_epoch.numpy())
            sums = [float(state.loss_sum.numpy()), float(state.correct_sum.numpy()), float(state.count.numpy())]
            epoch_start = time.perf_counter()
            if progress is not None:
                progress.start_epoch(epoch, epochs, steps, start)
            throughput.reset()

            def save(step_done, global_step):
                state.step_in_epoch.assign(step_done)
                state.loss_sum.assign(sums[0])
                state.correct_sum.assign(sums[1])
                state.count.assign(sums[2])
                state.elapsed.assign_add(time.perf_counter() - save.clock)
                save.clock = time.perf_counter()
                return _save(checkpoints, global_step, rerun)

            save.clock = epoch_start
            for step, (loss_sum, correct_sum, count), completed in _steps(trainer, batches, epoch, start,
                                                                          checkpoint_every, iterator):
                check_finite(loss_sum, epoch, step, checkpoints)
                sums[0] += float(loss_sum)
                sums[1] += float(correct_sum)
                sums[2] += float(count)
                divergence.check(sums[0] / sums[2], epoch, step, checkpoints)
                if completed:
                    throughput.add(completed * trainer.batch_size)
                if progress is not None:
                    progress.update(step + 1, sums[0] / sums[2], sums[1] / sums[2], throughput.rate)
                last = step + 1 == steps
                global_step = epoch * steps + step + 1
                if checkpoint_every and global_step % checkpoint_every == 0 and not last:
                    save(step + 1, global_step)
                if received[0] is not None and not last:
                    if synchronous_workers == 1:
                        path, lost = save(step + 1, global_step), ""
                    else:
                        path = checkpoints.latest if checkpoints else None
                        lost = _unsaved_steps(global_step - checkpoint_step(path), path)
                    raise TrainingInterrupted(
                        f"training interrupted at epoch {epoch + 1}, step {step + 1}/{steps}; "
                        + (f"{rerun} to resume from {path}" if path else "no checkpoint to resume from") + lost,
                        received[0], path)
            # Taken before validation: it counts training steps only.
            rate = throughput.rate
            record = {"epoch": epoch + 1, "loss": sums[0] / sums[2], "accuracy": sums[1] / sums[2]}
            if trainer.objective.token_level:
                record["perplexity"] = perplexity(record["loss"])
            if validation is not None:
                record.update({f"val_{key}": value for key, value in trainer.evaluate(*validation).items()})
            record["learning_rate"] = last_update_learning_rate(trainer.optimizer)
            record["examples_per_s"] = rate
            record["seconds"] = time.perf_counter() - epoch_start
            if distribution is not None:
                record["distribution"] = dict(distribution)
            stop = False
            if early_stopping is not None:
                improved, stop = early_stopping.update(record, epoch)
                if improved:
                    _save(best, epoch + 1, rerun)
            state.epoch.assign(epoch + 1)
            state.append_record(record)
            divergence.epoch_done(record)
            sums = [0.0, 0.0, 0.0]
            save(0, (epoch + 1) * steps)
            if progress is not None:
                progress.end_epoch(record)
            if on_epoch_end is not None:
                on_epoch_end(record)
            if received[0] is not None:
                path = checkpoints.latest if checkpoints is not None else None
                rest = "to resume" if epoch + 1 < epochs and not stop else "to finish the run (final metrics)"
                raise TrainingInterrupted(f"training interrupted after epoch {epoch + 1}; {rerun} "
                                          + (f"{rest} from {path}" if path else "(no checkpoint to resume from)"),
                                          received[0], path)
            if stop:
                return True
    return False


def checkpoint_step(path):
    """The global step of a checkpoint path (``.../ckpt-110``: 110), 0 for ``None`` (a fresh start).

    Example:
        >>> checkpoint_step("runs/demo/checkpoints/ckpt-110"), checkpoint_step(None)
        (110, 0)
    """
    return int(Path(path).name.rsplit("-", 1)[1]) if path else 0


def _unsaved_steps(count, path):
    """What an interrupt of synchronous workers loses: it cannot save (the other workers would wait for this one's
    part of the save for ever), so the ``count`` steps since checkpoint ``path`` (or the start) are retrained."""
    since = "since that checkpoint" if path else "so far"
    return (f"; the {count} step{'' if count == 1 else 's'} trained {since} {'is' if count == 1 else 'are'} lost "
            "(synchronous workers cannot save at an interrupt; a smaller training.checkpoint_every loses fewer)")


def _save(checkpointer, number, rerun):
    """Save ``checkpointer`` (if any) as ``number``; a failed write's message tells the user to ``rerun``."""
    if checkpointer is None:
        return None
    try:
        return checkpointer.save(number)
    except CheckpointWriteError as err:
        raise err.with_rerun(rerun) from None


def last_update_learning_rate(optimizer):
    """Return the learning rate ``optimizer``'s latest update used: its schedule at ``iterations - 1``.

    Keras's ``optimizer.learning_rate`` is the schedule at ``iterations``, the rate of the next update, which
    a history record taken after an epoch's last step would give to that epoch. A ``GroupedOptimizer``
    reports its first group's rate, a ``LossScaleOptimizer`` its inner optimizer's.

    Args:
        optimizer: A Keras optimizer, ``LossScaleOptimizer`` or ``GroupedOptimizer`` that has made an update.

    Example:
        >>> from zoo.training.optimizers import WarmupSchedule
        >>> schedule = WarmupSchedule(1e-3, "linear", warmup_steps=10, total_steps=100)
        >>> optimizer = keras.optimizers.SGD(schedule)
        >>> _ = optimizer.iterations.assign(10)  # ten updates done: the tenth, which ends the warm-up, used the peak
        >>> round(last_update_learning_rate(optimizer), 6), round(float(optimizer.learning_rate), 6)
        (0.001, 0.000989)
    """
    optimizer = getattr(optimizer, "optimizers", [optimizer])[0]
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    # Keras keeps the schedule itself only in ``_learning_rate``; ``learning_rate`` evaluates it at ``iterations``.
    schedule = optimizer._learning_rate
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return float(np.asarray(schedule(optimizer.iterations - 1)))
    return float(np.asarray(optimizer.learning_rate))


def _steps(trainer, batches, epoch, start, checkpoint_every, iterator):
    """Yield ``(step, (loss_sum, correct_sum, count), completed)`` for steps ``start..steps-1`` of ``epoch``.

    ``completed`` is how many steps finished since the previous yield, for the ``Throughput``: 1 per step on
    the synchronous strategies. Parameter-server steps run asynchronously and are collected in chunks (at
    checkpoint boundaries), all finished when the first result of a chunk comes: its first result reports
    the whole chunk and the others none, so the rate is the chunk's examples over the time to its ``join``,
    not the microseconds it takes to hand the finished results over one by one.
    """
    if not trainer.parameter_server:
        for step, result in enumerate(trainer.run_steps(iterator, batches.steps - start), start):
            yield step, result, 1
        return
    chunk = checkpoint_every or batches.steps
    step = start
    while step < batches.steps:
        size = min(chunk - (epoch * batches.steps + step) % chunk, batches.steps - step)
        for index, result in enumerate(trainer.schedule_steps(iterator, size)):
            yield step, result, size if index == 0 else 0
            step += 1
