"""Benchmark: fine-tuning the pretrained all-MiniLM-L6-v2 with zoo, against keras-hub on the same checkpoint.

Every part reads ``$ZOO_CHECKPOINT_DIR/all-MiniLM-L6-v2`` (default ``../shared/checkpoints``) and runs each
training or timing job in a fresh process, so that peak memory (RSS) is the job's own and TensorFlow's
thread pools can be set per job. Parts (each runnable alone; ``--quick`` is a smoke run on small subsets,
whose figures mean nothing):

  compare   MR, one seeded 90/10 split per seed (3 seeds), zoo and keras-hub interleaved: same split, epochs,
            batch size and max length 128. zoo uses its fine-tuning recipe (AdamW 5e-5, 10% warm-up then
            linear decay, weight decay 0.01 except LayerNorm/biases/embeddings, clipnorm 1.0, batches cut
            to their longest example, best validation epoch kept: it holds out 10% of the 90% for that).
            keras-hub uses ``BertTextClassifier.from_preset(<same folder>)`` with its documented GLUE recipe:
            AdamW over ``PolynomialDecay(5e-5 -> 0)``, weight decay 0.01 with ``exclude_from_weight_decay(
            var_names=["LayerNorm", "layer_norm", "bias"])``, ``global_clipnorm=1.0``, compiled with its
            defaults, sequences padded to 128; it trains on all of the 90% and keeps its last epoch. Reported
            per run: test accuracy, examples/s over each whole epoch (training examples / epoch wall time;
            zoo's epoch includes its validation pass and checkpoints), peak RSS, the precision zoo ran in.
  step      one optimizer step at a fixed shape, batch 32 x 128 tokens (no padding), median over steps, for
            both; the ratio keras-hub / zoo. ``--rounds N`` repeats the pair N times (fresh processes, zoo
            then keras-hub) and reports the median ratio with its range: one pair is noisy on these VMs.
  accuracy  zoo's protocols: MR 10-fold CV, TREC-6 official split, SUBJ 10-fold CV, with the wall time per
            fold (or run), next to keras-hub's and the published BERT-base figures of the issue.
  export    a zoo fine-tuned MiniLM classifier exported as a SavedModel, called on raw MR sentences: batch-1
            median latency with one inter-op thread, examples/s at batch 32; the reference is keras-hub's
            classifier called in Keras (``tf.function``) on ids tokenised beforehand, in the same setting.

    python bench/finetune.py compare [--quick] [--seeds 0 1 2] [--epochs 3] [--json bench/results/finetune_compare.json]
    python bench/finetune.py step [--quick] [--rounds 5]
    python bench/finetune.py accuracy [--quick] [--data mr trec subj]
    python bench/finetune.py export [--quick]
    python bench/finetune.py all [--quick]

``--set KEY=VALUE`` changes zoo's runs, e.g. ``--set model.overrides.attention_dropout=0`` (no dropout on
attention probabilities; zoo keeps the checkpoint's by default) or ``--set training.precision=auto``
(bfloat16 where the CPU has it natively; each run reports the precision it ran in).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
CHECKPOINT = "all-MiniLM-L6-v2"
# The figures: keras-hub on this checkpoint (idle 2-core machine) and published BERT-base results.
REFERENCE = {
    "mr": {"target": 85.5, "keras_hub_one_split": 84.8, "bert_base": "84.85 ± 0.47 (10-fold)"},
    "trec": {"target": 97.0, "keras_hub": 96.8, "bert_base": 96.06},
    "subj": {"target": 95.5, "keras_hub": None, "bert_base": "frozen BERT probe 94.4"},
}
# Full and --quick settings of every part.
SETTINGS = {
    "compare": {"full": {"seeds": [0, 1, 2], "epochs": 3, "length": 128, "limit": None},
                "quick": {"seeds": [0], "epochs": 1, "length": 64, "limit": 320}},
    "step": {"full": {"steps": 20}, "quick": {"steps": 3}},
    "accuracy": {"full": {"folds": 10, "limit": None, "overrides": []},
                 "quick": {"folds": 2, "limit": 240, "overrides": ["training.epochs=1", "data.sequence_length=32"]}},
    "export": {"full": {"requests": 500, "train_examples": 512}, "quick": {"requests": 20, "train_examples": 64}},
}


def checkpoint_path():
    """The MiniLM checkpoint folder; exits with a message when it is absent."""
    from zoo.paths import checkpoint_dir

    path = checkpoint_dir() / CHECKPOINT
    if not (path / "config.json").is_file():
        sys.exit(f"checkpoint {path} not found (set ZOO_CHECKPOINT_DIR to the folder holding {CHECKPOINT})")
    return path


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Data: one seeded split, written once and read by both libraries.

def write_split(folder, seed, limit=None):
    """Write MR's seeded stratified 90/10 split as ``train.jsonl`` / ``test.jsonl``; return their paths."""
    import zoo.data

    data = zoo.data.load("mr")
    if limit:
        data = zoo.data.train_val_test_split(data, val_size=0, test_size=limit, seed=seed)[2]
    train, _, test = zoo.data.train_val_test_split(data, val_size=0, test_size=0.1, seed=seed)
    return {name: part.save_jsonl(Path(folder) / f"mr-seed{seed}-{name}.jsonl")
            for name, part in (("train", train), ("test", test))}


