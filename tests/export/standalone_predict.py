"""Load exported zoo SavedModels the way a deployment would: TensorFlow (and tensorflow-text) only, no zoo.

Usage: python standalone_predict.py INPUT_JSON OUTPUT_NPZ [--no-tensorflow-text] SAVED_MODEL...

INPUT_JSON is a list of strings, or of ``[text_a, text_b]`` pairs for sentence-pair models (their
serving_default takes ``text_a`` and ``text_b``). For the i-th SAVED_MODEL, OUTPUT_NPZ receives its
serving_default outputs as ``m<i>_<output>``, or the load/run error message as ``m<i>_error``.
"""
import json
import sys

import numpy as np
import tensorflow as tf


def main(argv):
    inputs, output, *models = argv
    use_text = "--no-tensorflow-text" not in models
    models = [m for m in models if m != "--no-tensorflow-text"]
    if use_text:
        import tensorflow_text  # noqa: F401  registers the tokenizer's ops
    texts = json.loads(open(inputs, encoding="utf-8").read())
    if texts and isinstance(texts[0], list):
        arguments = {"text_a": tf.constant([a for a, _ in texts]), "text_b": tf.constant([b for _, b in texts])}
    else:
        arguments = {"texts": tf.constant(texts, tf.string)}
    results = {}
    for i, path in enumerate(models):
        try:
            outputs = tf.saved_model.load(path).signatures["serving_default"](**arguments)
            results.update({f"m{i}_{k}": v.numpy() for k, v in outputs.items()})
        except Exception as error:  # noqa: BLE001  the caller asserts on which models fail and why
            results[f"m{i}_error"] = np.array(str(error))
    np.savez(output, **results)
    imported = sorted(name for name in sys.modules if name == "zoo" or name.startswith("zoo."))
    assert not imported, f"the standalone loader imported zoo modules: {imported}"
    assert use_text or "tensorflow_text" not in sys.modules, "tensorflow_text was imported"


if __name__ == "__main__":
    main(sys.argv[1:])
