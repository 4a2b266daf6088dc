"""``zoo.tune``: a keras-tuner search over a config's search space, its results, and the best config retrained.

A search directory holds::

    search.yaml        the base config and tuning section of the search (a rerun must match it)
    data_fingerprint.json  the count and SHA-256 of the training and validation examples (a rerun must match it)
    search/            keras-tuner's state: oracle.json, trial_<id>/ (trial.json, best-epoch weights, error.txt)
    results.csv        one row per trial: hyperparameters, objective, best epoch, epochs, seconds, error
    results.md         the same table in Markdown, the best trial marked, failed trials explained
    best_config.yaml   the best trial's full config: ``zoo train --config best_config.yaml`` reproduces it
    best/              with ``retrain_best``: the best config trained on train + validation (a run directory)

Rerunning the same search continues it: finished trials are kept, a trial that was interrupted runs again,
and a larger ``max_trials`` adds trials. Distributed search follows keras-tuner's chief/worker model: the
chief serves the oracle and writes the results, workers run trials; every process gets the same config
and must see the same search directory (a worker checks its config against the chief's search.yaml).
"""
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Optional

import keras
import yaml
from keras_tuner.engine.trial import TrialStatus

from zoo.config import Config, ConfigError, changed_settings
from zoo.console import counted
from zoo.paths import check_output
from zoo.training import TrainingInterrupted
from zoo.training.data import origin_of_split
from zoo.training.optimizers import build_schedule
from zoo.training.precision import precision_report, precision_warnings, resolve_precision
from zoo.training.progress import Progress
from zoo.training.run import DATA_FINGERPRINT, changed_examples, data_fingerprint, default_run_dir, num_examples, \
    reads_pairs
from zoo.tuning.hypermodel import SearchInterrupted, ZooHyperModel
from zoo.tuning.results import best_of, collect, write_csv, write_markdown
from zoo.tuning.settings import ROLES, load_search, objective_name
from zoo.tuning.space import SearchSpace, short_key
from zoo.tuning.trial import prepare_data
from zoo.tuning.tuners import PROJECT, hyperband_trials, last_line, make_tuner

log = logging.getLogger(__name__)

TUNER_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
SEARCH_FILE = "search.yaml"
BEST_CONFIG = "best_config.yaml"
BEST_RUN = "best"
# Changing these between runs of one search would mix trials of different experiments.
_SEARCH_DEFINING = ("data", "model", "optimizer", "schedule", "training")
_RESUMABLE_TUNING = ("max_trials", "overwrite", "directory", "max_consecutive_failed_trials")
_TRIAL_STRATEGIES = ("default", "one_device", "mirrored")
# The way out of a search directory that cannot be continued, named as the config and the CLI set it.
_ELSEWHERE = ("set tuning.directory (--directory) to a new directory, or tuning.overwrite: true (--overwrite) to "
              "start afresh")


class TuneDirectoryError(ValueError):
    """The search directory holds a search with a different config, or on other data."""


class SearchFailedError(RuntimeError):
    """The search ended without a completed trial, or stopped after too many failed trials in a row."""


@dataclasses.dataclass
class TuneResult:
    """What ``tune`` returns.

    Attributes:
        directory: The search directory.
        role: ``single``, ``chief`` or ``worker``.
        config: The base config.
        settings: The ``TuningConfig``.
        space: The ``SearchSpace`` searched.
        trials: A ``TrialRecord`` per trial (empty on a worker: the chief holds them).
        ran: Ids of the trials this process trained, in order.
        best: The best ``TrialRecord`` (``None`` on a worker).
        best_config: The best trial's config (``None`` on a worker).
        files: Paths of ``results_csv``, ``results_md``, ``best_config``.
        seconds: Wall time of the search in this process.
        retrain: With ``retrain_best``: the ``zoo.training.TrainResult`` of the best config on train +
            validation.
        export: With ``retrain_best``: the ``zoo.export.ExportResult`` of that model.
    """

    directory: Path
    role: str
    config: Config
    settings: object
    space: SearchSpace
    trials: list
    ran: list
    best: Optional[object]
    best_config: Optional[Config]
    files: dict
    seconds: float
    retrain: Optional[object] = None
    export: Optional[object] = None


