"""Typed, validated run configuration: one object travels from data to export, each stage reads its section.

A config is a tree of dataclasses. Every field is checked on creation (type, range, allowed values) and
every error names the dotted key (``training.batch_size``) and what is allowed. Configs round-trip through
YAML and JSON, and ``--set key=value`` overrides address fields by their dotted key.
"""
import copy
import dataclasses
import difflib
import io
import json
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Literal, Optional

import yaml


class ConfigError(ValueError):
    """A config key or value is wrong; the message names the key (and file) and what is allowed."""


# The files ``Config.load`` reads: the suffix tells JSON from YAML.
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")

# The options of the config's choice keys, defined here once (this module imports no TensorFlow, so the CLI
# can check a config before importing it); ``zoo.training`` and ``zoo.tuning`` import them from here.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "parameter_server")
RESOLVERS = ("tf_config", "slurm", "kubernetes")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "transformer", "linear", "cosine")
MONITORS = ("val_loss", "val_accuracy")
# Seeds stay below 2**31: NumPy's and Keras's global seeds take 32 bits, and zoo adds to a seed for each
# parameter-server worker and for the tuner.
SEED_LIMIT = 2**31
PROGRESS_MODES = ("auto", "bar", "epoch", "none")

Precision = Literal[PRECISIONS]
Strategy = Literal[STRATEGIES]
Resolver = Literal[RESOLVERS]
OptimizerName = Literal[OPTIMIZERS]
ScheduleName = Literal[SCHEDULES]
Monitor = Literal[MONITORS]
Progress = Literal[PROGRESS_MODES]
Freeze = Literal["none", "embedding", "encoder"]
# ``auto``: picked from the training texts (``zoo.training.data.AUTO_LENGTH_PERCENTILE``).
SequenceLength = typing.Union[int, Literal["auto"]]
Recipe = Literal["auto", "scratch", "fine_tune"]
ClassWeight = Optional[typing.Union[Literal["balanced"], dict]]

# The fine-tuning recipe: the defaults of a run that starts from a pretrained checkpoint (see
# ``TrainingConfig.recipe``). Values the user gave explicitly win over these; ``model.overrides`` is empty so
# that the checkpoint's own config (its dropout included) decides the model.
FINE_TUNING_DEFAULTS = {
    "data": {"sequence_length": 128},
    "model": {"overrides": {}},
    "optimizer": {"name": "adamw", "learning_rate": 5e-5, "weight_decay": 0.01, "weight_decay_embeddings": False,
                  "clipnorm": 1.0},
    "schedule": {"name": "linear", "warmup_steps": 0, "warmup_fraction": 0.1, "final_fraction": 0.0},
    "training": {"epochs": 3, "batch_size": 32, "label_smoothing": 0.0,
                 "early_stopping": {"monitor": "val_accuracy", "restore_best_weights": True}},
}


# Keys that other values of a config make training ignore (``zoo.training.optimizers`` builds the optimizer and
# schedule from them): {key: (the other key, whether a value of it makes training ignore key, why)}. zoo train
# refuses such a key set away from its defaults (``ignored_settings``); zoo tune refuses to search it.
IGNORED_UNDER = {
    "optimizer.momentum": ("optimizer.name", lambda name: name in ("adam", "adamw"),
                           "only sgd and rmsprop take momentum"),
    **{key: ("optimizer.name", lambda name: name in ("sgd", "rmsprop"), "only adam and adamw take beta_1 and beta_2")
       for key in ("optimizer.beta_1", "optimizer.beta_2")},
    "optimizer.epsilon": ("optimizer.name", lambda name: name == "sgd", "sgd takes no epsilon"),
    "optimizer.layer_decay": ("model.freeze", lambda freeze: freeze == "encoder",
                              "a frozen encoder has no trained block to decay the learning rate of"),
    "schedule.warmup_fraction": ("schedule.warmup_steps", lambda steps: steps > 0,
                                 "a warm-up of warmup_steps > 0 replaces the fraction"),
    "schedule.final_fraction": ("schedule.name", lambda name: name in ("constant", "transformer"),
                                "only linear and cosine schedules decay to final_fraction"),
    **{f"data.{split}_split": (f"data.{split}_source", lambda source: source is not None,
                               f"the {split}_source is the {split} set, so none is held out")
       for split in ("validation", "test")},
    "distribution.embedding_shards": ("distribution.strategy", lambda strategy: strategy != "parameter_server",
                                      "only parameter_server shards the embedding table"),
    "distribution.cluster_resolver": ("distribution.strategy",
                                      lambda strategy: strategy not in ("multi_worker", "parameter_server"),
                                      "only multi_worker and parameter_server learn a cluster"),
}


