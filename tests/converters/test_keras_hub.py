"""keras-hub BERT presets into zoo: a preset written by keras-hub's own save_to_preset gives identical outputs."""
import json

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.converters.checkpoints import VOCABULARY
from zoo.converters import CheckpointError, CheckpointFileNotFoundError, UnsupportedCheckpointError, from_pretrained

keras_hub = pytest.importorskip("keras_hub", reason="keras-hub (the dev extra) is not installed")

TEXTS = ["the film is good", "a very dull , boring movie !", ""]


def keras_hub_preset(folder, seed=0):
    """A small random keras-hub BertBackbone and BertTokenizer, saved with keras-hub's save_to_preset."""
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(VOCABULARY), num_layers=2, num_heads=4,
                                             hidden_dim=32, intermediate_dim=64, max_sequence_length=40,
                                             num_segments=2, dropout=0.0)
    rng = np.random.default_rng(seed)
    for weight in backbone.weights:  # not keras-hub's init (zero biases, unit norms): every weight must matter
        weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    backbone.save_to_preset(str(folder))
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(str(folder))
    return backbone


def keras_hub_inputs(packed):
    return {key: packed[key] for key in ("token_ids", "segment_ids", "padding_mask")}


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_hub") / "bert_tiny"
    return folder, keras_hub_preset(folder)


def test_a_saved_preset_loads_with_identical_outputs(preset):
    folder, reference = preset
    backbone, tokenizer = from_pretrained(folder, task=None)
    assert backbone.blocks[0].feedforward.activation == "gelu_tanh" and not backbone.blocks[0].norm_first
    assert tokenizer.lowercase and tokenizer.strip_accents is False and tokenizer.cls_id == 101
    packed = {k: v.numpy() for k, v in tokenizer.pack(tf.constant(TEXTS), tf.constant(TEXTS[::-1]),
                                                      sequence_length=24).items()}
    ours, theirs = backbone(packed), reference(keras_hub_inputs(packed))
    real = packed["padding_mask"]
    np.testing.assert_allclose(ours["sequence_output"].numpy()[real], theirs["sequence_output"].numpy()[real],
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), theirs["pooled_output"].numpy(), rtol=0, atol=1e-5)


def test_a_classifier_over_a_preset(preset):
    model, tokenizer = from_pretrained(preset[0], num_classes=2)
    np.testing.assert_array_equal(model.backbone.position_embedding.embeddings.numpy(),
                                  preset[1].position_embedding.position_embeddings.numpy())
    assert model.backbone.pooler is None and model.pad_id == tokenizer.pad_id == 0


def copy_preset(source, target):
    target.mkdir()
    for path in source.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(source)).write_bytes(path.read_bytes())
    return target


def edit_json(name, change):
    def edit(folder):
        path = folder / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return edit


def without(name):
    return lambda folder: (folder / name).unlink()


def without_layer_names(folder):
    with h5py.File(folder / "model.weights.h5", "r+") as store:
        del store["layers/reversible_embedding/vars"].attrs["name"]


PRESET_ERRORS = {
    "gpt": (edit_json("config.json", lambda c: {**c, "registered_name": "keras_hub>GPT2Backbone"}),
            UnsupportedCheckpointError, r"gpt/config.json, key 'registered_name': registered_name "
            r"'keras_hub>GPT2Backbone' is not supported; supported: keras_hub>BertBackbone"),
    "noweights": (without("model.weights.h5"), CheckpointFileNotFoundError,
                  "noweights/model.weights.h5: weights not found"),
    "notok": (without("tokenizer.json"), CheckpointFileNotFoundError,
              "notok/tokenizer.json: tokenizer config not found"),
    "novocab": (without("assets/tokenizer/vocabulary.txt"), FileNotFoundError,
                "novocab/assets/tokenizer/vocabulary.txt: vocabulary file not found"),
    "nosplit": (edit_json("tokenizer.json", lambda c: {**c, "config": {**c["config"], "split": False}}),
                UnsupportedCheckpointError, "key 'config.split': split false"),
    "nameless": (without_layer_names, CheckpointError,
                 "model.weights.h5: layer group /layers/reversible_embedding has no 'name' attribute"),
    "dropout": (edit_json("config.json", lambda c: {**c, "config": {**c["config"], "dropout": None}}),
                CheckpointError, r"key 'config.dropout': config.dropout must be a number in \[0, 1\), not None"),
    "special": (edit_json("tokenizer.json", lambda c: {**c, "config": {**c["config"],
                                                                     "special_tokens_in_strings": True}}),
                UnsupportedCheckpointError, "key 'config.special_tokens_in_strings': special_tokens_in_strings true"),
    "flag": (edit_json("tokenizer.json", lambda c: {**c, "config": {**c["config"], "lowercase": "yes"}}),
             CheckpointError, "flag/tokenizer.json, key 'config.lowercase': config.lowercase must be true or false"),
    "oov": (edit_json("tokenizer.json", lambda c: {**c, "config": {**c["config"], "oov_token": None}}),
            CheckpointError, "oov/tokenizer.json, key 'config.oov_token': config.oov_token must be a token string"),
    "lfs": (lambda folder: (folder / "model.weights.h5").write_text("version https://git-lfs.github.com/spec/v1\n"),
            CheckpointError, "lfs/model.weights.h5: a Git LFS pointer, not the weights"),
    "small": (edit_json("config.json", lambda c: {**c, "config": {**c["config"], "num_layers": 1}}),
              CheckpointError, "checkpoint weights that this model does not use: transformer_layer_1/"),
}


