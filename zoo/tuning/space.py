"""The search space: dotted config keys mapped to choices or ranges, validated before any trial runs.

Keys are the keys of ``zoo train --set``. A value is a list of choices or a range::

    model.overrides.num_layers: [1, 2, 3]                          # choice
    model.overrides.dropout: {min: 0.0, max: 0.3, step: 0.1}       # float range on a grid
    optimizer.learning_rate: {min: 1.0e-4, max: 3.0e-3, sampling: log}
    training.batch_size: {choice: [32, 64], default: 64}           # choice with a default

A range of integers gives integers; ``sampling`` is ``linear`` (default), ``log`` or ``reverse_log`` (with
``log`` a ``step`` multiplies). ``default`` is the value keras-tuner uses where it needs one (the first
build); it defaults to the base config's value when that lies in the space.

Attention heads must divide the model width, so heads and widths are never paired freely: either declare
``model.overrides.head_dim`` (a derived key: ``d_model = head_dim * num_heads``) instead of ``d_model``, or
declare ``d_model`` and ``num_heads`` values that all divide each other; anything else is rejected here,
before a model is built.
"""
import dataclasses
import math

from zoo.config import (IGNORED_UNDER, Config, ConfigError, ignored_settings, settings_away_from_defaults, to_number,
                        without_ignored)
from zoo.console import a_task

HEAD_DIM = "model.overrides.head_dim"
D_MODEL = "model.overrides.d_model"
NUM_HEADS = "model.overrides.num_heads"
SAMPLINGS = ("linear", "log", "reverse_log")
_SECTIONS = ("model.", "optimizer.", "schedule.", "training.")
# Keys a search may not vary, and why.
_FIXED = {
    "training.seed": "trials share training.seed so that they differ only in their hyperparameters",
    # A checkpoint brings its own tokenizer (and a zoo pretraining run is refused): trials of another starting
    # point would train on ids of the first one's vocabulary and casing.
    "model.init_from": "the data is tokenized once per search, with the starting point's tokenizer; search each "
                       "starting point in a search of its own (tuning.directory)",
    # A trial's recipe decides the defaults of its data keys too, which the data, read once, would not follow.
    "training.recipe": "it picks the defaults of data keys too (data.sequence_length), and the data is read once "
                       "per search; set it in the config and search the keys it sets (optimizer.learning_rate, "
                       "training.epochs, ...)",
    "training.early_stopping": "tuning.patience and tuning.objective control early stopping in trials",
    "training.checkpoint_every": "trials keep no resumable checkpoints",
    "training.keep_checkpoints": "trials keep no resumable checkpoints",
}
_SPEC_KEYS = {"choice", "min", "max", "step", "sampling", "default"}
# Input sizes of the models built to check searched builder arguments: small, so a check takes milliseconds.
_TOY_INPUT = {"vocab_size": 8, "sequence_length": 8, "num_classes": 2}

