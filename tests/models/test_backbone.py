import inspect
import re
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import assert_all_gradients_flow, assert_config_complete, to_numpy
from zoo.models import (Backbone, TextClassifier, build, build_lm, build_mlm, build_transformer,
                        transfer_backbone_weights)
from zoo.models.seq2seq import Seq2Seq

RNG = np.random.default_rng(12)
D, HEADS = 16, 4
# A small BERT: post-LN, segments, embedding norm, no final norm, tanh pooler, exact GELU, epsilon 1e-12.
BERT = dict(num_layers=2, d_model=D, num_heads=HEADS, ff_dim=32, dropout=0.0, activation="gelu", norm_first=False,
            layer_norm_epsilon=1e-12, num_segments=2, embedding_norm=True, pooler=True)


def _bert(**kw):
    keras.utils.set_random_seed(3)
    return Backbone(50, 12, **{**BERT, **kw})


def _ids(lengths=(7, 4), width=7, pad_id=0):
    ids = RNG.integers(5, 50, size=(len(lengths), width)).astype("int32")
    for row, n in enumerate(lengths):
        ids[row, n:] = pad_id
    return ids


def _attention_by_documented_layout(attention, x, mask):
    """Self-attention computed head by head from the qkv columns the Backbone docstring names."""
    h, d = attention.num_heads, attention.head_dim
    kernel, bias = ref.w(attention.qkv_dense.kernel), ref.w(attention.qkv_dense.bias)
    out_kernel, out_bias = ref.w(attention.output_dense.kernel), ref.w(attention.output_dense.bias)
    context = []
    for head in range(h):
        cols = [part * h * d + head * d + np.arange(d) for part in range(3)]
        q, k, v = (x @ kernel[:, c] + bias[c] for c in cols)
        logits = np.einsum("btd,bsd->bts", q, k) / np.sqrt(d)
        logits = np.where(mask[:, None, :], logits, -1e9)
        context.append(np.einsum("bts,bsd->btd", ref.softmax(logits), v))
    # Rows of the output kernel are head-major too.
    return np.concatenate(context, axis=-1) @ out_kernel + out_bias


def _bert_reference(backbone, ids, segments, mask):
    """float64 numpy forward pass of a post-LN BERT built from the backbone's attributes."""
    def layer_norm(x, norm):  # with the backbone's epsilon, whatever its norms were given
        return ref.layer_norm(x, SimpleNamespace(gamma=norm.gamma, beta=norm.beta,
                                                 epsilon=backbone.layer_norm_epsilon))

    x = ref.w(backbone.token_embedding.embeddings)[ids]
    x = x + ref.w(backbone.position_embedding.embeddings)[: ids.shape[1]][None]
    x = x + ref.w(backbone.segment_embedding.embeddings)[segments]
    x = layer_norm(x, backbone.embedding_norm)
    for block in backbone.blocks:
        x = layer_norm(x + _attention_by_documented_layout(block.attention, x, mask), block.attention_norm)
        hidden = ref.ACTIVATIONS["gelu"](ref.dense(x, block.feedforward.hidden))
        x = layer_norm(x + ref.dense(hidden, block.feedforward.projection), block.feedforward_norm)
    return x, np.tanh(ref.dense(x[:, 0], backbone.pooler))


# BERT's 1e-12, and one large enough that an epsilon the blocks did not get shows in the outputs.
@pytest.mark.parametrize("epsilon", [1e-12, 0.5])
def test_bert_layout_matches_a_numpy_forward_pass_with_padding(epsilon):
    backbone = _bert(layer_norm_epsilon=epsilon)
    ids = _ids()
    segments = np.zeros_like(ids)
    segments[0, 4:] = 1
    mask = ids != 0
    out = backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})
    sequence, pooled = _bert_reference(backbone, ids, segments, mask)
    np.testing.assert_allclose(to_numpy(out["sequence_output"])[mask], sequence[mask], atol=1e-5)
    np.testing.assert_allclose(to_numpy(out["pooled_output"]), pooled, atol=1e-5)