def read_jsonl(path):
    """``(texts, label names)`` of a split file."""
    # Lines end in "\n" only: str.splitlines would also split at U+0085 and U+2028 inside MR's texts.
    with open(path, encoding="utf-8", newline="\n") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]


# Jobs: each runs in its own process (``python bench/finetune.py _job SPEC OUT``).

def job_train_zoo(spec):
    """Fine-tune with ``zoo.train`` from the checkpoint; test accuracy, epoch speed, peak RSS."""
    import zoo

    config = {"data": {"source": spec["train"], "test_source": spec["test"], "sequence_length": spec["length"]},
              "model": {"init_from": spec["checkpoint"]},
              "training": {"seed": spec["seed"], "epochs": spec["epochs"], "batch_size": spec["batch_size"],
                           "precision": spec.get("precision", "float32")},
              "output": {"dir": spec["run_dir"], "overwrite": True, "progress": "none", "tensorboard": False}}
    start = time.perf_counter()
    result = zoo.train(config, overrides=spec.get("overrides", []))
    wall = time.perf_counter() - start
    train_examples = result.metrics["examples"]["train"]
    seconds = [record["seconds"] for record in result.history]
    return {"test_accuracy": result.metrics["test"]["accuracy"], "epoch_seconds": seconds,
            "examples_per_s": [train_examples / s for s in seconds], "train_examples": train_examples,
            "best_epoch": result.metrics["best_epoch"], "precision": result.metrics["precision"],
            "recipe": result.metrics.get("recipe"), "overrides": spec.get("overrides", []), "wall_seconds": wall,
            "peak_rss_mb": peak_rss_mb()}


class _EpochClock:
    """Keras callback keeping each epoch's wall time (created lazily: keras is imported in the job)."""

    @staticmethod
    def create():
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self.start)

        return Clock()


def keras_hub_classifier(checkpoint, num_classes, length, preprocess=True):
    """keras-hub's ``BertTextClassifier`` from the checkpoint folder (its preprocessor at ``length`` tokens)."""
    import keras_hub

    preprocessor = (keras_hub.models.BertTextClassifierPreprocessor.from_preset(str(checkpoint),
                                                                                sequence_length=length)
                    if preprocess else None)
    return keras_hub.models.BertTextClassifier.from_preset(str(checkpoint), num_classes=num_classes,
                                                           preprocessor=preprocessor)


