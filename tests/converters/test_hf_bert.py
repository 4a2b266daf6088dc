"""Hugging Face BERT folders into zoo: outputs equal a float64 numpy BERT; every importer error names its cause."""
import json
import logging
import pickle
import re

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file, save_file

import zoo
from tests.converters.checkpoints import SMALL_CONFIG, random_bert_weights, write_bert_checkpoint
from tests.converters.numpy_bert import bert_forward
from zoo.converters import (
    CheckpointError,
    CheckpointFileNotFoundError,
    UnsupportedCheckpointError,
    WeightMismatchError,
    from_pretrained,
)
from zoo.data.bert_tokenizer import BertTokenizer
from zoo.models import Backbone, TextClassifier

TEXTS = ["the film is good", "a very very dull and boring movie , not fun !", "café", ""]
TOLERANCE = 1e-5


def packed(tokenizer, texts=TEXTS, length=16, second=None):
    out = tokenizer.pack(tf.constant(texts), None if second is None else tf.constant(second), sequence_length=length)
    return {key: value.numpy() for key, value in out.items()}


def assert_matches_reference(backbone, inputs, weights, config):
    outputs = backbone(inputs)
    sequence, pooled = bert_forward(weights, config, inputs["token_ids"], inputs["segment_ids"],
                                    inputs["padding_mask"])
    real = inputs["padding_mask"]
    np.testing.assert_allclose(outputs["sequence_output"].numpy()[real], sequence[real], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(outputs["pooled_output"].numpy(), pooled, rtol=0, atol=TOLERANCE)
    return np.abs(outputs["sequence_output"].numpy()[real] - sequence[real]).max()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_bert_checkpoint(tmp_path_factory.mktemp("bert") / "small")


def test_random_checkpoint_equals_the_numpy_reference_with_and_without_padding(checkpoint):
    folder, config, weights = checkpoint
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert isinstance(backbone, Backbone) and isinstance(tokenizer, BertTokenizer)
    inputs = packed(tokenizer, second=["yes", "no", "the story", "a"])
    assert inputs["padding_mask"].all(axis=1).sum() == 0 and (inputs["segment_ids"] == 1).any()
    assert assert_matches_reference(backbone, inputs, weights, config) > 0  # not vacuous: float32 vs float64
    full = packed(tokenizer, texts=["a very very dull and boring movie , not fun !"] * 2, length=13)
    assert full["padding_mask"].all()
    assert_matches_reference(backbone, full, weights, config)
    # Padding changes nothing at real positions: the same row alone, unpadded, gives the same vectors.
    n = inputs["padding_mask"][2].sum()
    alone = {key: value[2:3, :n] for key, value in inputs.items()}
    np.testing.assert_allclose(backbone(alone)["sequence_output"].numpy()[0],
                               backbone(inputs)["sequence_output"].numpy()[2, :n], atol=1e-5)


@pytest.mark.parametrize("variant", ["prefix_and_heads", "sharded", "legacy_names", "gelu_new"])
def test_checkpoint_variants_load_exactly(tmp_path, variant):
    config, extra, prefix, shards = {}, {}, "", 1
    weights = random_bert_weights(seed=1)
    written = dict(weights)
    if variant == "prefix_and_heads":
        prefix = "bert."
        rng = np.random.default_rng(0)
        extra = {"cls.predictions.bias": rng.normal(size=SMALL_CONFIG["vocab_size"]).astype(np.float32),
                 "cls.predictions.transform.dense.weight": rng.normal(size=(32, 32)).astype(np.float32),
                 "cls.seq_relationship.weight": rng.normal(size=(2, 32)).astype(np.float32),
                 "bert.embeddings.position_ids": np.arange(40)[None]}
    elif variant == "sharded":
        shards = 3
    elif variant == "legacy_names":
        written = {key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                   for key, v in weights.items()}
    else:
        config = {"hidden_act": "gelu_new"}
    folder, config, _ = write_bert_checkpoint(tmp_path / variant, config, written, prefix=prefix, shards=shards,
                                              extra=extra)
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert backbone.blocks[0].feedforward.activation == ("gelu_tanh" if variant == "gelu_new" else "gelu")
    assert_matches_reference(backbone, packed(tokenizer), weights, config)


@pytest.mark.parametrize("hidden_act, activation", [("relu", "relu"), ("silu", "swish"), ("swish", "swish"),
                                                    ("gelu_python", "gelu"), ("gelu_fast", "gelu_tanh")])
def test_every_activation_zoo_computes_as_transformers_loads_exactly(tmp_path, hidden_act, activation):
    folder, config, weights = write_bert_checkpoint(tmp_path / hidden_act, {"hidden_act": hidden_act})
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert backbone.blocks[0].feedforward.activation == activation
    assert_matches_reference(backbone, packed(tokenizer), weights, config)


def test_classifier_wraps_the_imported_backbone(checkpoint):
    folder, config, weights = checkpoint
    model, tokenizer = from_pretrained(folder, num_classes=3, pooling="pooled", dropout=0.0)
    assert isinstance(model, TextClassifier) and model.num_classes == 3 and model.pad_id == tokenizer.pad_id == 0
    np.testing.assert_array_equal(model.backbone.token_embedding.embeddings.numpy(),
                                  weights["embeddings.word_embeddings.weight"])
    inputs = packed(tokenizer)
    _, pooled = bert_forward(weights, config, inputs["token_ids"], inputs["segment_ids"], inputs["padding_mask"])
    dense = model.head.logits
    dense.kernel.assign(np.random.default_rng(0).normal(size=dense.kernel.shape))  # the new head starts at zero
    logits = model({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"]}).numpy()
    np.testing.assert_allclose(logits, pooled @ dense.kernel.numpy() + dense.bias.numpy(), atol=1e-5)
    mean_model = from_pretrained(folder, num_classes=2).model
    assert mean_model.backbone.pooler is None  # the pooler's weights are left unused on purpose


def test_the_top_level_api_returns_a_named_pair(checkpoint):
    result = zoo.from_pretrained(checkpoint[0], num_classes=2)
    assert result.model is result[0] and result.tokenizer is result[1]


def write(tmp_path, name="ckpt", **kwargs):
    return write_bert_checkpoint(tmp_path / name, **kwargs)[0]


def test_config_errors_name_the_file_and_key(tmp_path):
    with pytest.raises(CheckpointFileNotFoundError, match="nowhere: checkpoint folder not found"):
        from_pretrained(tmp_path / "nowhere", num_classes=2)
    folder = write(tmp_path, "weights_given")
    with pytest.raises(CheckpointFileNotFoundError, match=re.escape(
            f"{folder / 'model.safetensors'}: a file, not a checkpoint folder; give the folder that holds config.json "
            f"and the weights (here perhaps {folder})")):
        from_pretrained(folder / "model.safetensors", num_classes=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointFileNotFoundError, match="empty/config.json: checkpoint config not found"):
        from_pretrained(tmp_path / "empty", num_classes=2)
    cases = {
        "roberta": ({"model_type": "roberta"}, UnsupportedCheckpointError,
                    "key 'model_type': model_type 'roberta' is not supported; supported: bert"),
        "quick_gelu": ({"hidden_act": "quick_gelu"}, UnsupportedCheckpointError,
                       "key 'hidden_act': hidden_act 'quick_gelu' is not supported; supported: gelu, gelu_python, "
                       "gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish"),
        "relative": ({"position_embedding_type": "relative_key"}, UnsupportedCheckpointError,
                     "position_embedding_type 'relative_key' is not supported"),
        "decoder": ({"is_decoder": True}, UnsupportedCheckpointError, "is_decoder is true"),
        "heads": ({"num_attention_heads": 5}, CheckpointError, "num_attention_heads 5 does not divide hidden_size 32"),
        "vocab": ({"vocab_size": 100}, CheckpointError, "the tokenizer has 131 tokens but the model embeds only 100"),
    }
    for name, (config, error, message) in cases.items():
        folder = write(tmp_path, name, config=config, weights=random_bert_weights())
        with pytest.raises(error, match=message.replace("(", r"\(")) as info:
            from_pretrained(folder, num_classes=2)
        assert str(folder) in str(info.value)
    folder = write(tmp_path, "neither")
    (folder / "config.json").write_text(json.dumps({"hidden_size": 32}))
    with pytest.raises(UnsupportedCheckpointError, match="neither a Hugging Face config"):
        from_pretrained(folder, num_classes=2)


@pytest.mark.parametrize("name, change, message", [
    ("broken", lambda text: text[:-3], r"broken/config.json: not a JSON config \(Unterminated string"),
    ("untyped", lambda text: text.replace('"model_type"', '"type"'),
     "untyped/config.json: neither a Hugging Face config"),
])
def test_a_checkpoint_with_a_bad_config_is_named_as_one_not_as_a_zoo_run(tmp_path, name, change, message):
    folder = write(tmp_path, name)
    (folder / "config.json").write_text(change((folder / "config.json").read_text()))
    assert zoo.converters.is_checkpoint_folder(folder) and not zoo.converters.is_checkpoint_folder(tmp_path)
    with pytest.raises(CheckpointError, match=message):
        zoo.train({"model": {"init_from": str(folder)}, "output": {"dir": str(tmp_path / "run"), "progress": "none"}})


@pytest.mark.parametrize("key, value, message", [
    ("layer_norm_eps", None, "layer_norm_eps must be a positive number, not None"),
    ("layer_norm_eps", "1e-12", "layer_norm_eps must be a positive number, not '1e-12'"),
    ("hidden_dropout_prob", 1.0, "hidden_dropout_prob must be a number in [0, 1), not 1.0"),
    ("attention_probs_dropout_prob", True, "attention_probs_dropout_prob must be a number in [0, 1), not True"),
    ("hidden_act", ["gelu"], "hidden_act ['gelu'] is not supported; supported: gelu,"),
])
def test_config_values_of_the_wrong_kind_name_the_file_and_key(tmp_path, key, value, message):
    folder = write(tmp_path, config={key: value}, weights=random_bert_weights())
    with pytest.raises(CheckpointError, match=re.escape(f"{folder / 'config.json'}, key {key!r}: {message}")):
        from_pretrained(folder, num_classes=2)


def test_task_argument_errors(checkpoint):
    with pytest.raises(UnsupportedCheckpointError, match="task 'mlm' is not supported; supported: None, 'classi"):
        from_pretrained(checkpoint[0], task="mlm")
    with pytest.raises(ValueError, match="needs num_classes"):
        from_pretrained(checkpoint[0])
    with pytest.raises(ValueError, match=r"takes no task arguments, got \['pooling'\]"):
        from_pretrained(checkpoint[0], task=None, pooling="cls")


class Trap:
    """Unpickling this object writes a marker file: the loader must never unpickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_weights_never_come_from_pickles(tmp_path):
    folder = write(tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "unpickled"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Trap(str(marker))))
    with pytest.raises(CheckpointFileNotFoundError, match=r"model.safetensors: weights not found \(nor "
                       r"model.safetensors.index.json.*pytorch_model.bin is pickled, which zoo never loads"):
        from_pretrained(folder, num_classes=2)
    assert not marker.exists()


@pytest.mark.parametrize("name, option", [("tf_model.h5", ", from_tf=True"),
                                          ("flax_model.msgpack", ", from_flax=True")])
def test_weights_of_other_frameworks_are_named_with_the_way_to_convert_them(tmp_path, name, option):
    folder = write(tmp_path)
    (folder / "model.safetensors").unlink()
    (folder / name).write_bytes(b"weights")
    with pytest.raises(CheckpointFileNotFoundError, match=rf"model.safetensors: weights not found .*; {name} holds "
                       rf"\w+ weights, which zoo does not read; convert the weights to safetensors: in transformers, "
                       rf"BertModel.from_pretrained\(folder{option}\).save_pretrained\(folder\) writes "
                       "model.safetensors"):
        from_pretrained(folder, num_classes=2)


def rewrite_index(folder, change):
    path = folder / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    change(index["weight_map"])
    path.write_text(json.dumps(index))


@pytest.mark.parametrize("change, message", [
    (lambda weight_map: list(weight_map), "weight_map must map each weight to its shard file, not ['embeddings."),
    (lambda weight_map: {}, "weight_map must map each weight to its shard file, not {}"),
    (lambda weight_map: {**weight_map, "pooler.dense.bias": None},
     "weight_map puts pooler.dense.bias in None, not in a shard file"),
])
def test_a_malformed_index_is_named(tmp_path, change, message):
    folder = write(tmp_path, shards=2)
    path = folder / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    path.write_text(json.dumps({**index, "weight_map": change(index["weight_map"])}))
    with pytest.raises(CheckpointError, match=re.escape(f"{path}, key 'weight_map': {message}")):
        from_pretrained(folder, num_classes=2)


def test_shards_are_read_whole_whatever_the_index_lists(tmp_path):
    # A stale index that forgets a backbone weight: the weight is still in its shard, and is used.
    folder, config, weights = write_bert_checkpoint(tmp_path / "forgotten", shards=2)
    rewrite_index(folder, lambda weight_map: weight_map.pop("pooler.dense.bias"))
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert_matches_reference(backbone, packed(tokenizer), weights, config)
    # One that forgets a head's weight: the weight is reported unused, not dropped unseen.
    folder = write(tmp_path, "head", shards=2, extra={"qa_outputs.weight": np.zeros((2, 32), np.float32)})
    rewrite_index(folder, lambda weight_map: weight_map.pop("qa_outputs.weight"))
    with pytest.raises(WeightMismatchError, match="checkpoint weights that this model does not use: qa_outputs.weight"):
        from_pretrained(folder, task=None)
    # A weight in two shards: which one is meant is not guessed.
    folder = write(tmp_path, "twice", shards=2)
    first = folder / "model-00001-of-00002.safetensors"
    arrays = load_file(folder / "model-00002-of-00002.safetensors")
    save_file({**load_file(first), "pooler.dense.bias": arrays["pooler.dense.bias"]}, first)
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors and model-00001-of-00002.safetensors "
                       "both hold pooler.dense.bias: a weight belongs in one shard"):
        from_pretrained(folder, task=None)


def test_weight_file_errors_name_the_file(tmp_path):
    folder = write(tmp_path, "sharded", shards=2)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(CheckpointFileNotFoundError, match="model-00002-of-00002.safetensors: weight shard listed"):
        from_pretrained(folder, num_classes=2)
    folder = write(tmp_path, "corrupt")
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors: cannot read safetensors weights"):
        from_pretrained(folder, num_classes=2)
    weights = random_bert_weights()
    folder = write(tmp_path, "mixed", weights=weights, extra={"bert.pooler.dense.bias": weights["pooler.dense.bias"]})
    with pytest.raises(CheckpointError, match="both with and without the 'bert.' prefix"):
        from_pretrained(folder, num_classes=2)
    folder = write(tmp_path, "positions", extra={"embeddings.position_ids": np.arange(40)[None, ::-1].copy()})
    with pytest.raises(CheckpointError, match="embeddings.position_ids is not 0, 1, ..., n-1"):
        from_pretrained(folder, num_classes=2)


LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db\nsize 90868376\n")


def test_a_git_lfs_pointer_is_named_with_the_way_to_fetch_the_weights(tmp_path):
    folder = write(tmp_path)
    (folder / "model.safetensors").write_text(LFS_POINTER)
    with pytest.raises(CheckpointError, match=re.escape(f"{folder / 'model.safetensors'}: a Git LFS pointer, not the "
                                                        "weights: the folder was cloned without git-lfs; fetch the "
                                                        "weights (git lfs install, then git lfs pull in the clone)")):
        from_pretrained(folder, num_classes=2)


def test_weights_that_do_not_pair_up_are_all_named(tmp_path):
    weights = random_bert_weights()
    del weights["encoder.layer.1.output.dense.weight"]
    weights["encoder.layer.0.intermediate.dense.bias"] = np.zeros(65, np.float32)
    folder = write(tmp_path, weights=weights, extra={"qa_outputs.weight": np.zeros((2, 32), np.float32),
                                                     "qa_outputs.bias": np.zeros(2, np.float32)})
    with pytest.raises(WeightMismatchError) as info:
        from_pretrained(folder, task=None)
    message = str(info.value)
    assert message.startswith(f"{folder}: the checkpoint does not fit the model")
    assert "needs encoder.layer.1.output.dense.weight, which the checkpoint lacks" in message
    assert "has shape [64], but encoder.layer.0.intermediate.dense.bias [65] give [65]" in message
    assert "checkpoint weights that this model does not use: qa_outputs.bias, qa_outputs.weight" in message


def test_a_checkpoint_without_pooler(tmp_path):
    folder, config, weights = write_bert_checkpoint(tmp_path / "nopool", weights=random_bert_weights(pooler=False))
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert backbone.pooler is None and set(backbone(packed(tokenizer))) == {"sequence_output"}
    with pytest.raises(CheckpointError, match="pooling='pooled' needs the checkpoint's pooler"):
        from_pretrained(folder, num_classes=2, pooling="pooled")


def test_a_fine_tuned_classifiers_head_is_left_unused_for_the_new_head(tmp_path, caplog):
    # A BertForSequenceClassification checkpoint (a sentiment model, say) was refused for its classifier.* weights;
    # transformers drops them too when it builds a new head.
    folder, config, weights = write_bert_checkpoint(
        tmp_path / "fine-tuned", extra={"classifier.weight": np.ones((3, 32), np.float32),
                                        "classifier.bias": np.ones(3, np.float32)})
    with caplog.at_level(logging.INFO, logger="zoo.converters.pretrained"):
        backbone, tokenizer = from_pretrained(folder, task=None)
    assert_matches_reference(backbone, packed(tokenizer), weights, config)
    assert "left 2 weights unused: the fine-tuned classification head" in caplog.text
    assert from_pretrained(folder, num_classes=2).model.outputs[0].shape[-1] == 2


def test_from_pretrained_takes_build_transformers_names_dropout_is_the_encoders(tmp_path):
    # dropout set only the head's rate, and head_hidden_dim / head_dropout (build_transformer's) were refused.
    folder = write(tmp_path, config={"hidden_dropout_prob": 0.3})
    model = from_pretrained(folder, num_classes=2, dropout=0.2, head_hidden_dim=8).model
    assert (model.backbone.dropout, model.head.dropout, model.head.hidden_dim) == (0.2, 0.2, 8)
    model = from_pretrained(folder, num_classes=2, head_dropout=0.4, attention_dropout=0.05).model
    assert (model.backbone.dropout, model.backbone.attention_dropout, model.head.dropout) == (0.3, 0.05, 0.4)


@pytest.mark.parametrize("given, message", [
    ({"hidden_dim": 8}, r"got hidden_dim \(use head_hidden_dim\); it takes build_transformer's names"),
    ({"backbone_options": {"dropout": 0.1}}, r"got backbone_options \(use dropout and attention_dropout\)"),
    ({"head_dropout": 1.5}, r"`head_dropout` must be a float in \[0, 1\), got 1.5"),
])
def test_from_pretrained_refuses_a_former_name_pointing_to_the_current_one(checkpoint, given, message):
    with pytest.raises((TypeError, ValueError), match=message):
        from_pretrained(checkpoint[0], num_classes=2, **given)