_DEFAULT_SPACES = {
    # Fine-tuning a pretrained checkpoint (``model.init_from`` a checkpoint folder): the recipe's knobs, around
    # BERT's published grid (learning rate 2e-5 to 5e-5, 2 to 4 epochs). The learning rate reaches 2e-4, where
    # MiniLM-L6's TREC validation hold-out peaked for one seed (97.0 % at 1e-4 and 2e-4, 95.5 % at 5e-5); over
    # four seeds 1e-4 tied 5e-5 on validation and scored 0.9 points lower on test (BENCHMARKS.md, "Learning
    # rate" and "Seeds"), so the range is left wide and each search decides on its own data.
    "fine_tune": {
        "optimizer.learning_rate": {"min": 2e-5, "max": 2e-4, "sampling": "log"},
        "training.epochs": [2, 3, 4],
        "schedule.warmup_fraction": [0.0, 0.06, 0.1],
        "optimizer.layer_decay": [1.0, 0.9, 0.8],
    },
    "transformer": {
        "model.overrides.num_layers": [1, 2, 3],
        NUM_HEADS: [2, 4, 8],
        HEAD_DIM: [16, 32],
        "model.overrides.ff_dim": [128, 256, 512],
        "model.overrides.dropout": [0.0, 0.1, 0.2, 0.3],
        "model.overrides.pooling": ["mean", "max", "attention"],
        "optimizer.learning_rate": {"min": 1e-4, "max": 3e-3, "sampling": "log"},
        "schedule.name": ["constant", "cosine"],
        "training.batch_size": [32, 64],
    },
    "lstm": {
        "model.overrides.embedding_dim": [64, 128, 256],
        "model.overrides.units": [64, 128],
        "model.overrides.dropout": [0.1, 0.3, 0.5],
        "optimizer.learning_rate": {"min": 1e-4, "max": 3e-3, "sampling": "log"},
        "training.batch_size": [32, 64],
    },
    "cnn": {
        "model.overrides.embedding_dim": [64, 128, 256],
        "model.overrides.num_filters": [50, 100, 200],
        "model.overrides.dropout": [0.3, 0.5],
        "optimizer.learning_rate": {"min": 1e-4, "max": 3e-3, "sampling": "log"},
        "training.batch_size": [32, 64],
    },
}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One searched key: a choice among ``values``, or an ``int``/``float`` range.

    Args:
        key: Dotted config key (or the derived ``model.overrides.head_dim``).
        kind: ``choice``, ``int`` or ``float``.
        values: The choices (``choice`` only).
        min: Lower bound of a range.
        max: Upper bound of a range, included.
        step: Grid step of a range (``None``: any value; integer ranges then step by 1).
        sampling: ``linear``, ``log`` or ``reverse_log``.
        default: The value keras-tuner uses where it needs one (``None``: the first choice or ``min``).

    Example:
        >>> Parameter("model.overrides.num_layers", "int", min=1, max=3).candidates()
        [1, 2, 3]
    """

    key: str
    kind: str
    values: tuple = ()
    min: object = None
    max: object = None
    step: object = None
    sampling: str = "linear"
    default: object = None

    def declare(self, hp):
        """Register the parameter in a keras-tuner ``HyperParameters``; return its value there."""
        if self.kind == "choice":
            return hp.Choice(self.key, list(self.values), default=self.default)
        if self.kind == "int":
            return hp.Int(self.key, self.min, self.max, step=self.step, sampling=self.sampling, default=self.default)
        if self.step is not None:
            # keras-tuner's float grid counts its steps with floor division, which drops the declared
            # maximum to rounding (0.3 // 0.1 == 2.0); the exact grid as an ordered choice keeps it.
            grid = _float_grid(self)
            default = None if self.default is None else min(grid, key=lambda v: abs(v - self.default))
            return hp.Choice(self.key, grid, ordered=True, default=default)
        return hp.Float(self.key, self.min, self.max, sampling=self.sampling, default=self.default)

    def first(self):
        """Return the value keras-tuner builds the first model with: ``default``, else the first choice or ``min``."""
        if self.default is not None:
            return self.default
        return self.values[0] if self.kind == "choice" else self.min

    def candidates(self):
        """Return every value the parameter can take, or ``None`` for a continuous float range."""
        from keras_tuner.engine import hyperparameters

        if self.kind == "choice":
            return list(self.values)
        if self.kind == "int":
            if self.step is None and self.sampling != "linear":
                return list(range(self.min, self.max + 1))
            return [int(v) for v in hyperparameters.Int(self.key, self.min, self.max, step=self.step,
                                                         sampling=self.sampling).values]
        return None if self.step is None else _float_grid(self)

    def contains(self, value):
        """Whether ``value`` is one the parameter can take."""
        candidates = self.candidates()
        if candidates is not None:
            return any(_same(value, c) for c in candidates)
        return _is_number(value) and self.min <= value <= self.max

    def to_spec(self):
        """Return the parameter in the form ``SearchSpace.from_mapping`` reads."""
        if self.kind == "choice":
            spec = {"choice": list(self.values)}
        else:
            spec = {"min": self.min, "max": self.max}
            if self.step is not None:
                spec["step"] = self.step
            if self.sampling != "linear":
                spec["sampling"] = self.sampling
        if self.default is not None:
            spec["default"] = self.default
        return spec


class SearchSpace:
    """A validated search space over a base config.

    Args:
        parameters: ``Parameter`` objects, one per key.
        fixed: ``{key: value}`` of the default space's keys left out because the base config sets them.

    Example:
        >>> space = SearchSpace.from_mapping({"model.overrides.num_layers": [1, 2]}, Config())
        >>> space.apply(Config(), {"model.overrides.num_layers": 2}).model.overrides
        {'pooling': 'attention', 'num_layers': 2}
    """

    def __init__(self, parameters, fixed=None):
        self.parameters = tuple(parameters)
        self._by_key = {p.key: p for p in self.parameters}
        self.fixed = dict(fixed or {})

    @property
    def keys(self):
        """The searched keys, in declaration order."""
        return [p.key for p in self.parameters]

    def __len__(self):
        return len(self.parameters)

    def combinations(self):
        """How many distinct sets of values the space holds, or ``None`` when a float range is continuous.

        Example:
            >>> SearchSpace.from_mapping({"model.overrides.num_layers": [1, 2]}, Config()).combinations()
            2
        """
        candidates = [p.candidates() for p in self.parameters]
        return None if None in candidates else math.prod(len(c) for c in candidates)

    def __getitem__(self, key):
        return self._by_key[key]

    def __contains__(self, key):
        return key in self._by_key

    @classmethod
    def from_mapping(cls, mapping, base, *, check_builder=True, drop_ignored=False):
        """Parse and validate ``{dotted key: choices or range}`` against the base config.

        Every key must be a config key a search may vary, every choice and both ends of every range must
        be valid values of it (a ``model.overrides`` value one the base model's builder takes), no key may be
        one every trial ignores (``schedule.warmup_fraction`` with ``schedule.warmup_steps`` > 0), and no
        head count may fail to divide a model width (see the module docstring). Errors name
        ``tuning.space.<key>``.

        Args:
            mapping: The ``tuning.space`` section.
            base: The base ``Config`` the trials modify.
            check_builder: False skips building the base model with each ``model.overrides`` value (for
                ``default_space``, whose values the registry's models take).
            drop_ignored: Leave out keys every trial would ignore instead of rejecting them (for
                ``default_space``, which searches the recipe's knobs whatever the base config fixes).
        """
        if not mapping:
            raise ConfigError("tuning.space is empty; declare at least one key, or leave it out for the "
                              "default space")
        space = cls([_parameter(key, spec, base) for key, spec in mapping.items()])
        ignored = {key: why for key, why in ((p.key, _ignored(space, base, p.key)) for p in space.parameters) if why}
        if ignored and not drop_ignored:
            key, (other, reason) = next(iter(ignored.items()))
            raise ConfigError(f"tuning.space.{key}: every trial would ignore it: {reason}; remove it from the space, "
                              f"or set (or search) {other} so that it applies")
        space = cls([p for p in space.parameters if p.key not in ignored])
        for key, value, other, why in ignored_settings(base):
            if key not in space and other not in space:
                raise ConfigError(f"{key}: {value!r} would be ignored by every trial: {why}; remove {key}, or set "
                                  f"(or search) {other} so that it applies")
        _check_heads(space, base)
        if check_builder and not base.model.init_from:
            _check_builder_values(space, base)
        return space

    @classmethod
    def for_config(cls, mapping, base, *, search_epochs=True):
        """Return the declared space, or ``default_space(base, search_epochs=...)`` when ``mapping`` is empty."""
        return cls.from_mapping(mapping, base) if mapping else default_space(base, search_epochs=search_epochs)

    def declare(self, hp):
        """Register every parameter in a keras-tuner ``HyperParameters``; return ``{key: value}``."""
        return {p.key: p.declare(hp) for p in self.parameters}

    def apply(self, base, values):
        """Return ``base`` with the space's ``values`` set (other keys in ``values`` are ignored).

        ``head_dim`` becomes ``d_model = head_dim * num_heads``.
        """
        values = {key: values[key] for key in self.keys if key in values}
        if HEAD_DIM in values:
            name = values.get("model.name", base.model.name)
            heads = values.get(NUM_HEADS, _fixed(base, name, "num_heads"))
            values[D_MODEL] = values.pop(HEAD_DIM) * heads
        # Set as given keys over the base's given ones, so the keys neither sets keep following their defaults:
        # a searched model.name takes that model's default model.overrides, not the base model's. A base setting
        # this trial's values make training ignore (momentum under a searched adam) goes back to its default, so
        # the trial's config, and best_config.yaml, train with zoo train, which refuses it.
        return without_ignored(base.update(values))

    def candidates(self, key):
        """Return the values a searched ``key`` can take (``None`` if continuous or not searched)."""
        return self._by_key[key].candidates() if key in self._by_key else None

    def to_dict(self):
        """Return the space in the form ``from_mapping`` reads."""
        return {p.key: p.to_spec() for p in self.parameters}


def short_key(key):
    """A column label for ``key``: its last part, or the last two where the last is ``name``.

    Example:
        >>> short_key("optimizer.learning_rate"), short_key("schedule.name")
        ('learning_rate', 'schedule.name')
    """
    parts = key.split(".")
    return ".".join(parts[-2:]) if parts[-1] == "name" else parts[-1]


def default_space(base, *, search_epochs=True):
    """Return the default search space for the base config's model (Transformers, ``lstm``, ``cnn``).

    The Transformer space searches depth, heads x head width, feed-forward width, dropout, pooling,
    learning rate, schedule and batch size around the registry's small models. A run from a pretrained
    checkpoint searches the fine-tuning recipe: learning rate, epochs, warm-up and layer-wise decay. A key the
    base config makes every trial ignore is left out (the warm-up fraction when ``schedule.warmup_steps`` is set,
    layer-wise decay when ``model.freeze`` is ``encoder``), and so is a key the base config sets away from its
    default (``fixed`` lists them: the config decided it).

    Args:
        base: The base ``Config``.
        search_epochs: False leaves ``training.epochs`` out, for a search whose tuner (``hyperband``) or
            ``tuning.epochs`` sets each trial's epochs.

    Example:
        >>> default_space(Config()).keys[:3]
        ['model.overrides.num_layers', 'model.overrides.num_heads', 'model.overrides.head_dim']
    """
    if base.recipe == "fine_tune" and base.model.init_from:
        family = "fine_tune"
    else:
        name = base.model.name
        _check_model_name(name, "model.name")
        family = "transformer" if name.startswith("transformer") else name
        if family not in _DEFAULT_SPACES:
            raise ConfigError(f"tuning.space: there is no default search space for model.name {name!r}; "
                              "declare one")
    mapping = _DEFAULT_SPACES[family]
    if not search_epochs:
        mapping = {key: spec for key, spec in mapping.items() if key != "training.epochs"}
    fixed = _fixed_by_config(base, mapping)
    if len(fixed) == len(mapping):
        raise ConfigError(f"tuning.space: the default space of {family} searches {', '.join(mapping)}, and the "
                          "config sets each of them; declare tuning.space to search them (or others)")
    space = SearchSpace.from_mapping({key: spec for key, spec in mapping.items() if key not in fixed}, base,
                                     check_builder=False, drop_ignored=True)
    return SearchSpace(space.parameters, fixed)


def _fixed_by_config(base, keys):
    """``{key: value}`` of ``keys`` the base config sets away from its defaults: a user's
    ``--set optimizer.learning_rate=5e-3`` is a decision the default space must not overrule."""
    given = settings_away_from_defaults(base)
    fixed = {key: given[key] for key in keys if key in given}
    if HEAD_DIM in keys and D_MODEL in given:  # d_model = head_dim x num_heads
        fixed[HEAD_DIM] = f"d_model {given[D_MODEL]}"
    return fixed


def _parameter(key, spec, base):
    at = f"tuning.space.{key}"
    _check_key(key, at)
    if isinstance(spec, (list, tuple)):
        spec = {"choice": list(spec)}
    if not isinstance(spec, dict):
        raise ConfigError(f"{at}: give a list of choices or a range {{min, max[, step, sampling]}}, got {spec!r} "
                          "(to fix a value, set it in its config section instead)")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ConfigError(f"{at}: unknown field(s) {unknown}; allowed: {', '.join(sorted(_SPEC_KEYS))}")
    if "choice" in spec:
        parameter = _choice(spec, at, key)
    elif "min" in spec and "max" in spec:
        parameter = _range(spec, at, key)
    else:
        raise ConfigError(f"{at}: give either choice: [...] or both min and max, got {spec!r}")
    if parameter.default is not None and not parameter.contains(parameter.default):
        raise ConfigError(f"{at}: default {parameter.default!r} is not one of the values the parameter takes")
    import keras_tuner

    try:
        parameter.declare(keras_tuner.HyperParameters())
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{at}: {err}") from None
    checked = parameter.values if parameter.kind == "choice" else (parameter.min, parameter.max)
    for value in checked:
        if key == "model.name":
            _check_model_name(value, at)
        elif key != HEAD_DIM:
            _check_value(base, key, value, at)
    if parameter.default is None:
        current = _current(base, key)
        if current is not None and parameter.contains(current):
            parameter = dataclasses.replace(parameter, default=current)
    return parameter


def _check_key(key, at):
    if not isinstance(key, str) or not key.startswith(_SECTIONS):
        raise ConfigError(f"{at}: only model.*, optimizer.*, schedule.* and training.* keys can be searched "
                          "(the data is tokenized once per search; distribution and output do not change results)")
    for fixed, why in _FIXED.items():
        if key == fixed or key.startswith(fixed + "."):
            raise ConfigError(f"{at}: {fixed} cannot be searched: {why}")
    if key in ("model.overrides", "model.overrides.vocab_size", "model.overrides.sequence_length",
               "model.overrides.num_classes"):
        raise ConfigError(f"{at}: cannot be searched: it comes from the data")
    if key == "model.overrides.mode":
        raise ConfigError(f"{at}: cannot be searched: the mode decides how labels are read, and the data is read "
                          "once per search; set model.overrides.mode in the config instead")


def _choice(spec, at, key):
    if set(spec) - {"choice", "default"}:
        raise ConfigError(f"{at}: a choice takes only 'choice' and 'default', got {sorted(spec)}")
    values = spec["choice"]
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"{at}: choice must be a non-empty list, got {values!r}")
    values = [to_number(v) for v in values]
    kinds = {type(v) for v in values}
    if kinds == {int, float}:
        values = [float(v) for v in values]
    elif len(kinds) > 1:
        raise ConfigError(f"{at}: the choices must share one type, got {values!r}")
    if not kinds <= {int, float, str, bool}:
        raise ConfigError(f"{at}: choices must be numbers, strings or booleans, got {values!r}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{at}: the choices repeat a value: {values!r}")
    default = to_number(spec.get("default"))
    if isinstance(default, int) and float in kinds and not isinstance(default, bool):
        default = float(default)
    return Parameter(key, "choice", values=tuple(values), default=default)


def _range(spec, at, key):
    low, high, step = (to_number(spec.get(name)) for name in ("min", "max", "step"))
    for name, value in (("min", low), ("max", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{at}: {name} must be a number, got {value!r}")
    if low is None or high is None:
        raise ConfigError(f"{at}: a range needs both min and max as numbers, got min {low!r} and max {high!r}")
    if step is not None and step <= 0:
        raise ConfigError(f"{at}: step must be > 0, got {step!r}")
    if low >= high:
        raise ConfigError(f"{at}: min must be smaller than max, got min {low!r} and max {high!r}")
    sampling = spec.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise ConfigError(f"{at}: sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    if sampling != "linear" and low <= 0:
        raise ConfigError(f"{at}: sampling {sampling} needs min > 0, got {low!r}")
    if sampling != "linear" and step is not None and step <= 1:
        raise ConfigError(f"{at}: with sampling {sampling} the step multiplies, so it must be > 1, got {step!r}")
    integral = all(isinstance(v, int) for v in (low, high, step) if v is not None)
    default = to_number(spec.get("default"))
    if integral:
        return Parameter(key, "int", min=low, max=high, step=step, sampling=sampling, default=default)
    default = float(default) if isinstance(default, int) and not isinstance(default, bool) else default
    return Parameter(key, "float", min=float(low), max=float(high), step=None if step is None else float(step),
                     sampling=sampling, default=default)


def _float_grid(parameter):
    """``min`` to ``max`` (included) by ``step``: added (linear) or multiplied (log, reverse_log)."""
    low, high, step = parameter.min, parameter.max, parameter.step
    if parameter.sampling == "linear":
        count = int((high - low) / step + 1e-9) + 1
        return [round(low + i * step, 12) for i in range(count)]
    count = int(math.log(high / low, step) + 1e-9) + 1
    if parameter.sampling == "log":
        return [round(low * step ** i, 12) for i in range(count)]
    return [round(high + low - low * step ** i, 12) for i in range(count)]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(value, candidate):
    """Equal values of one kind; floats on a stepped grid (0.1 * 3) compare with a tolerance."""
    if _is_number(value) and _is_number(candidate) and float in (type(value), type(candidate)):
        return isinstance(value, float) == isinstance(candidate, float) and math.isclose(value, candidate,
                                                                                          rel_tol=1e-9)
    return value == candidate and type(value) is type(candidate)


def _check_model_name(name, at):
    import zoo.models

    try:
        task = zoo.models.task_of(name)
    except zoo.models.UnknownModelError as err:
        raise ConfigError(f"{at}: {err}") from None
    if task != "classification":
        raise ConfigError(f"{at}: {name!r} is {a_task(task)} model; zoo tune searches classifiers")


def _check_value(base, key, value, at):
    try:
        base.update({key: value})
    except ConfigError as err:
        raise ConfigError(f"{at}: {value!r} is not a valid value: {err}") from None


def _check_builder_values(space, base):
    """The config does not type builder arguments: build the space's first trial model (at a toy size) with each
    ``model.overrides`` value in turn, so a value the builder rejects (``num_layers`` 2.5, ``dropout`` 1.5) fails
    here, not in every trial that draws it. Heads and widths are checked together by ``_check_heads``; a
    checkpoint's head by the trial."""
    import zoo.models

    # The first trial's config: its widths follow a searched head_dim, its model a searched model.name.
    first = space.apply(base, {p.key: p.first() for p in space.parameters}).model
    try:
        zoo.models.build(first.name, **first.overrides, **_TOY_INPUT)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"tuning.space: the first trial's model ({first.name}, each key at its default: "
                          + ", ".join(f"{p.key}={p.first()!r}" for p in space.parameters)
                          + f") cannot be built: {err}") from None
    for parameter in space.parameters:
        if not parameter.key.startswith("model.overrides.") or parameter.key in (HEAD_DIM, D_MODEL, NUM_HEADS):
            continue
        argument = parameter.key[len("model.overrides."):]
        for value in parameter.values if parameter.kind == "choice" else (parameter.min, parameter.max):
            if _same(value, parameter.first()):
                continue  # the first trial's model, built above
            try:
                zoo.models.build(first.name, **{**first.overrides, argument: value}, **_TOY_INPUT)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"tuning.space.{parameter.key}: {value!r} is not a valid value: {err}") from None


def _ignored(space, base, key):
    """``(other key, why)`` when every trial of ``space`` over ``base`` ignores ``key`` (see
    ``zoo.config.IGNORED_UNDER``), else ``None``."""
    if key not in IGNORED_UNDER:
        return None
    other, ignores, why = IGNORED_UNDER[key]
    values = space.candidates(other) if other in space else [_current(base, other)]
    if values is None or not all(ignores(value) for value in values):
        return None
    shown = repr(values[0]) if len(values) == 1 else f"one of {values!r}"
    return other, f"{other} is {shown}, and {why}"


def _current(base, key):
    """The base config's value of ``key`` (``None`` when it has none)."""
    node = base.to_dict()
    if key == HEAD_DIM:
        d_model, heads = _fixed(base, base.model.name, "d_model"), _fixed(base, base.model.name, "num_heads")
        return d_model // heads if d_model and heads and d_model % heads == 0 else None
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _fixed(base, base.model.name, part) if key.startswith("model.overrides.") else None
        node = node[part]
    return node


def _fixed(base, name, argument):
    """The builder argument ``argument`` of model ``name`` under the base config's overrides."""
    import zoo.models

    if argument in base.model.overrides:
        return base.model.overrides[argument]
    try:
        return zoo.models.config_of(name).get(argument)
    except zoo.models.UnknownModelError:
        return None


def _check_heads(space, base):
    """Reject spaces in which some ``num_heads`` would not divide some ``d_model``."""
    if HEAD_DIM in space:
        if D_MODEL in space:
            raise ConfigError(f"tuning.space: declare either {HEAD_DIM} or {D_MODEL}, not both "
                              f"({D_MODEL} = {HEAD_DIM} x num_heads)")
        for key in (HEAD_DIM, NUM_HEADS):
            _integer_candidates(space, key)
        if NUM_HEADS not in space:
            for name in space.candidates("model.name") or [base.model.name]:
                if _fixed(base, name, "num_heads") is None:
                    raise ConfigError(f"tuning.space.{HEAD_DIM}: model {name!r} has no num_heads to multiply it by; "
                                      f"declare {NUM_HEADS} too, or search a Transformer")
        return
    if NUM_HEADS not in space and D_MODEL not in space:
        return
    names = space.candidates("model.name") or [base.model.name]
    bad = []
    for name in names:
        widths = _integer_candidates(space, D_MODEL) or [_fixed(base, name, "d_model")]
        heads = _integer_candidates(space, NUM_HEADS) or [_fixed(base, name, "num_heads")]
        bad += [(name, w, h) for w in widths for h in heads if w is not None and h is not None and w % h]
    if bad:
        shown = "; ".join(f"d_model {w} with num_heads {h}" + (f" ({n})" if len(names) > 1 else "")
                          for n, w, h in bad[:3])
        raise ConfigError(f"tuning.space: {len(bad)} combination(s) would build invalid models, e.g. {shown}: "
                          f"num_heads must divide d_model. Declare {HEAD_DIM} (d_model = head_dim x num_heads) "
                          f"instead of {D_MODEL}, or choose values that divide")


def _integer_candidates(space, key):
    if key not in space:
        return None
    values = space.candidates(key)
    if values is None or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise ConfigError(f"tuning.space.{key}: must take positive integers only, got {space[key].to_spec()}")
    return values
