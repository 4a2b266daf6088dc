"""The ``tuning`` section of a run config: tuner, trial budget, objective, early stopping and the search space.

A tuning config is an ordinary run config with one more section::

    data: {source: trec}
    model: {name: transformer-small}
    tuning:
      tuner: random
      max_trials: 10
      space:
        model.overrides.num_layers: [1, 2, 3]
        optimizer.learning_rate: {min: 1.0e-4, max: 3.0e-3, sampling: log}

``zoo.config.Config`` knows the stage sections only, so ``load_search`` splits ``tuning`` off, validates it
as a ``TuningConfig`` and hands the rest to ``Config``.
"""
import dataclasses
import typing
from pathlib import Path
from typing import Literal, Optional

from zoo.config import (MONITORS, Config, ConfigError, Section, assignment_list, check_seed, parse_value,
                        read_mapping)

TUNERS = ("random", "hyperband", "bayesian")
# A trial's objective is the validation metric its early stopping follows.
OBJECTIVES = MONITORS
ROLES = ("chief", "worker")
# The training.early_stopping keys every trial takes from the tuning section: {its key: the tuning key}.
_STOPPING_KEYS = {"patience": "patience", "monitor": "objective"}


@dataclasses.dataclass
class TuningConfig(Section):
    """How the hyperparameter search runs.

    Args:
        tuner: ``random`` (random search), ``hyperband`` (successive halving over epochs) or ``bayesian``
            (Gaussian-process Bayesian optimisation).
        max_trials: Trials (configurations) to train at most; a rerun with a larger number continues the
            search.
        objective: ``val_accuracy`` (maximised) or ``val_loss`` (minimised), measured on the validation
            split; a trial scores its best epoch.
        epochs: Epochs a trial trains at most (Hyperband's ``max_epochs``); ``None`` uses ``training.epochs``.
        patience: Early stopping inside trials: epochs without improvement of ``objective``; 0 turns it off.
            Trials take their early stopping from here: a ``training.early_stopping`` value other than its
            default (a saved run's ``config.yaml`` holds the defaults) must equal the trials' (see
            ``early_stopping``).
        seed: Seeds the sequence of trials; ``None`` uses ``training.seed``. Trials train with
            ``training.seed``, so the same seeds give the same trials and the same results.
        directory: Where the search lives (results, best config, keras-tuner state); ``None`` means
            ``runs/<data>-<model>-tuning``. Rerunning with the same directory continues the search.
        overwrite: Delete a search already in ``directory`` and start afresh.
        hyperband_factor: Hyperband's reduction factor (keeps the best ``1/factor`` of each round); hyperband
            only.
        initial_points: Random trials before Bayesian optimisation models the objective; ``None`` lets
            keras-tuner choose (3 per searched hyperparameter); bayesian only.
        max_consecutive_failed_trials: Stop the search after this many failed trials in a row (one process
            only: a distributed search runs all its trials, see ``zoo.tuning.tuners.make_tuner``).
        space: The search space, ``{dotted config key: choices or range}`` (see ``zoo.tuning.space``); empty
            uses ``default_space`` for the model (without ``training.epochs`` when ``tuner: hyperband`` or
            ``epochs`` sets them).

    Example:
        >>> TuningConfig(tuner="bayesian", max_trials=20).objective
        'val_accuracy'
        >>> TuningConfig.from_dict({"max_trials": 3}).max_trials
        3
    """

    _key = "tuning"

    tuner: Literal[TUNERS] = "random"
    max_trials: int = 10
    objective: Literal[OBJECTIVES] = "val_accuracy"
    epochs: Optional[int] = None
    patience: int = 3
    seed: Optional[int] = None
    directory: Optional[str] = None
    overwrite: bool = False
    hyperband_factor: int = 3
    initial_points: Optional[int] = None
    max_consecutive_failed_trials: int = 3
    space: dict = dataclasses.field(default_factory=dict)

    def _check(self, at):
        for key in ("max_trials", "max_consecutive_failed_trials"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{at}{key} must be >= 1, got {getattr(self, key)!r}")
        for key in ("epochs", "initial_points"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"{at}{key} must be >= 1 (or null), got {getattr(self, key)!r}")
        if self.patience < 0:
            raise ConfigError(f"{at}patience must be >= 0, got {self.patience!r}")
        if self.seed is not None:
            check_seed(self.seed, f"{at}seed")
        if self.hyperband_factor < 2:
            raise ConfigError(f"{at}hyperband_factor must be >= 2, got {self.hyperband_factor!r}")
        # Each tuner reads its own option only: set for another tuner, it would be ignored.
        for key, tuner, unset in (("hyperband_factor", "hyperband", type(self).hyperband_factor),
                                  ("initial_points", "bayesian", None)):
            if self.tuner != tuner and getattr(self, key) != unset:
                raise ConfigError(f"{at}{key}: only the {tuner} tuner takes it, and {at}tuner is {self.tuner!r}; "
                                  f"remove {key} or set {at}tuner: {tuner}")
        for key in self.space:
            if not isinstance(key, str):
                raise ConfigError(f"{at}space keys must be dotted config keys (strings), got {key!r}")

    def trial_epochs(self, config):
        """Return the epochs a trial trains at most."""
        return self.epochs or config.training.epochs

    def sets_trial_epochs(self):
        """True when the tuner (``hyperband``) or ``epochs`` sets each trial's epochs, so no space may search them."""
        return self.tuner == "hyperband" or self.epochs is not None

    def trial_seed(self, config):
        """Return the seed of the trial sequence."""
        return config.training.seed if self.seed is None else self.seed

    def early_stopping(self):
        """Return the ``training.early_stopping`` every trial trains with: ``patience`` epochs on ``objective``,
        the best epoch kept.

        Example:
            >>> TuningConfig(patience=2).early_stopping()
            {'patience': 2, 'monitor': 'val_accuracy', 'min_delta': 0.0, 'restore_best_weights': True}
        """
        return {**{key: getattr(self, own) for key, own in _STOPPING_KEYS.items()}, "min_delta": 0.0,
                "restore_best_weights": True}


def accuracy_name(config):
    """How a search names the accuracy its trials and retrained model report: a multi-label classifier's is its
    per-label accuracy, not the subset accuracy of zoo evaluate.

    Example:
        >>> accuracy_name(zoo.Config.from_dict({"model": {"overrides": {"mode": "multilabel"}}}))
        'per-label accuracy'
    """
    # Imported here: the CLI reads this module's option lists without loading scikit-learn or TensorFlow.
    from zoo.evaluation.metrics import PER_LABEL_ACCURACY
    from zoo.training.data import classification_mode

    return PER_LABEL_ACCURACY if classification_mode(config) == "multilabel" else "accuracy"


def objective_name(objective, config):
    """The objective as a search's lines and results.md name it: ``val_accuracy (per-label accuracy)`` for a
    multi-label classifier (``accuracy_name``).

    Example:
        >>> objective_name("val_accuracy", zoo.Config.from_dict({"model": {"overrides": {"mode": "multilabel"}}}))
        'val_accuracy (per-label accuracy)'
    """
    name = accuracy_name(config)
    return f"{objective} ({name})" if objective == "val_accuracy" and name != "accuracy" else objective


def load_search(config=None, *, tuning=None, overrides=()):
    """Return ``(Config, TuningConfig)`` from a config with an optional ``tuning`` section.

    Precedence: defaults < ``config`` < ``tuning`` < ``overrides``.

    Args:
        config: A ``Config``, a dict, a YAML/JSON path, or ``None`` (defaults).
        tuning: A dict whose keys replace the config's ``tuning`` keys, or a ``TuningConfig``: a whole section,
            which may replace only keys the config does not set to other values.
        overrides: ``key=value`` strings as for ``zoo train --set``; ``tuning.<key>=value`` sets the tuning
            section and ``tuning.space.<dotted key>=value`` one entry of the space.

    Example:
        >>> base, settings = load_search({"tuning": {"max_trials": 4}}, overrides=["tuning.tuner=bayesian"])
        >>> settings.max_trials, settings.tuner
        (4, 'bayesian')
    """
    where = None
    if config is None:
        mapping = {}
    elif isinstance(config, Config):
        # Its given keys only, as zoo.train takes it: the others follow the recipe (overrides may change it).
        mapping = config.given()
    elif isinstance(config, dict):
        mapping = dict(config)
    elif isinstance(config, (str, Path)):
        mapping, where = _read(Path(config)), str(config)
    else:
        raise TypeError(f"config must be a Config, a dict or a path, got {type(config).__name__}")
    section = mapping.pop("tuning", None)
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{where + ': ' if where else ''}tuning must be a mapping, got {section!r}")
    section = dict(section or {})
    if isinstance(tuning, TuningConfig):
        tuning = tuning.to_dict()
        # A whole section: every key the config set to another value (its tuner, its space) would be dropped.
        replaced = [f"tuning.{key}: {value!r} -> {tuning[key]!r}"
                    for key, value in TuningConfig.from_dict(section, where=where).to_dict().items()
                    if key in section and value != tuning[key]]
        if replaced:
            raise ConfigError(f"{where + ': ' if where else ''}tuning= is a TuningConfig, a whole section, and would "
                              f"replace the config's {'; '.join(replaced)}; pass a dict of the keys to change "
                              "instead")
    section.update(tuning or {})
    stage, own = [], []
    for assignment in assignment_list(overrides):
        (own if assignment.strip().startswith("tuning.") else stage).append(assignment)
    for assignment in own:
        _assign(section, assignment)
    base = Config.from_dict(mapping, where=where).override(stage)
    settings = TuningConfig.from_dict(section, where=where)
    _check_early_stopping(base, settings, where)
    return base, settings


def _check_early_stopping(base, settings, where):
    """Reject a given ``training.early_stopping`` that trials would not follow (they follow the tuning section).

    A value equal to the recipe's default is no choice to follow: a saved run's ``config.yaml`` holds every key,
    and ``zoo tune --config`` of it must search around that run, not stop at its ``patience: 0``.
    """
    # An empty section (`training:` or `early_stopping:` with nothing after it) is null in YAML: the defaults.
    given = (base.given().get("training") or {}).get("early_stopping") or {}
    defaults = Config.from_dict({"training": {"recipe": base.recipe}}).training.early_stopping.to_dict()
    trial = settings.early_stopping()
    ignored = {key: value for key, value in given.items() if value not in (trial[key], defaults[key])}
    if not ignored:
        return
    kept = {_STOPPING_KEYS[key]: value for key, value in ignored.items() if key in _STOPPING_KEYS}
    fixes = []
    if kept:
        fixes.append("set " + " and ".join(f"tuning.{key}: {value}" for key, value in kept.items()) + " ("
                     + " ".join(f"--set tuning.{key}={value}" for key, value in kept.items()) + ") instead")
    fixes += [f"remove training.early_stopping.{key} (trials use {trial[key]!r})"
              for key in ignored if key not in _STOPPING_KEYS]
    raise ConfigError(f"{where + ': ' if where else ''}"
                      + "; ".join(f"training.early_stopping.{key}: {value!r}" for key, value in ignored.items())
                      + f" would be ignored: trials stop early after tuning.patience ({settings.patience}) epochs "
                      f"without improvement of tuning.objective ({settings.objective}) and keep the best epoch; "
                      + "; ".join(fixes))


def _read(path):
    # As Config.load reads the rest of the file: a key given twice, non-UTF-8 text and 1e-5 are handled alike.
    mapping = read_mapping(path)
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(mapping).__name__}")
    return mapping


def _assign(section, assignment):
    """Apply ``tuning.<key>=value`` (or ``tuning.space.<dotted key>=value``) to the section's plain data."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep:
        raise ConfigError(f"--set expects key=value (e.g. tuning.max_trials=20), got {assignment!r}")
    value = parse_value(raw)
    name = key[len("tuning."):]
    if name.startswith("space."):
        space = section.get("space") or {}
        if not isinstance(space, dict):
            raise ConfigError(f"tuning.space must be a mapping, got {space!r} ({type(space).__name__}); "
                              f"{key} adds one entry to it")
        space = dict(space)
        space[name[len("space."):]] = value
        section["space"] = space
        return
    fields = typing.get_type_hints(TuningConfig)
    if name not in fields:
        raise ConfigError(f"unknown key {key!r}; allowed: "
                          + ", ".join(f"tuning.{f}" for f in fields) + ", tuning.space.<dotted key>")
    section[name] = value
