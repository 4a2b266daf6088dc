"""``zoo.train(config)``: data, tokenizer, strategy, model, training loop, and the run directory.

A run directory holds::

    config.yaml         the resolved config (every field)
    tokenizer/          the fitted tokenizer and labels.txt (the label vocabulary, in id order)
    data_fingerprint.json
                        the count and SHA-256 of the training and validation examples (a resume checks them)
    model.json          the model registry name and the full builder arguments (a model started from a
                        pretrained checkpoint: its Keras config instead, and the checkpoint's path)
    checkpoints/        resumable checkpoints (weights, optimizer, loop position): the last ones
    best/               the weights of the best validation epoch
    model.weights.h5    the final weights (the best epoch's when early_stopping.restore_best_weights)
    history.json        one record per epoch (loss, accuracy, val_loss, val_accuracy, the learning rate of its
                        last step, speed)
    metrics.json        final metrics on validation and test, timings; written last: marks a finished run
    logs/train, logs/validation   TensorBoard event files

Only the chief writes it. Rerunning an interrupted run with the same config (only ``MAY_CHANGE_ON_RESUME`` may
differ) and the same data resumes from its last checkpoint; a finished run is never overwritten unless
``output.overwrite`` says so.
"""
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from zoo import interrupts
from zoo.config import Config, ConfigError, changed_settings, ignored_settings
from zoo.console import a_task, counted
from zoo.data.sources import data_stem
from zoo.evaluation.metrics import PER_LABEL_ACCURACY
from zoo.paths import creatable_problem
from zoo.training.checkpoints import (Checkpointer, RunClock, RunPrecision, checkpoint_paths, model_variables,
                                      saved_precision)
from zoo.training.fit import ON_EVERY_TASK, RERUN, EarlyStopping, checkpoint_step, fit, resume_message
from zoo.training import transfer
from zoo.training.data import (classification_mode, example_input, load_splits, model_arguments, origin_of_split,
                               task_of_config)
from zoo.training.loop import EpochBatches, Evaluator, Trainer, TrainingState
from zoo.training.objectives import class_weights, objective_for
from zoo.training.optimizers import optimizer_for
from zoo.training.precision import precision_report, precision_summary, precision_warnings, resolve_precision
from zoo.training.progress import Progress
from zoo.training.strategies import (
    PEER_STOPPED_ERRORS,
    EmbeddingPartitioner,
    PeerStoppedError,
    check_batch_size,
    cluster_resolver,
    get_strategy,
    is_parameter_server,
    serve,
    synchronous_workers,
    task_info,
    worker_values,
)

log = logging.getLogger(__name__)

# Config keys (or whole sections) a resumed run may change; any other change would not continue the same run.
# None of them decides what is computed: the example order does not depend on the replica count
# (``distribution``), ``output`` is where and what the run shows and writes, and a checkpoint holds the whole
# loop position, so when checkpoints are saved and how many are kept changes nothing either: a resume with
# ``training.checkpoint_every`` or ``training.keep_checkpoints`` changed ends with the uninterrupted run's weights.
# ``training.divergence_factor`` only stops a run: its error tells the user to set it to 0, and a rerun so must
# continue the run (it ends as an uninterrupted run with the new factor would), not have to start afresh.
MAY_CHANGE_ON_RESUME = ("distribution", "output", "training.checkpoint_every", "training.keep_checkpoints",
                        "training.divergence_factor")


# The run directory's record of the examples it trains on (``data_fingerprint``): a resume with other examples
# is an error.
DATA_FINGERPRINT = "data_fingerprint.json"
# The splits it records, which a resumed run must find unchanged: the training split decides the weights and the
# validation split the best epoch. The test split is only scored at the end, once.
_FINGERPRINTED = {"train": "training", "validation": "validation"}


class RunDirectoryError(ValueError):
    """The run directory holds a finished run, or an unfinished run with a different config, or is damaged."""


# How an error about a finished run's unreadable file ends.
DAMAGED = ": the run directory is damaged; train the run again (or restore the file from a copy)"


@dataclasses.dataclass
class TrainResult:
    """What ``train`` returns: the run directory and the trained objects.

    Attributes:
        run_dir: The run directory.
        config: The resolved config.
        model: The trained Keras model (best epoch's weights when restored).
        tokenizer: The fitted tokenizer.
        label_names: Class names in label-id order.
        history: One record per epoch.
        metrics: The contents of ``metrics.json``.
        text_pairs: The model classifies sentence pairs (it takes its texts two at a time).
        example_input: A short held-out input (two texts for a pair) for the commands ``zoo train`` prints
            next (``zoo.training.data.example_input``); empty when unknown.
        chief: The cluster task that wrote the run directory (``worker 0``) when it was another process than
            this one (a ``multi_worker`` task that is not the chief); empty when this process wrote it.
    """

    run_dir: Path
    config: Config
    model: keras.Model
    tokenizer: object
    label_names: list
    history: list
    metrics: dict
    text_pairs: bool = False
    example_input: tuple = ()
    chief: str = ""


def as_config(config=None, overrides=()):
    """Return a ``Config`` from a ``Config``, a dict, a YAML/JSON path or ``None`` (defaults), plus overrides.

    Example:
        >>> as_config({"training": {"epochs": 2}}, ["training.batch_size=16"]).training.batch_size
        16
    """
    if config is None:
        config = Config()
    elif isinstance(config, dict):
        config = Config.from_dict(config)
    elif isinstance(config, (str, Path)):
        config = Config.load(config)
    elif isinstance(config, Config):
        # A config built with the dataclass constructors takes its recipe's defaults here (see Config).
        config = Config.from_dict(config.given())
    else:
        raise TypeError(f"config must be a Config, a dict or a path, got {type(config).__name__}")
    return config.override(overrides) if overrides else config


