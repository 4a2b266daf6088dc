"""Benchmark: examples/s of zoo's text pipeline on MR, next to keras TextVectorization and the model it feeds.

Measured in one run, on the same 10,662 MR sentences:
  * zoo: clean (NFKC, HTML, lower-case) -> WordPiece (FastWordpieceTokenizer) -> truncate/pad -> batch,
    first epoch (no cache) and a cached epoch;
  * anchor: ``keras.layers.TextVectorization`` (lower-case + strip punctuation, whitespace split, pad) mapped
    over batches as usually written, and over 1024-text chunks then rebatched (zoo's layout);
  * consumer: training steps of the default classifier (the config's default model and overrides, as
    ``zoo train`` builds it: ``transformer-tiny`` with attention pooling) on those batches.
The issue's target: the pipeline produces batches at least 10x faster than the classifier consumes them.

    python bench/data_pipeline.py [--repeats 5] [--json bench/results/data_pipeline.json]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _epoch_rates(makers, repeats):
    """Examples/s of full passes over fresh datasets (start-up included), median of ``repeats``.

    The candidates take turns within each repeat, so load from other processes on this shared machine
    falls on all of them alike.
    """
    rates = {name: [] for name in makers}
    for _ in range(repeats):
        for name, make in makers.items():
            dataset = make()
            start = time.perf_counter()
            count = sum(int(ids.shape[0]) for ids, _ in dataset)
            rates[name].append(count / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def _cached_rate(dataset, repeats):
    for _ in dataset:  # first epoch fills the cache
        pass
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(int(ids.shape[0]) for ids, _ in dataset)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def _training_rate(classifier, vocab_size, sequence_length, batch_size, steps):
    """Examples/s the ``classifier`` (a config's ``model`` section) consumes in training steps (after warm-up)."""
    import keras
    import numpy as np

    from zoo.models import build

    model = build(classifier.name, **classifier.overrides, vocab_size=vocab_size, sequence_length=sequence_length,
                  num_classes=2)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.integers(1, vocab_size, size=(batch_size, sequence_length)).astype("int32")
    y = rng.integers(0, 2, size=(batch_size,)).astype("int32")
    for _ in range(3):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - start)


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--train-steps", type=int, default=20, help="0 skips the classifier measurement")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    """Run the benchmark, print a table and return the results.

    Args:
        argv: Command-line arguments (``--repeats``, ``--batch-size``, ``--sequence-length``, ``--vocab-size``,
            ``--train-steps``, ``--json``); ``None`` reads ``sys.argv``.

    Returns:
        A dict of rates (examples/s), ratios and settings.

    Example:
        >>> results = main(["--repeats", "1"])
        >>> results["ratio_vs_textvectorization"]
    """
    args = build_parser().parse_args(argv)

    import keras
    import tensorflow as tf

    import zoo.data
    from zoo.config import Config

    data = zoo.data.load("mr")
    texts, labels = data.texts, data.labels
    start = time.perf_counter()
    tokenizer = zoo.data.build_tokenizer("wordpiece", vocab_size=args.vocab_size).fit(texts)
    fit_seconds = time.perf_counter() - start

    def zoo_dataset(cache=False):
        return zoo.data.make_dataset(texts, labels, tokenizer, sequence_length=args.sequence_length,
                                     batch_size=args.batch_size, cache=cache)

    zoo_cached = _cached_rate(zoo_dataset(cache=True), args.repeats)

    start = time.perf_counter()
    vectorizer = keras.layers.TextVectorization(max_tokens=args.vocab_size,
                                                output_sequence_length=args.sequence_length)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(1024))
    adapt_seconds = time.perf_counter() - start

    def keras_dataset():
        return (tf.data.Dataset.from_tensor_slices((texts, labels)).batch(args.batch_size)
                .map(lambda x, y: (vectorizer(x), y), num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))

    def keras_chunked_dataset():
        # The same chunk-then-rebatch shape as zoo's pipeline, to compare the ops rather than the layout.
        return (tf.data.Dataset.from_tensor_slices((texts, labels)).batch(1024)
                .map(lambda x, y: (vectorizer(x), y), num_parallel_calls=tf.data.AUTOTUNE)
                .unbatch().batch(args.batch_size).prefetch(tf.data.AUTOTUNE))

    rates = _epoch_rates({"zoo": zoo_dataset, "keras": keras_dataset, "keras_chunked": keras_chunked_dataset},
                         args.repeats)
    zoo_rate, keras_rate, keras_chunked = rates["zoo"], rates["keras"], rates["keras_chunked"]
    count = len(texts)
    classifier = Config().model  # the default classifier, as zoo train builds it
    train_rate = (_training_rate(classifier, tokenizer.vocab_size, args.sequence_length, args.batch_size,
                                 args.train_steps) if args.train_steps else None)

    results = {
        "examples": count, "batch_size": args.batch_size, "sequence_length": args.sequence_length,
        "wordpiece_vocab_size": tokenizer.vocab_size, "wordpiece_fit_s": fit_seconds,
        "textvectorization_adapt_s": adapt_seconds,
        "zoo_pipeline_examples_per_s": zoo_rate, "zoo_pipeline_cached_examples_per_s": zoo_cached,
        "textvectorization_examples_per_s": keras_rate,
        "textvectorization_chunked_examples_per_s": keras_chunked,
        "ratio_vs_textvectorization": zoo_rate / keras_rate,
        "ratio_vs_textvectorization_chunked": zoo_rate / keras_chunked,
        "classifier": classifier.name, "classifier_train_examples_per_s": train_rate,
        "ratio_vs_classifier": zoo_rate / train_rate if train_rate else None,
    }
    rows = [
        ("zoo: clean -> WordPiece -> pad -> batch (epoch 1)", zoo_rate),
        ("zoo: same, cached epoch", zoo_cached),
        ("keras TextVectorization -> pad -> batch", keras_rate),
        ("keras TextVectorization in 1024-chunks, rebatched", keras_chunked),
    ]
    if train_rate:
        rows.append((f"{classifier.name} training steps (consumer)", train_rate))
    print(f"MR, {count:,} examples, batch {args.batch_size}, T={args.sequence_length}, median of {args.repeats}")
    print(f"{'what':<52}{'examples/s':>12}")
    for name, rate in rows:
        print(f"{name:<52}{rate:>12,.0f}")
    print(f"zoo / TextVectorization: {results['ratio_vs_textvectorization']:.2f}x "
          f"(chunked: {results['ratio_vs_textvectorization_chunked']:.2f}x)")
    if train_rate:
        verdict = "meets" if results["ratio_vs_classifier"] >= 10 else "MISSES"
        print(f"zoo / classifier consumption: {results['ratio_vs_classifier']:.1f}x ({verdict} the 10x target)")
    print(f"WordPiece fit {fit_seconds:.1f}s ({tokenizer.vocab_size} tokens); TextVectorization adapt "
          f"{adapt_seconds:.1f}s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
