"""Benchmark: ``data.sequence_length: auto`` against the old fixed 64 tokens, on short and long texts.

For each data set the default config is trained twice, once with ``data.sequence_length=64`` (the default
before ``auto``) and once with ``auto``; everything else (seed, split, model, epochs) is the same. Reported:
the length used, how many training examples it truncates, test accuracy, and the run's wall time.

Data sets:
  * ``mr``: MR, the 10,662 sentences shipped with zoo; a seeded, stratified 80/10/10 split.
  * ``trec``: TREC-6, the official 5,452 / 500 split.
  * ``mr-docs``: an IMDB-style long-document stand-in (no IMDB on this machine, and nothing may be
    downloaded). Each document is a run of MR sentences of ONE polarity, mixed in random order with
    objective plot-summary sentences from SUBJ (which come from IMDb plot summaries and carry no
    polarity); the document's label is the polarity of its MR sentences. Every sentence is used in at most
    one document, so no sentence is shared between the training and test documents. Document sizes follow
    a random composition (a long tail, as review lengths have): 2,000 documents, 166 words on average
    (median 118, 95th percentile 483, longest 1,754; IMDB's reviews average about 230 words).
    What it is not: real reviews. Its MR sentences come from different reviews and all agree on the label,
    so a document holds several independent clues, which makes it easier than IMDB; and a polarity clue may
    sit anywhere in the document, so a length that cuts documents short loses clues, as on IMDB. Use it for
    how the sequence length trades time for accuracy on long inputs, not for IMDB accuracy.

    python bench/sequence_length.py [--sets mr trec mr-docs] [--epochs N] [--workdir DIR] [--json FILE]
"""
import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HERE = Path(__file__).resolve().parent
SETS = ("mr", "trec", "mr-docs")
LENGTHS = (64, "auto")
# mr-docs: documents per class, and SUBJ objective (plot) sentences per MR sentence.
DOCS_PER_CLASS = 1000
PLOT_PER_POLARITY = 0.4


def _random_composition(total, parts, rng):
    """Split ``total`` items into ``parts`` non-empty runs of random sizes (a uniform random composition)."""
    cuts = np.sort(rng.choice(np.arange(1, total), parts - 1, replace=False))
    return np.diff(np.concatenate([[0], cuts, [total]]))


def write_mr_docs(path, seed=0):
    """Write the ``mr-docs`` stand-in (see the module docstring) as a ``text,label`` CSV; return its path."""
    import zoo

    rng = np.random.default_rng(seed)
    mr, plot = zoo.data.load("mr"), zoo.data.load("subj")
    plot_sentences = [t for t, y in zip(plot.texts, plot.labels) if plot.label_names[y] == "objective"]
    plot_sentences = [plot_sentences[i] for i in rng.permutation(len(plot_sentences))]
    rows, plot_used = [], 0
    for label_id, label in enumerate(mr.label_names):
        sentences = [mr.texts[i] for i in rng.permutation(np.flatnonzero(mr.labels == label_id))]
        start = 0
        for size in _random_composition(len(sentences), DOCS_PER_CLASS, rng):
            own = sentences[start:start + size]
            start += size
            extra = int(rng.binomial(2 * size, PLOT_PER_POLARITY / 2))
            own += plot_sentences[plot_used:plot_used + extra]
            plot_used += extra
            rows.append((" ".join(own[i] for i in rng.permutation(len(own))), label))
    if plot_used > len(plot_sentences):
        raise ValueError(f"mr-docs needs {plot_used} plot sentences, SUBJ has {len(plot_sentences)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows[i] for i in rng.permutation(len(rows)))
    return path


def run(source, length, workdir, epochs=None):
    """Train the default config on ``source`` with ``data.sequence_length=length``; return its figures."""
    import zoo

    name = Path(str(source)).stem
    config = {"data": {"source": str(source), "sequence_length": length},
              "output": {"dir": str(workdir / f"{name}-{length}"), "overwrite": True, "progress": "none",
                         "tensorboard": False}}
    if epochs:
        config["training"] = {"epochs": epochs}
    start = time.perf_counter()
    metrics = zoo.train(config).metrics
    return {"data": name, "setting": length, "length": metrics["sequence_length"]["length"],
            "truncated": metrics["sequence_length"]["truncated_train_examples"],
            "train_examples": metrics["examples"]["train"], "test_accuracy": metrics["test"]["accuracy"],
            "wall_seconds": time.perf_counter() - start, "train_seconds": metrics["train_seconds"],
            "examples_per_s": metrics["examples_per_s"]}


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--epochs", type=int, help="override training.epochs (default: the config's)")
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "sequence_length")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    return parser


def main(argv=None):
    """Run the benchmark, print a Markdown table and return the rows.

    Example:
        >>> rows = main(["--sets", "mr", "--epochs", "1"])  # doctest: +SKIP
    """
    args = build_parser().parse_args(argv)

    sources = {"mr": "mr", "trec": "trec"}
    if "mr-docs" in args.sets:
        sources["mr-docs"] = write_mr_docs(args.workdir / "mr-docs.csv")
    rows = [run(sources[name], length, args.workdir, args.epochs) for name in args.sets for length in LENGTHS]
    print("| data | sequence_length | length used | truncated train examples | test accuracy | wall time |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['setting']} | {r['length']} | {r['truncated']:,} of {r['train_examples']:,} | "
              f"{100 * r['test_accuracy']:.1f} % | {r['wall_seconds']:.0f} s |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