def default_run_dir(config):
    """Return ``runs/<data>-<model>`` for a config without ``output.dir``.

    The model of a run from a pretrained checkpoint folder is the checkpoint's, so its folder names it
    (``runs/mr-all-MiniLM-L6-v2``, see ``trained_model_name``): ``model.name`` describes the from-scratch model
    the run does not build, and a from-scratch run on the same data would claim the same directory. A run that
    starts from a zoo pretraining run adds that run's folder (``runs/mr-transformer-tiny-from-pretrained``), for
    the same reason.

    Example:
        >>> default_run_dir(Config.from_dict({"data": {"source": "data/reviews.csv.gz"}}))
        PosixPath('runs/reviews-transformer-tiny')
    """
    source = config.data.source.split(":", 1)[-1] if ":" in config.data.source else config.data.source
    name = f"{data_stem(source.rstrip('/')) or 'data'}-{trained_model_name(config)}"
    if config.model.init_from and not transfer.from_checkpoint(config):
        name += f"-from-{_folder_name(config.model.init_from)}"
    return Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def trained_model_name(config):
    """The name of the model ``config`` trains: ``model.name``, or the folder of the checkpoint it starts from.

    Example:
        >>> trained_model_name(Config())
        'transformer-tiny'
    """
    return _folder_name(config.model.init_from) if transfer.from_checkpoint(config) else config.model.name


def run_model_name(run_dir):
    """``trained_model_name`` of a finished run, read from its ``model.json`` (the checkpoint may have moved since).

    Example:
        >>> run_model_name("runs/reviews")
        'transformer-tiny'
    """
    spec = read_model_spec(run_dir)
    return _folder_name(spec["init_from"]) if "init_from" in spec else spec["name"]


def _folder_name(path):
    """The name of the folder ``path`` (a checkpoint given as ``.`` or ``checkpoints/minilm/`` included)."""
    return Path(str(path)).resolve().name


