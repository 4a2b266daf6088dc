"""Benchmark: MLM pretraining on the unlabelled text of MR + SUBJ, then fine-tuning on MR, against scratch.

Issue 8's proof, in one run and on the same 10 folds (fold seed 42):
  * pretrain: ``zoo pretrain`` of the ``mlm`` model at the default classifier's sizes (2 layers, d_model 64,
    2 heads, ff 128) on the 10,662 MR and 10,000 SUBJ sentences, labels unused, with the default data
    settings (word tokenizer, vocabulary 20,000, ``data.sequence_length: auto``; BENCHMARKS.md's figures were
    taken at 64 tokens, the default then). MR's test sentences are part of this unlabelled text (as in
    transductive semi-supervised work); their labels never are.
  * scratch: ``zoo cv --folds 10`` with the default config (issue 4's figure; the fold runs are shared with
    ``bench/quality.py``).
  * pretrained: the same, with ``model.init_from`` the pretraining run (its tokenizer and encoder) and the
    encoder learning at ``--encoder-scale`` of the head's rate.
Reported: mean ± sample std of test accuracy over the folds for both, the per-fold paired difference, and the
wall times.

    python bench/pretrain_mr.py [--folds 10] [--pretrain-epochs 6] [--json bench/results/pretrain_mr.json]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
TINY = {"num_layers": 2, "d_model": 64, "num_heads": 2, "ff_dim": 128}


def pretrain(run_dir, epochs):
    """Pretrain (or reuse a finished pretraining in ``run_dir``); return its metrics."""
    import zoo

    if (run_dir / "metrics.json").is_file():
        return json.loads((run_dir / "metrics.json").read_text())
    config = {"data": {"source": "mr", "extra_sources": ["subj"], "validation_split": 0.05, "test_split": 0.0},
              "model": {"name": "mlm", "overrides": dict(TINY)},
              "optimizer": {"learning_rate": 2e-3},
              "training": {"epochs": epochs, "batch_size": 64, "label_smoothing": 0.0},
              "output": {"dir": str(run_dir), "progress": "epoch"}}
    return zoo.train(config).metrics


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--pretrain-epochs", type=int, default=6)
    parser.add_argument("--encoder-scale", type=float, default=0.5)
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the benchmark, print a summary and return the results.

    Args:
        argv: ``--folds``, ``--pretrain-epochs``, ``--encoder-scale``, ``--workdir``, ``--json``; ``None`` reads
            ``sys.argv``.

    Returns:
        ``{"pretrain": {...}, "scratch": {...}, "pretrained": {...}, "difference": {...}}``.

    Example:
        >>> results = main(["--folds", "10"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)

    sys.path.insert(0, str(HERE))
    from quality import mr_cross_validation

    run_dir = args.workdir / f"pretrain-mlm-mr-subj-e{args.pretrain_epochs}"
    start = time.perf_counter()
    metrics = pretrain(run_dir, args.pretrain_epochs)
    pre = {"run_dir": str(run_dir), "epochs": args.pretrain_epochs, "wall_seconds": metrics["wall_seconds"],
           "train_examples": metrics["examples"]["train"],
           "validation_perplexity": metrics["validation"]["perplexity"],
           "validation_masked_accuracy": metrics["validation"]["accuracy"]}
    print(f"pretraining: {pre['wall_seconds']:.0f} s, masked-token perplexity {pre['validation_perplexity']:.1f}",
          flush=True)
    scratch = mr_cross_validation(args.folds, args.workdir)
    tuned = mr_cross_validation(
        args.folds, args.workdir, name=f"mr-pretrained-e{args.pretrain_epochs}-s{args.encoder_scale}",
        overrides=[f"model.init_from={run_dir}", f"optimizer.encoder_learning_rate_scale={args.encoder_scale}"])
    diff = np.array(tuned["fold_accuracies"]) - np.array(scratch["fold_accuracies"])
    difference = {"mean": float(diff.mean()), "std": float(diff.std(ddof=1)), "folds_better": int((diff > 0).sum()),
                  "folds_worse": int((diff < 0).sum())}
    for name, result in (("scratch", scratch), ("pretrained", tuned)):
        print(f"MR {args.folds}-fold {name}: {100 * result['accuracy_mean']:.1f} ± {100 * result['accuracy_std']:.1f}",
              flush=True)
    print(f"paired difference: {100 * difference['mean']:+.1f} ± {100 * difference['std']:.1f} points "
          f"({difference['folds_better']} folds better, {difference['folds_worse']} worse); "
          f"total {time.perf_counter() - start:.0f} s", flush=True)
    results = {"pretrain": pre, "scratch": scratch, "pretrained": tuned, "difference": difference,
               "encoder_learning_rate_scale": args.encoder_scale}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