def keras_hub_compile(model, total_steps):
    """keras-hub's documented GLUE recipe (see the module docstring)."""
    import keras

    schedule = keras.optimizers.schedules.PolynomialDecay(5e-5, decay_steps=total_steps, end_learning_rate=0.0)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0)
    optimizer.exclude_from_weight_decay(var_names=["LayerNorm", "layer_norm", "bias"])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def job_train_keras_hub(spec):
    """Fine-tune keras-hub's classifier on the same split; test accuracy, epoch speed, peak RSS."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(spec["seed"])
    start = time.perf_counter()
    texts, names = read_jsonl(spec["train"])
    test_texts, test_names = read_jsonl(spec["test"])
    classes = sorted(set(names))
    labels = np.array([classes.index(n) for n in names], np.int32)
    test_labels = np.array([classes.index(n) for n in test_names], np.int32)
    model = keras_hub_classifier(spec["checkpoint"], len(classes), spec["length"])
    steps = -(-len(texts) // spec["batch_size"]) * spec["epochs"]
    keras_hub_compile(model, steps)
    train = (tf.data.Dataset.from_tensor_slices((texts, labels))
             .shuffle(len(texts), seed=spec["seed"], reshuffle_each_iteration=True).batch(spec["batch_size"]))
    clock = _EpochClock.create()
    model.fit(train, epochs=spec["epochs"], callbacks=[clock], verbose=0)
    test = tf.data.Dataset.from_tensor_slices((test_texts, test_labels)).batch(256)
    _, accuracy = model.evaluate(test, verbose=0)
    return {"test_accuracy": float(accuracy), "epoch_seconds": clock.seconds,
            "examples_per_s": [len(texts) / s for s in clock.seconds], "train_examples": len(texts),
            "jit_compile": bool(model.jit_compile), "wall_seconds": time.perf_counter() - start,
            "peak_rss_mb": peak_rss_mb()}


def _fixed_batch(batch_size, length, seed=0):
    """Token ids ``[batch_size, length]`` without padding (ids of ordinary WordPiece tokens), labels 0/1."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(1000, 30000, size=(batch_size, length)).astype(np.int32), rng.integers(0, 2, batch_size)


def _median_step(step, steps, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def job_step_zoo(spec):
    """Median seconds of one zoo training step (the run's model, optimizer and ``Trainer``) at a fixed shape."""
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.config import Config
    from zoo.training import transfer
    from zoo.training.loop import Trainer
    from zoo.training.objectives import Objective
    from zoo.training.optimizers import optimizer_for
    from zoo.training.precision import resolve_precision

    ids, labels = _fixed_batch(spec["batch_size"], spec["length"])
    config = Config.from_dict({"model": {"init_from": spec["checkpoint"]}}).override(spec.get("overrides", []))
    # As zoo.train does: the model is built under the run's policy (this job's process is its own).
    policy = resolve_precision(config.training.precision)
    keras.mixed_precision.set_global_policy(policy)
    model = transfer.checkpoint_classifier(config, num_classes=2)
    optimizer = optimizer_for(config, model, policy, total_steps=1000)
    trainer = Trainer(model, optimizer, tf.distribute.get_strategy(), Objective("multiclass"), spec["batch_size"],
                      clipnorm=config.optimizer.clipnorm)
    steps = spec["steps"] + 3
    order = np.tile(np.arange(spec["batch_size"]), (steps, 1))
    features = {"token_ids": ids, "segment_ids": np.zeros_like(ids)}
    iterator = iter(trainer.distribute(features, labels.astype(np.int32), order))
    seconds = _median_step(lambda: next(trainer.run_steps(iterator, 1)), spec["steps"])
    return {"median_step_s": seconds, "precision": policy, "peak_rss_mb": peak_rss_mb()}


def job_step_keras_hub(spec):
    """Median seconds of one keras-hub ``train_on_batch`` step at the same fixed batch shape."""
    import numpy as np

    ids, labels = _fixed_batch(spec["batch_size"], spec["length"])
    model = keras_hub_compile(keras_hub_classifier(spec["checkpoint"], 2, spec["length"], preprocess=False), 1000)
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids, bool)}
    seconds = _median_step(lambda: model.train_on_batch(inputs, labels), spec["steps"])
    return {"median_step_s": seconds, "jit_compile": bool(model.jit_compile), "peak_rss_mb": peak_rss_mb()}