def train(config=None, *, overrides=(), resolver=None, progress_stream=None):
    """Train the model a config describes and write its run directory.

    Args:
        config: A ``Config``, a dict, a YAML/JSON path, or ``None`` for the defaults (the default
            Transformer on MR).
        overrides: ``key=value`` strings applied on top (as ``zoo train --set``).
        resolver: A ``tf.distribute.cluster_resolver.ClusterResolver`` to use instead of
            ``distribution.cluster_resolver`` (e.g. an in-process cluster).
        progress_stream: Where the progress bar goes (standard error by default).

    Returns:
        A ``TrainResult``.

    Raises:
        ConfigError: A bad config value (naming the key).
        RunDirectoryError: ``output.dir`` holds a finished run, or an unfinished run with another config.
        NonFiniteLossError: The loss became NaN/Inf (the last good checkpoint is kept).
        TrainingInterrupted: SIGINT/SIGTERM; rerun the same call to resume (with ``output.overwrite: false``:
            ``output.overwrite: true`` starts afresh).

    Example:
        >>> result = zoo.train({"data": {"source": "reviews.jsonl"}, "training": {"epochs": 1},
        ...                     "output": {"dir": "runs/demo", "progress": "none"}})
        >>> result.run_dir, result.label_names, sorted(result.metrics["test"])
        (PosixPath('runs/demo'), ['negative', 'positive'], ['accuracy', 'loss'])
    """
    config = as_config(config, overrides)
    ignored = ignored_settings(config)
    if ignored:
        key, value, other, why = ignored[0]
        raise ConfigError(f"{key}: {value!r} would be ignored: {why}; remove {key}, or change {other}")
    wall_start = time.perf_counter()
    # The strategy comes first: multi-worker strategies configure the cluster and collective ops, which
    # must happen before any other TensorFlow work.
    strategy, partitioner, jobs = _strategy(config.distribution, resolver)
    task_type, task_id, is_chief = task_info(strategy)
    check_batch_size(config.training.batch_size, strategy)
    # Recorded per epoch as well as in metrics.json: a resumed run may train its later epochs under another.
    distribution = {"strategy": config.distribution.strategy, "replicas": _replicas(strategy)}
    rerun = _rerun(config.output.overwrite, synchronous_workers(strategy))
    run_dir = Path(config.output.dir) if config.output.dir else default_run_dir(config)
    # Everything is checked before the run directory is created (or an old run in it replaced): a run that
    # fails validation leaves nothing behind.
    resume = _should_resume(run_dir, config)
    if is_chief:
        _check_creatable(run_dir)
    progress = Progress(config.output.progress if is_chief else "none", stream=progress_stream)

    task = task_of_config(config)
    check_class_weight(config, task)
    check_model_config(config)
    keras.utils.set_random_seed(config.training.seed)
    pretrained, tokenizer = transfer.pretrained_run(config) if config.model.init_from else (None, None)
    data = load_splits(config, tokenizer)
    if pretrained is not None and not transfer.from_checkpoint(config) and is_chief:
        unknown = transfer.unknown_tokens_warning(tokenizer, data["texts"]["train"], pretrained)
        if unknown:
            log.warning("warning: %s", unknown)
    if resume:
        _check_same_data(run_dir, data, config.data.source)
    train_features = data["train"][0]
    progress.message(_data_summary(config, data, run_dir, _distribution_summary(config, strategy, jobs), resume,
                                   config.data.sequence_length == "auto"))
    loss_weights = loss_class_weights(config, data, progress)
    if config.recipe_defaults():
        progress.message("fine-tuning recipe defaults: " + ", ".join(
            f"{key}={value}" for key, value in config.recipe_defaults().items()))

    saved = saved_precision(run_dir / "checkpoints") if resume else None
    precision_choice = precision_report(config.training.precision, resolve_precision(config.training.precision),
                                        saved)
    policy = precision_choice["policy"]
    progress.message(precision_summary(precision_choice))
    for warning in precision_warnings(precision_choice):
        log.warning("warning: %s", warning)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        if partitioner is not None:
            partitioner.rows = data["tokenizer"].vocab_size
        build_args = model_arguments(config, data)
        checkpoint = transfer.from_checkpoint(config)
        donor = load_run(pretrained)[0] if pretrained is not None and not checkpoint else None
        taken = {}
        if donor is not None:
            taken = transfer.pretrained_encoder_arguments(donor, build_args, config.model.overrides,
                                                          config.model.name)
            build_args = {**build_args, **taken}
        with strategy.scope():
            if checkpoint:
                model = transfer.checkpoint_classifier(config, len(data["label_names"]))
                initialised = f"initialised the backbone from the checkpoint {pretrained}"
            else:
                model = _build_model(config.model.name, build_args, config.model.overrides)
            _check_reads_pairs(model, data["texts"]["train"], config)
            if donor is not None:
                copied = transfer.initialise_encoder(model, donor, pretrained, config.model.name, config.model.freeze,
                                                     config.model.freeze_blocks)
                initialised = f"initialised backbone parts {', '.join(copied)} from {pretrained}"
                if taken:
                    sizes = ", ".join(f"{key} {value}" for key, value in taken.items())
                    initialised += f", with its encoder's {sizes} (not {config.model.name}'s)"
            if pretrained is not None:
                progress.message(initialised + (f" (frozen: {config.model.freeze})"
                                                if config.model.freeze != "none" else ""))
            steps_per_epoch = num_examples(train_features) // config.training.batch_size
            optimizer = optimizer_for(config, model, policy, config.training.epochs * steps_per_epoch)
        spec = _model_spec(config, build_args, model, checkpoint, data["texts"]["train"].is_pairs)
        trainer = Trainer(
            model, optimizer, strategy,
            objective_for(task, mode=build_args.get("mode"), vocab_size=data["tokenizer"].vocab_size,
                          label_smoothing=config.training.label_smoothing, special_ids=data["tokenizer"].special_ids,
                          trim=task != "classification" or model.masks_padding, class_weights=loss_weights,
                          r_drop=config.training.r_drop),
            config.training.batch_size, l1=config.training.l1, l2=config.training.l2,
            clipnorm=config.optimizer.clipnorm, clipvalue=config.optimizer.clipvalue,
            jit_compile=check_jit(config.training.jit_compile, strategy, model), seed=config.training.seed)
        # Built here only to check training.batch_size against the examples before anything is written.
        EpochBatches(num_examples(train_features), config.training.batch_size, config.training.seed)
        state = TrainingState()
        stopping = _early_stopping(config, state, data["validation"])
        if is_chief:
            _create_run_dir(run_dir, config.output.overwrite)  # a resumed run's is left as it is
        worker = f"{task_type or 'worker'}_{task_id or 0}"
        weights = model_variables(model)
        clock = RunClock(start=wall_start)
        checkpoints = Checkpointer(run_dir / "checkpoints", is_chief=is_chief, worker=worker,
                                   max_to_keep=config.training.keep_checkpoints, clock=clock,
                                   precision=RunPrecision(policy),
                                   weights=weights, optimizer=optimizer, state=state)
        best = Checkpointer(run_dir / "best", is_chief=is_chief, worker=worker, max_to_keep=1, weights=weights)
        restored = None
        if resume:
            restored = checkpoints.restore()
            for problem in checkpoints.problems:
                log.warning("warning: %s", problem)
        # Before the chief writes anything: every task must start from the same step.
        _check_same_start(strategy, run_dir / "checkpoints", restored, task_type, task_id, rerun)
        if resume:
            progress.message(resume_message(restored, state, config.training.epochs, stopping))
        if is_chief:
            config.save(run_dir / "config.yaml")
            data["tokenizer"].save(run_dir / "tokenizer")
            if task == "classification":
                from zoo.data import save_label_names

                save_label_names(run_dir / "tokenizer", data["label_names"])
            _write_json(run_dir / DATA_FINGERPRINT, data_fingerprint(data))
        writer = _Summaries(run_dir / "logs") if is_chief and config.output.tensorboard else None

        def on_epoch_end(record):
            if is_chief:
                _write_json(run_dir / "history.json", state.records())
            if writer is not None:
                writer.write(record)

        try:
            stopped_early = fit(
                trainer, state, data["train"], data["validation"], epochs=config.training.epochs,
                seed=config.training.seed, checkpoints=checkpoints, best=best if stopping is not None else None,
                early_stopping=stopping, checkpoint_every=config.training.checkpoint_every, progress=progress,
                on_epoch_end=on_epoch_end, synchronous_workers=synchronous_workers(strategy),
                bucket_by_length=config.training.bucket_by_length,
                divergence_factor=config.training.divergence_factor, rerun=rerun, distribution=distribution)
        except PEER_STOPPED_ERRORS as err:
            if synchronous_workers(strategy) < 2:
                raise
            raise PeerStoppedError(_peer_stopped(err, run_dir, task_type, task_id, rerun)) from None
        history = state.records()
        best_epoch = int(state.best_epoch.numpy()) + 1 if stopping is not None else None
        restored = stopping is not None and config.training.early_stopping.restore_best_weights and best.latest
        if restored:
            best.restore()
        # metrics.json scores the model as model.weights.h5 keeps it and load_run rebuilds it for zoo evaluate,
        # predict and export: in float32. Scored in mixed_bfloat16, a run's test accuracy was 0.672 where
        # zoo evaluate gave its saved model 0.688.
        evaluate = (trainer.evaluate if policy == "float32" else
                    Evaluator(_float32_model(model, spec), trainer.objective, seed=trainer.seed))
        metrics = _final_metrics(evaluate, data, history, best_epoch if restored else len(history), best_epoch,
                                 stopped_early, config, precision_choice, distribution, float(state.elapsed.numpy()),
                                 clock.seconds())
        if loss_weights is not None:
            metrics["class_weight"] = dict(zip(data["label_names"], loss_weights.tolist()))
        if is_chief:
            _save_weights(model, run_dir / "model.weights.h5", spec, is_parameter_server(strategy))
            _write_json(run_dir / "model.json", spec)
            _write_json(run_dir / "history.json", history)
            _write_json(run_dir / "metrics.json", metrics)
            if writer is not None:
                writer.close()
        progress.message(_metrics_summary(metrics, run_dir, build_args.get("mode")))
    finally:
        progress.close()
        keras.mixed_precision.set_global_policy(previous_policy)
    return TrainResult(run_dir, config, model, data["tokenizer"], data["label_names"], history, metrics,
                       data["texts"]["train"].is_pairs, example_input(data["texts"], data["task"]),
                       "" if is_chief else _chief_task(strategy))


