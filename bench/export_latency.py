"""Benchmark: latency (batch 1) and throughput (batch 32) of the exported default classifier on raw strings.

The default classifier (the config's default model and overrides, ``transformer-tiny`` with attention pooling,
and the default data config: word tokenizer with NFKC cleaning, vocabulary 20,000, sequence length 64) is exported with ``zoo.export.export_model`` and loaded
back with ``tf.saved_model.load``; its ``serving_default`` signature is called on real MR sentences
(raw strings in, probabilities and labels out: cleaning and tokenisation included). Weights are
untrained: the compute is the same. Anchors measured in the same run:
  * the Keras model alone on token ids already computed (``tf.function``), batch 1;
  * an empty ``tf.function`` call (the floor of calling into TensorFlow from Python).
The issue's target: median batch-1 latency <= 2 ms on this CPU.

By default the measurement repeats in a fresh process with TensorFlow's inter-op thread pool set to one
thread (TF Serving: ``--tensorflow_inter_op_parallelism=1``), the usual setting for latency-bound serving.

    python bench/export_latency.py [--requests 500] [--json bench/results/export_latency.json]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_MS = 2.0
# The docstring's (and BENCHMARKS.md's) 64 tokens: the config's default is now ``auto``, which only a training
# run resolves (from its texts), and a model cannot be built at ``auto``.
SEQUENCE_LENGTH = 64


def _texts(count):
    """``count`` MR sentences in a fixed random order (varied lengths, latin-1 accents), and all of MR."""
    import numpy as np

    import zoo.data

    data = zoo.data.load("mr")
    order = np.random.default_rng(0).permutation(len(data))
    return [data.texts[i] for i in order[:count]], data.texts


def _timed(calls, rounds=5, warmup=20):
    """Per-call seconds of each ``name: (fn, inputs)``, interleaved in ``rounds`` so all see the same load."""
    for fn, inputs in calls.values():
        for x in inputs[:warmup]:
            fn(x)
    times = {name: [] for name in calls}
    for r in range(rounds):
        for name, (fn, inputs) in calls.items():
            for x in inputs[r::rounds]:
                start = time.perf_counter()
                fn(x)
                times[name].append(time.perf_counter() - start)
    return times


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(requests, batch_size, inter_op_threads=None):
    """Export the default classifier and time it; returns a dict of milliseconds and examples/s."""
    import tensorflow as tf

    if inter_op_threads is not None:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)

    import zoo.data
    from zoo.config import Config
    from zoo.export.saved_model import export_model
    from zoo.models import build

    config = Config.from_dict({"data": {"sequence_length": SEQUENCE_LENGTH}})
    sample, corpus = _texts(max(requests, batch_size * 30))
    tokenizer = zoo.data.build_tokenizer(config.data.tokenizer, config.data.vocab_size).fit(corpus)
    model = build(config.model.name, **config.model.overrides, vocab_size=tokenizer.vocab_size,
                  sequence_length=config.data.sequence_length, num_classes=2)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = export_model(model, tokenizer, ["neg", "pos"], config, out=Path(tmp) / "default")
        export_s = time.perf_counter() - start
        serve = tf.saved_model.load(str(result.path)).signatures["serving_default"]

        singles = [tf.constant([t]) for t in sample[:requests]]
        batches = [tf.constant(sample[i:i + batch_size]) for i in range(0, len(sample) - batch_size + 1, batch_size)]
        model_fn = tf.function(lambda ids: model(ids, training=False),
                               input_signature=[tf.TensorSpec([None, None], tf.int32)])
        ids = [tokenizer.tokenize(x).to_tensor() for x in singles]
        noop = tf.function(lambda x: x, input_signature=[tf.TensorSpec([None], tf.string)])
        times = _timed({
            "served": (lambda x: serve(texts=x), singles),
            "model_only": (model_fn, ids),
            "floor": (noop, singles),
            "batch": (lambda x: serve(texts=x), batches),
        })
    latency, model_only, floor, batch_times = (times[k] for k in ("served", "model_only", "floor", "batch"))

    ms = 1e3
    return {
        "inter_op_threads": inter_op_threads or "default",
        "requests": len(singles),
        "batch1_median_ms": statistics.median(latency) * ms,
        "batch1_p90_ms": _percentile(latency, 0.9) * ms,
        "batch1_mean_ms": statistics.fmean(latency) * ms,
        f"batch{batch_size}_median_ms": statistics.median(batch_times) * ms,
        f"batch{batch_size}_examples_per_s": batch_size / statistics.median(batch_times),
        "anchor_model_only_batch1_median_ms": statistics.median(model_only) * ms,
        "anchor_empty_tf_function_median_ms": statistics.median(floor) * ms,
        "served_over_model_only": statistics.median(latency) / statistics.median(model_only),
        "export_s": export_s,
        "requires_tensorflow_text": result.metadata["requires_tensorflow_text"],
        "mean_tokens_per_request": float(sum(int(i.shape[1]) for i in ids) / len(ids)),
        "target_ms": TARGET_MS,
        "meets_target": statistics.median(latency) * ms <= TARGET_MS,
    }


def _print(results, batch_size):
    print(f"inter-op threads: {results['inter_op_threads']}; {results['requests']} MR sentences, "
          f"{results['mean_tokens_per_request']:.1f} tokens on average")
    print(f"  batch 1 latency: median {results['batch1_median_ms']:.2f} ms, p90 {results['batch1_p90_ms']:.2f} ms "
          f"({'meets' if results['meets_target'] else 'MISSES'} the {TARGET_MS} ms target)")
    print(f"  batch {batch_size}: {results[f'batch{batch_size}_examples_per_s']:,.0f} examples/s "
          f"({results[f'batch{batch_size}_median_ms']:.2f} ms per batch)")
    print(f"  anchors: model alone on ids {results['anchor_model_only_batch1_median_ms']:.2f} ms, empty tf.function "
          f"{results['anchor_empty_tf_function_median_ms']:.3f} ms; served / model-only "
          f"{results['served_over_model_only']:.2f}x")


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="batch-1 requests timed")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--inter-op-threads", type=int, help="measure only with this many inter-op threads")
    parser.add_argument("--no-single-thread-run", action="store_true",
                        help="skip the second measurement with one inter-op thread (in a fresh process)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the benchmark, print a summary and return the results.

    Args:
        argv: Command-line arguments (``--requests``, ``--batch-size``, ``--inter-op-threads``,
            ``--no-single-thread-run``, ``--json``); ``None`` reads ``sys.argv``.

    Returns:
        ``{"default": {...}, "inter_op_1": {...}}`` (the second absent with ``--no-single-thread-run``), each
        with ``batch1_median_ms``, ``batch32_examples_per_s`` and the anchors.

    Example:
        >>> main(["--requests", "200"])["default"]["batch1_median_ms"]
    """
    args = build_parser().parse_args(argv)

    if args.inter_op_threads is not None:
        results = {f"inter_op_{args.inter_op_threads}": measure(args.requests, args.batch_size,
                                                                 args.inter_op_threads)}
    else:
        results = {"default": measure(args.requests, args.batch_size)}
        if not args.no_single_thread_run:
            # TensorFlow's thread pools are fixed once it starts, so this variant needs its own process.
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "single.json"
                subprocess.run([sys.executable, __file__, "--requests", str(args.requests), "--batch-size",
                                str(args.batch_size), "--inter-op-threads", "1", "--json", str(out)], check=True,
                               stdout=subprocess.DEVNULL)
                results.update(json.loads(out.read_text()))
    for value in results.values():
        _print(value, args.batch_size)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