def tune(config=None, *, tuning=None, overrides=(), retrain_best=False, export_to=None, role=None, oracle=None,
         tuner_id=None, progress_stream=None):
    """Search the hyperparameters a config's ``tuning`` section declares; write the results and best config.

    Args:
        config: A ``Config``, a dict or a YAML/JSON path, with an optional ``tuning`` section (see
            ``TuningConfig``), or ``None`` for the defaults.
        tuning: A dict replacing keys of the ``tuning`` section, or a ``TuningConfig`` (see ``load_search``).
        overrides: ``key=value`` strings (``zoo tune --set``); ``tuning.*`` keys set the tuning section.
        retrain_best: Train the best config on train + validation for the best trial's number of epochs and
            export it like ``zoo export`` (single process or chief only).
        export_to: Export destination (see ``zoo.export.export_run``); default
            ``saved_models/<search directory name>/<next version>``.
        role: ``None`` (one process, or keras-tuner's ``KERASTUNER_*`` environment), ``chief`` (serve the
            oracle; run no trials) or ``worker`` (run trials the chief hands out).
        oracle: ``HOST:PORT`` of the chief's oracle (the chief listens there); default from
            ``KERASTUNER_ORACLE_IP``/``KERASTUNER_ORACLE_PORT``.
        tuner_id: A worker's id, unique in the search; default ``KERASTUNER_TUNER_ID`` or host and process id.
        progress_stream: Where trial and epoch progress go (standard error by default).

    Returns:
        A ``TuneResult``.

    Raises:
        ConfigError: A bad config, tuning section or search space (naming the key).
        TuneDirectoryError: The directory holds a search with another config or on other data (on a worker: the
            chief's search with another config).
        SearchFailedError: No trial completed, or too many failed in a row (the results say why).
        TrainingInterrupted: SIGINT/SIGTERM; rerun the same call to continue the search.

    Example:
        >>> result = zoo.tune({"data": {"source": "reviews.jsonl"}, "training": {"epochs": 1},
        ...                    "output": {"progress": "none"}, "tuning": {"max_trials": 1}})
        >>> len(result.trials), result.files["best_config"]
        (1, PosixPath('runs/reviews-transformer-tiny-tuning/best_config.yaml'))
    """
    if export_to is not None and not retrain_best:
        raise ConfigError("--export-to (export_to) is where --retrain-best exports the retrained best model; "
                          "add --retrain-best, or leave --export-to out")
    base, settings = load_search(config, tuning=tuning, overrides=overrides)
    with tuner_process(role, oracle, tuner_id) as process, _dtype_policy_kept():
        if retrain_best and process == "worker":
            raise ConfigError("--retrain-best runs on the chief (or a single process), not on a worker")
        if retrain_best and origin_of_split(base, "validation") != "seeded":
            # One run reads one labelled source: the validation file cannot join the training data.
            given = (f"data.validation_source ({base.data.validation_source})" if base.data.validation_source
                     else f"the official validation split of {base.data.source}")
            raise ConfigError(f"--retrain-best trains on the training and validation data together, and {given} "
                              "is a file of its own; search without it, then train best_config.yaml with zoo train "
                              "(which keeps the validation file for early stopping), or merge the files and set "
                              "data.validation_split instead")
        # Strategies come first: they configure devices before any other TensorFlow work.
        strategy = _trial_strategy(base.distribution)
        directory = search_directory(base, settings)
        # keras-tuner creates it on its own, with TensorFlow's "FailedPreconditionError: ... is not a directory".
        check_output(directory, "set tuning.directory (--directory) to a directory you can write")
        space = search_space(base, settings)
        progress = Progress(base.output.progress, stream=progress_stream)
        if process != "worker":
            _check_directory(directory, base, settings)
        data = prepare_data(base, progress)
        if process != "worker":
            _check_data(directory, data, settings)
        _check_batch_sizes(base, space, data, strategy)
        hypermodel = ZooHyperModel(base, settings, space, data, strategy, progress_stream=progress_stream)
        _check_first_schedule(hypermodel, data)
        if process != "worker" and settings.overwrite:
            _clear_directory(directory)
        try:
            tuner = make_tuner(settings, hypermodel, directory, epochs=settings.trial_epochs(base),
                               seed=settings.trial_seed(base), strategy=strategy, progress=progress,
                               distributed=process != "single")
        except (TypeError, ValueError) as err:
            raise ConfigError(f"tuning.space: building the model with the space's default values failed: {err}") \
                from None
        if process != "worker":
            # Written once the config has loaded its data and built a model: a config that fails before (a
            # mistyped model.init_from, say) leaves no search.yaml that would refuse the corrected command.
            _write_search_file(directory, base, settings, data)
        if process == "worker":
            _check_worker(tuner, directory, base, settings)
        progress.message(_start_message(process, tuner, base, settings, space, directory))
        # Every trial trains in the config's precision: said once, as zoo train says it.
        precision = base.training.precision
        for warning in precision_warnings(precision_report(precision, resolve_precision(precision))):
            log.warning("warning: %s", warning)
        start = time.perf_counter()
        try:
            _search(tuner, settings, directory)
        finally:
            # Also after an interruption or failure: the tables then show how far the search got and why.
            if process != "worker":
                outcome = _write_results(tuner, hypermodel, directory)
        seconds = time.perf_counter() - start
        if process == "worker":
            progress.message(f"worker {tuner.tuner_id} done: ran trial(s) {', '.join(tuner.ran) or 'none'}")
            return TuneResult(directory, process, base, settings, space, [], list(tuner.ran), None, None, {},
                              seconds)
    records, best, best_config, files = outcome
    if best is None:
        raise SearchFailedError(f"no trial completed ({len(records)} failed); see {files['results_md']}")
    progress.message(f"best: trial {best.trial_id}, {objective_name(settings.objective, base)} {best.objective:.4f}; "
                     f"results in "
                     f"{files['results_md']}, best config in {files['best_config']}")
    result = TuneResult(directory, process, base, settings, space, records, list(tuner.ran), best, best_config,
                        files, seconds)
    if retrain_best:
        result.retrain, result.export = retrain(best_config, best, directory, export_to=export_to,
                                                progress_stream=progress_stream)
    return result


