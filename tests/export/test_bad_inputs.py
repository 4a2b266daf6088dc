"""Bad input to the exported model: each gives a defined result or a clear error, never a crash."""
import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(scope="module")
def serving(exported):
    loaded = tf.saved_model.load(str(exported.path))
    return loaded, loaded.signatures["serving_default"], loaded.signatures["serve_token_ids"]


def _run(serve, texts):
    out = serve(texts=tf.constant(texts, tf.string))
    return {k: v.numpy() for k, v in out.items()}


def _assert_valid(out, n, label_names):
    probs = out["probabilities"]
    assert probs.shape == (n, len(label_names)) and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert out["label_id"].shape == (n,) and out["label"].shape == (n,)
    assert all(s.decode() in label_names for s in out["label"])


def test_empty_string_gives_the_all_padding_prediction(serving, tiny_run):
    loaded, serve, serve_ids = serving
    out = _run(serve, ["", "   ", "<br />"])
    _assert_valid(out, 3, tiny_run.label_names)
    # nothing left after cleaning is the model's answer for an all-padding row
    padding_only = serve_ids(token_ids=tf.zeros([1, 24], tf.int32))["probabilities"].numpy()
    np.testing.assert_allclose(out["probabilities"], np.repeat(padding_only, 3, 0), atol=1e-6)


def test_100kb_string_is_truncated_to_the_sequence_length(serving, tiny_run):
    loaded, serve, _ = serving
    words = "the plot was dull and the acting tedious but the ending superb ".split()
    huge = " ".join(words[i % len(words)] for i in range(20000))
    assert len(huge.encode()) > 100_000
    out = _run(serve, [huge, words[0]])
    _assert_valid(out, 2, tiny_run.label_names)
    first_24 = " ".join(words[i % len(words)] for i in range(24))
    np.testing.assert_allclose(out["probabilities"][0], _run(serve, [first_24])["probabilities"][0], atol=1e-6)


def test_invalid_utf8_bytes_are_replaced_not_fatal(serving, tiny_run):
    loaded, serve, _ = serving
    bad = [b"\xff\xfe superb film", b"dull \xc3\x28 plot", b"\x80"]
    out = _run(serve, bad)
    _assert_valid(out, 3, tiny_run.label_names)
    replaced = [b.decode("utf-8", errors="replace") for b in bad]
    np.testing.assert_allclose(out["probabilities"], _run(serve, replaced)["probabilities"], atol=1e-6)


def test_empty_batch_gives_empty_outputs(serving, tiny_run):
    loaded, serve, serve_ids = serving
    out = _run(serve, [])
    assert out["probabilities"].shape == (0, 2) and out["label_id"].shape == (0,) and out["label"].shape == (0,)
    by_ids = serve_ids(token_ids=tf.zeros([0, 5], tf.int32))
    assert by_ids["probabilities"].shape == (0, 2)


def test_bad_token_ids_raise_clear_errors(serving, tiny_run):
    loaded, _, serve_ids = serving
    vocab = tiny_run.tokenizer.vocab_size
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"token ids must be < vocab_size {vocab}"):
        serve_ids(token_ids=tf.constant([[5, vocab]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="token ids must be >= 0"):
        serve_ids(token_ids=tf.constant([[5, -1]], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a int32 tensor but is a float"):
        serve_ids(token_ids=tf.constant([[1.5]], tf.float32))
    # a batch must be 1-D; which op rejects a 2-D one depends on the tokenizer
    with pytest.raises(tf.errors.InvalidArgumentError):
        loaded.signatures["serving_default"](texts=tf.constant([[b"a"]]))
    # the process survived every one of these and still serves
    ok = serve_ids(token_ids=tf.constant([[5, 6]], tf.int32))["probabilities"].numpy()
    assert ok.shape == (1, 2)