def test_parts_are_attributes_in_computation_order():
    bert = _bert()
    assert list(bert.parts) == ["token_embedding", "position_embedding", "segment_embedding", "embedding_norm",
                                "blocks.0", "blocks.1", "pooler"]
    assert bert.final_norm is None and len(bert.blocks) == 2
    rotary = Backbone(50, 12, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, positional="rotary")
    assert rotary.position_embedding is None and rotary.segment_embedding is None and rotary.pooler is None
    assert list(rotary.parts) == ["token_embedding", "blocks.0", "final_norm"]
    assert list(Backbone(50, 12, num_layers=1, d_model=D, num_heads=HEADS, positional="sinusoidal").parts) == [
        "token_embedding", "blocks.0", "final_norm"]  # sinusoids have no weights
    assert {w.path for w in bert.weights} >= {"token_embedding/embeddings", "block_0/self_attention/qkv/kernel"}


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "final_norm": True, "positional": "rotary"}])
def test_padding_changes_no_real_position(kw):
    backbone = _bert(**kw)
    # The other tests' [2, 7] ids (JAX compiles each op once per shape), padded to the full sequence_length.
    ids = _ids(lengths=(5, 3))
    longer = np.pad(ids, ((0, 0), (0, 5)))
    segments = (np.arange(7) >= 2).astype("int32")[None].repeat(2, 0)

    def run(x, s):
        return to_numpy(backbone({"token_ids": x, "segment_ids": s, "padding_mask": x != 0})["sequence_output"])

    short, long = run(ids, segments), run(longer, np.pad(segments, ((0, 0), (0, 5))))
    real = ids != 0
    np.testing.assert_allclose(short[real], long[:, :7][real], atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="token packing runs on TensorFlow only")
@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "dropout": 0.1}], ids=["post-ln", "pre-ln-final-norm"])
def test_skipping_padding_gives_the_padded_backbone_s_outputs_and_gradients(kw):
    """The packed backbone (rows packed once after the embeddings, unpacked after the final norm) against the
    same weights run padded: equal real outputs, pooled output and gradients of a loss over the real
    positions, inside a tf.function (where zoo trains); padded positions are zeros. With dropout on, both run
    with training=False for the comparison and a traced training step must still give finite gradients."""
    import tensorflow as tf

    packed, padded = _bert(**kw), _bert(skip_padding=False, **kw)
    assert all(b.packs_tokens for b in packed.blocks) and not any(b.packs_tokens for b in padded.blocks)
    ids = _ids(lengths=(7, 2), width=7)
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids != 0}
    packed(inputs)
    padded(inputs)
    padded.set_weights(packed.get_weights())
    real = ids != 0
    probe = tf.constant(RNG.normal(size=(*ids.shape, D)).astype("float32") * real[..., None])

    def run(backbone, training):
        with tf.GradientTape() as tape:
            out = backbone(inputs, training=training)
            loss = tf.reduce_sum(out["sequence_output"] * probe) + tf.reduce_sum(out["pooled_output"])
        return out, tape.gradient(loss, backbone.trainable_weights)

    (out, grads), (ref_out, ref_grads) = (tf.function(run)(b, False) for b in (packed, padded))
    np.testing.assert_allclose(to_numpy(out["sequence_output"])[real], to_numpy(ref_out["sequence_output"])[real],
                               atol=1e-5)
    np.testing.assert_allclose(to_numpy(out["pooled_output"]), to_numpy(ref_out["pooled_output"]), atol=1e-5)
    assert np.all(to_numpy(out["sequence_output"])[~real] == 0)
    for weight, a, b in zip(packed.trainable_weights, grads, ref_grads):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-4, err_msg=weight.path)
    _, train_grads = tf.function(run)(packed, True)
    assert all(np.all(np.isfinite(to_numpy(g))) for g in train_grads)


def test_a_causal_backbone_refuses_skip_padding():
    with pytest.raises(ValueError, match="`skip_padding` applies to encoder blocks"):
        Backbone(50, 12, num_layers=1, d_model=D, num_heads=HEADS, causal=True, skip_padding=True)


