"""keras-hub BERT presets: ``config.json`` (``keras_hub>BertBackbone``), ``model.weights.h5``, the tokenizer.

A preset folder is what ``BertBackbone.save_to_preset`` and ``BertTokenizer.save_to_preset`` write. The weights
file is read with ``h5py`` alone (keras-hub is not needed, and nothing is deserialised from the folder): Keras
stores each layer's variables under ``.../vars/0``, ``.../vars/1`` with the layer's name as an attribute, so a
weight's key here is the path of layer names and the variable's index, e.g.
``transformer_layer_0/self_attention_layer/query/0`` (the query kernel).

keras-hub's BERT computes its feed-forward with the tanh approximation of GELU (``gelu_approximate``), whatever
the checkpoint it came from was trained with; a preset is imported as it computes, with ``gelu_tanh``.
"""
import json
from pathlib import Path

import ml_dtypes
import numpy as np

from zoo.converters.errors import (
    CheckpointError,
    CheckpointFileNotFoundError,
    UnsupportedCheckpointError,
    config_rate,
    unreadable_weights,
)
from zoo.converters.porting import Transfer

WEIGHTS_FILE = "model.weights.h5"
TOKENIZER_FILE = "tokenizer.json"
VOCABULARY_FILE = "assets/tokenizer/vocabulary.txt"
# keras-nlp, keras-hub's former name, wrote presets of the same layers under its own name (Kaggle's BERT presets
# before the rename); keras-hub registers its classes under both names and loads them alike.
BACKBONES = ("keras_hub>BertBackbone", "keras_nlp>BertBackbone")
TOKENIZERS = ("keras_hub>BertTokenizer", "keras_nlp>BertTokenizer")
# keras-hub's BertBackbone: post-LN TransformerEncoders with tanh GELU, layer norm epsilon 1e-12.
ACTIVATION = "gelu_tanh"
LAYER_NORM_EPSILON = 1e-12


def is_preset(config):
    """Whether a parsed ``config.json`` is a Keras object config (keras-hub presets have ``registered_name``)."""
    return "registered_name" in config


def backbone_arguments(config, path):
    """``zoo.models.Backbone`` arguments equivalent to a keras-hub ``BertBackbone`` config.

    Raises:
        UnsupportedCheckpointError: Another keras-hub class; the message lists the supported ones.

    Example:
        >>> config = {"registered_name": "keras_hub>BertBackbone", "config": {
        ...     "vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 8, "intermediate_dim": 16,
        ...     "max_sequence_length": 32, "num_segments": 2}}
        >>> backbone_arguments(config, "preset/config.json")["activation"]
        'gelu_tanh'
    """
    name = config.get("registered_name")
    if name not in BACKBONES:
        raise UnsupportedCheckpointError(f"registered_name {name!r} is not supported; supported: "
                                         f"{', '.join(BACKBONES)}", path=path, key="registered_name")
    c = config.get("config")
    keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim", "max_sequence_length",
            "num_segments")
    if not isinstance(c, dict):
        raise CheckpointError("no 'config' object with the backbone's arguments", path=path, key="config")
    for key in keys:
        if isinstance(c.get(key), bool) or not isinstance(c.get(key), int) or c[key] < 1:
            raise CheckpointError(f"config.{key} must be a positive integer, not {c.get(key)!r}", path=path,
                                  key=f"config.{key}")
    dropout = config_rate(c.get("dropout", 0.1), "config.dropout", path)
    return {
        "vocab_size": c["vocabulary_size"], "sequence_length": c["max_sequence_length"],
        "num_layers": c["num_layers"], "d_model": c["hidden_dim"], "num_heads": c["num_heads"],
        "ff_dim": c["intermediate_dim"], "dropout": dropout, "attention_dropout": dropout,
        "activation": ACTIVATION, "positional": "learned", "norm_first": False,
        "layer_norm_epsilon": LAYER_NORM_EPSILON, "num_segments": c["num_segments"], "embedding_norm": True,
        "final_norm": False,
    }


def read_weights(folder):
    """``{layer path/variable index: numpy array}`` from a preset's ``model.weights.h5``.

    Raises:
        CheckpointFileNotFoundError: No ``model.weights.h5``.
        CheckpointError: Not an HDF5 file, or variables without the layer names Keras records.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(100, 8, name="token_embedding")])
        >>> model.save_weights("model.weights.h5")  # keys are the same in a keras-hub preset's file
        >>> read_weights(".")["token_embedding/0"].shape
        (100, 8)
    """
    import h5py

    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointFileNotFoundError(f"{path}: weights not found", path=path)
    weights = {}
    try:
        with h5py.File(path, "r") as store:
            def visit(group, names):
                for child in group.values():
                    if not isinstance(child, h5py.Group):
                        continue
                    if "vars" in child:
                        name = child["vars"].attrs.get("name")
                        if name is None:
                            raise CheckpointError(f"layer group {child.name} has no 'name' attribute: the file "
                                                  "was written by a Keras that does not record layer names; "
                                                  "re-save the preset with a current Keras", path=path)
                        inner = [*names, name.decode() if isinstance(name, bytes) else str(name)]
                        for index, array in child["vars"].items():
                            weights["/".join([*inner, index])] = _array(array)
                        visit(child, inner)
                    elif child.name.rsplit("/", 1)[-1] != "vars":
                        visit(child, names)

            visit(store["layers"] if "layers" in store else store, [])
    except OSError as error:
        raise unreadable_weights(path, "HDF5", error) from None
    return weights


def _array(dataset):
    # HDF5 has no bfloat16: Keras stores it as opaque 2-byte values and marks the dataset with a dtype attribute.
    if dataset.attrs.get("dtype") == "bfloat16":
        return np.array(dataset, dtype=ml_dtypes.bfloat16)
    return dataset[()]


