"""Benchmark: a 10-trial ``zoo tune`` search on TREC against the default config (issue 6's proof on real data).

Measured in one run, on TREC's official split (5,452 training questions, the 500 TREC-10 test questions,
6 coarse labels), every model with the same seed:
  * default: ``zoo train`` with the default config (``transformer-tiny``; the results name it): trained on 90%
    of the training questions, the best validation epoch kept; and the same config retrained on all 5,452
    questions for that many epochs (the protocol ``--retrain-best`` applies to the tuned config);
  * search: ``zoo tune`` with random search over the default Transformer space, each trial trained on the
    same 90% and scored by its best validation accuracy (early stopping, patience 3); then the best config
    retrained on all 5,452 questions for its best epoch count and exported.
The issue's target: the tuned config's test accuracy beats the default's. Reported: the test accuracies,
the search's wall time, the best trial and its config.

    python bench/tuning_trec.py [--trials 10] [--tuner random] [--json bench/results/tuning_trec.json]
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--tuner", default="random", choices=("random", "hyperband", "bayesian"))
    parser.add_argument("--workdir", type=Path, help="where runs and the search go (default: a temporary directory)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the benchmark, print a summary and return the results.

    Args:
        argv: Command-line arguments (``--trials``, ``--tuner``, ``--workdir``, ``--json``); ``None`` reads
            ``sys.argv``.

    Returns:
        A dict: test accuracies (default, default retrained, tuned), search seconds, trial counts, the best
        trial's values and config.

    Example:
        >>> results = main(["--trials", "10"])  # doctest: +SKIP
        >>> results["tuned_beats_default"]  # doctest: +SKIP
        True
    """
    args = build_parser().parse_args(argv)

    import zoo.training
    import zoo.tuning

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="zoo-tuning-trec-"))
    # overwrite: a rerun with the same --workdir trains the default again (the search itself continues).
    common = {"data": {"source": "trec"}, "output": {"progress": "epoch", "tensorboard": False, "overwrite": True}}

    start = time.perf_counter()
    default = zoo.training.train({**common, "output": {**common["output"], "dir": str(workdir / "default")}})
    default_seconds = time.perf_counter() - start
    default_epochs = default.metrics["best_epoch"]
    default_retrained = zoo.training.train(
        zoo.tuning.retrain_config(default.config, default_epochs, workdir / "default-retrained"))

    search = zoo.tuning.tune({**common, "tuning": {"tuner": args.tuner, "max_trials": args.trials,
                                                   "directory": str(workdir / "search")}},
                             retrain_best=True, export_to=workdir / "export")
    best = search.best
    results = {
        "data": "trec (official split, coarse labels)",
        "examples": search.retrain.metrics["examples"],
        "default_model": default.config.model.name,
        "default_test_accuracy": default.metrics["test"]["accuracy"],
        "default_validation_accuracy": default.metrics["validation"]["accuracy"],
        "default_best_epoch": default_epochs,
        "default_seconds": default_seconds,
        "default_retrained_test_accuracy": default_retrained.metrics["test"]["accuracy"],
        "tuner": args.tuner,
        "trials": len(search.trials),
        "trials_completed": sum(r.completed for r in search.trials),
        "trials_failed": [{"trial": r.trial_id, "error": r.error} for r in search.trials if r.status == "FAILED"],
        "search_seconds": search.seconds,
        "best_trial": best.trial_id,
        "best_validation_accuracy": best.objective,
        "best_epoch": best.best_epoch,
        "best_values": best.values,
        "best_config": {section: search.best_config.to_dict()[section]
                        for section in ("model", "optimizer", "schedule", "training")},
        "tuned_test_accuracy": search.retrain.metrics["test"]["accuracy"],
        "export": str(search.export.path),
        "results_table": str(search.files["results_md"]),
    }
    results["tuned_beats_default"] = results["tuned_test_accuracy"] > max(results["default_test_accuracy"],
                                                                          results["default_retrained_test_accuracy"])
    _print(results, search.files["results_md"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def _print(results, table):
    print(table.read_text())
    print(f"TREC test accuracy ({results['examples']['test']} questions):")
    print(f"  default config ({results['default_model']}), zoo train:          {results['default_test_accuracy']:.4f}")
    print(f"  default config, retrained on train+validation: {results['default_retrained_test_accuracy']:.4f}")
    print(f"  tuned config (trial {results['best_trial']}), retrained:        {results['tuned_test_accuracy']:.4f}")
    print(f"search: {results['trials']} {results['tuner']} trials ({results['trials_completed']} completed) in "
          f"{results['search_seconds']:.0f}s; best validation accuracy {results['best_validation_accuracy']:.4f}")
    print(f"best values: {results['best_values']}")
    verdict = "beats" if results["tuned_beats_default"] else "does NOT beat"
    print(f"the tuned config {verdict} the default config")


if __name__ == "__main__":
    main()
