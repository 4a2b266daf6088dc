"""Benchmark: the real all-MiniLM-L6-v2 checkpoint in zoo -- parity, tokenizer agreement and load time.

* Parity: zoo's ``from_pretrained`` backbone against the independent float64 numpy BERT of
  ``tests/converters/numpy_bert.py`` (exact erf GELU, as the checkpoint's config says) on the first 20 MR
  sentences padded to 64 tokens: max |difference| of ``sequence_output`` (real tokens), ``pooled_output`` and
  the mean-pooled, L2-normalised sentence embeddings. keras-hub's ``BertBackbone.from_preset(<same folder>)``
  is measured against the same reference (it computes tanh GELU: its distance is its own, not zoo's), against
  the reference run with tanh GELU, and a keras-hub preset of it (``save_to_preset``) loaded into zoo against
  keras-hub itself.
* Tokenizer: ``BertTokenizer`` ids against the ``tokenizers`` package reading the checkpoint's tokenizer.json,
  on every sentence of MR, SUBJ and TREC (train + test), on the test's hard cases, and on every Unicode code point.
* Load time: ``zoo.from_pretrained(folder, task=None)`` (config, tokenizer, safetensors, backbone build, checked
  port): the first load in the process (TensorFlow and Keras already imported) and the median of ``--repeats``
  loads after it.

    python bench/pretrained_parity.py [--checkpoint DIR] [--repeats 5] [--json bench/results/pretrained_parity.json]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCES = 20
LENGTH = 64


def _max(a, b, mask=None):
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a[mask] - b[mask]).max() if mask is not None else np.abs(a - b).max())


def parity(folder):
    import keras_hub
    import numpy as np
    import tensorflow as tf

    import zoo.data
    from tests.converters.numpy_bert import bert_forward, mean_pooled_embeddings
    from zoo.converters import from_pretrained
    from zoo.converters.hf_bert import read_weights

    backbone, tokenizer = from_pretrained(folder, task=None)
    texts = zoo.data.load("mr").texts[:SENTENCES]
    packed = {k: v.numpy() for k, v in tokenizer.pack(tf.constant(texts), sequence_length=LENGTH).items()}
    real = packed["padding_mask"]
    weights = read_weights(folder)
    config = json.loads((folder / "config.json").read_text())
    args = (packed["token_ids"], packed["segment_ids"], real)
    exact_seq, exact_pooled = bert_forward(weights, config, *args)
    tanh_seq, tanh_pooled = bert_forward(weights, {**config, "hidden_act": "gelu_new"}, *args)
    exact_emb = mean_pooled_embeddings(exact_seq, real)

    ours = backbone(packed)
    reference = keras_hub.models.BertBackbone.from_preset(str(folder))
    theirs = reference({k: packed[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    with tempfile.TemporaryDirectory() as tmp:
        reference.save_to_preset(tmp)
        keras_hub.models.BertTokenizer.from_preset(str(folder)).save_to_preset(tmp)
        from_preset = from_pretrained(tmp, task=None).model(packed)

    def rows(outputs):
        return {"sequence_output": _max(outputs["sequence_output"], exact_seq, real),
                "pooled_output": _max(outputs["pooled_output"], exact_pooled),
                "sentence_embedding": _max(mean_pooled_embeddings(np.asarray(outputs["sequence_output"], np.float64),
                                                                  real), exact_emb)}

    return {
        "sentences": SENTENCES, "sequence_length": LENGTH, "tokens": int(real.sum()),
        "zoo_vs_numpy_exact_gelu": rows(ours),
        "keras_hub_vs_numpy_exact_gelu": rows(theirs),
        "keras_hub_vs_numpy_tanh_gelu": {"sequence_output": _max(theirs["sequence_output"], tanh_seq, real),
                                         "pooled_output": _max(theirs["pooled_output"], tanh_pooled)},
        "zoo_from_keras_hub_preset_vs_keras_hub": {
            "sequence_output": _max(from_preset["sequence_output"], theirs["sequence_output"], real),
            "pooled_output": _max(from_preset["pooled_output"], theirs["pooled_output"])},
    }


def tokenizer_agreement(folder):
    import tensorflow as tf
    import tokenizers

    import zoo.data
    from tests.data.test_bert_tokenizer import HARD_CASES
    from zoo.data import BertTokenizer

    ours = BertTokenizer.from_pretrained(folder)
    reference = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()

    def mismatches(texts):
        got = ours.tokenize(tf.constant(texts)).to_list()
        return sum(a != e.ids for a, e in zip(got, reference.encode_batch(texts)))

    sets = {"mr": zoo.data.load("mr").texts, "subj": zoo.data.load("subj").texts,
            "trec_train": zoo.data.load("trec", split="train").texts,
            "trec_test": zoo.data.load("trec", split="test").texts, "hard_cases": HARD_CASES}
    out = {name: {"mismatches": mismatches(texts), "texts": len(texts)} for name, texts in sets.items()}
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    out["code_points"] = {"mismatches": mismatches([f"a{chr(c)}b {chr(c)}" for c in code_points]),
                          "texts": len(code_points)}
    return out


def load_time(folder, repeats):
    import zoo.models  # noqa: F401  (imports Keras and TensorFlow outside the timing)
    from zoo.converters import from_pretrained

    start = time.perf_counter()
    from_pretrained(folder, task=None)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        from_pretrained(folder, task=None)
        times.append(time.perf_counter() - start)
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    from zoo.paths import checkpoint_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=checkpoint_dir() / "all-MiniLM-L6-v2")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    folder = args.checkpoint
    result = {"checkpoint": str(folder), "load_average": os.getloadavg(),
              "load_time": load_time(folder, args.repeats), "parity": parity(folder),
              "tokenizer": tokenizer_agreement(folder)}
    result["load_average_after"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