def search_directory(base, settings):
    """Return the search directory: ``tuning.directory`` or ``runs/<data>-<model>-tuning``."""
    if settings.directory:
        return Path(settings.directory)
    run_dir = default_run_dir(base)
    return run_dir.with_name(run_dir.name + "-tuning")


def search_space(base, settings):
    """Return the space a search explores: the declared ``tuning.space``, or the default space for ``base``.

    The default space leaves ``training.epochs`` out when the settings set each trial's epochs (hyperband,
    ``tuning.epochs``); a declared space that searches them is an error then.

    Example:
        >>> search_space(*load_search({"tuning": {"tuner": "hyperband"}})).keys[0]
        'model.overrides.num_layers'
    """
    space = SearchSpace.for_config(settings.space, base, search_epochs=not settings.sets_trial_epochs())
    _check_searched_epochs(settings, space)
    return space


def retrain(best_config, best, directory, *, export_to=None, progress_stream=None):
    """Train ``best_config`` on train + validation for ``best.best_epoch`` epochs in ``<directory>/best``; export.

    A finished retraining of the same config is reused, not repeated; every call exports a new version.

    Returns:
        ``(TrainResult, ExportResult)``.

    Example:
        >>> result = zoo.tune({"data": {"source": "reviews.jsonl"}, "tuning": {"max_trials": 10}})  # doctest: +SKIP
        >>> run, export = retrain(result.best_config, result.best, result.directory)  # doctest: +SKIP
        >>> run.run_dir, export.path  # doctest: +SKIP
        (PosixPath('runs/reviews-transformer-tiny-tuning/best'),
         PosixPath('saved_models/reviews-transformer-tiny-tuning/1'))
    """
    from zoo.export import export_run
    from zoo.training import TrainResult, load_run, train

    run_dir = Path(directory) / BEST_RUN
    config = retrain_config(best_config, best.best_epoch, run_dir)
    saved = run_dir / "config.yaml"
    previous = Config.load(saved).to_dict() if saved.is_file() else None
    same = previous is not None and all(previous[s] == config.to_dict()[s] for s in _SEARCH_DEFINING)
    if same and (run_dir / "metrics.json").is_file():
        model, tokenizer, label_names, loaded = load_run(run_dir)
        result = TrainResult(run_dir, loaded, model, tokenizer, label_names, _read_json(run_dir / "history.json"),
                             _read_json(run_dir / "metrics.json"), reads_pairs(run_dir))
    else:
        overwrite = previous is not None and not same
        result = train(config.override([f"output.overwrite={str(overwrite).lower()}"]),
                       progress_stream=progress_stream)
    return result, export_run(run_dir, out=export_to, name=Path(directory).resolve().name)