def load_run(run_dir):
    """Rebuild a finished run's model, tokenizer and labels from its directory.

    The model is built under the global dtype policy (float32 unless set) whatever precision the run trained
    in, so a ``mixed_bfloat16`` run is evaluated, explained and exported in float32.

    Args:
        run_dir: A run directory written by ``train``.

    Returns:
        ``(model, tokenizer, label_names, config)``; ``label_names`` is empty for lm, mlm and seq2seq runs.

    Example:
        >>> model, tokenizer, labels, config = load_run("runs/reviews")
        >>> labels, config.model.name
        (['negative', 'positive'], 'transformer-tiny')
    """
    from zoo.data import load_label_names, load_tokenizer

    run_dir = Path(run_dir)
    for name in ("config.yaml", "model.json", "model.weights.h5"):
        if not (run_dir / name).is_file():
            from zoo.export.versions import latest_version_dir, unfinished_version

            latest = latest_version_dir(run_dir)
            # A numbered folder that is not a run is a version of an export, finished or not.
            exported = latest is not None and not (latest / "config.yaml").is_file()
            if exported or any(run_dir.glob("saved_model.pb")) or any(run_dir.glob("*/saved_model.pb")):
                raise FileNotFoundError(unfinished_version(run_dir) or (
                    f"{run_dir} is an exported model (a SavedModel), not a run directory: zoo predict and zoo "
                    "evaluate --data (a classifier's) or zoo generate (an lm's or seq2seq's) read it; the other "
                    "commands take the run directory it was exported from"))
            raise FileNotFoundError(f"{run_dir / name} not found: {run_dir} is not a finished zoo run directory")
    config = Config.load(run_dir / "config.yaml")
    spec = read_model_spec(run_dir)
    if config.data.sequence_length == "auto":  # the length auto picked when the run trained
        config = config.override([f"data.sequence_length={_trained_length(spec)}"])
    model = _model_from_spec(spec)
    try:
        model.load_weights(run_dir / "model.weights.h5")
    except (OSError, ValueError) as err:  # h5py's OSError for a damaged file, Keras's ValueError for a mismatch
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RunDirectoryError(f"{run_dir / 'model.weights.h5'} cannot be read ({first}){DAMAGED}") from None
    classifier = task_of_config(config) == "classification"
    labels = load_label_names(run_dir / "tokenizer") if classifier else []
    return model, load_tokenizer(run_dir / "tokenizer"), labels, config


def run_task(run_dir):
    """Return a run directory's task (``classification``, ``lm``, ``mlm``, ``seq2seq``) from its config, or None.

    Cheap: the model is not loaded. ``None`` when there is no ``config.yaml`` (``load_run`` then says what is missing).

    Example:
        >>> run_task("runs/reviews"), run_task("runs/missing")
        ('classification', None)
    """
    config_path = Path(run_dir) / "config.yaml"
    return task_of_config(Config.load(config_path)) if config_path.is_file() else None


def held_out_splits(run):
    """Return the splits (of ``validation``, ``test``) a run holds out of its data: its own source for the split
    (``data.validation_source``), the source's official one, or a seeded ``data.<split>_split`` above 0. What
    ``zoo evaluate RUN --split S`` can score, as it splits the run's data again (``zoo.training.data.split_texts``).

    Args:
        run: A run directory, or the run's ``Config``.

    Example:
        >>> held_out_splits(Config.from_dict({"data": {"source": "trec", "validation_split": 0}}))
        ['test']
    """
    config = run if isinstance(run, Config) else Config.load(Path(run) / "config.yaml")
    return [split for split in ("validation", "test")
            if origin_of_split(config, split) != "seeded" or getattr(config.data, f"{split}_split") > 0]


def load_classifier_run(run_dir, action):
    """``zoo.training.load_run`` for what only a classifier can do (export, predict, explain), its task checked first.

    Args:
        run_dir: a run directory written by ``zoo.train``.
        action: what was asked, for the error: ``"be exported"``, ``"predict labels"``, ``"be explained"``.

    Returns:
        ``(model, tokenizer, label_names, config, pairs)``; ``pairs``: the model classifies sentence pairs.

    Raises:
        ValueError: the run trained an lm, mlm or seq2seq model; the message says which command serves it.

    Example:
        >>> model, tokenizer, labels, config, pairs = load_classifier_run("runs/reviews", "be exported")
        >>> labels, pairs
        (['negative', 'positive'], False)
    """
    task = run_task(run_dir)
    if task not in (None, "classification"):
        instead = f"`zoo evaluate {run_dir}` scores it"
        if task in ("lm", "seq2seq"):
            instead += f", and `zoo generate {run_dir} TEXT ...` generates with it"
        if task == "mlm":
            instead += f", and `zoo train --pretrained {run_dir}` trains a classifier from its encoder"
        raise ValueError(f"{run_dir} is not a classification run (its model's task is {task}): only a classifier "
                         f"can {action}; {instead}")
    model, tokenizer, label_names, config = load_run(run_dir)
    return model, tokenizer, label_names, config, reads_pairs(run_dir)


def reads_pairs(run_dir):
    """Whether a finished run's model classifies sentence pairs (``text_pairs`` in its ``model.json``)."""
    return bool(read_model_spec(run_dir).get("text_pairs", False))


def read_model_spec(run_dir):
    """Return a finished run's ``model.json``: its registry name and builder arguments, or its Keras config.

    Example:
        >>> read_model_spec("runs/reviews")["name"]
        'transformer-tiny'
    """
    path = Path(run_dir) / "model.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunDirectoryError(f"{path} is not valid JSON ({err}){DAMAGED}") from None