class Section:
    """Base of the config sections: validates the fields on creation, errors name ``<section>.<field>``.

    A subclass is a dataclass setting ``_key`` (its dotted key, ``training.early_stopping``) and, for checks
    across its fields, ``_check``; ``zoo.tuning.TuningConfig`` is one outside this module.
    """

    _key = ""

    def __post_init__(self):
        _validate(self, f"{self._key}.")

    def _check(self, at):
        """Section-specific range checks; ``at`` prefixes keys in messages."""

    @classmethod
    def from_dict(cls, mapping, *, where=None):
        """Build the section from plain data (``None`` gives the defaults); errors name ``<section>.<key>``.

        Args:
            mapping: The section's keys, as read from YAML or JSON.
            where: A description of the origin (a file name) for error messages.

        Example:
            >>> ScheduleConfig.from_dict({"name": "linear"}).name
            'linear'
            >>> ScheduleConfig.from_dict({"nme": "linear"}, where="run.yaml")
            Traceback (most recent call last):
                ...
            zoo.config.ConfigError: run.yaml: unknown key 'schedule.nme' (did you mean 'name'?); allowed: name, \
warmup_steps, warmup_fraction, final_fraction
        """
        try:
            return _build(cls, {} if mapping is None else mapping, f"{cls._key}.")
        except ConfigError as err:
            if where is None:
                raise
            raise ConfigError(f"{where}: {err}") from None

    def to_dict(self):
        """Return the section as plain data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class DataConfig(Section):
    """Where the examples come from and how they become token ids.

    Args:
        source: A ``zoo.data.load`` spec: a shared data set (``mr``, ``trec``, ``subj``, ``sms_spam``), a
            csv/tsv/jsonl/parquet file (compressed too, but parquet), a folder of class folders, class files or
            splits (``train.csv``, ``validation.csv``, ``test.csv``, or ``train/`` and ``test/`` folders: its
            official splits), ``trec:<path>`` or ``tfds:<name>``.
        validation_source: A separate validation set (same forms, read with ``load_options``; labels must be
            the training data's) for early stopping, the best checkpoint and a search's trials; ``None`` uses the
            source's official validation split when it has one, else holds out ``validation_split`` of ``source``
            (which may be set only then).
        test_source: A separate test set (same forms); ``None`` uses the source's official test split when it
            has one (TREC's 500 questions), else holds out ``test_split`` of ``source``.
        load_options: Extra keyword arguments for ``zoo.data.load`` (``text_column``, ``label_column``,
            ``encoding``, ``label_level``, ``on_bad_rows``, ...).
        tokenizer: ``zoo.data.build_tokenizer`` kind: ``word``, ``wordpiece``, ``char``, ``sentencepiece``,
            ``word_core``.
        tokenizer_options: Extra tokenizer options (``min_count``, ``split``, ...).
        cleaning: ``zoo.data.CleaningConfig`` fields (``lowercase``, ``normalization``, ``strip_html``, ...).
        vocab_size: Largest vocabulary the tokenizer may learn (from the training split only).
        sequence_length: Token ids per example; longer texts are truncated, shorter ones padded with 0.
            ``auto``: the 95th percentile of the training texts' token counts, rounded up to a multiple of
            8, at most the model's position limit (see ``zoo.training.data.auto_sequence_length``); the run
            summary prints the length and how many training texts it truncates.
        validation_split: Fraction of the training data held out for validation (early stopping, best
            checkpoint) when there is no ``validation_source``; 0 for none.
        test_split: Fraction held out for testing when there is no separate or official test set; 0 for none.
        extra_sources: More sources whose texts join the training split, labels ignored: unlabelled text
            for ``lm`` and ``mlm`` models (e.g. ``source: mr`` with ``extra_sources: [subj, corpus.txt]``). An
            entry that needs load options is a mapping: ``{source: notes.csv, text_column: body, encoding:
            latin-1}`` (``zoo.training.data.EXTRA_SOURCE_OPTIONS``; ``load_options`` are the main source's).
        deduplicate: Drop repeated texts (keeping the first) before splitting, so no copy of a training
            example is scored as held out; the count removed is logged, and texts of a given test set that
            also occur in training are reported; ``extra_sources`` texts that are validation or test texts
            are left out (reported) and their repeats dropped. A seq2seq run drops only repeated (source,
            target) pairs (a source's other targets are references) and keeps each source's pairs in one split.
            ``false`` keeps the data as it is.

    For a ``seq2seq`` model the text column is the source sequence and the label column the target text
    (``load_options`` ``text_column`` / ``label_column`` default to ``source`` / ``target`` then).
    """

    _key = "data"

    source: str = "mr"
    validation_source: Optional[str] = None
    test_source: Optional[str] = None
    load_options: dict = dataclasses.field(default_factory=dict)
    tokenizer: str = "word"
    tokenizer_options: dict = dataclasses.field(default_factory=dict)
    cleaning: dict = dataclasses.field(default_factory=dict)
    vocab_size: int = 20000
    sequence_length: SequenceLength = "auto"
    validation_split: float = 0.1
    test_split: float = 0.1
    extra_sources: list = dataclasses.field(default_factory=list)
    deduplicate: bool = True

    def _check(self, at):
        _positive(self, "vocab_size", at)
        for i, entry in enumerate(self.extra_sources):
            source = entry.get("source") if isinstance(entry, dict) else entry
            if not isinstance(source, str) or not source:
                raise ConfigError(f"{at}extra_sources[{i}] must be a data source string, or a mapping with one under "
                                  f"'source' and load options beside it, got {entry!r}")
        if self.sequence_length != "auto":
            _positive(self, "sequence_length", at)
        _fraction(self, "validation_split", at)
        _fraction(self, "test_split", at)
        if self.validation_split + self.test_split >= 1:
            raise ConfigError(f"{at}validation_split + {at}test_split must leave training data (sum < 1), "
                              f"got {self.validation_split} + {self.test_split}")


@dataclasses.dataclass
class ModelConfig(Section):
    """Which registered model to build (``zoo.list_models()``) and which builder arguments to change.

    ``vocab_size``, ``sequence_length`` and ``num_classes`` come from the data and must not be overridden.
    The default is ``transformer-tiny`` (2 layers, 64 wide) with attention pooling, trained from scratch; its
    accuracy on MR and TREC is in BENCHMARKS.md.

    Args:
        name: A registry name.
        overrides: Builder arguments that replace the registry's. The entries given (in a file or with
            ``--set model.overrides.<argument>``) merge into the default: ``{pooling: attention}`` for a
            Transformer classifier (``transformer-*``), none for the other models (which have no ``pooling``).
        init_from: (``~`` is the home folder.) A finished pretraining run directory (``zoo pretrain``, an ``mlm``
            model): the classifier starts from its encoder (embedding, encoder blocks, final norm) and uses its
            tokenizer. The encoder sizes and the data's tokenizer settings must match that run's; a mismatch is
            an error.
            Or a pretrained BERT checkpoint folder (Hugging Face or keras-hub layout, ``zoo.from_pretrained``):
            the classifier takes the checkpoint's architecture, weights and tokenizer (``data.tokenizer``,
            ``data.vocab_size``, ``data.tokenizer_options`` and ``data.cleaning`` do not apply: setting one is
            an error), and the fine-tuning recipe's defaults apply (``training.recipe``). ``overrides`` may set only the head's ``pooling``, ``mode``,
            ``head_hidden_dim`` and ``head_dropout``, and the backbone's ``dropout`` and ``attention_dropout``
            (default: the checkpoint's rates).
        freeze: With ``init_from``: ``none``, ``embedding`` (keep the pretrained embedding fixed) or
            ``encoder`` (train only the head).
        freeze_blocks: With ``init_from``: keep the lowest this many encoder blocks fixed (0: none).
    """

    _key = "model"

    name: str = "transformer-tiny"
    overrides: dict = dataclasses.field(default_factory=lambda: _default_overrides(ModelConfig.name))
    init_from: Optional[str] = None
    freeze: Freeze = "none"
    freeze_blocks: int = 0

    def __post_init__(self):
        super().__post_init__()
        # As for a typed key: a numeric string ('1e-1' in a Python dict, or from PyYAML's safe_load) is a number.
        self.overrides = {key: to_number(value) for key, value in self.overrides.items()}
        self.init_from = _expand_home(self.init_from)

    def _check(self, at):
        if self.freeze != "none" and not self.init_from:
            raise ConfigError(f"{at}freeze: {self.freeze} needs {at}init_from (a pretraining run to start from)")
        _non_negative(self, "freeze_blocks", at)
        if self.freeze_blocks and not self.init_from:
            raise ConfigError(f"{at}freeze_blocks: {self.freeze_blocks} needs {at}init_from (a pretrained model "
                              "to start from)")
        if self.freeze_blocks and self.freeze == "encoder":
            raise ConfigError(f"{at}freeze_blocks: {self.freeze_blocks} with {at}freeze: encoder, which already "
                              "freezes every block; set one of them")
        fixed = sorted({"vocab_size", "sequence_length", "num_classes"} & set(self.overrides))
        if fixed:
            raise ConfigError(f"{at}overrides may not set {fixed}: they come from the data "
                              f"(set data.vocab_size / data.sequence_length instead)")


@dataclasses.dataclass
class OptimizerConfig(Section):
    """The optimizer and gradient clipping.

    Args:
        name: ``sgd``, ``adam``, ``adamw`` or ``rmsprop``.
        learning_rate: Peak learning rate (the schedule scales it).
        weight_decay: Decoupled weight decay (AdamW's; also honoured by the others when > 0).
        momentum: SGD and RMSprop momentum.
        nesterov: Nesterov momentum for SGD.
        beta_1: Adam/AdamW first-moment decay.
        beta_2: Adam/AdamW second-moment decay.
        epsilon: Numerical-stability constant.
        clipnorm: Clip the global gradient norm (over all variables, after the cross-replica sum).
        clipvalue: Clip each gradient element to ``[-clipvalue, clipvalue]``.
        encoder_learning_rate_scale: The encoder's learning rate (embedding, encoder blocks, final norm) as a
            fraction of the rest's: below 1 fine-tunes a pretrained encoder (``model.init_from``) gently.
        layer_decay: Layer-wise learning-rate decay: the top encoder block learns at ``layer_decay`` times
            the head's rate, each block below at ``layer_decay`` times the one above, the embeddings at
            ``layer_decay ** (blocks + 1)``; 1 turns it off.
        weight_decay_embeddings: Apply weight decay to the embedding tables too (biases and normalisation
            weights never decay).
    """

    _key = "optimizer"

    name: OptimizerName = "adamw"
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    clipnorm: Optional[float] = None
    clipvalue: Optional[float] = None
    encoder_learning_rate_scale: float = 1.0
    layer_decay: float = 1.0
    weight_decay_embeddings: bool = True

    def _check(self, at):
        _positive(self, "learning_rate", at)
        _positive(self, "encoder_learning_rate_scale", at)
        if not 0 < self.layer_decay <= 1:
            raise ConfigError(f"{at}layer_decay must be in (0, 1] (1 turns it off), got {self.layer_decay!r}")
        _non_negative(self, "weight_decay", at)
        _positive(self, "epsilon", at)
        for key in ("momentum", "beta_1", "beta_2"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"{at}{key} must be in [0, 1), got {getattr(self, key)!r}")
        for key in ("clipnorm", "clipvalue"):
            if getattr(self, key) is not None:
                _positive(self, key, at)
        if self.nesterov and self.name != "sgd":
            raise ConfigError(f"{at}nesterov applies only to name: sgd, got name: {self.name}")


@dataclasses.dataclass
class ScheduleConfig(Section):
    """The learning-rate schedule; ``optimizer.learning_rate`` is its peak.

    Args:
        name: ``constant``; ``transformer`` (linear warm-up, then inverse square root of the step, as in
            "Attention Is All You Need", scaled to peak at ``learning_rate``); ``linear`` or ``cosine`` decay
            from the peak to ``final_fraction * learning_rate`` after a linear warm-up.
        warmup_steps: Linear warm-up steps (from 0 to the peak); ``transformer`` needs at least 1.
        warmup_fraction: Warm-up as a fraction of all training steps (at least one step when > 0); used when
            ``warmup_steps`` is 0.
        final_fraction: Learning rate at the end of ``linear``/``cosine`` decay, as a fraction of the peak.
    """

    _key = "schedule"

    name: ScheduleName = "cosine"
    warmup_steps: int = 0
    warmup_fraction: float = 0.1
    final_fraction: float = 0.0

    def _check(self, at):
        _non_negative(self, "warmup_steps", at)
        _fraction(self, "warmup_fraction", at)
        if not 0 <= self.final_fraction <= 1:
            raise ConfigError(f"{at}final_fraction must be in [0, 1], got {self.final_fraction!r}")
        if self.name == "transformer" and self.warmup_steps == 0 and self.warmup_fraction == 0:
            raise ConfigError(f"{at}name: transformer needs warmup_steps > 0 or warmup_fraction > 0")


@dataclasses.dataclass
class EarlyStoppingConfig(Section):
    """Stop when the validation metric stops improving; optionally restore the best epoch's weights.

    Args:
        patience: Epochs without improvement before stopping; ``0`` turns early stopping off.
        monitor: ``val_loss`` (lower is better) or ``val_accuracy`` (higher is better).
        min_delta: An improvement must better the best value by more than this (as in Keras; 0: any strict gain).
        restore_best_weights: End with the best epoch's weights instead of the last epoch's.
    """

    _key = "training.early_stopping"

    patience: int = 0
    monitor: Monitor = "val_accuracy"
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def _check(self, at):
        _non_negative(self, "patience", at)
        _non_negative(self, "min_delta", at)


@dataclasses.dataclass
class TrainingConfig(Section):
    """The training loop.

    Args:
        epochs: Passes over the training split.
        batch_size: GLOBAL batch size: the examples in one optimizer step summed over all replicas and
            workers. Each replica gets ``batch_size / replicas``; it must divide evenly.
        seed: Seeds the split, the initial weights, dropout and the shuffling: same seed, same run.
        precision: ``float32``, ``mixed_bfloat16``, ``mixed_float16`` (with loss scaling) or ``auto``
            (bfloat16 where the hardware computes it natively: a GPU of compute capability 8.0+ or a CPU
            with ``avx512_bf16`` or ``amx_bf16``; else float32). ``metrics.json`` records the choice, the
            attention core's dtype and the CPU flags that decided them under ``precision_choice``.
        label_smoothing: Label smoothing of the cross-entropy.
        r_drop: R-Drop (Liang et al., 2021) for classifiers: each training batch goes through the model twice, with
            different dropout, and the loss is the two passes' mean loss plus ``r_drop`` times the symmetric
            Kullback-Leibler divergence ½(KL(p₁‖p₂) + KL(p₂‖p₁)) between their predictions (per label for
            binary and multi-label). 0 (the default) trains one pass. A step then costs about twice as much.
        class_weight: Weights of the classes in a single-label classifier's training loss, for imbalanced data:
            ``null`` (every example counts the same), ``balanced`` (``n / (classes * count)``, scikit-learn's:
            each class weighs as much in total) or ``{label: weight}`` (unlisted classes 1). The training loss
            is the weighted mean; validation and test losses stay unweighted. ``metrics.json`` records them.
        l1: L1 penalty on every weight matrix (kernels and embeddings, not biases or norms).
        l2: L2 penalty on the same weights.
        early_stopping: See ``EarlyStoppingConfig``.
        bucket_by_length: Put examples of similar length in the same batch and cut each batch to its
            longest example, so little padding is computed (batches stay random: see
            ``zoo.training.loop.EpochBatches``).
        checkpoint_every: Save a resumable checkpoint every this many steps (and at every epoch end);
            0 saves at epoch ends only.
        keep_checkpoints: Resumable checkpoints kept on disk.
        divergence_factor: Stop a diverging run: when an epoch's running loss exceeds this many times the
            larger of the first epoch's loss and the chance-level loss (untrained guessing), training stops as
            it does for a NaN loss, keeping the last checkpoint. 0 turns the check off.
        jit_compile: XLA-compile the train and evaluation steps (``distribution.strategy: default`` only:
            XLA under tf.distribute fails on CPU). Off by default: batches cut to their longest example
            change shape, XLA recompiles per shape, and a step measured 5x slower on the 2-core CPU.
        recipe: Which defaults the keys not given explicitly take: ``scratch`` (the defaults documented
            here), ``fine_tune`` (``FINE_TUNING_DEFAULTS``: AdamW at 5e-5, 10% warm-up then linear decay to 0,
            weight decay 0.01 except embeddings, clipnorm 1.0, 3 epochs, batch 32, 128 tokens, no label
            smoothing) or ``auto`` (``fine_tune`` when ``model.init_from`` is a pretrained checkpoint folder).
    """

    _key = "training"

    epochs: int = 8
    batch_size: int = 64
    seed: int = 42
    precision: Precision = "float32"
    label_smoothing: float = 0.1
    r_drop: float = 0.0
    class_weight: ClassWeight = None
    l1: float = 0.0
    l2: float = 0.0
    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    bucket_by_length: bool = True
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    divergence_factor: float = 10.0
    jit_compile: bool = False
    recipe: Recipe = "auto"

    def _check(self, at):
        _positive(self, "epochs", at)
        _positive(self, "batch_size", at)
        check_seed(self.seed, f"{at}seed")
        _non_negative(self, "l1", at)
        _non_negative(self, "l2", at)
        _non_negative(self, "r_drop", at)
        _non_negative(self, "checkpoint_every", at)
        _positive(self, "keep_checkpoints", at)
        if self.divergence_factor and self.divergence_factor <= 1:
            raise ConfigError(f"{at}divergence_factor must be 0 (off) or > 1, got {self.divergence_factor!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"{at}label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        for label, weight in (self.class_weight.items() if isinstance(self.class_weight, dict) else ()):
            number = to_number(weight)
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 < number < math.inf:
                raise ConfigError(f"{at}class_weight.{label} must be a number > 0, got {weight!r}")


@dataclasses.dataclass
class DistributionConfig(Section):
    """How training is spread over devices and machines (see ``zoo.training.get_strategy``).

    Args:
        strategy: ``default`` (no distribution), ``one_device``, ``mirrored`` (replicas on local devices),
            ``multi_worker`` (synchronous replicas on several machines) or ``parameter_server``
            (asynchronous workers, variables on parameter servers, large embeddings sharded).
        devices: Devices for ``one_device`` (one at most) and ``mirrored``; empty means all local devices
            (GPUs if any, else CPUs).
        cluster_resolver: Where ``multi_worker`` and ``parameter_server`` learn the cluster: ``tf_config``
            (the ``TF_CONFIG`` environment variable), ``slurm`` or ``kubernetes``.
        embedding_shards: Shards of the embedding table under ``parameter_server``; 0 means one per
            parameter server.
        collective_timeout: Seconds a cross-worker reduction may wait for a peer before the worker fails
            (so a dead worker stops the others instead of hanging them), and the most a task waits at start-up
            for the cluster's other tasks (then it is killed, exit status 137); 0 waits forever.
    """

    _key = "distribution"

    strategy: Strategy = "default"
    devices: list = dataclasses.field(default_factory=list)
    cluster_resolver: Resolver = "tf_config"
    embedding_shards: int = 0
    collective_timeout: float = 0.0

    def _check(self, at):
        _non_negative(self, "embedding_shards", at)
        _non_negative(self, "collective_timeout", at)
        for i, device in enumerate(self.devices):
            if not isinstance(device, str):
                raise ConfigError(f"{at}devices[{i}] must be a device string like '/cpu:0', got {device!r}")


@dataclasses.dataclass
class OutputConfig(Section):
    """Where the run directory goes and what the terminal shows.

    Args:
        dir: Run directory (``~`` is the home folder); ``None`` means ``runs/<data>-<model>``. A rerun with
            the same directory resumes an interrupted run from its last checkpoint.
        overwrite: Replace a finished run already in ``dir`` (otherwise that is an error).
        tensorboard: Write TensorBoard logs under ``<dir>/logs``.
        progress: ``auto`` (a live bar on a terminal, one line per epoch otherwise), ``bar``, ``epoch``,
            ``none``.
    """

    _key = "output"

    dir: Optional[str] = None
    overwrite: bool = False
    tensorboard: bool = True
    progress: Progress = "auto"

    def __post_init__(self):
        super().__post_init__()
        self.dir = _expand_home(self.dir)


@dataclasses.dataclass
class Config:
    """A whole run: ``data``, ``model``, ``optimizer``, ``schedule``, ``training``, ``distribution``, ``output``.

    A config remembers which keys were given explicitly (in ``from_dict``'s mapping, a file, ``override`` or
    ``update``); every other key takes its default from the run's recipe (``training.recipe``): the
    from-scratch defaults of the dataclasses, or ``FINE_TUNING_DEFAULTS`` for a run that starts from a
    pretrained checkpoint. So ``--set model.init_from=CHECKPOINT`` switches the defaults to the fine-tuning
    recipe without touching a value the user set, even one equal to a from-scratch default. A config built
    with the dataclass constructors has no such record: there, a value differing from the from-scratch
    default counts as given (``given()``).

    Example:
        >>> config = Config.from_dict({"training": {"epochs": 3}}).override(["optimizer.name=adam"])
        >>> config.optimizer.name, config.training.epochs
        ('adam', 3)
    """

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    distribution: DistributionConfig = dataclasses.field(default_factory=DistributionConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)

    def __post_init__(self):
        _validate(self, "")

    @classmethod
    def from_dict(cls, mapping, *, where=None):
        """Build a config from nested plain data; missing keys take the defaults of the run's recipe.

        Args:
            mapping: Nested dict, as read from YAML or JSON: the explicitly given keys.
            where: A description of the origin (a file name) for error messages.

        Example:
            >>> config = Config.from_dict({"data": {"source": "reviews.csv"}, "training": {"epochs": 3}})
            >>> config.data.source, config.training.epochs, config.training.batch_size
            ('reviews.csv', 3, 64)
        """
        mapping = {} if mapping is None else mapping
        try:
            if isinstance(mapping, dict) and "tuning" in mapping:
                # The file of a search (zoo.tuning.load_search splits the section off): the unknown-key message
                # would suggest renaming it to 'training'.
                raise ConfigError("tuning is the search section that zoo tune reads, not a run's; train with a "
                                  "copy of the file without it, or search with zoo tune --config")
            config = _build(cls, _with_recipe(mapping), "")
        except ConfigError as err:
            if where is None:
                raise
            raise ConfigError(f"{where}: {err}") from None
        object.__setattr__(config, "_given", copy.deepcopy(mapping))
        return config

    @property
    def recipe(self):
        """The defaults this run uses: ``fine_tune`` or ``scratch`` (``training.recipe`` with ``auto`` resolved)."""
        return _recipe_of(self.to_dict())

    def given(self):
        """Return the explicitly given keys as nested plain data (see the class docstring).

        Example:
            >>> Config.from_dict({"training": {"epochs": 3}}).given()
            {'training': {'epochs': 3}}
        """
        if hasattr(self, "_given"):
            return copy.deepcopy(self._given)
        return _differences(Config, self.to_dict(), Config().to_dict())

    def recipe_defaults(self):
        """Return ``{dotted key: value}`` of the fine-tuning defaults this config took (empty for ``scratch``).

        Example:
            >>> config = Config.from_dict({"training": {"recipe": "fine_tune", "epochs": 5}})
            >>> config.recipe_defaults()["training.batch_size"], "training.epochs" in config.recipe_defaults()
            (32, False)
        """
        if self.recipe != "fine_tune":
            return {}
        given = _dotted(Config, self.given())
        return {key: value for key, value in _dotted(Config, FINE_TUNING_DEFAULTS).items() if key not in given}

    def to_dict(self):
        """Return the config as nested plain data (every field, defaults included)."""
        return dataclasses.asdict(self)

    @classmethod
    def load(cls, path, *, defaults=None):
        """Read a config from a ``.yaml``/``.yml`` or ``.json`` file.

        Args:
            path: The file.
            defaults: A (partial) config mapping under the file's keys: a command's own defaults (``zoo
                pretrain``'s ``model.name: mlm``), which the keys the file gives replace one by one.

        Example:
            >>> _ = Path("run.yaml").write_text("data:\\n  source: reviews.csv\\ntraining:\\n  epochs: 3\\n")
            >>> Config.load("run.yaml").given()
            {'data': {'source': 'reviews.csv'}, 'training': {'epochs': 3}}
        """
        path = Path(path)
        if path.is_file() and path.suffix.lower() not in CONFIG_SUFFIXES:
            # A data file given as the config failed deep in the YAML parser ("unacceptable character #x0096").
            raise ConfigError(f"{path}: not a config file (a config is {', '.join(CONFIG_SUFFIXES)}); to train on it "
                              f"use --data {path} (in Python: zoo.train({{'data': {{'source': {str(path)!r}}}}}))")
        mapping = read_mapping(path)
        if mapping is not None and not isinstance(mapping, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(mapping).__name__}")
        if defaults:
            mapping = _merge(cls, defaults, mapping or {})
        return cls.from_dict(mapping, where=str(path))

    def save(self, path):
        """Write the config to ``path`` as JSON (``.json``) or YAML (anything else); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        else:
            path.write_text(yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False), encoding="utf-8")
        return path

    def override(self, assignments):
        """Return a new config with ``key=value`` assignments applied (values parsed as YAML).

        Args:
            assignments: Strings like ``training.epochs=5``, ``model.overrides.dropout=0.2`` or
                ``distribution.devices=[/cpu:0,/cpu:1]``.

        Example:
            >>> Config().override(["training.batch_size=32"]).training.batch_size
            32
        """
        values = []
        for assignment in assignment_list(assignments):
            key, sep, raw = assignment.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"--set expects key=value (e.g. training.epochs=5), got {assignment!r}")
            value = parse_value(raw)
            if (_field_type(key.split(".")) in (str, Optional[str]) and not isinstance(value, str)
                    and raw.strip() not in _YAML_NULLS):
                # A text key takes the text as typed: output.dir=2024 is a folder, not the number 2024, and
                # data.source=#1 a name, not a YAML comment (null).
                value = raw.strip()
            values.append((key, value))
        return self.update(values)

    def update(self, values):
        """Return a new config with values set by dotted key; the keys count as given.

        Args:
            values: ``{dotted key: value}`` or ``(key, value)`` pairs, applied in order; a key inside a mapping
                field (``model.overrides.dropout``) changes that one entry.

        Example:
            >>> Config().update({"data.source": "reviews.csv", "model.overrides.dropout": 0.2}).given()
            {'data': {'source': 'reviews.csv'}, 'model': {'overrides': {'dropout': 0.2}}}
        """
        full = self.to_dict()
        given = self.given()
        for key, value in (values.items() if isinstance(values, dict) else values):
            parts = key.split(".")
            _assign(full, parts, value, key)
            # One entry of a mapping field is recorded alone: from_dict merges it into the recipe's mapping.
            _put(given, parts, value)
        return type(self).from_dict(given)


def changed_settings(saved, current, *, sections=None, ignore=()):
    """``section.key: saved -> current`` for each setting of ``current`` that ``saved`` holds otherwise.

    What a rerun that must match an earlier config (a resume, a search, a cross-validation's finished folds)
    tells the user it changed.

    Args:
        saved: The earlier config as a mapping of sections (``Config.to_dict()``, or read back from a file; a
            section it lacks counts as empty).
        current: The config compared with it, as a mapping of sections.
        sections: The sections compared; default every section of ``current``.
        ignore: Sections and dotted keys left out, which may change.

    Example:
        >>> changed_settings(Config().to_dict(), Config().update({"training.epochs": 2}).to_dict(),
        ...                  ignore=("output",))
        ['training.epochs: 8 -> 2']
    """
    changed = []
    for section in (s for s in (current if sections is None else sections) if s not in ignore):
        earlier = saved.get(section) or {}
        changed += [f"{section}.{key}: {earlier.get(key)!r} -> {value!r}" for key, value in current[section].items()
                    if f"{section}.{key}" not in ignore and earlier.get(key) != value]
    return changed


def ignored_settings(config):
    """``[(key, value, other key, why)]`` of the keys ``config`` sets away from their defaults (from scratch and the
    fine-tuning recipe's) that the value of another key makes training ignore (see ``IGNORED_UNDER``).

    Example:
        >>> key, value, other, why = ignored_settings(Config.from_dict({"optimizer": {"momentum": 0.9}}))[0]
        >>> why
        "optimizer.name is 'adamw', and only sgd and rmsprop take momentum"
    """
    values = _dotted(Config, config.to_dict())
    defaults = _default_values()
    return [(key, values[key], other, f"{other} is {values[other]!r}, and {why}")
            for key, (other, ignores, why) in IGNORED_UNDER.items()
            if ignores(values[other]) and all(values[key] != d[key] for d in defaults if key in d)]

def assignment_list(assignments):
    """Return ``key=value`` ``assignments`` (``--set``'s, a Python API's ``overrides=``) as a list; a lone string
    is refused: iterated, it gave one character per assignment. So is a key set twice, or set with a key inside
    it (``model.overrides={num_layers: 1}`` and ``model.overrides.num_layers=2``): the last won silently.

    Example:
        >>> assignment_list(("training.epochs=1",))
        ['training.epochs=1']
        >>> assignment_list(["training.epochs=1", "training.epochs=3"])
        Traceback (most recent call last):
        ...
        zoo.config.ConfigError: training.epochs is set twice, by --set training.epochs=1 and ...
    """
    if not isinstance(assignments, (list, tuple)) or not all(isinstance(item, str) for item in assignments):
        # A string iterated gave one character per assignment, a dict one key without its value.
        raise ConfigError(f"overrides must be a list of 'key=value' strings, e.g. {_as_assignments(assignments)!r}; "
                          f"got {_a_kind(assignments)}")
    assignments = list(assignments)
    earlier = {}
    for assignment in assignments:
        key = assignment.partition("=")[0].strip()
        if not key:
            continue  # Config.override names the malformed assignment
        for other, first in earlier.items():
            if other == key:
                raise ConfigError(f"{key} is set twice, by --set {first} and --set {assignment}; give it once")
            if key.startswith(other + ".") or other.startswith(key + "."):
                outer, inner = sorted((key, other), key=len)
                raise ConfigError(f"{outer} holds {inner}, and --set {first} and --set {assignment} both set it; "
                                  f"give one of them (or {inner[len(outer) + 1:]} inside {outer}'s value)")
        earlier[key] = assignment
    return assignments


def _as_assignments(value):
    """An example list of assignments for the value a caller gave as ``overrides``: its own, where it reads as some."""
    if isinstance(value, dict) and value:
        return [f"{key}={json.dumps(item) if isinstance(item, str) else item}" for key, item in value.items()]
    if isinstance(value, str) and "=" in value:
        return [value]
    return ["training.epochs=1"]


def _a_kind(value):
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in value if not isinstance(item, str)})
        return f"a {type(value).__name__} holding {', '.join(kinds)}"
    return "a dict" if isinstance(value, dict) else f"{type(value).__name__} {value!r:.60}"


def settings_away_from_defaults(config):
    """``{dotted key: value}`` of the keys ``config`` sets away from the defaults it takes (the fine-tuning
    recipe's under ``fine_tune``), each ``model.overrides`` entry as ``model.overrides.<name>``.

    Example:
        >>> settings_away_from_defaults(Config.from_dict({"model": {"overrides": {"num_layers": 1}},
        ...                                               "training": {"epochs": 8, "batch_size": 16}}))
        {'training.batch_size': 16, 'model.overrides.num_layers': 1}
    """
    values = _dotted(Config, config.to_dict())
    scratch, fine_tune = _default_values()
    if config.recipe == "fine_tune":
        defaults = {**scratch, **fine_tune}
    else:
        defaults = {**scratch, "model.overrides": _default_overrides(config.model.name)}
    default_overrides = defaults.pop("model.overrides")
    changed = {key: value for key, value in values.items() if key != "model.overrides" and value != defaults[key]}
    # A sentinel, so an entry set to None still counts as set.
    changed.update({f"model.overrides.{name}": value for name, value in values["model.overrides"].items()
                    if default_overrides.get(name, changed) != value})
    return changed


def without_ignored(config):
    """``config`` with the settings ``ignored_settings`` finds set back to their defaults: training ignores them
    either way, and ``zoo train`` refuses them (a search's trial whose searched optimizer ignores the base's
    momentum trains, and writes its best config, without it).

    Example:
        >>> without_ignored(Config.from_dict({"optimizer": {"momentum": 0.9}})).optimizer.momentum
        0.0
    """
    ignored = ignored_settings(config)
    if not ignored:
        return config
    scratch, fine_tune = _default_values()
    defaults = {**scratch, **fine_tune} if config.recipe == "fine_tune" else scratch
    return config.update({key: defaults[key] for key, *_ in ignored})


def _default_values():
    """``({dotted key: value}`` of the from-scratch defaults, ``{dotted key: value})`` the fine-tuning recipe sets."""
    return _dotted(Config, Config().to_dict()), _dotted(Config, FINE_TUNING_DEFAULTS)


def _recipe_of(mapping):
    """``fine_tune`` or ``scratch`` for a (partial) config mapping; malformed values are left to ``_build``."""
    training = mapping.get("training")
    recipe = training.get("recipe", "auto") if isinstance(training, dict) else "auto"
    if recipe != "auto":
        return recipe
    model = mapping.get("model")
    init_from = model.get("init_from") if isinstance(model, dict) else None
    if not isinstance(init_from, (str, Path)) or not init_from:
        return "scratch"
    from zoo.converters import is_checkpoint_folder

    return "fine_tune" if is_checkpoint_folder(_expand_home(init_from)) else "scratch"


def _expand_home(path):
    """``path`` with a leading ``~`` made the home folder, as a shell would have done; ``None`` stays ``None``.

    A path in a config file or after ``--set key=`` reaches zoo unexpanded: ``output.dir: ~/runs/mr`` made a
    folder named ``~`` in the current directory.
    """
    return os.path.expanduser(path) if isinstance(path, (str, Path)) else path


def _default_overrides(name):
    """The from-scratch ``model.overrides`` of model ``name``; only the Transformer classifiers take ``pooling``."""
    return {"pooling": "attention"} if isinstance(name, str) and name.startswith("transformer") else {}


def _with_recipe(mapping):
    """The mapping over the defaults of its recipe (``FINE_TUNING_DEFAULTS`` for ``fine_tune``), merged."""
    if not isinstance(mapping, dict):
        return mapping
    defaults = Config().to_dict()
    model = mapping.get("model")
    if isinstance(model, dict) and "name" in model:
        defaults["model"]["overrides"] = _default_overrides(model["name"])
    if _recipe_of(mapping) == "fine_tune":
        # The recipe's model.overrides ({}) replaces the from-scratch one: the checkpoint's config decides.
        defaults = _merge(Config, defaults, FINE_TUNING_DEFAULTS, mappings=False)
    return _merge(Config, defaults, mapping)


def _sections(cls):
    """The names of the fields of dataclass ``cls`` that are sections (nested dataclasses), with their types."""
    return {name: hint for name, hint in typing.get_type_hints(cls).items() if dataclasses.is_dataclass(hint)}


def _merge(cls, defaults, given, *, mappings=True):
    """``given`` over ``defaults``, section by section; mapping fields merge too unless ``mappings`` is false.

    Merging a mapping field (``model.overrides``) keeps the entries ``given`` does not set, as ``--set
    model.overrides.dropout=0.2`` does; any other value replaces its default.
    """
    sections = _sections(cls)
    hints = typing.get_type_hints(cls)
    merged = dict(defaults)
    for key, value in given.items():
        mergeable = isinstance(merged.get(key), dict) and isinstance(value, (dict, type(None)))
        if key in sections and mergeable:
            merged[key] = _merge(sections[key], merged[key], value or {}, mappings=mappings)
        elif mappings and hints.get(key) is dict and mergeable:
            merged[key] = {**merged[key], **(value or {})}
        else:
            merged[key] = value
    return merged


def _dotted(cls, mapping, prefix=""):
    """``{dotted key: value}`` of the fields in a (partial) config mapping, sections flattened."""
    sections = _sections(cls)
    out = {}
    for key, value in mapping.items():
        if key in sections and isinstance(value, (dict, type(None))):
            out.update(_dotted(sections[key], value or {}, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _differences(cls, mapping, defaults):
    """The fields of a full config mapping that differ from ``defaults``, as a partial mapping."""
    sections = _sections(cls)
    out = {}
    for key, value in mapping.items():
        if key in sections:
            inner = _differences(sections[key], value, defaults[key])
            if inner:
                out[key] = inner
        elif value != defaults[key]:
            out[key] = copy.deepcopy(value)
    return out


def _put(mapping, parts, value):
    node = mapping
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _assign(mapping, parts, value, key):
    node = mapping
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key}: {'.'.join(parts[:depth])} is not a section")
        if part not in node:
            # Inside a mapping field the entries are free: --set data.tokenizer_options.learn_params.slack_ratio=0.1
            # creates learn_params.
            if _field_type(parts[:depth]) is not dict:
                raise ConfigError(unknown_key(".".join(parts[:depth + 1]), part, node))
            node[part] = {}
        node = node[part]
    if not isinstance(node, dict):
        raise ConfigError(f"cannot set {key}: {'.'.join(parts[:-1])} is not a section")
    if parts[-1] not in node and _field_type(parts[:-1]) is not dict:
        raise ConfigError(unknown_key(key, parts[-1], node))
    node[parts[-1]] = value


def _field_type(parts):
    """The type of the config field at dotted ``parts``: ``dict`` at or inside a mapping field (``model.overrides``,
    whose keys are not fixed), ``None`` for no field."""
    hint = Config
    for part in parts:
        if hint is dict:
            return dict
        hints = typing.get_type_hints(hint) if dataclasses.is_dataclass(hint) else {}
        if part not in hints:
            return None
        hint = hints[part]
    return hint


def unknown_key(key, name, allowed):
    """The message for ``key`` (its last part ``name``) not among ``allowed``, with the closest allowed name.

    Example:
        >>> unknown_key("training.epoch", "epoch", ["epochs", "seed"])
        "unknown key 'training.epoch' (did you mean 'epochs'?); allowed: epochs, seed"
    """
    close = difflib.get_close_matches(name, list(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}"


def _build(cls, mapping, at):
    if not isinstance(mapping, dict):
        raise ConfigError(f"{at.rstrip('.') or 'config'} must be a mapping, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in mapping:
        if key not in hints:
            raise ConfigError(unknown_key(f"{at}{key}", str(key), names))
    values = {}
    for key, value in mapping.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = _build(hint, {} if value is None else value, f"{at}{key}.")
        else:
            values[key] = _coerce(value, hint, f"{at}{key}")
    return cls(**values)


def _validate(instance, at):
    """Check types and ranges of every field of ``instance`` and its sections."""
    hints = typing.get_type_hints(type(instance))
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, hint):
                raise ConfigError(f"{at}{field.name} must be a {hint.__name__}, got {type(value).__name__}")
        else:
            object.__setattr__(instance, field.name, _coerce(value, hint, f"{at}{field.name}"))
    if isinstance(instance, Section):
        instance._check(at)


def _coerce(value, hint, key):
    """Return ``value`` as type ``hint`` (ints widen to floats), or raise a ConfigError naming ``key``."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        for option in allowed:
            if value == option and type(value) is type(option):
                return value
        raise ConfigError(f"{key} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        arms = [a for a in args if a is not type(None)]
        for arm in arms:
            try:
                return _coerce(value, arm, key)
            except ConfigError:
                if len(arms) == 1:
                    raise
        kinds = [", ".join(repr(a) for a in typing.get_args(arm)) if typing.get_origin(arm) is Literal
                 else _KINDS[arm] for arm in arms]
        raise ConfigError(f"{key} must be {' or '.join(kinds)}; got {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        number = to_number(value)
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            # NaN passes every range check (all its comparisons are false), and no key means anything by inf.
            if not math.isfinite(number):
                raise ConfigError(f"{key} must be a finite number, got {value!r}")
            return float(number)
    elif hint is str:
        if isinstance(value, str) and not value.strip():
            # No key means anything by blank text: `--pretrained "$CKPT"` with CKPT unset trained from scratch.
            raise ConfigError(f"{key} is empty; give a value, or leave the key out for its default")
        if isinstance(value, str):
            return value
    elif hint is dict:
        if isinstance(value, dict):
            return dict(value)
        if value is None:
            return {}
    elif hint is list:
        if isinstance(value, (list, tuple)):
            return list(value)
        if value is None:
            return []
    else:
        raise AssertionError(f"config field {key} has an unsupported type {hint}")
    # "--set key=a,b" reads as one string: show the YAML list it meant.
    example = (f"; write a list in brackets, e.g. --set \"{key}=[{value}]\""
               if hint is list and isinstance(value, str) else "")
    raise ConfigError(f"{key} must be {_KINDS[hint]}, got {value!r} ({type(value).__name__}){example}")


def to_number(value):
    """``value``, or the float a numeric string spells: PyYAML reads ``1e-3`` as a string (it wants ``1.0e-3``).

    Example:
        >>> to_number("1e-3"), to_number(" 2 "), to_number("2e"), to_number(True)
        (0.001, 2.0, '2e', True)
    """
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    return value


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
# How YAML spells null (PyYAML's resolver); a text key given another non-string value takes its text as typed.
_YAML_NULLS = ("~", "null", "Null", "NULL")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error, and ``1e-3`` is a number.

    PyYAML keeps the last of two equal keys without a word (a second ``training:`` section silently drops the
    first), and reads a number with an exponent but no ``.`` as a string, as YAML 1.1 says (1.2 reads a number).
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults` merges keys that the mapping's own keys may then replace
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, typing.Hashable) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found the key {key!r} a second time (first at line {seen[key].line + 1}); keep one",
                        key_node.start_mark)
                if isinstance(key, typing.Hashable):
                    seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting the strings that ``_Loader`` would read as numbers (``'1e5'``)."""


# Tried after PyYAML's int and float patterns, so it only adds what YAML 1.1 misses (1e-3, 1.0e5).
_YAML_FLOAT = ("tag:yaml.org,2002:float", re.compile(f"^(?:{_FLOAT.pattern})$"), list("-+.0123456789"))
_Loader.add_implicit_resolver(*_YAML_FLOAT)
_Dumper.add_implicit_resolver(*_YAML_FLOAT)


def parse_value(raw):
    """Return the value ``--set key=value`` means by ``raw``: YAML (``1e-3``, ``true``, ``null``, ``[a, b]``).

    Text that is not valid YAML stays text; an empty value is the empty string.

    Example:
        >>> parse_value("1e-3"), parse_value("[subj, trec]"), parse_value("null"), parse_value("[a")
        (0.001, ['subj', 'trec'], None, '[a')
    """
    if not raw.strip():
        return ""
    try:
        return yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError:
        return raw


def _unique_keys(pairs):
    """A JSON object's pairs as a dict; a key given twice is an error (``json`` keeps the last silently)."""
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ConfigError(f"the key {twice[0]!r} appears twice in one object (with {', '.join(map(repr, keys))}); "
                          "keep one")
    return dict(pairs)


def read_mapping(path):
    """Return the plain data of a ``.json`` or YAML file (``None`` for an empty YAML file).

    A key given twice in one mapping is an error; a UTF-8 byte-order mark is skipped. Errors name the file
    and, where the parser knows it, the line.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ConfigError: The text is not UTF-8, valid JSON/YAML, or gives a key twice.

    Example:
        >>> _ = Path("twice.yaml").write_text("training:\\n  epochs: 3\\ntraining:\\n  batch_size: 16\\n")
        >>> read_mapping("twice.yaml")
        Traceback (most recent call last):
            ...
        zoo.config.ConfigError: twice.yaml: not valid YAML: while constructing a mapping
          in "twice.yaml", line 1, column 1
        found the key 'training' a second time (first at line 1); keep one
          in "twice.yaml", line 3, column 1
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    kind = "JSON" if path.suffix == ".json" else "YAML"
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 (byte {data[err.start]:#04x}); save the file as UTF-8"
                          ) from None
    try:
        if kind == "JSON":
            return json.loads(text, object_pairs_hook=_unique_keys)
        stream = io.StringIO(text)
        stream.name = str(path)  # PyYAML's messages name the stream: 'in "run.yaml", line 3, column 1'
        return yaml.load(stream, Loader=_Loader)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid {kind}: {err}") from None
    except ConfigError as err:
        raise ConfigError(f"{path}: not valid {kind}: {err}") from None
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a mapping",
          list: "a list"}


def _positive(section, key, at):
    if getattr(section, key) <= 0:
        raise ConfigError(f"{at}{key} must be > 0, got {getattr(section, key)!r}")


def check_seed(seed, name):
    """Raise ``ConfigError`` naming ``name`` unless ``seed`` is an integer in ``[0, SEED_LIMIT)``.

    Example:
        >>> check_seed(2**40, "--seed")
        Traceback (most recent call last):
            ...
        zoo.config.ConfigError: --seed must be an integer in [0, 2147483647], got 1099511627776
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{name} must be an integer in [0, {SEED_LIMIT - 1}], got {seed!r}")


def _non_negative(section, key, at):
    if getattr(section, key) < 0:
        raise ConfigError(f"{at}{key} must be >= 0, got {getattr(section, key)!r}")


def _fraction(section, key, at):
    if not 0 <= getattr(section, key) < 1:
        raise ConfigError(f"{at}{key} must be in [0, 1), got {getattr(section, key)!r}")