def _latency(calls, batch_size):
    """Batch-1 median / p90 milliseconds and batch examples/s of ``{"single": (fn, inputs), "batch": ...}``."""
    from export_latency import _percentile, _timed

    times = _timed(calls)
    single, batch = times["single"], times["batch"]
    return {"batch1_median_ms": 1e3 * statistics.median(single), "batch1_p90_ms": 1e3 * _percentile(single, 0.9),
            f"batch{batch_size}_examples_per_s": batch_size / statistics.median(batch)}


def _mr_sample(count):
    import numpy as np

    import zoo.data

    texts = zoo.data.load("mr").texts
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order[:count]]


def job_latency_zoo(spec):
    """Export a briefly fine-tuned zoo MiniLM classifier; time its raw-string signature (one inter-op thread)."""
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    import zoo

    paths = write_split(spec["work"], seed=0, limit=spec["train_examples"])
    job_train_zoo({**spec, "train": str(paths["train"]), "test": str(paths["test"]), "seed": 0, "epochs": 1,
                   "length": 128, "batch_size": 32, "run_dir": str(Path(spec["work"]) / "run")})
    exported = zoo.export_run(Path(spec["work"]) / "run", out=Path(spec["work"]) / "export")
    import tensorflow_text  # noqa: F401  (the export's tokenizer ops)

    serve = tf.saved_model.load(str(exported.path)).signatures["serving_default"]
    sample = _mr_sample(spec["requests"] + 32 * 10)
    singles = [tf.constant([t]) for t in sample[:spec["requests"]]]
    batches = [tf.constant(sample[i:i + 32]) for i in range(0, len(sample) - 31, 32)]
    call = lambda x: serve(texts=x)  # noqa: E731
    return {**_latency({"single": (call, singles), "batch": (call, batches)}, 32), "peak_rss_mb": peak_rss_mb()}


def job_latency_keras_hub(spec):
    """keras-hub's classifier in Keras on ids tokenised beforehand (each request at its own length)."""
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras_hub

    model = keras_hub_classifier(spec["checkpoint"], 2, 128, preprocess=False)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(str(spec["checkpoint"]),
                                                                               sequence_length=128)
    signature = {key: tf.TensorSpec([None, None], dtype)
                 for key, dtype in (("token_ids", tf.int32), ("segment_ids", tf.int32), ("padding_mask", tf.bool))}
    forward = tf.function(lambda x: tf.nn.softmax(model(x, training=False)), input_signature=[signature])

    def ids(texts):
        x = preprocessor(tf.constant(texts))
        width = int(tf.reduce_max(tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1)))
        return {key: value[:, :width] for key, value in x.items()}

    sample = _mr_sample(spec["requests"] + 32 * 10)
    singles = [ids([t]) for t in sample[:spec["requests"]]]
    batches = [ids(sample[i:i + 32]) for i in range(0, len(sample) - 31, 32)]
    return {**_latency({"single": (forward, singles), "batch": (forward, batches)}, 32), "peak_rss_mb": peak_rss_mb()}


JOBS = {"train_zoo": job_train_zoo, "train_keras_hub": job_train_keras_hub, "step_zoo": job_step_zoo,
        "step_keras_hub": job_step_keras_hub, "latency_zoo": job_latency_zoo,
        "latency_keras_hub": job_latency_keras_hub}