def retrain_config(config, epochs, run_dir):
    """Return ``config`` set to train on train + validation for ``epochs`` epochs into ``run_dir``.

    No validation split is held out, so there is no early stopping: ``epochs`` is the best trial's best
    epoch, the number of epochs the search found worth training.

    Example:
        >>> retrain_config(Config(), 3, "runs/best").data.validation_split
        0.0
    """
    mapping = config.to_dict()
    mapping["data"]["validation_split"] = 0.0
    mapping["training"]["epochs"] = int(epochs)
    mapping["training"]["early_stopping"]["patience"] = 0
    mapping["output"]["dir"] = str(run_dir)
    return Config.from_dict(mapping)


@contextlib.contextmanager
def tuner_process(role=None, oracle=None, tuner_id=None):
    """Set keras-tuner's ``KERASTUNER_*`` environment for ``role``; yield ``single``, ``chief`` or ``worker``.

    keras-tuner reads its distributed set-up from the environment only; the previous values come back
    on exit.

    Example:
        >>> with tuner_process("worker", "127.0.0.1:8000", "worker-1") as process:
        ...     process, os.environ["KERASTUNER_TUNER_ID"]
        ('worker', 'worker-1')
    """
    if role is None:
        if oracle or tuner_id:
            raise ConfigError("--oracle and --tuner-id need --role chief or --role worker")
        yield _role_from_environment()
        return
    if role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    env = os.environ
    if oracle is None and env.get("KERASTUNER_ORACLE_IP") and env.get("KERASTUNER_ORACLE_PORT"):
        oracle = f"{env['KERASTUNER_ORACLE_IP']}:{env['KERASTUNER_ORACLE_PORT']}"
    if not oracle:
        raise ConfigError(f"--role {role} needs the oracle's address: --oracle HOST:PORT (or KERASTUNER_ORACLE_IP "
                          "and KERASTUNER_ORACLE_PORT)")
    host, _, port = str(oracle).rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--oracle must be HOST:PORT, got {oracle!r}")
    if role == "chief":
        if tuner_id is not None:
            raise ConfigError("--tuner-id names a worker; the chief's id is always 'chief'")
        ident = "chief"
    else:
        inherited = env.get("KERASTUNER_TUNER_ID", "")
        ident = tuner_id or (inherited if inherited and "chief" not in inherited else None)
        ident = ident or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in ident:
            raise ConfigError(f"--tuner-id {ident!r}: keras-tuner treats every id containing 'chief' as the chief; "
                              "choose another")
    previous = {key: env.get(key) for key in TUNER_ENV}
    env.update(KERASTUNER_TUNER_ID=ident, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port)
    try:
        yield role
    finally:
        for key, value in previous.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value


def _role_from_environment():
    if not os.environ.get("KERASTUNER_ORACLE_IP"):
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def _trial_strategy(distribution):
    from zoo.training import get_strategy

    if distribution.strategy not in _TRIAL_STRATEGIES:
        raise ConfigError(f"distribution.strategy: trials train with {', '.join(_TRIAL_STRATEGIES)}, got "
                          f"{distribution.strategy!r}; to spread a search over machines run one chief and "
                          "several workers (zoo tune --role chief|worker)")
    return get_strategy(distribution.strategy, devices=distribution.devices)


def _read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _plain(value):
    """Plain YAML-safe data (tuples become lists) for search.yaml and its comparison."""
    return json.loads(json.dumps(value))


def _check_directory(directory, base, settings):
    """Refuse, before any work, to continue a search of another config in ``directory`` (unless ``overwrite``)."""
    path = directory / SEARCH_FILE
    if settings.overwrite or not path.is_file():
        return
    changed = _changes(path, _search_file(base, settings))
    if changed:
        raise TuneDirectoryError(f"{directory} holds a search with a different config (" + "; ".join(changed)
                                 + f"); rerun with its config to continue it, or {_ELSEWHERE}")


def _check_data(directory, data, settings):
    """Refuse to continue a search in ``directory`` whose trials trained on other examples (unless ``overwrite``):
    a file edited at the same path leaves search.yaml alike, and its trials would be ranked against the old ones."""
    if settings.overwrite:
        return
    changed = [f"the {name} split ({data['sources'][name]}, {then:,} examples then, {now:,} now)"
               for name, (then, now) in changed_examples(directory, data).items()]
    if changed:
        raise TuneDirectoryError(f"{directory} holds a search on other data: {' and '.join(changed)} differ from "
                                 f"the examples its trials trained on ({directory / DATA_FINGERPRINT}); restore the "
                                 f"data to continue it, or {_ELSEWHERE}")