def _strategy(distribution, resolver):
    """``(strategy, partitioner, jobs)``; ``jobs``: a ``parameter_server`` cluster's job names and addresses (its
    strategy's ``cluster_resolver`` is ``None``), else ``None``."""
    partitioner = jobs = None
    kind = resolver or distribution.cluster_resolver
    if distribution.strategy == "parameter_server":
        resolver = cluster_resolver(kind) if isinstance(kind, str) else kind
        if resolver.task_type in ("ps", "worker"):
            serve(resolver)
        jobs = resolver.cluster_spec().as_dict()
        shards = distribution.embedding_shards or len(jobs.get("ps", [])) or 1
        partitioner = EmbeddingPartitioner(shards)
        kind = resolver
    strategy = get_strategy(distribution.strategy, devices=distribution.devices, resolver=kind,
                            variable_partitioner=partitioner, collective_timeout=distribution.collective_timeout)
    return strategy, partitioner, jobs


def _rerun(overwrite, workers):
    """What an interrupt's or a stopped peer's message tells the user to do to resume.

    Example:
        >>> _rerun(overwrite=True, workers=2)
        "rerun the same command with output.overwrite: false on every task of TF_CONFIG's cluster"
    """
    # output.overwrite: true would start afresh; a task of a cluster rerun alone would wait for the others for ever.
    return (RERUN + (" with output.overwrite: false" if overwrite else "")
            + (f" {ON_EVERY_TASK}" if workers > 1 else ""))


def _replicas(strategy):
    """The replicas stepping in sync: 1 under ``parameter_server``, whose workers each step alone."""
    return 1 if is_parameter_server(strategy) else strategy.num_replicas_in_sync


def _chief_task(strategy):
    """The task that writes the run directory of a cluster run: its ``chief``, else worker 0 (``task_info``)."""
    return "chief 0" if "chief" in strategy.cluster_resolver.cluster_spec().as_dict() else "worker 0"


def _peer_stopped(err, run_dir, task_type, task_id, rerun):
    """The message of a ``multi_worker`` run whose collective ops a stopped peer aborted; ``rerun``: ``_rerun``'s."""
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    found = re.search(r"Collective ops is aborted by: [^\n]*", str(err.message))
    lines = [line.strip() for line in str(err.message).splitlines() if line.strip()]
    cause = found.group(0) if found else f"{type(err).__name__}: {lines[-1] if lines else ''}"[:200]
    resume = (f"resumes from the last checkpoint, {latest}" if latest else
              "starts afresh (no checkpoint was written yet)")
    return (f"another task of the multi_worker cluster stopped, so {task_type} {task_id} stopped too "
            f"(TensorFlow: {cause}); {rerun}: the run {resume}")


class ResumeMismatchError(RunDirectoryError):
    """The tasks of a ``multi_worker`` run would start from different steps (they see different run directories)."""


def _check_same_start(strategy, directory, restored, task_type, task_id, rerun):
    """Raise ``ResumeMismatchError`` on every task of a ``multi_worker`` run whose tasks restored different
    checkpoints (a fresh start counts as step 0), e.g. a worker that cannot see the chief's run directory.

    A collective with more than one worker: every task calls it, at the same point of ``train``.
    """
    if synchronous_workers(strategy) < 2:
        return
    mine = checkpoint_step(restored)
    try:
        steps = worker_values(strategy, mine)
    except PEER_STOPPED_ERRORS as err:
        raise PeerStoppedError(_peer_stopped(err, directory.parent, task_type, task_id, rerun)) from None
    if len(set(steps)) == 1:
        return
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    # The collective's task order: the chief first, then the workers.
    names = ([f"chief {i}" for i in range(len(spec.get("chief", [])))]
             + [f"worker {i}" for i in range(len(spec.get("worker", [])))])
    me = f"{task_type} {task_id}"
    here = (f"resumes from ckpt-{mine} (step {mine}) in {directory}" if mine
            else f"found no checkpoint in {directory} (a fresh start at step 0)")
    others = ", ".join(
        f"{name}{' (the chief)' if index == 0 and name.startswith('worker') else ''} "
        + (f"resumes from ckpt-{step} (step {step})" if step else "starts afresh at step 0 (it found no checkpoint)")
        for index, (name, step) in enumerate(zip(names, steps)) if name != me)
    raise ResumeMismatchError(
        f"{me} {here}, while {others}: every task of the multi_worker cluster must see the "
        "same run directory (shared storage) and resume from the same checkpoint; nothing was trained. Give every "
        "task the same output.dir (--output) on storage they all read, then rerun every task")


def _should_resume(run_dir, config):
    """Decide between a fresh run (False) and a resume (True), changing nothing on disk."""
    if config.output.overwrite:
        # Overwriting deletes the whole directory: only a run's (its config.yaml is written first), or nothing.
        if run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / "config.yaml").is_file():
            raise RunDirectoryError(f"{run_dir} is not a zoo run directory (it has no config.yaml), and "
                                    "output.overwrite would delete everything in it; set output.dir to a new "
                                    "directory or a run's")
        return False
    if (run_dir / "metrics.json").is_file():
        raise RunDirectoryError(f"{run_dir} holds a finished run (metrics.json); set output.dir to a new "
                                "directory, or output.overwrite: true to replace it")
    if not checkpoint_paths(run_dir / "checkpoints"):
        return False
    saved_path = run_dir / "config.yaml"
    if saved_path.is_file():
        changed = changed_settings(Config.load(saved_path).to_dict(), config.to_dict(), ignore=MAY_CHANGE_ON_RESUME)
        if changed:
            raise RunDirectoryError(f"{run_dir} holds an unfinished run with a different config ("
                                    + "; ".join(changed) + "); rerun with its config to resume (only "
                                    + ", ".join(MAY_CHANGE_ON_RESUME) + " may change), or set output.overwrite: "
                                    "true to start afresh")
    return True