def run_job(name, spec):
    """Run job ``name`` in a fresh Python process; return its result dict."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec, default=str))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE),
                                                             os.environ.get("PYTHONPATH", "")])}
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "_job", name, str(spec_path), str(out)], check=True, env=env)
        result = json.loads(out.read_text())
        result["process_seconds"] = time.perf_counter() - start
        return result


# Parts.

def part_compare(args, settings):
    """zoo vs keras-hub on MR splits, interleaved per seed."""
    checkpoint = checkpoint_path()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds or settings["seeds"]:
            paths = write_split(tmp, seed, settings["limit"])
            spec = {"checkpoint": str(checkpoint), "train": str(paths["train"]), "test": str(paths["test"]),
                    "seed": seed, "epochs": args.epochs or settings["epochs"], "batch_size": 32,
                    "length": settings["length"], "run_dir": str(Path(tmp) / f"zoo-seed{seed}"),
                    "overrides": args.set}
            for library in args.libraries:
                result = run_job(f"train_{library}", spec)
                runs.append({"library": library, "seed": seed, **result})
                print(f"  {library:9s} seed {seed}: accuracy {100 * result['test_accuracy']:.2f} %, "
                      f"{statistics.fmean(result['examples_per_s']):.1f} examples/s per epoch, "
                      f"peak RSS {result['peak_rss_mb']:.0f} MiB", flush=True)
    summary = {}
    for library in args.libraries:
        mine = [r for r in runs if r["library"] == library]
        summary[library] = {"test_accuracy_mean": statistics.fmean(r["test_accuracy"] for r in mine),
                            "examples_per_s_mean": statistics.fmean(x for r in mine for x in r["examples_per_s"]),
                            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in mine)}
    if len(summary) < 2:
        return {"runs": runs, "summary": summary}
    summary["accuracy_difference_points"] = 100 * (summary["zoo"]["test_accuracy_mean"]
                                                   - summary["keras_hub"]["test_accuracy_mean"])
    summary["epoch_time_ratio_zoo_over_keras_hub"] = (summary["keras_hub"]["examples_per_s_mean"]
                                                      / summary["zoo"]["examples_per_s_mean"])
    return {"runs": runs, "summary": summary}


def part_step(args, settings):
    """Per-step time at batch 32 x 128 for both, in ``--rounds`` interleaved pairs of fresh processes."""
    spec = {"checkpoint": str(checkpoint_path()), "batch_size": 32, "length": 128, "steps": settings["steps"],
            "overrides": args.set}
    rounds = []
    for index in range(args.rounds):
        pair = {library: run_job(f"step_{library}", spec) for library in ("zoo", "keras_hub")}
        pair["speedup_keras_hub_over_zoo"] = pair["keras_hub"]["median_step_s"] / pair["zoo"]["median_step_s"]
        rounds.append(pair)
        print(f"  round {index + 1}/{args.rounds}, step at 32 x 128: zoo {pair['zoo']['median_step_s']:.3f} s "
              f"({pair['zoo']['precision']}), "
              f"keras-hub {pair['keras_hub']['median_step_s']:.3f} s ({pair['speedup_keras_hub_over_zoo']:.2f}x)",
              flush=True)
    ratios = [pair["speedup_keras_hub_over_zoo"] for pair in rounds]
    results = {"rounds": rounds, "speedup_keras_hub_over_zoo": statistics.median(ratios),
               "speedup_min": min(ratios), "speedup_max": max(ratios)}
    print(f"  median of {len(ratios)} rounds: {results['speedup_keras_hub_over_zoo']:.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f})", flush=True)
    return results


def _subset_source(name, folder, limit):
    """``name`` itself, or a stratified ``limit``-example subset of it written as jsonl (for --quick)."""
    import zoo.data

    if not limit:
        return name
    data = zoo.data.load(name)
    part = zoo.data.train_val_test_split(data, val_size=0, test_size=limit, seed=0)[2]
    return str(part.save_jsonl(Path(folder) / f"{name}-{limit}.jsonl"))


def part_accuracy(args, settings):
    """zoo's accuracy protocols with the wall time of every fold or run."""
    import zoo
    from zoo.evaluation import cross_validate

    checkpoint = str(checkpoint_path())
    workdir = Path(args.workdir)
    results = {}
    for name in args.data:
        config = {"model": {"init_from": checkpoint}, "output": {"progress": "none", "tensorboard": False}}
        start = time.perf_counter()
        if name == "trec":
            config["data"] = {"source": "trec"}
            config["output"].update(dir=str(workdir / "trec"), overwrite=True)
            result = zoo.train(config, overrides=settings["overrides"] + args.set)
            results[name] = {"protocol": "official split", "accuracy": result.metrics["test"]["accuracy"],
                             "wall_seconds": result.metrics["wall_seconds"]}
        else:
            with tempfile.TemporaryDirectory() as tmp:
                config["data"] = {"source": _subset_source(name, tmp, settings["limit"])}
                cv = cross_validate(config, folds=settings["folds"], overrides=settings["overrides"] + args.set,
                                    out_dir=workdir / f"{name}-cv{settings['folds']}", progress=False)
            accuracy = cv["summary"]["accuracy"]
            fold_seconds = [json.loads((Path(cv["out_dir"]) / f"fold_{k}" / "run" / "metrics.json").read_text())[
                "wall_seconds"] for k in range(settings["folds"])]
            results[name] = {"protocol": f"{settings['folds']}-fold CV", "accuracy_mean": accuracy["mean"],
                             "accuracy_std": accuracy["std"], "fold_accuracies": accuracy["values"],
                             "fold_wall_seconds": fold_seconds}
        results[name].update(reference=REFERENCE[name], seconds_this_call=time.perf_counter() - start)
        print(f"  {name}: {json.dumps({k: v for k, v in results[name].items() if k != 'reference'})}", flush=True)
    return results


