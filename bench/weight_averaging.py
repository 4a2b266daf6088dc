"""Experiment: would averaging the weights over an epoch beat the model zoo keeps? (issue 13, MR 10-fold CV)

Runs ``zoo cv`` of all-MiniLM-L6-v2 on MR (the 10-fold protocol of BENCHMARKS.md, the fine-tuning recipe) with
a checkpoint every ``--every`` steps kept. As each fold finishes, this scores on the fold's test part and on
its validation part: the model zoo keeps (the best validation epoch's weights), each epoch's last-step weights
and each epoch's mean over its step checkpoints (stochastic weight averaging); then it deletes the fold's step
checkpoints (about 25 GB a fold). Averaging needs no other training, so every candidate comes from the same
trajectory, and the gains are paired: no seed noise between them. Reported: the mean gain over zoo's model of
keeping the last epoch, the last epoch's mean, and the epoch mean the validation part picks (what weight
averaging under the recipe's best-epoch rule would keep).

    python bench/weight_averaging.py [--folds 10] [--every 40] [--workdir DIR] [--json FILE] [--quick]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
CHECKPOINT = "all-MiniLM-L6-v2"
# --quick: a smoke run on a 240-sentence subset (its figures mean nothing).
QUICK = {"limit": 240, "overrides": ["training.epochs=2", "data.sequence_length=32"]}


def _source(folder, quick):
    import zoo.data

    if not quick:
        return "mr"
    part = zoo.data.train_val_test_split(zoo.data.load("mr"), val_size=0, test_size=QUICK["limit"], seed=0)[2]
    return str(part.save_jsonl(Path(folder) / f"mr-{QUICK['limit']}.jsonl"))


def score_fold(run_dir):
    """Test and validation accuracy of each candidate model of a finished fold run (see the module docstring)."""
    import numpy as np
    import tensorflow as tf

    import zoo.data
    from zoo.evaluation.runner import evaluate_model
    from zoo.training import load_run
    from zoo.training.checkpoints import checkpoint_paths, model_variables
    from zoo.training.data import load_options, split_texts

    model, tokenizer, labels, config = load_run(run_dir)
    # The fold's test part, read as zoo cv reads it; its validation part, split off as training split it.
    splits = {"test": zoo.data.load(Path(run_dir).parent / "data" / "test.jsonl", label_names=labels,
                                    **load_options(config, "classification")),
              "validation": split_texts(config)["validation"]}
    scores = {}

    def score(name):
        for split, texts in splits.items():
            scores[f"{split}_{name}"] = evaluate_model(model, tokenizer, labels, texts.inputs, texts.labels,
                                                       sequence_length=config.data.sequence_length)["metrics"][
                "accuracy"]

    score("kept")
    holder = tf.train.Checkpoint(weights=model_variables(model))
    trajectory = {}
    for path in checkpoint_paths(Path(run_dir) / "checkpoints"):
        holder.read(path).expect_partial()
        trajectory[int(path.rsplit("-", 1)[1])] = [w.numpy().copy() for w in model.trainable_variables]
    steps = sorted(trajectory)
    epochs = config.training.epochs
    per_epoch = steps[-1] // epochs
    for epoch in range(1, epochs + 1):
        in_epoch = [s for s in steps if (epoch - 1) * per_epoch < s <= epoch * per_epoch]
        for name, chosen in ((f"last_step_e{epoch}", [epoch * per_epoch]), (f"mean_e{epoch}", in_epoch)):
            for i, variable in enumerate(model.trainable_variables):
                variable.assign(np.mean([trajectory[s][i] for s in chosen], axis=0))
            score(name)
    # The recipe keeps the first epoch of the highest validation accuracy: so would averaging.
    picked = max(range(1, epochs + 1), key=lambda e: scores[f"validation_mean_e{e}"])
    scores.update(picked_epoch=picked, test_mean_picked=scores[f"test_mean_e{picked}"], steps=len(steps),
                  epochs=epochs)
    return scores


def summarize(folds):
    """Mean test accuracy of each rule and its paired gain over zoo's kept model (points)."""
    epochs = folds[0]["epochs"]
    rules = {"kept (best validation epoch)": "test_kept", "last epoch, last step": f"test_last_step_e{epochs}",
             "last epoch's mean": f"test_mean_e{epochs}", "epoch mean validation picks": "test_mean_picked"}
    summary = {}
    for rule, key in rules.items():
        gains = [100 * (f[key] - f["test_kept"]) for f in folds]
        summary[rule] = {"mean": 100 * statistics.mean(f[key] for f in folds), "gain": statistics.mean(gains),
                         "gain_min": min(gains), "gain_max": max(gains), "folds_better": sum(g > 0 for g in gains),
                         "folds_worse": sum(g < 0 for g in gains)}
    return summary


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=10, help="cross-validation folds (default 10)")
    parser.add_argument("--every", type=int, default=40, help="steps between the checkpoints averaged (default 40)")
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "weight_averaging",
                        help="where zoo cv's folds go (a rerun reuses finished folds)")
    parser.add_argument("--quick", action="store_true", help="smoke run on a 240-sentence subset, 2 epochs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the experiment; print each fold's scores and the summary; return them.

    Example:
        >>> main(["--quick", "--folds", "2"])["summary"]["last epoch's mean"]["gain"]  # doctest: +SKIP
    """
    from zoo.paths import checkpoint_dir

    args = build_parser().parse_args(argv)
    checkpoint = checkpoint_dir() / CHECKPOINT
    if not (checkpoint / "config.json").is_file():
        sys.exit(f"checkpoint {checkpoint} not found (set ZOO_CHECKPOINT_DIR to the folder holding {CHECKPOINT})")
    args.workdir.mkdir(parents=True, exist_ok=True)
    overrides = [f"training.checkpoint_every={args.every}", "training.keep_checkpoints=1000",
                 "output.tensorboard=false"] + (QUICK["overrides"] if args.quick else [])
    command = ["zoo", "cv", "--data", _source(args.workdir, args.quick), "--pretrained", str(checkpoint),
               "--folds", str(args.folds), "--out", str(args.workdir / "cv")]
    for override in overrides:
        command += ["--set", override]
    results = {"uptime": os.getloadavg(), "command": command, "folds": {}}
    print(" ".join(command), flush=True)
    cv = subprocess.Popen(command)
    while len(results["folds"]) < args.folds:
        for k in range(args.folds):
            run_dir = args.workdir / "cv" / f"fold_{k}" / "run"
            if k in results["folds"] or not (run_dir / "metrics.json").is_file():
                continue
            results["folds"][k] = score_fold(run_dir)
            print(f"fold {k}: " + json.dumps(results["folds"][k]), flush=True)
            for path in (run_dir / "checkpoints").glob("ckpt-*"):
                path.unlink()
        if cv.poll() not in (None, 0):
            sys.exit(f"zoo cv failed (exit {cv.returncode})")
        time.sleep(0 if len(results["folds"]) == args.folds else 30)
    cv.wait()
    results["summary"] = summarize(list(results["folds"].values()))
    for rule, figures in results["summary"].items():
        print(f"{rule}: {figures['mean']:.2f} % ({figures['gain']:+.2f} points, {figures['gain_min']:+.2f} to "
              f"{figures['gain_max']:+.2f}; better on {figures['folds_better']}, worse on {figures['folds_worse']} "
              "folds)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


if __name__ == "__main__":
    main()