def test_save_reload_and_rebuild_from_config(tmp_path):
    classifier = TextClassifier(_bert(), num_classes=2, pooling="pooled")
    inputs = {"token_ids": _ids(), "segment_ids": np.ones((2, 7), "int32")}
    before = to_numpy(classifier(inputs))
    classifier.save(tmp_path / "c.keras")
    reloaded = keras.saving.load_model(tmp_path / "c.keras")
    assert type(reloaded.backbone) is Backbone and reloaded.backbone.get_config() == classifier.backbone.get_config()
    np.testing.assert_allclose(to_numpy(reloaded(inputs)), before, atol=1e-6)
    masked = {**inputs, "padding_mask": inputs["token_ids"] != 0}
    backbone = Backbone.from_config(classifier.backbone.get_config())
    backbone.set_weights(classifier.backbone.get_weights())
    np.testing.assert_allclose(to_numpy(backbone(masked)["pooled_output"]),
                               to_numpy(classifier.backbone(masked)["pooled_output"]), atol=1e-6)


def test_configs_name_every_argument_and_rebuild_the_model():
    """Every argument at a value other than its default, so an argument that get_config leaves out (and
    from_config then rebuilds at its default) shows; a reloaded model is rebuilt from this config."""
    backbone = Backbone(30, 12, num_layers=1, d_model=D, num_heads=2, ff_dim=32, dropout=0.2,
                        attention_dropout=0.1, activation="relu", positional="sinusoidal", norm_first=False,
                        layer_norm_epsilon=1e-7, num_segments=3, embedding_norm=True, final_norm=True, pooler=True,
                        skip_padding=False, name="backbone")
    encoder = Backbone(30, 12, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, name="encoder")
    for model in (backbone, TextClassifier(backbone, 3, pooling="max", mode="multilabel", hidden_dim=8, dropout=0.3,
                                           pad_id=2),
                  Seq2Seq(encoder, target_vocab_size=20, target_length=10, num_decoder_layers=2,
                          tie_embeddings=False, pad_id=1)):
        assert_config_complete(model)
        config = model.get_config()
        # causal=True refuses skip_padding; the language models' reload test covers it.
        defaults = {name: p.default for name, p in inspect.signature(type(model).__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty and name not in ("dtype", "causal")}
        assert not [name for name, default in defaults.items() if config[name] == default], type(model).__name__


def test_attention_dropout_reaches_the_blocks_and_acts_only_in_training():
    backbone = Backbone(50, 12, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, dropout=0.0,
                        attention_dropout=0.5)
    ids = _ids(lengths=(7, 5))
    inputs = {"token_ids": ids, "padding_mask": ids != 0}

    def run(training):
        return to_numpy(backbone(inputs, training=training)["sequence_output"])

    np.testing.assert_array_equal(run(False), run(False))
    assert not np.allclose(run(True), run(False), atol=1e-3)  # the only dropout is on the attention


def test_a_reloaded_model_keeps_its_frozen_parts_frozen(tmp_path):
    classifier = build_transformer(30, 8, 2, num_layers=2, d_model=D, num_heads=HEADS, ff_dim=32)
    classifier.backbone.token_embedding.trainable = False  # zoo's freeze: embedding, and freeze_blocks: 1
    classifier.backbone.blocks[0].trainable = False
    classifier.save(tmp_path / "c.keras")
    reloaded = keras.saving.load_model(tmp_path / "c.keras")
    # The reloaded model trained every weight: the embeddings and block 0 came back trainable.
    assert [w.path for w in reloaded.trainable_weights] == [w.path for w in classifier.trainable_weights]
    assert reloaded.backbone.blocks[1].trainable and reloaded.head.trainable


def test_mixed_bfloat16_backbone_keeps_float32_weights_and_logits():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    classifier = TextClassifier(_bert(), num_classes=2, pooling="pooled")
    out = classifier({"token_ids": _ids(), "segment_ids": np.zeros((2, 7), "int32")})
    assert out.dtype == "float32" and np.all(np.isfinite(to_numpy(out)))
    assert classifier.backbone.blocks[0].compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in classifier.weights)