def _clear_directory(directory):
    """Delete the search in ``directory`` (``tuning.overwrite``): its trials, best run and files."""
    for name in (PROJECT, BEST_RUN):
        shutil.rmtree(directory / name, ignore_errors=True)
    for name in (SEARCH_FILE, DATA_FINGERPRINT, "results.csv", "results.md", BEST_CONFIG):
        (directory / name).unlink(missing_ok=True)


def _write_search_file(directory, base, settings, data):
    """Write search.yaml, the config a rerun (or a worker) must match, and the fingerprint of the data a rerun must
    match."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SEARCH_FILE).write_text(yaml.safe_dump(_search_file(base, settings), sort_keys=False),
                                         encoding="utf-8")
    (directory / DATA_FINGERPRINT).write_text(json.dumps(data_fingerprint(data), indent=2), encoding="utf-8")


def _check_worker(tuner, directory, base, settings):
    """Refuse to run trials for a chief whose search has another config: the chief would record, and write as
    best_config.yaml, configs that differ from what this worker trained."""
    # A call to the chief's oracle waits until the chief serves it, which it does after writing search.yaml.
    tuner.oracle.get_space()
    path = directory / SEARCH_FILE
    if not path.is_file():
        raise TuneDirectoryError(f"{path} not found: the chief writes it when it starts; every worker must see the "
                                 "chief's search directory (the same tuning.directory, on a shared file system)")
    changed = _changes(path, _search_file(base, settings))
    if changed:
        raise TuneDirectoryError(f"the chief's search in {directory} has a different config (" + "; ".join(changed)
                                 + "); start every worker with the chief's config")


def _search_file(base, settings):
    """The contents of search.yaml for ``base`` and ``settings``."""
    return _plain({"config": base.to_dict(), "tuning": settings.to_dict()})


def _changes(path, current):
    """``section.key: saved -> current`` for each key defining a search that differs from search.yaml at ``path``."""
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        saved = None
    if not isinstance(saved, dict) or not all(isinstance(saved.get(part, {}), dict) for part in current):
        raise TuneDirectoryError(f"{path} is not a zoo search file (a YAML mapping with config and tuning "
                                 f"sections); {_ELSEWHERE}")
    return (changed_settings(saved.get("config") or {}, current["config"], sections=_SEARCH_DEFINING)
            + changed_settings(saved, current, sections=("tuning",),
                               ignore=tuple(f"tuning.{key}" for key in _RESUMABLE_TUNING)))


def _check_searched_epochs(settings, space):
    """A searched ``training.epochs`` is each trial's length: it excludes ``tuning.epochs`` and Hyperband's budgets."""
    if "training.epochs" not in space:
        return
    if settings.epochs is not None:
        raise ConfigError(f"tuning.epochs: {settings.epochs} and a searched training.epochs both set a trial's "
                          "epochs; remove one")
    if settings.tuner == "hyperband":
        raise ConfigError("tuning.space.training.epochs: hyperband sets each trial's epochs itself; search "
                          "training.epochs with the random or bayesian tuner")


def _check_batch_sizes(base, space, data, strategy):
    key = "training.batch_size"
    searched = key in space
    sizes = space.candidates(key) if searched else [base.training.batch_size]
    where = f"tuning.space.{key}" if searched else key
    examples = num_examples(data["train"][0])
    replicas = strategy.num_replicas_in_sync
    for size in sizes:
        if size > examples:
            raise ConfigError(f"{where}: batch size {size} is larger than the {examples} training examples")
        if size % replicas:
            raise ConfigError(f"{where}: batch size {size} must be divisible by the {replicas} replicas of "
                              f"distribution.strategy {base.distribution.strategy!r}")


def _check_first_schedule(hypermodel, data):
    """Build the first trial's learning-rate schedule, so that a config error in it (a warm-up longer than the
    run) stops the command before the search, not inside every trial."""
    config = hypermodel.config_for({p.key: p.first() for p in hypermodel.space.parameters})
    steps = num_examples(data["train"][0]) // config.training.batch_size
    build_schedule(config.optimizer, config.schedule, config.training.epochs * steps)


def hyperband_shortfall(settings, epochs):
    """Why a Hyperband search of at most ``epochs`` epochs a trial runs fewer trials than ``max_trials``, and what
    gives it more; ``""`` when it may run them all (or the tuner is another).

    keras-tuner's Hyperband ends when its brackets are done, however many trials ``max_trials`` allows.

    Example:
        >>> settings = load_search({"tuning": {"tuner": "hyperband", "max_trials": 6}})[1]
        >>> hyperband_shortfall(settings, 9)  # its brackets hold 23 trials
        ''
        >>> import textwrap
        >>> print(textwrap.fill(hyperband_shortfall(settings, 2), 100))
        Hyperband's brackets for at most 2 epochs a trial and hyperband_factor 3 hold only 2 trials, fewer
        than max_trials 6; for more, raise tuning.epochs (--epochs), lower tuning.hyperband_factor or set
        tuning.tuner (--tuner) to random or bayesian
    """
    if settings.tuner != "hyperband":
        return ""
    factor = settings.hyperband_factor
    budget = hyperband_trials(epochs, factor)
    if budget >= settings.max_trials:
        return ""
    # A smaller factor adds brackets only where the epochs leave room for them (the factor is at least 2).
    lower = ", lower tuning.hyperband_factor" if hyperband_trials(epochs, 2) > budget else ""
    return (f"Hyperband's brackets for at most {counted(epochs, 'epoch')} a trial and hyperband_factor {factor} hold "
            f"only {counted(budget, 'trial')}, fewer than max_trials {settings.max_trials}; for more, raise "
            f"tuning.epochs (--epochs){lower} or set tuning.tuner (--tuner) to random or bayesian")


def _start_message(process, tuner, base, settings, space, directory):
    if process == "chief":
        return (f"chief: serving the {settings.tuner} search's oracle on {os.environ['KERASTUNER_ORACLE_IP']}:"
                f"{os.environ['KERASTUNER_ORACLE_PORT']} ({counted(settings.max_trials, 'trial')}, directory "
                f"{directory}); start workers with --role worker and the same config and --oracle")
    if process == "worker":
        return f"worker {tuner.tuner_id}: running trials for the oracle in {directory}"
    done = len(tuner.oracle.trials)
    what = f"continuing the search in {directory} ({done} trial(s) started before)" if done else \
        f"searching in {directory}"
    fixed = ""
    if space.fixed:
        fixed = ("; the default space leaves out what the config sets: "
                 + ", ".join(f"{short_key(key)}={value}" for key, value in space.fixed.items())
                 + " (declare tuning.space to search them)")
    # An interrupted trial (still RUNNING in its trial.json) runs again whatever max_trials says.
    finished = sum(trial.status != TrialStatus.RUNNING for trial in tuner.oracle.trials.values())
    limit = hyperband_shortfall(settings, settings.trial_epochs(base))
    if finished >= settings.max_trials:
        limit = (f"{directory} already holds {counted(finished, 'finished trial')}, max_trials {settings.max_trials}: "
                 "no new trial runs (raise tuning.max_trials (--max-trials) to add trials)")
    return (f"{what}: {settings.tuner}, up to {counted(settings.max_trials, 'trial')} over {len(space)} "
            f"hyperparameters, objective {objective_name(settings.objective, base)}{fixed}"
            + (f"; {limit}" if limit else ""))


def _search(tuner, settings, directory):
    """Run the tuner's search; turn keras-tuner's stops into zoo's errors."""
    try:
        tuner.search()
    except SearchInterrupted as err:
        raise TrainingInterrupted(f"search interrupted during a trial; rerun the same command to continue the "
                                  f"search in {directory}", err.signal_number, None) from None
    except RuntimeError as err:
        if "consecutive failures" not in str(err):
            raise
        raise SearchFailedError(f"the search stopped after {settings.max_consecutive_failed_trials} failed trials "
                                f"in a row (see {directory / 'results.md'}); last error: "
                                f"{last_line(str(err))}") from None


@contextlib.contextmanager
def _dtype_policy_kept():
    """Trials set the global dtype policy of their precision (from keras-tuner's first build on); undo it."""
    policy = keras.mixed_precision.global_policy()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _write_results(tuner, hypermodel, directory):
    """Write results.csv, results.md and best_config.yaml from the oracle's trials; return what was written."""
    keys, objective = hypermodel.space.keys, hypermodel.settings.objective
    records = collect(tuner.oracle, keys, objective, directory)
    best = best_of(records, objective)
    files = {"results_csv": write_csv(records, directory / "results.csv", keys, objective),
             "results_md": write_markdown(records, directory / "results.md", keys, objective, best,
                                          shown=objective_name(objective, hypermodel.base)),
             "best_config": None}
    best_config = None
    if best is not None:
        best_config = hypermodel.config_for(best.values)
        files["best_config"] = best_config.save(directory / BEST_CONFIG)
    return records, best, best_config, files
