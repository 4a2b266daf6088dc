"""Benchmark: batch-1 latency of the exported MiniLM classifier under each dtype policy, on raw MR sentences.

The all-MiniLM-L6-v2 classifier (``zoo.from_pretrained``; its new head random, the compute is the same) is
built under each policy with the same weights, exported with ``zoo.export_model`` (raw strings in, BERT
tokenisation in the graph) and loaded back; the SavedModels take turns over the same sentences (one inter-op
thread, as ``bench/finetune.py export``). Policies:

  * ``float32``: what ``zoo export`` serves (a run is rebuilt in float32 whatever it trained in);
  * ``mixed_bfloat16``: float32 weights cast to bfloat16 on every call (what a run trained in mixed precision
    exported before ``load_run`` rebuilt it in float32);
  * ``bfloat16``: weights stored in bfloat16 (no per-call kernel casts; layer norm, GELU and softmax still in
    float32).

Each policy's probabilities are also compared with float32's, over all requests in one batch.

    python bench/serving_precision.py [--requests 500] [--json bench/results/serving_precision.json]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from export_latency import _percentile, _texts, _timed  # noqa: E402
from finetune import checkpoint_path  # noqa: E402

POLICIES = ("float32", "mixed_bfloat16", "bfloat16")


def measure(requests, policies=POLICIES):
    """``{policy: {batch1_median_ms, batch1_p90_ms, max_abs_probability_difference, label_agreement}}``."""
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    import zoo

    weights, serving = None, {}
    with tempfile.TemporaryDirectory() as tmp:
        for policy in policies:
            model, tokenizer = zoo.from_pretrained(checkpoint_path(), num_classes=2, dtype=policy)
            if weights is None:
                weights = model.get_weights()
            model.set_weights(weights)
            exported = zoo.export_model(model, tokenizer, ["negative", "positive"], out=Path(tmp) / policy)
            serving[policy] = exported.path
        import tensorflow_text  # noqa: F401  (the export's tokenizer ops)

        serving = {p: tf.saved_model.load(str(path)).signatures["serving_default"] for p, path in serving.items()}
        texts, _ = _texts(requests)
        singles = [tf.constant([t]) for t in texts]
        times = _timed({p: ((lambda x, s=s: s(texts=x)), singles) for p, s in serving.items()})
        probabilities = {p: s(texts=tf.constant(texts))["probabilities"].numpy() for p, s in serving.items()}
    reference = probabilities[policies[0]]
    return {policy: {"batch1_median_ms": 1e3 * statistics.median(times[policy]),
                     "batch1_p90_ms": 1e3 * _percentile(times[policy], 0.9),
                     "max_abs_probability_difference": float(np.abs(probabilities[policy] - reference).max()),
                     "label_agreement": float((probabilities[policy].argmax(1) == reference.argmax(1)).mean())}
            for policy in policies}


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="MR sentences, each sent alone")
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    started, load = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()[0]
    results = measure(args.requests)
    for policy, value in results.items():
        print(f"{policy:15s} batch 1 median {value['batch1_median_ms']:.2f} ms (p90 {value['batch1_p90_ms']:.2f}), "
              f"{value['batch1_median_ms'] / results['float32']['batch1_median_ms']:.2f}x float32; max |p - "
              f"p_float32| {value['max_abs_probability_difference']:.4f}, labels agree "
              f"{100 * value['label_agreement']:.1f} %", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"started": started, "load_average": load, "requests": args.requests,
                                         "results": results}, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