def test_causal_backbone_is_causal_and_its_cache_matches():
    keras.utils.set_random_seed(4)
    backbone = Backbone(50, 12, num_layers=2, d_model=D, num_heads=HEADS, ff_dim=32, dropout=0.0, causal=True)
    ids = _ids(lengths=(7, 7))
    changed = ids.copy()
    changed[:, 4:] = 9

    def run(x):
        return to_numpy(backbone({"token_ids": x, "padding_mask": x != 0})["sequence_output"])

    full = run(ids)
    np.testing.assert_allclose(full[:, :4], run(changed)[:, :4], atol=1e-5)
    cache = backbone.init_cache(2)
    head, cache = backbone.call_with_cache(ids[:, :3], cache, 0)
    steps = [to_numpy(head)]
    for i in range(3, 7):
        out, cache = backbone.call_with_cache(ids[:, i:i + 1], cache, i)
        steps.append(to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-4)
    with pytest.raises(ValueError, match="causal"):
        _bert().init_cache(2)


def test_classifier_over_segments_takes_token_and_segment_ids():
    classifier = TextClassifier(_bert(), num_classes=3, pooling="pooled", dropout=0.0)
    assert {i.name for i in classifier.inputs} == {"token_ids", "segment_ids"}
    pair = _ids(lengths=(7, 6))
    first = np.zeros_like(pair)
    second = first.copy()
    second[:, 3:] = 1
    a = to_numpy(classifier({"token_ids": pair, "segment_ids": first}))
    b = to_numpy(classifier({"token_ids": pair, "segment_ids": second}))
    assert a.shape == (2, 3) and not np.allclose(a, b)
    padded = to_numpy(classifier({"token_ids": np.pad(pair, ((0, 0), (0, 3))),
                                  "segment_ids": np.pad(second, ((0, 0), (0, 3)))}))
    np.testing.assert_allclose(padded, b, atol=1e-5)
    assert_all_gradients_flow(lambda: classifier({"token_ids": pair, "segment_ids": second}),
                              classifier.trainable_variables)


def test_a_non_zero_pad_id_is_masked_and_zero_is_a_token():
    keras.utils.set_random_seed(5)
    model = build_transformer(50, 12, 2, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, pad_id=7)
    # The padding test's shapes, [2, 7] ids padded to 12: under JAX their ops are compiled already.
    ids = _ids(lengths=(5, 3), pad_id=7)
    ids[ids == 7] = 8  # no real 7s; then pad with 7
    ids[1, 3:] = 7
    ids[0, 1] = 0
    longer = np.pad(ids, ((0, 0), (0, 5)), constant_values=7)
    np.testing.assert_allclose(to_numpy(model(ids)), to_numpy(model(longer)), atol=1e-5)
    zero_padded = np.pad(ids, ((0, 0), (0, 5)), constant_values=0)
    assert not np.allclose(to_numpy(model(ids)), to_numpy(model(zero_padded)), atol=1e-5)


@pytest.mark.parametrize("name, masks_padding", [("transformer-tiny", True), ("lstm", True), ("cnn", False)])
def test_every_classifier_says_what_serving_needs(name, masks_padding):
    model = build(name, vocab_size=40, sequence_length=9, num_classes=3, mode="multilabel", pad_id=2)
    assert (model.vocab_size, model.masks_padding, model.mode, model.pad_id, model.num_classes) == (
        40, masks_padding, "multilabel", 2, 3)
    assert model.sequence_length == (9 if name.startswith("transformer") else None)
    assert model.num_segments is None


