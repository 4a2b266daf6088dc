"""Benchmark: accuracy of the default config trained from scratch on MR (10-fold CV) and TREC (official split).

Issue 4's figures, with the wall time of each on this CPU, next to the published baselines of the data
READMEs (MR: CNN-rand 76.1, NBSVM-bi 79.4, 10-fold CV; TREC: CNN-rand 91.2, CNN 93.6, official split):
  * MR: ``zoo cv --folds 10`` with the default config: every fold trains on 9/10 of MR (10% of that held out
    for early stopping) and is tested on the remaining tenth; mean ± sample std over the 10 folds.
  * TREC: ``zoo train --data trec`` with the default config: 5,452 training questions (10% held out for
    validation), tested on the official 500.
Finished fold runs are reused when the config is unchanged (``bench/pretrain_mr.py`` shares the MR folds).

    python bench/quality.py [--folds 10] [--workdir bench/results/runs] [--json bench/results/quality.json]
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
PUBLISHED = {"mr": {"CNN-rand": 76.1, "NBSVM-bi": 79.4}, "trec": {"CNN-rand": 91.2, "CNN": 93.6}}


def mr_cross_validation(folds, workdir, overrides=(), name="mr-default"):
    """10-fold CV of the default config (plus ``overrides``) on MR; returns accuracies and wall time."""
    from zoo.evaluation import cross_validate

    start = time.perf_counter()
    cv = cross_validate({"output": {"progress": "none"}}, folds=folds, overrides=overrides,
                        out_dir=Path(workdir) / f"{name}-cv{folds}", seed=42)
    accuracy = cv["summary"]["accuracy"]
    train_seconds = []
    for k in range(folds):
        metrics = json.loads((Path(cv["out_dir"]) / f"fold_{k}" / "run" / "metrics.json").read_text())
        train_seconds.append(metrics["wall_seconds"])
    return {"accuracy_mean": accuracy["mean"], "accuracy_std": accuracy["std"], "fold_accuracies": accuracy["values"],
            "fold_train_seconds": train_seconds, "wall_seconds_this_call": time.perf_counter() - start,
            "out_dir": cv["out_dir"]}


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the benchmark, print a summary and return the results.

    Args:
        argv: ``--folds``, ``--workdir``, ``--json``; ``None`` reads ``sys.argv``.

    Returns:
        ``{"mr": {...}, "trec": {...}, "published": ...}``.

    Example:
        >>> results = main(["--folds", "10"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)

    import zoo

    mr = mr_cross_validation(args.folds, args.workdir)
    print(f"MR {args.folds}-fold: {100 * mr['accuracy_mean']:.1f} ± {100 * mr['accuracy_std']:.1f} "
          f"(median fold {sorted(mr['fold_train_seconds'])[args.folds // 2]:.0f} s)", flush=True)
    result = zoo.train({"data": {"source": "trec"}, "output": {"dir": str(args.workdir / "trec-default"),
                                                               "overwrite": True, "progress": "none"}})
    trec = {"accuracy": result.metrics["test"]["accuracy"], "wall_seconds": result.metrics["wall_seconds"],
            "train_seconds": result.metrics["train_seconds"]}
    print(f"TREC: {100 * trec['accuracy']:.1f} in {trec['wall_seconds']:.0f} s", flush=True)
    results = {"mr": mr, "trec": trec, "published": PUBLISHED}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