def _check_same_data(run_dir, data, source):
    """Raise ``RunDirectoryError`` when the data now differ from the resumed run's: its vocabulary, labels or examples.

    A resumed run fits its tokenizer and label ids afresh from the data; when the data changed since the run
    started (rows added or edited), the same ids name other words or classes, and the restored weights would
    silently go on training with them swapped. Edited rows that keep the vocabulary and labels would still
    continue the run on other examples (in another order): ``DATA_FINGERPRINT`` tells them apart.
    """
    from zoo.data import load_label_names, load_tokenizer
    from zoo.data.labeled import LABELS_FILE

    saved = run_dir / "tokenizer"
    changed, files = [], []  # what differs, and the files of the run it differs from
    if saved.is_dir() and load_tokenizer(saved).vocabulary != data["tokenizer"].vocabulary:
        changed.append("vocabulary")
    if (saved / LABELS_FILE).is_file() and load_label_names(saved) != list(data["label_names"]):
        changed.append("label names")
    if changed:
        files.append(saved)
    differ = changed_examples(run_dir, data)
    if differ:
        changed += [f"{_FINGERPRINTED[split]} examples ({then:,} then, {now:,} now)"
                    for split, (then, now) in differ.items()]
        files.append(run_dir / DATA_FINGERPRINT)
    if changed:
        listed = ", ".join(changed[:-1]) + " and " + changed[-1] if len(changed) > 1 else changed[0]
        raise RunDirectoryError(f"{run_dir} holds an unfinished run trained on other data: the {listed} of {source} "
                                f"now differ from those the run recorded in {' and '.join(map(str, files))} (the "
                                "data changed since the run started); restore the data to resume, or set "
                                "output.overwrite: true to start afresh, or output.dir to a new directory to keep "
                                "this run")


def changed_examples(run_dir, data):
    """``{split: (examples then, examples now)}`` of the splits whose examples differ from ``run_dir``'s record.

    ``{}`` when they are the same, or when the run has no ``DATA_FINGERPRINT`` (runs started before zoo
    recorded it).

    Args:
        run_dir: A run directory.
        data: ``{"texts": {split: LabeledTexts or None}}``, as ``data_fingerprint`` reads it.

    Example:
        >>> changed_examples("runs/reviews", {"texts": zoo.training.data.split_texts(load_run("runs/reviews")[3])})
        {}
    """
    recorded = Path(run_dir) / DATA_FINGERPRINT
    if not recorded.is_file():
        return {}
    then, now = json.loads(recorded.read_text(encoding="utf-8")), data_fingerprint(data)
    return {split: (then.get(split, {}).get("examples", 0), now.get(split, {}).get("examples", 0))
            for split in _FINGERPRINTED if then.get(split) != now.get(split)}


def data_fingerprint(data):
    """Return ``DATA_FINGERPRINT``'s contents: the count and SHA-256 of each fingerprinted split's examples.

    The digest covers the texts (both of a pair), the label ids and label names, in order: any edited, added,
    removed or reordered row changes it (10,000 20-word sentences hash in about 20 ms).

    Args:
        data: What ``zoo.training.data.load_splits`` returns.

    Example:
        >>> data = load_splits(zoo.Config.from_dict({"data": {"source": "reviews.jsonl", "sequence_length": 32}}))
        >>> fingerprint = data_fingerprint(data)
        >>> fingerprint["train"]["examples"], len(fingerprint["train"]["sha256"])
        (320, 64)
    """
    fingerprint = {}
    for name in _FINGERPRINTED:
        texts = data["texts"][name]
        if texts is not None:
            examples = [texts.texts, texts.text_pairs, texts.label_names, texts.labels.tolist()]
            digest = hashlib.sha256(json.dumps(examples).encode("ascii")).hexdigest()
            fingerprint[name] = {"examples": len(texts), "sha256": digest}
    return fingerprint


def _check_creatable(run_dir):
    """Raise ``RunDirectoryError`` unless ``run_dir`` exists as a directory or can be created (nothing is left)."""
    why = creatable_problem(run_dir)
    if why:
        raise _not_creatable(Path(run_dir), why)


def _create_run_dir(run_dir, overwrite=False):
    """Create ``run_dir`` (first removing an old run in it when ``overwrite``); errors say why it cannot be."""
    interrupts.raise_if_pending()  # nothing is written after a Ctrl-C, even one swallowed on its way
    try:
        if overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _not_creatable(run_dir, f"{err.strerror} ({err.filename})") from None


def _not_creatable(run_dir, why):
    return RunDirectoryError(f"cannot create the run directory {run_dir}: {why}; set output.dir (--output) to "
                             "a directory you can write")


def check_model_config(config):
    """Raise ``ConfigError`` for a model key that no data can make right, before ``train`` reads any: a
    ``model.name`` not in the registry, a ``model.overrides`` name its builder does not take, or a model key that a
    run from a checkpoint folder cannot take (``transfer.check_checkpoint_config``)."""
    if transfer.from_checkpoint(config):
        transfer.check_checkpoint_config(config)
        return
    from zoo.models.registry import check_overrides

    with _blamed_on_config(config.model.overrides):
        check_overrides(config.model.name, config.model.overrides)


def _build_model(name, arguments, overrides=None):
    """Build a registry model; with ``overrides`` (the config's), builder errors are blamed on them."""
    import zoo.models

    with _blamed_on_config(overrides):
        return zoo.models.build(name, **arguments)


@contextlib.contextmanager
def _blamed_on_config(overrides):
    """Raise a registry error as the ``ConfigError`` of ``model.name``, or of ``overrides`` where there are some."""
    import zoo.models

    try:
        yield
    except zoo.models.UnknownModelError as err:
        raise ConfigError(f"model.name: {err}") from None
    except (TypeError, ValueError) as err:
        if not overrides:
            raise
        raise ConfigError(f"model.overrides {overrides}: {err}") from None