def test_backbone_weights_transfer_only_between_matching_backbones():
    sizes = dict(num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32)
    mlm = build_mlm(30, 12, **sizes)
    classifier = build_transformer(30, 12, 2, **sizes)
    assert transfer_backbone_weights(mlm, classifier) == ["token_embedding", "position_embedding", "blocks.0",
                                                          "final_norm"]
    for a, b in zip(mlm.backbone.weights, classifier.backbone.weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    with pytest.raises(ValueError, match=r"'token_embedding' differs in shape"):
        transfer_backbone_weights(mlm, build_transformer(31, 12, 2, **sizes))
    with pytest.raises(ValueError, match="differ in their parts"):
        transfer_backbone_weights(mlm, Backbone(30, 12, **sizes, pooler=True))
    with pytest.raises(ValueError, match="causal: True in 'transformer_lm', False in 'transformer_classifier'"):
        transfer_backbone_weights(build_lm(30, 12, **sizes), classifier)


@pytest.mark.parametrize("key, donor, receiver", [
    ("num_heads", 4, 2),
    ("activation", "gelu", "relu"),
    ("norm_first", True, False),
    ("positional", "sinusoidal", "rotary"),  # neither has position weights
    ("layer_norm_epsilon", 1e-5, 1e-12),
])
def test_weights_do_not_transfer_between_backbones_that_compute_differently(key, donor, receiver):
    # Same parts and weight shapes (final_norm kept for post-LN too): only the config tells them apart.
    sizes = dict(num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, final_norm=True)
    source = Backbone(30, 12, **{**sizes, key: donor}, name="source")
    target = Backbone(30, 12, **{**sizes, key: receiver}, name="target")
    before = [to_numpy(w) for w in target.weights]
    with pytest.raises(ValueError, match=re.escape(f"{key}: {donor!r} in 'source', {receiver!r} in 'target'")):
        transfer_backbone_weights(source, target)
    for old, w in zip(before, target.weights):
        np.testing.assert_array_equal(to_numpy(w), old)


# A learned table ends at sequence_length; rotary positions have no end, the cache (init_cache's) does.
@pytest.mark.parametrize("positional, limit", [("learned", "`start_index`=8, length 1.*sequence_length=8"),
                                               ("rotary", "`cache_update_index`=8, length 1.*max_length=8")])
def test_inputs_and_decoding_past_the_sequence_length_are_refused(positional, limit):
    backbone = Backbone(30, 8, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32, positional=positional,
                        causal=True)
    cache = backbone.init_cache(1)
    _, cache = backbone.call_with_cache(np.arange(1, 9, dtype="int32")[None], cache, 0)  # fills positions 0..7
    with pytest.raises(ValueError, match=rf"positions 8\.\.8 \({limit}"):
        backbone.call_with_cache(np.array([[3]], "int32"), cache, 8)
    ids = np.ones((1, 10), "int32")
    with pytest.raises(ValueError, match=r"positions 0\.\.9 .*sequence_length=8"):
        Backbone(30, 8, num_layers=1, d_model=D, num_heads=HEADS, ff_dim=32)({"token_ids": ids,
                                                                             "padding_mask": ids != 0})


@pytest.mark.parametrize("make, match", [
    (lambda: Backbone(10, 8, num_segments=0), "num_segments"),
    (lambda: Backbone(10, 8, positional="alibi"), "positional"),
    (lambda: TextClassifier(Backbone(10, 8), pooling="pooled"), "pooler"),
    (lambda: TextClassifier(Backbone(10, 8), pad_id=10), "pad_id"),
    (lambda: TextClassifier(Backbone(10, 8, causal=True)), "bidirectional"),
    (lambda: Backbone(10, 8, causal=True).init_cache(1, max_length=0), "max_length"),
    # Keras' functional Model dropped both without a word, leaving pooling "mean" and the default sizes.
    (lambda: TextClassifier(Backbone(10, 8), poling="max"),
     "TextClassifier does not take poling; it accepts: backbone, num_classes, pooling, mode"),
    (lambda: Backbone(10, 8, num_layer=4), "Backbone does not take num_layer; it accepts: vocab_size"),
    # bool("false") is True: each built the part it names, and causal="false" a causal backbone.
    *((lambda name=name: Backbone(10, 8, **{name: "false"}), f"`{name}` must be True or False, got 'false'")
      for name in ("causal", "embedding_norm", "pooler", "final_norm")),
    (lambda: build("lstm", vocab_size=10, sequence_length=8, bidirectional="false"), "`bidirectional` must be True"),
    (lambda: build("seq2seq", vocab_size=10, sequence_length=8, target_vocab_size=6, tie_embeddings="false"),
     "`tie_embeddings` must be True or False, got 'false'"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()
