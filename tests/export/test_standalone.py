"""Exports load in fresh processes that never import zoo: real MR parity, and core-ops-only exports and tokenizers."""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.export.tiny import sentiment_texts, train_tiny
from zoo.data import build_tokenizer, make_dataset
from zoo.export.saved_model import export_model

SCRIPT = Path(__file__).with_name("standalone_predict.py")


def run_standalone(saved_models, texts, tmp_path, *, tensorflow_text=True):
    """Predict ``texts`` with each SavedModel in a new Python process that imports only TensorFlow.

    Returns one dict per model: its outputs, or ``{"error": message}``.
    """
    inputs, output = tmp_path / "texts.json", tmp_path / "out.npz"
    inputs.write_text(json.dumps(texts), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, str(SCRIPT), str(inputs), str(output)] + [str(p) for p in saved_models]
    if not tensorflow_text:
        args.append("--no-tensorflow-text")
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = dict(np.load(output, allow_pickle=True))
    results = []
    for i in range(len(saved_models)):
        prefix = f"m{i}_"
        results.append({k[len(prefix):]: (str(v) if k.endswith("_error") else v)
                        for k, v in saved.items() if k.startswith(prefix)})
    return results


def _in_memory_probabilities(run, texts, sequence_length):
    """The training pipeline's ids (make_dataset, fixed padding) through the Keras model, softmax in float64."""
    dataset = make_dataset(texts, None, run.tokenizer, sequence_length=sequence_length, batch_size=256)
    ids = np.concatenate(list(dataset.as_numpy_iterator()))
    logits = run.model.predict(ids, verbose=0).astype(np.float64)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.slow
def test_parity_on_real_mr_sentences_in_a_process_without_zoo(tmp_path):
    from zoo.data import load

    mr = load("mr")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(mr))
    train = mr.subset(order[:2000])
    run = train_tiny(train.texts, train.labels, mr.label_names, tokenizer="wordpiece", sequence_length=48,
                     vocab_size=3000, epochs=1)
    result = export_model(run.model, run.tokenizer, run.label_names, run.config, out=tmp_path / "models" / "mr")
    # unseen sentences, with MR's latin-1 accents and punctuation
    held_out = [mr.texts[i] for i in order[2000:2400]]
    assert any(not t.isascii() for t in mr.texts), "MR sample should exercise non-ASCII input"
    held_out += [t for t in mr.texts if not t.isascii()][:20]

    (out,) = run_standalone([result.path], held_out, tmp_path)
    assert "error" not in out, out.get("error")
    expected = _in_memory_probabilities(run, held_out, 48)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["label_id"], expected.argmax(1))
    assert [s.decode() for s in out["label"]] == [mr.label_names[i] for i in expected.argmax(1)]


def test_only_core_ops_exports_and_tokenizers_load_without_tensorflow_text(exported, tmp_path):
    texts, labels = sentiment_texts(200, seed=3)
    run = train_tiny(texts, labels, ["neg", "pos"], tokenizer="word_core", epochs=1)
    assert run.tokenizer.core_ops_only
    result = export_model(run.model, run.tokenizer, run.label_names, out=tmp_path / "core")
    assert result.metadata["custom_ops"] == [] and not result.metadata["requires_tensorflow_text"]
    assert exported.metadata["requires_tensorflow_text"]
    # A core-ops tokenizer alone, [CLS] added, in a SavedModel of its own, read by the same fresh process: a
    # process of its own would cost another Python+TensorFlow start.
    tokenizer = build_tokenizer("word_core", vocab_size=40, add_cls=True).fit(texts)
    assert tokenizer.core_ops_only

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            return {"token_ids": self.tokenizer.encode(texts, 10)}

    serving = Serving()
    tf.saved_model.save(serving, str(tmp_path / "tokenizer"), signatures={"serving_default": serving.__call__})

    probe = texts[:30] + ["", "Superb, SUPERB acting!", "\u00e9l\u00e9gant film", "zyzzyva qwerty",
                          "tedious <br /> mess... 10/10"]
    core, ids, needs_text = run_standalone([result.path, tmp_path / "tokenizer", exported.path], probe, tmp_path,
                                           tensorflow_text=False)
    assert "error" not in core, core.get("error")
    np.testing.assert_allclose(core["probabilities"], _in_memory_probabilities(run, probe, 24), atol=1e-5, rtol=0)
    assert "error" not in ids, ids.get("error")
    np.testing.assert_array_equal(ids["token_ids"], tokenizer.encode(tf.constant(probe), 10).numpy())
    # the default (NFKC) export says it needs tensorflow-text, and indeed fails without it
    assert "NormalizeUTF8" in needs_text["error"]


def test_an_lm_export_of_core_ops_generates_in_a_process_without_zoo_or_tensorflow_text(tmp_path):
    import zoo
    from zoo.export.predict import generate_with_export
    from zoo.export.saved_model import export_generator

    texts, _ = sentiment_texts(40, seed=4)
    tokenizer = build_tokenizer("word_core", vocab_size=60).fit(texts)
    keras.utils.set_random_seed(0)  # an untrained lm whose first choice is not the end token
    lm = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=12, num_layers=1, d_model=16,
                   num_heads=2, ff_dim=32)
    result = export_generator(lm, tokenizer, "lm", 12, out=tmp_path / "models" / "lm", max_new_tokens=5)
    assert result.metadata["custom_ops"] == []
    prompts = texts[:3] + ["", "an unseen zebra"]
    [out] = run_standalone([result.path], prompts, tmp_path, tensorflow_text=False)
    assert "error" not in out, out.get("error")
    in_process = generate_with_export(result.path, prompts)
    assert [text.decode() for text in out["generated"]] == [row["generated"] for row in in_process]
    assert out["context_full"].tolist() == [row["context_full"] for row in in_process]
    assert all(0 < len(row["generated"].split()) <= 5 for row in in_process)
    # zoo evaluate scores a classifier's export only.
    with pytest.raises(ValueError, match=rf"^{result.path} is the export of an lm run: zoo evaluate scores "
                                         "classifiers' exports; evaluate the run directory it was exported from"):
        zoo.evaluate(result.path, "reviews.jsonl")
