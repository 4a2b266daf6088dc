"""One trial: data tokenized once per search, a registry model, and zoo's own training loop.

A trial trains exactly as ``zoo.train`` does (same data, optimizer, schedule, ``Trainer``, ``fit``, seeds), so
``zoo train --config best_config.yaml`` reproduces the best trial.
"""
import dataclasses

import keras

from zoo.config import ConfigError
from zoo.console import a_task
from zoo.training.data import classification_mode, load_splits
from zoo.training.data import model_arguments as _model_arguments
from zoo.training.fit import EarlyStopping, fit
from zoo.training import transfer
from zoo.training.loop import Trainer, TrainingState
from zoo.training.objectives import Objective
from zoo.training.optimizers import optimizer_for
from zoo.training.run import check_class_weight, check_jit, loss_class_weights, num_examples
from zoo.training.precision import resolve_precision


def prepare_data(config, progress=None):
    """Load, split and tokenize the data of ``config`` once for a whole search; say its class weights on
    ``progress`` (a ``Progress``, or ``None``).

    Returns:
        The dict ``zoo.train`` works from: ``train``/``validation``/``test`` as ``(ids, labels)`` numpy
        arrays (``test`` may be ``None``), ``tokenizer``, ``label_names``, ``sources``.
    """
    if config.data.validation_split <= 0 and config.data.validation_source is None:
        raise ConfigError("data.validation_split must be > 0 (or data.validation_source set) for tuning: trials are "
                          "compared on the validation split")
    checkpoint = transfer.from_checkpoint(config)
    if config.model.init_from and not checkpoint:
        raise ConfigError(f"model.init_from: {config.model.init_from} is not a pretrained checkpoint folder; tuning "
                          "searches models trained from scratch or from a checkpoint; fine-tune from a pretraining "
                          "run with zoo train instead")
    data = load_splits(config, transfer.pretrained_run(config)[1] if checkpoint else None)
    if data["task"] != "classification":
        raise ConfigError(f"model.name: tuning searches classifiers; {config.model.name!r} is {a_task(data['task'])} model")
    check_class_weight(config, data["task"])
    loss_class_weights(config, data, progress)  # an unknown class is refused before any trial
    return data


def model_arguments(config, data):
    """Return the full builder arguments of ``config``'s model for the prepared ``data``."""
    return _model_arguments(config, data)


@dataclasses.dataclass
class TrialOutcome:
    """What a trial's training produced.

    Attributes:
        history: One record per epoch trained in this trial.
        best: The record of the best epoch (by the monitored metric).
        stopped_early: Whether early stopping ended the trial.
    """

    history: list
    best: dict
    stopped_early: bool

    def metrics(self):
        """Return the numbers reported to keras-tuner: the best epoch's metrics, ``best_epoch``, ``epochs``."""
        keys = ("loss", "accuracy", "val_loss", "val_accuracy")
        return {**{k: float(self.best[k]) for k in keys}, "best_epoch": float(self.best["epoch"]),
                "epochs": float(self.history[-1]["epoch"])}


def train_trial(model, config, data, strategy, *, epochs, monitor, patience, initial_epoch=0, callbacks=(),
                progress=None):
    """Train ``model`` (built under ``strategy``) as ``zoo.train`` would, without a run directory.

    Args:
        model: The trial's model, built under ``strategy.scope()`` with the global dtype policy of
            ``config.training.precision``.
        config: The trial's config.
        data: ``prepare_data(config)`` (any config of the same search).
        strategy: A single-machine ``tf.distribute`` strategy.
        epochs: Train until this epoch (counted from 0, including ``initial_epoch``); a Hyperband round
            stops before ``config.training.epochs``, the trial's whole budget.
        monitor: ``val_accuracy`` or ``val_loss``: the metric early stopping and ``best`` follow.
        patience: Early-stopping patience in epochs; 0 never stops.
        initial_epoch: Epochs already trained (Hyperband continues a trial's weights); the example order
            and the learning-rate schedule continue from there. The schedule always spans
            ``config.training.epochs``, so every round is a stretch of one run's schedule.
        callbacks: Keras callbacks, called at epoch ends with the epoch's metrics (keras-tuner's).
        progress: A ``zoo.training.progress.Progress``, or ``None``.

    Returns:
        A ``TrialOutcome``.

    Raises:
        NonFiniteLossError: The loss became NaN or Inf.
        TrainingInterrupted: SIGINT/SIGTERM arrived.
    """
    policy = resolve_precision(config.training.precision)
    train_ids, train_labels = data["train"]
    steps = num_examples(train_ids) // config.training.batch_size
    with strategy.scope():
        # Over the trial's whole budget, not this round's end: a schedule ending with the round would decay to
        # its end there and, rebuilt longer for the next round, jump back up (a restart, not a continuation).
        optimizer = optimizer_for(config, model, policy, max(epochs, config.training.epochs) * steps)
    trainer = Trainer(
        model, optimizer, strategy,
        Objective(classification_mode(config), config.training.label_smoothing, pad_id=data["tokenizer"].pad_id,
                  trim=model.masks_padding, class_weights=loss_class_weights(config, data),
                  r_drop=config.training.r_drop),
        config.training.batch_size, l1=config.training.l1, l2=config.training.l2,
        clipnorm=config.optimizer.clipnorm, clipvalue=config.optimizer.clipvalue,
        jit_compile=check_jit(config.training.jit_compile, strategy, model), seed=config.training.seed)
    state = TrainingState()
    state.epoch.assign(initial_epoch)
    for part in getattr(optimizer, "optimizers", [optimizer]):
        part.iterations.assign(initial_epoch * steps)
    stopping = EarlyStopping(state, monitor=monitor, patience=patience)
    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model)
    callback_list.on_train_begin()

    def on_epoch_end(record):
        callback_list.on_epoch_end(record["epoch"] - 1, dict(record))

    stopped_early = fit(trainer, state, (train_ids, train_labels), data["validation"], epochs=epochs,
                        seed=config.training.seed, early_stopping=stopping, progress=progress,
                        on_epoch_end=on_epoch_end, bucket_by_length=config.training.bucket_by_length,
                        divergence_factor=config.training.divergence_factor)
    callback_list.on_train_end()
    history = state.records()
    best_epoch = int(state.best_epoch.numpy()) + 1
    best = next(r for r in history if r["epoch"] == best_epoch)
    return TrialOutcome(history, best, stopped_early)