def part_export(args, settings):
    """Exported zoo classifier on raw strings vs keras-hub in Keras on ids, one inter-op thread each."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"checkpoint": str(checkpoint_path()), "requests": settings["requests"],
                "train_examples": settings["train_examples"], "work": tmp, "overrides": args.set}
        results = {library: run_job(f"latency_{library}", spec) for library in ("zoo", "keras_hub")}
    for library, value in results.items():
        print(f"  {library:9s}: batch 1 median {value['batch1_median_ms']:.2f} ms (p90 {value['batch1_p90_ms']:.2f}),"
              f" batch 32 {value['batch32_examples_per_s']:.0f} examples/s", flush=True)
    return results


PARTS = {"compare": part_compare, "step": part_step, "accuracy": part_accuracy, "export": part_export}


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=[*PARTS, "all"])
    parser.add_argument("--quick", action="store_true", help="smoke run on small subsets (figures mean nothing)")
    parser.add_argument("--seeds", type=int, nargs="+", help="compare: split seeds (default 0 1 2)")
    parser.add_argument("--epochs", type=int, help="compare: epochs (default 3)")
    parser.add_argument("--libraries", nargs="+", default=["zoo", "keras_hub"], choices=["zoo", "keras_hub"],
                        help="compare: which to run (one alone, e.g. zoo under --set variants, skips the ratios)")
    parser.add_argument("--rounds", type=int, default=1, help="step: interleaved zoo / keras-hub pairs (default 1)")
    parser.add_argument("--data", nargs="+", default=["mr", "trec", "subj"], choices=["mr", "trec", "subj"],
                        help="accuracy: data sets")
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "finetune_runs",
                        help="accuracy: where the fold runs go")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="zoo config override for zoo's runs (every part), e.g. "
                             "model.overrides.attention_dropout=0 or training.precision=auto; repeatable")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the chosen parts, print a summary and return the results.

    Args:
        argv: ``PART [--quick] [--seeds ...] [--epochs N] [--libraries ...] [--data ...] [--workdir DIR]
            [--json FILE]``; ``None`` reads ``sys.argv``.

    Returns:
        ``{part: results}``, plus ``uptime`` (the load average when the run started) and ``quick``.

    Example:
        >>> main(["step", "--quick"])["step"]["speedup_keras_hub_over_zoo"]  # doctest: +SKIP
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["_job"]:
        name, spec_path, out = argv[1:4]
        result = JOBS[name](json.loads(Path(spec_path).read_text()))
        Path(out).write_text(json.dumps(result))
        return result
    args = build_parser().parse_args(argv)

    mode = "quick" if args.quick else "full"
    results = {"quick": args.quick, "uptime": os.getloadavg()}
    for part in PARTS if args.part == "all" else [args.part]:
        print(f"== finetune {part} ({mode})", flush=True)
        results[part] = PARTS[part](args, SETTINGS[part][mode])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


if __name__ == "__main__":
    main()