def transfers(backbone):
    """The ``Transfer`` of every backbone variable from a keras-hub ``BertBackbone``'s layers."""
    t = [Transfer(backbone.token_embedding.embeddings, ("token_embedding/0",)),
         Transfer(backbone.position_embedding.embeddings, ("position_embedding/0",)),
         Transfer(backbone.segment_embedding.embeddings, ("segment_embedding/0",)),
         *_pair(backbone.embedding_norm, "embeddings_layer_norm", "gamma", "beta")]
    for i, block in enumerate(backbone.blocks):
        layer = f"transformer_layer_{i}/"
        attention = layer + "self_attention_layer/"
        parts = tuple(attention + part for part in ("query", "key", "value"))
        # keras-hub's EinsumDense kernels are [d_model, heads, head_dim] and biases [heads, head_dim]: flattening
        # the last two axes gives zoo's head-major columns.
        t += [Transfer(block.attention.qkv_dense.kernel, tuple(p + "/0" for p in parts), _fused_heads_kernel),
              Transfer(block.attention.qkv_dense.bias, tuple(p + "/1" for p in parts), _fused_heads_bias),
              Transfer(block.attention.output_dense.kernel, (attention + "attention_output/0",), _heads_rows),
              Transfer(block.attention.output_dense.bias, (attention + "attention_output/1",)),
              *_pair(block.attention_norm, layer + "self_attention_layer_norm", "gamma", "beta"),
              *_pair(block.feedforward.hidden, layer + "feedforward_intermediate_dense", "kernel", "bias"),
              *_pair(block.feedforward.projection, layer + "feedforward_output_dense", "kernel", "bias"),
              *_pair(block.feedforward_norm, layer + "feedforward_layer_norm", "gamma", "beta")]
    if backbone.pooler is not None:
        t += _pair(backbone.pooler, "pooled_dense", "kernel", "bias")
    return t


def _pair(layer, name, first, second):
    return [Transfer(getattr(layer, first), (f"{name}/0",)), Transfer(getattr(layer, second), (f"{name}/1",))]


def _fused_heads_kernel(*kernels):
    return np.concatenate([k.reshape(k.shape[0], -1) for k in kernels], axis=1)


def _fused_heads_bias(*biases):
    return np.concatenate([b.reshape(-1) for b in biases])


def _heads_rows(kernel):
    return kernel.reshape(-1, kernel.shape[-1])


def has_pooler(weights):
    """Whether the preset holds the pooler (``pooled_dense``)."""
    return "pooled_dense/0" in weights


# A preset holds the backbone alone: no pretraining heads to leave unused.
HEADS = ()
POOLER = ("pooled_dense/", "the pooler, which this task does not use")


def tokenizer_options(folder):
    """``BertTokenizer`` arguments and vocabulary file of a preset's ``tokenizer.json``.

    keras-hub's own tokenizer case-folds with NFKC where BERT lower-cases; zoo applies BERT's normalisation
    (the one the vocabulary was made with) with the preset's ``lowercase`` and ``strip_accents``.

    Raises:
        CheckpointFileNotFoundError: No ``tokenizer.json``.
        CheckpointError: ``lowercase``, ``strip_accents`` or ``split_on_cjk`` not true or false, or
            ``oov_token`` not a token string.
        UnsupportedCheckpointError: Another tokenizer class, another suffix, ``split`` off, or
            ``special_tokens_in_strings`` on.
    """
    folder = Path(folder)
    path = folder / TOKENIZER_FILE
    if not path.is_file():
        raise CheckpointFileNotFoundError(f"{path}: tokenizer config not found", path=path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"not a JSON tokenizer config ({error})", path=path) from None
    if config.get("registered_name") not in TOKENIZERS:
        raise UnsupportedCheckpointError(f"registered_name {config.get('registered_name')!r} is not supported; "
                                         f"supported: {', '.join(TOKENIZERS)}", path=path, key="registered_name")
    c = config.get("config") or {}
    if c.get("suffix_indicator", "##") != "##":
        raise UnsupportedCheckpointError(f"suffix_indicator {c['suffix_indicator']!r}: BERT's is '##'", path=path,
                                         key="config.suffix_indicator")
    if c.get("split", True) is not True:
        raise UnsupportedCheckpointError("split false (no word splitting) is not BERT's tokenisation", path=path,
                                         key="config.split")
    if c.get("special_tokens_in_strings"):
        raise UnsupportedCheckpointError("special_tokens_in_strings true (the text '[SEP]' read as the separator) is "
                                         "not supported: zoo never maps text to special tokens; set it to false to "
                                         "tokenise such text as words", path=path,
                                         key="config.special_tokens_in_strings")
    flags = {}
    for key, default in (("lowercase", False), ("strip_accents", False), ("split_on_cjk", True)):
        value = c.get(key, default)
        if value is not None and not isinstance(value, bool):
            raise CheckpointError(f"config.{key} must be true or false, not {value!r}", path=path,
                                  key=f"config.{key}")
        # keras-hub tests the flags for truth: a null strip_accents strips nothing, where zoo's None would follow
        # lowercase.
        flags[key] = bool(value)
    oov_token = c.get("oov_token", "[UNK]")
    if not isinstance(oov_token, str) or not oov_token:
        raise CheckpointError(f"config.oov_token must be a token string, not {oov_token!r}", path=path,
                              key="config.oov_token")
    options = {"lowercase": flags["lowercase"], "strip_accents": flags["strip_accents"],
               "chinese_chars": flags["split_on_cjk"], "special_tokens": {"unk": oov_token}}
    return options, folder / VOCABULARY_FILE