def num_examples(features):
    """Examples in a split's features (an id array, or a dict of them: seq2seq's, or a model's with segments)."""
    return len(next(iter(features.values())) if isinstance(features, dict) else features)



def check_jit(setting, strategy, model=None):
    """Return ``training.jit_compile``, or raise when it is set under a ``tf.distribute`` strategy or for a
    ``model`` whose training step XLA cannot compile."""
    if setting and strategy is not tf.distribute.get_strategy():
        raise ConfigError("training.jit_compile: true works only with distribution.strategy: default "
                          "(XLA under tf.distribute fails on CPU)")
    blocks = [layers[0] for layers in transfer.encoder_stack(model)[1:]] if setting and model is not None else []
    if any(block.packs_tokens and block.dropout for block in blocks):
        # The blocks drop out on the real tokens' rows only, a count known at run time; XLA needs it at compile time.
        raise ConfigError("training.jit_compile: true cannot compile dropout on the packed real tokens of a model "
                          "that skips padding; set model.overrides.skip_padding=false or model.overrides.dropout=0, "
                          "or leave training.jit_compile off")
    return setting


def _early_stopping(config, state, validation):
    c = config.training.early_stopping
    if validation is None:
        if c.patience:
            raise ConfigError("training.early_stopping.patience needs a validation set: set data.validation_split "
                              "> 0 or data.validation_source")
        return None
    return EarlyStopping(state, monitor=c.monitor, patience=c.patience, min_delta=c.min_delta)


def check_class_weight(config, task):
    """Raise ``ConfigError`` before the data load when ``training.class_weight`` is set for a run it cannot weigh, or
    ``training.r_drop`` for a run that predicts no classes."""
    if config.training.r_drop and task != "classification":
        raise ConfigError(f"training.r_drop compares two passes' class predictions; this run trains {a_task(task)} "
                          "model, which predicts tokens: leave it out")
    if config.training.class_weight is None:
        return
    kind = task if task != "classification" else classification_mode(config)
    if kind not in ("multiclass", "binary"):
        article = "an" if kind in ("lm", "mlm") else "a"
        what = "a multi-label classifier" if kind == "multilabel" else f"{article} {kind} model"
        raise ConfigError(f"training.class_weight weighs the classes of a single-label classifier; this run trains "
                          f"{what}: leave it out")


def loss_class_weights(config, data, progress=None):
    """``training.class_weight`` as per-class weights in label-id order (``None``: unweighted), said on
    ``progress`` where one is given."""
    setting = config.training.class_weight
    if setting is None:
        return None
    try:
        weights = class_weights(setting, data["train"][1], data["label_names"])
    except ValueError as err:
        raise ConfigError(f"training.{err}") from None
    if progress is None:
        return weights
    how = "balanced: n / (classes * count)" if setting == "balanced" else "training.class_weight"
    progress.message(f"class weights ({how}): "
                     + ", ".join(f"{name} {weight:.3g}" for name, weight in zip(data["label_names"], weights)))
    return weights


def _final_metrics(evaluate, data, history, final_epoch, best_epoch, stopped_early, config, precision_choice,
                   distribution, train_seconds, wall_seconds):
    """``metrics.json``; ``final_epoch`` (1-based) is the epoch whose weights the model ends with, whose training
    metrics are reported with the validation and test scores of those weights (``evaluate(features, labels)``). ``train_seconds`` (the epochs) and
    ``wall_seconds`` (the whole ``train`` call) add up every invocation of a resumed run, up to the checkpoints
    it resumed from. ``distribution`` (``strategy`` and ``replicas``) is this invocation's: each epoch's is in
    ``history``."""
    keys = ("loss", "accuracy", "perplexity")
    record = history[final_epoch - 1] if history else {}
    metrics = {"train": {k: record[k] for k in keys if k in record}}
    for name in ("validation", "test"):
        if data[name] is not None:
            metrics[name] = evaluate(*data[name])
    metrics.update(
        task=data["task"], epochs_completed=len(history), best_epoch=best_epoch, stopped_early=stopped_early,
        monitor=config.training.early_stopping.monitor if best_epoch else None,
        examples={name: num_examples(data[name][0]) for name in ("train", "validation", "test") if data[name]},
        sources=data["sources"], label_names=data["label_names"], vocab_size=data["tokenizer"].vocab_size,
        precision=precision_choice["policy"], precision_choice=precision_choice,
        recipe=config.recipe, **distribution,
        examples_per_s=float(np.mean([r["examples_per_s"] for r in history])) if history else 0.0,
        train_seconds=train_seconds, wall_seconds=wall_seconds,
    )
    metrics["sequence_length"] = {"length": data["sequence_length"], "truncated_train_examples": data["truncated"]}
    return metrics


def _check_reads_pairs(model, texts, config):
    """Raise ``ConfigError`` before training when ``texts`` are sentence pairs that ``model`` cannot read."""
    import zoo.data

    problem = zoo.data.pair_segment_problem(getattr(model, "num_segments", None)) if texts.is_pairs else None
    if problem:
        raise ConfigError(f"data.source: {config.data.source} holds sentence pairs, which model.init_from "
                          f"{config.model.init_from} cannot read: {problem} (type_vocab_size in a Hugging Face "
                          "config.json); start from a checkpoint with 2 or more, or train on single texts")


def _model_spec(config, build_args, model, checkpoint, text_pairs=False):
    """``model.json``: the registry name and builder arguments, or for a model from a checkpoint its Keras
    config (the checkpoint's architecture is in no registry), where it came from and whether it classifies
    sentence pairs (``text_pairs``: export and prediction then take two texts)."""
    if checkpoint:
        return {"name": config.model.name, "init_from": str(config.model.init_from),
                "sequence_length": build_args["sequence_length"], "keras": keras.saving.serialize_keras_object(model),
                "text_pairs": bool(text_pairs)}
    return {"name": config.model.name, "arguments": build_args}


def _trained_length(spec):
    """The sequence length a run trained with (``data.sequence_length: auto`` resolved), from its ``model.json``."""
    return spec["sequence_length"] if "keras" in spec else spec["arguments"]["sequence_length"]