@pytest.mark.parametrize("name", PRESET_ERRORS)
def test_preset_errors_name_the_file_and_key(preset, tmp_path, name):
    change, error, message = PRESET_ERRORS[name]
    folder = copy_preset(preset[0], tmp_path / name)
    change(folder)
    with pytest.raises(error, match=message):
        from_pretrained(folder, num_classes=2)


def assert_same_outputs(folder, reference):
    backbone, tokenizer = from_pretrained(folder, task=None)
    packed = {k: v.numpy() for k, v in tokenizer.pack(tf.constant(TEXTS), sequence_length=16).items()}
    ours, theirs = backbone(packed), reference(keras_hub_inputs(packed))
    real = packed["padding_mask"]
    np.testing.assert_allclose(ours["sequence_output"].numpy()[real], theirs["sequence_output"].numpy()[real],
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), theirs["pooled_output"].numpy(), rtol=0, atol=1e-5)


def test_a_keras_nlp_preset_loads_as_keras_hub_loads_it(preset, tmp_path):
    # keras-nlp (keras-hub's former name) presets name their classes keras_nlp>...; keras-hub reads them.
    folder = copy_preset(preset[0], tmp_path / "keras_nlp")
    for name in ("config.json", "tokenizer.json"):
        edit_json(name, lambda c: {**c, "registered_name": c["registered_name"].replace("keras_hub>", "keras_nlp>")})(
            folder)
    assert_same_outputs(folder, keras_hub.models.BertBackbone.from_preset(str(folder)))


def test_a_bfloat16_preset_loads_its_values(tmp_path):
    # Keras writes bfloat16 weights as opaque HDF5 values with a dtype attribute.
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(VOCABULARY), num_layers=1, num_heads=4,
                                             hidden_dim=32, intermediate_dim=64, max_sequence_length=40,
                                             num_segments=2, dropout=0.0, dtype="bfloat16")
    rng = np.random.default_rng(0)
    for weight in backbone.weights:
        weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    backbone.save_to_preset(str(tmp_path))
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(str(tmp_path))
    assert_same_outputs(tmp_path, keras_hub.models.BertBackbone.from_preset(str(tmp_path), dtype="float32"))


@pytest.mark.parametrize("key, value, text", [
    ("strip_accents", None, "café"),  # stripped, caf ##e; keras-hub tests the flag for truth: [UNK]
    ("split_on_cjk", False, "中文"),  # split, [UNK] [UNK]; not split, one word: [UNK]
])
def test_tokenizer_flags_give_keras_hubs_ids(preset, tmp_path, key, value, text):
    folder = copy_preset(preset[0], tmp_path / key)
    edit_json("tokenizer.json", lambda c: {**c, "config": {**c["config"], key: value}})(folder)
    texts = [text, "the film"]
    theirs = keras_hub.models.BertTokenizer.from_preset(str(folder))(texts)
    ours = from_pretrained(folder, task=None).tokenizer.tokenize(tf.constant(texts)).to_list()
    assert [row[1:-1] for row in ours] == [list(np.asarray(row)) for row in theirs] and ours[0][1:-1] == [100]
