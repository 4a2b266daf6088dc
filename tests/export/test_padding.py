"""Serving pads with the tokenizer's padding id, whatever id that is, and feeds segment models segment 0."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.vocabularies import FixedVocabTokenizer, pad_inside
from zoo.export.serving import ServingGraph

TEXTS = ["the film", "a dull plot was tedious and bland with its cast", "great"]


def _model(tokenizer, name="transformer-tiny", **kw):
    keras.utils.set_random_seed(0)
    sizes = {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32} if name.startswith("transformer") else {}
    return zoo.build(name, vocab_size=tokenizer.vocab_size, sequence_length=16, num_classes=2,
                     pad_id=tokenizer.pad_id, **sizes, **kw)


@pytest.mark.parametrize("name", ["transformer-tiny", "cnn"])
def test_texts_are_padded_with_a_non_zero_pad_id_and_batching_changes_nothing(name):
    tokenizer = FixedVocabTokenizer(pad_inside())
    assert tokenizer.pad_id == 7
    graph = ServingGraph(_model(tokenizer, name), tokenizer, ["neg", "pos"], 16)
    ids = graph.inputs_of(TEXTS)[0].numpy()
    assert (ids[0, 2:] == 7).all() and (ids[2, 1:] == 7).all() and 7 not in ids[1]
    together = graph.serve_text(tf.constant(TEXTS))["probabilities"].numpy()
    alone = np.concatenate([graph.serve_text(tf.constant([text]))["probabilities"].numpy() for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_a_model_that_masks_another_pad_id_is_refused():
    tokenizer = FixedVocabTokenizer(pad_inside())
    model = zoo.build("transformer-tiny", vocab_size=tokenizer.vocab_size, sequence_length=16, num_classes=2)
    with pytest.raises(ValueError, match="tokenizer pads with id 7 but model .* masks id 0"):
        ServingGraph(model, tokenizer, ["neg", "pos"], 16)


def test_a_model_with_segments_serves_single_texts_as_segment_0():
    tokenizer = FixedVocabTokenizer(pad_inside())
    model = _model(tokenizer, num_segments=2)
    graph = ServingGraph(model, tokenizer, ["neg", "pos"], 16)
    ids = graph.inputs_of(TEXTS)[0]
    logits = model({"token_ids": ids, "segment_ids": tf.zeros_like(ids)})
    np.testing.assert_allclose(graph.serve_text(tf.constant(TEXTS))["probabilities"].numpy(),
                               tf.nn.softmax(logits).numpy(), atol=1e-5)