def _model_from_spec(spec):
    """The run's model, built under the global dtype policy (float32 unless set) whatever the run trained in."""
    if "keras" in spec:
        import zoo.models  # noqa: F401  (registers the zoo classes that the Keras config names)

        return keras.saving.deserialize_keras_object(_under_global_policy(spec["keras"]))
    return _build_model(spec["name"], spec["arguments"])


def _float32_model(model, spec):
    """A float32 copy of ``model`` (built from its ``model.json`` ``spec``), as ``load_run`` rebuilds it."""
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        plain = _model_from_spec(spec)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    plain.set_weights(model.get_weights())
    return plain


def _under_global_policy(serialized):
    """A Keras serialisation with every layer's dtype policy replaced by the global one.

    A checkpoint run's Keras config records the policy it trained in, where a registry run is rebuilt under the
    global one. Mixed precision keeps float32 weights, so its model rebuilds exactly in float32, and serving it
    mixed would cast every kernel on every call: the exported MiniLM took 15.7 ms at batch 1 against 12.1 ms
    in float32 (bench/serving_precision.py, BENCHMARKS.md), and its attention core would keep the bfloat16
    chosen on the training CPU.
    """
    if isinstance(serialized, list):
        return [_under_global_policy(value) for value in serialized]
    if not isinstance(serialized, dict):
        return serialized
    if serialized.get("class_name") == "DTypePolicy":
        return {**serialized, "config": {**serialized["config"], "name": keras.mixed_precision.global_policy().name}}
    return {key: _under_global_policy(value) for key, value in serialized.items()}


def _save_weights(model, path, spec, parameter_server):
    if not parameter_server:
        model.save_weights(path)
        return
    # Keras cannot write variables backed by sharded tables; a plain copy built outside the strategy can.
    _float32_model(model, spec).save_weights(path)


def _write_json(path, value):
    # Written aside and renamed: an interrupt never leaves half a file (metrics.json marks a finished run).
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


class _Summaries:
    """TensorBoard scalars per epoch: training under ``logs/train``, validation under ``logs/validation``."""

    def __init__(self, directory):
        self.train = tf.summary.create_file_writer(str(directory / "train"))
        self.validation = tf.summary.create_file_writer(str(directory / "validation"))

    def write(self, record):
        step = record["epoch"]
        with self.train.as_default():
            for key in ("loss", "accuracy", "learning_rate", "examples_per_s"):
                tf.summary.scalar(key, record[key], step=step)
        if "val_loss" in record:
            with self.validation.as_default():
                tf.summary.scalar("loss", record["val_loss"], step=step)
                tf.summary.scalar("accuracy", record["val_accuracy"], step=step)
        self.train.flush()
        self.validation.flush()

    def close(self):
        self.train.close()
        self.validation.close()


def _data_summary(config, data, run_dir, distribution, resume, auto_length):
    given = {name: {"official": " (official)", "seeded": ""}.get(origin_of_split(config, name),
                                                                 f" ({getattr(config.data, f'{name}_source')})")
             for name in ("validation", "test")}
    sizes = ", ".join(f"{name} {num_examples(data[name][0]):,}{given.get(name, '')}"
                      for name in ("train", "validation", "test") if data[name])
    kind = f"{len(data['label_names'])} classes" if data["task"] == "classification" else f"task {data['task']}"
    if data["task"] == "classification" and classification_mode(config) == "multilabel":
        kind += f", multi-label (accuracy and val_accuracy: {PER_LABEL_ACCURACY})"
    auto = f" ({data['length_chosen']})" if auto_length else ""
    train = num_examples(data["train"][0])
    batch = config.training.batch_size
    # EpochBatches keeps whole batches: the rest of a shuffled epoch waits for another epoch's draw. A batch
    # larger than the split is refused next (EpochBatches), not summarised as "0 batches".
    left = (f"; each epoch trains {train // batch} batches of {batch} and leaves out {train % batch} examples, "
            "another draw each epoch" if train % batch and train >= batch else "")
    return (f"{'resuming' if resume else 'training'} in {run_dir}: {sizes} examples, "
            f"{kind}, vocabulary {data['tokenizer'].vocab_size:,}, {distribution}{left}\n"
            f"sequence length {data['sequence_length']}{auto}: it truncates {data['truncated']:,} of "
            f"{train:,} training examples")


def _distribution_summary(config, strategy, jobs=None):
    """How ``strategy`` spreads the training, for the start line; ``jobs``: a ``parameter_server`` cluster's.

    Example:
        >>> config = Config.from_dict({"distribution": {"strategy": "mirrored"}})
        >>> _distribution_summary(config, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        '2 replicas (mirrored: /cpu:0, /cpu:1)'
    """
    name = config.distribution.strategy
    if is_parameter_server(strategy):
        return f"{name}: {counted(len(jobs['worker']), 'worker')}, {len(jobs['ps'])} ps"
    replicas = counted(strategy.num_replicas_in_sync, "replica")
    if name == "multi_worker":
        return f"{replicas} ({name}: {counted(synchronous_workers(strategy), 'worker')})"
    if name == "default":
        return f"{replicas} ({name})"
    devices = (tf.DeviceSpec.from_string(device) for device in strategy.extended.worker_devices)
    return f"{replicas} ({name}: {', '.join(f'/{d.device_type.lower()}:{d.device_index}' for d in devices)})"


def _metrics_summary(metrics, run_dir, mode):
    """The line that ends training; a multi-label classifier's (``mode``) accuracy is named per-label."""
    key = "perplexity" if metrics["task"] != "classification" else "accuracy"
    shown = PER_LABEL_ACCURACY if mode == "multilabel" else key
    parts = [f"{name} {shown} {metrics[name][key]:.4f}" for name in ("validation", "test") if name in metrics]
    return f"done in {metrics['wall_seconds']:.0f}s: " + ", ".join(parts) + f"; run directory {run_dir}"
