"""``zoo tune``: argument parsing only; the work is ``zoo.tuning.tune``.

``zoo.cli`` lists ``add_tune_command`` in its ``COMMANDS``; the handler ``run_tune(args)`` returns the exit
status: 0, 1 when the search produced no usable trial (or retraining diverged), 2 for errors users can
cause, 128 + the signal number when interrupted (rerun the same command to continue).
"""
import shlex
import sys
from pathlib import Path

from zoo.cli_options import DATA, PRETRAINED_CHECKPOINT, add_config_options, config_overrides
from zoo.console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, error, exit_status_for_signal
from zoo.tuning.settings import OBJECTIVES, ROLES, TUNERS, accuracy_name, objective_name


def add_tune_command(subparsers):
    """Declare ``zoo tune``.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="zoo")
        >>> add_tune_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["tune", "--data", "texts.csv", "--max-trials", "4"]).max_trials
        4
    """
    parser = subparsers.add_parser(
        "tune", help="search hyperparameters with keras-tuner; write the results and the best config",
        description="Search the hyperparameters declared in the config's tuning.space (a default space when "
                    "none is given) and write results.csv, results.md and best_config.yaml to the search "
                    "directory. Rerunning the same command continues an interrupted search. Precedence: "
                    "defaults < --config < the other options < --set.")
    parser.add_argument("--config", metavar="FILE", help="run config with an optional tuning section (YAML/JSON)")
    add_config_options(parser, DATA, PRETRAINED_CHECKPOINT)
    parser.add_argument("--tuner", choices=TUNERS, help="search algorithm (sets tuning.tuner; default random)")
    parser.add_argument("--max-trials", type=int, metavar="N", help="trials at most (sets tuning.max_trials)")
    parser.add_argument("--objective", choices=OBJECTIVES, help="validation metric to optimise (tuning.objective)")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs per trial at most (tuning.epochs)")
    parser.add_argument("--directory", metavar="DIR", help="search directory (tuning.directory; default "
                                                           "runs/<data>-<model>-tuning)")
    parser.add_argument("--overwrite", action="store_true", help="delete a search in the directory and start afresh")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set training.epochs=5, --set tuning.patience=2 or "
                             "--set 'tuning.space.model.overrides.num_layers=[1, 2]'; repeatable")
    parser.add_argument("--retrain-best", action="store_true",
                        help="train the best config on train + validation and export it like zoo export")
    parser.add_argument("--export-to", metavar="PATH", help="export destination for --retrain-best (default "
                                                            "saved_models/<search directory name>/<next version>)")
    parser.add_argument("--role", choices=ROLES, help="distributed search: the chief serves the oracle, workers "
                                                      "run trials (all with the same config and directory)")
    parser.add_argument("--oracle", metavar="HOST:PORT", help="the chief's oracle address (default "
                                                              "KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT)")
    parser.add_argument("--tuner-id", metavar="ID", help="this worker's id, unique in the search (default "
                                                         "KERASTUNER_TUNER_ID, else host and process id)")
    parser.set_defaults(handler=run_tune)


def run_tune(args):
    """Handle ``zoo tune``; returns the exit status."""
    from zoo.training import NonFiniteLossError, TrainingInterrupted
    from zoo.training.data import origin_of_split
    from zoo.tuning.search import SearchFailedError, tune

    tuning = {key: value for key, value in (("tuner", args.tuner), ("max_trials", args.max_trials),
                                            ("objective", args.objective), ("epochs", args.epochs),
                                            ("directory", args.directory)) if value is not None}
    if args.overwrite:
        tuning["overwrite"] = True
    try:
        overrides = config_overrides(args, DATA, PRETRAINED_CHECKPOINT, assignments=args.assignments)
        result = tune(args.config, tuning=tuning, overrides=overrides + args.assignments,
                      retrain_best=args.retrain_best, export_to=args.export_to, role=args.role, oracle=args.oracle,
                      tuner_id=args.tuner_id)
    except TrainingInterrupted as err:
        error("tune", err)
        return exit_status_for_signal(err.signal_number)
    except KeyboardInterrupt:
        error("tune", "interrupted; rerun the same command to continue the search")
        return EXIT_INTERRUPTED
    except (SearchFailedError, NonFiniteLossError) as err:
        error("tune", err)
        return EXIT_FAILED
    except (ValueError, FileNotFoundError) as err:
        error("tune", err)
        return EXIT_USAGE
    if result.role == "worker":
        print(f"ran trials: {' '.join(result.ran)}")
        return 0
    completed = sum(r.completed for r in result.trials)
    print(f"{completed} of {len(result.trials)} trials completed{_trial_count_note(result)}; best trial "
          f"{result.best.trial_id}: {objective_name(result.settings.objective, result.config)} "
          f"{result.best.objective:.4f}")
    print(f"results: {result.files['results_md']}")
    print(f"best config: {result.files['best_config']}")
    if result.retrain is None:
        best = shlex.quote(str(result.files["best_config"]))
        # Its own directory: the config's default one may hold an earlier run of the data set and model.
        trained = Path(result.directory)
        trained = shlex.quote(str(trained.with_name(trained.name.removesuffix("-tuning") + "-tuned")))
        retrain = ("" if origin_of_split(result.best_config, "validation") != "seeded" else
                   "\n  (or rerun this search with --retrain-best: it trains the best config on training and "
                   "validation data for its best epoch count, then exports it)")
        print(f"next:\n  zoo train --config {best} --output {trained}{retrain}", file=sys.stderr)
        return 0
    from zoo.cli import print_next_commands

    test = result.retrain.metrics.get("test")
    score = f", test {accuracy_name(result.config)} {test['accuracy']:.4f}" if test else ""
    print(f"retrained: {result.retrain.run_dir}{score}")
    print(f"exported: {result.export.path}")
    print_next_commands(result.retrain, exported=result.export.path)
    return 0


def _trial_count_note(result):
    """Why a search holds another number of trials than ``max_trials``: the directory held more, its space held
    no other values to try, or Hyperband's brackets held fewer trials."""
    from zoo.tuning.search import hyperband_shortfall

    tried, wanted = len(result.trials), result.settings.max_trials
    if tried > wanted:
        return f" ({result.directory} held {tried} trials before this run, more than max_trials {wanted})"
    combinations = result.space.combinations()
    if combinations is not None and combinations <= tried < wanted:
        return (f" (the search space holds only {combinations} distinct sets of values, all tried, fewer than "
                f"max_trials {wanted})")
    shortfall = hyperband_shortfall(result.settings, result.settings.trial_epochs(result.config))
    return f" ({shortfall})" if shortfall and tried < wanted else ""
