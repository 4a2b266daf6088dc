"""keras-tuner's random, Hyperband and Bayesian tuners, reporting every trial this process runs.

Each trial prints one line when it starts and one when it ends (its objective, or its error), its wall
time is reported to the oracle as the metric ``seconds``, and a failed trial's traceback is written to
``<trial dir>/error.txt`` by the process that ran it: keras-tuner sends trials to a distributed chief
without their messages, and a failure must never pass unexplained.
"""
import contextlib
import io
import math
import time
from pathlib import Path

import keras_tuner
import tensorflow as tf
from keras_tuner.engine.trial import TrialStatus

from zoo.tuning.space import short_key

PROJECT = "search"
ERROR_FILE = "error.txt"


class _Reporting:
    """Mixin for keras-tuner tuners; ``progress`` (a ``zoo.training.progress.Progress``) shows the trial lines."""

    def __init__(self, *args, progress=None, **kwargs):
        self.progress = progress
        self.ran = []
        self._started = {}
        self._metrics = {}
        super().__init__(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        start = time.perf_counter()
        results = super().run_trial(trial, *args, **kwargs)
        seconds = time.perf_counter() - start
        for metrics in results:
            metrics["seconds"] = seconds
        self._metrics[trial.trial_id] = results[-1]
        return results

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._started[trial.trial_id] = time.perf_counter()
        values = trial.hyperparameters.values
        shown = ", ".join(f"{short_key(key)}={_format(value)}" for key, value in values.items()
                          if not key.startswith("tuner/"))
        if "tuner/epochs" in values:
            shown += f" (epochs {values['tuner/initial_epoch']}->{values['tuner/epochs']})"
        self._print(f"trial {trial.trial_id} started on {self.tuner_id}: {shown}")

    def on_trial_end(self, trial):
        failed = trial.status != TrialStatus.COMPLETED
        if failed:
            path = Path(self.get_trial_dir(trial.trial_id)) / ERROR_FILE
            path.write_text(trial.message or "no error message was recorded\n", encoding="utf-8")
        super().on_trial_end(trial)
        self.ran.append(trial.trial_id)
        started = self._started.pop(trial.trial_id)
        if failed:
            seconds = trial_seconds(time.perf_counter() - started)
            self._print(f"trial {trial.trial_id} FAILED after {seconds}s: {last_line(trial.message)} "
                        f"(traceback in {path})")
            return
        # The seconds results.csv and results.md record.
        metrics = self._metrics.pop(trial.trial_id)
        name = self.oracle.objective.name
        self._print(f"trial {trial.trial_id} done in {trial_seconds(metrics['seconds'])}s: {name} "
                    f"{metrics[name]:.4f} (best epoch {int(metrics['best_epoch'])} of {int(metrics['epochs'])})")

    def _print(self, line):
        if self.progress is not None:
            self.progress.message(line)


class RandomTuner(_Reporting, keras_tuner.RandomSearch):
    """keras-tuner's ``RandomSearch`` with zoo's trial reports."""


class HyperbandTuner(_Reporting, keras_tuner.Hyperband):
    """keras-tuner's ``Hyperband`` with zoo's trial reports."""


class BayesianTuner(_Reporting, keras_tuner.BayesianOptimization):
    """keras-tuner's ``BayesianOptimization`` with zoo's trial reports."""


def make_tuner(settings, hypermodel, directory, *, epochs, seed, strategy=None, progress=None, distributed=False):
    """Return the tuner ``settings.tuner`` names, keeping its state in ``<directory>/search``.

    Args:
        settings: The ``TuningConfig``.
        hypermodel: The ``ZooHyperModel``.
        directory: The search directory.
        epochs: Epochs a trial trains at most (Hyperband's ``max_epochs``).
        seed: Seed of the trial sequence.
        strategy: The strategy trials train under (models are built in its scope).
        progress: A ``Progress`` showing the trial lines, or ``None``.
        distributed: Whether the oracle serves workers: failed trials then never stop the search early,
            because keras-tuner would stop it inside the chief's server, and leave the chief waiting forever
            for the worker whose report raised.

    Example:
        >>> from zoo.tuning.trial import prepare_data
        >>> base, settings = zoo.tuning.load_search({"data": {"source": "reviews.jsonl"},
        ...                                          "tuning": {"tuner": "hyperband"}})
        >>> space = zoo.tuning.SearchSpace.from_mapping({"model.overrides.num_layers": [1, 2]}, base)
        >>> hypermodel = zoo.tuning.ZooHyperModel(base, settings, space, prepare_data(base), strategy=None)
        >>> tuner = make_tuner(settings, hypermodel, "runs/reviews-tuning", epochs=10, seed=42)
        >>> type(tuner).__name__, tuner.oracle.max_epochs
        ('HyperbandTuner', 10)
    """
    direction = "max" if settings.objective == "val_accuracy" else "min"
    failures = settings.max_trials + 1 if distributed else settings.max_consecutive_failed_trials
    common = dict(
        hypermodel=hypermodel, objective=keras_tuner.Objective(settings.objective, direction),
        # keras-tuner reads seed 0 as "no seed" and draws a random one.
        seed=seed + 1, directory=str(directory), project_name=PROJECT,
        # zoo deletes an old search itself: keras-tuner would delete it in every worker of a distributed search.
        overwrite=False,
        distribution_strategy=None if strategy is None or strategy is tf.distribute.get_strategy() else strategy,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=failures,
        progress=progress)
    # keras-tuner prints "Reloading Tuner from ..." on stdout when it finds an earlier search; zoo's start line
    # already says that the search continues, and stdout is for results.
    with contextlib.redirect_stdout(io.StringIO()):
        if settings.tuner == "random":
            tuner = RandomTuner(max_trials=settings.max_trials, **common)
        elif settings.tuner == "bayesian":
            tuner = BayesianTuner(max_trials=settings.max_trials, num_initial_points=settings.initial_points,
                                  **common)
        else:
            tuner = HyperbandTuner(max_epochs=epochs, factor=settings.hyperband_factor, **common)
            # Hyperband's own budget is brackets of epochs; max_trials caps it like the other tuners.
            tuner.oracle.max_trials = settings.max_trials
    tuner.oracle.verbose = 0
    return tuner


def hyperband_trials(max_epochs, factor):
    """The trials one iteration of keras-tuner's Hyperband runs at most: the sizes of its brackets' rounds, computed
    as its ``HyperbandOracle`` computes them (zoo runs one iteration; ``max_trials`` caps it further).

    Example:
        >>> hyperband_trials(2, 3), hyperband_trials(2, 2), hyperband_trials(27, 3)
        (2, 5, 70)
    """
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # the oracle's min_epochs
        epochs, brackets = epochs / factor, brackets + 1
    last_round = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(last_round / (bracket + 1) * factor ** (bracket - round_))
               for bracket in range(brackets) for round_ in range(bracket + 1))


def trial_seconds(seconds):
    """A trial's wall time as its trial line, results.csv and results.md show it: to a tenth of a second.

    Example:
        >>> trial_seconds(2.74)
        2.7
    """
    return round(seconds, 1)


def last_line(message):
    """The last non-empty line of a traceback: the exception and its message."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error message was recorded"


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)
