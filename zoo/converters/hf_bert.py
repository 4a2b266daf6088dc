"""Hugging Face BERT checkpoints: ``config.json`` to backbone arguments, ``model.safetensors`` to its weights.

The folder is what ``transformers`` writes (``save_pretrained``) or the Hub serves: ``config.json`` with
``model_type: bert``; the weights in ``model.safetensors`` or in shards listed by
``model.safetensors.index.json``; the tokenizer's ``vocab.txt`` and ``tokenizer_config.json``. Weights are read
with ``safetensors``' numpy backend only: zoo never unpickles (``pytorch_model.bin``) and never runs code from
the folder. Keys may carry the ``bert.`` prefix of ``BertFor*`` models.
"""
import json
from pathlib import Path

import numpy as np

from zoo.converters.errors import (
    CheckpointError,
    CheckpointFileNotFoundError,
    UnsupportedCheckpointError,
    config_rate,
    unreadable_weights,
)
from zoo.converters.porting import Transfer, fused_bias, fused_linear, linear

WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
# Weight files transformers writes for its TensorFlow and Flax models -> (framework, the from_pretrained option
# that reads them).
OTHER_FORMATS = {"tf_model.h5": ("TensorFlow", ", from_tf=True"), "flax_model.msgpack": ("Flax", ", from_flax=True")}
MODEL_TYPES = ("bert",)
# hidden_act -> zoo activation, for the activations that transformers computes as zoo does. Its "gelu" and
# "gelu_python" are the exact erf form; "gelu_new", "gelu_pytorch_tanh" and "gelu_fast" the tanh approximation;
# "silu" and "swish" are both x * sigmoid(x). (Its "leaky_relu" has slope 0.01 where zoo's has 0.2.)
ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
               "gelu_fast": "gelu_tanh", "relu": "relu", "silu": "swish", "swish": "swish"}
# transformers' BertConfig defaults, for keys a config.json leaves out.
DEFAULTS = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
            "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"}
PREFIX = "bert."
# Checkpoint weights a backbone may leave unused: BertForPreTraining's and BertForMaskedLM's heads, and the head
# of a checkpoint already fine-tuned (BertForSequenceClassification), whose classes are not the new task's.
HEADS = (("cls.predictions.", "the masked-LM head, which this task does not use"),
         ("cls.seq_relationship.", "the next-sentence head, which this task does not use"),
         ("classifier.", "the fine-tuned classification head, which this task does not use (a new head is trained)"))
POOLER = ("pooler.", "the pooler, which this task does not use")
_POSITION_IDS = "embeddings.position_ids"
# Names of LayerNorm weights in checkpoints converted from TensorFlow's BERT, as transformers renames them.
_LEGACY_NAMES = {".LayerNorm.gamma": ".LayerNorm.weight", ".LayerNorm.beta": ".LayerNorm.bias"}


def is_checkpoint(config):
    """Whether a parsed ``config.json`` is a Hugging Face model config (it has ``model_type``)."""
    return "model_type" in config


def backbone_arguments(config, path):
    """``zoo.models.Backbone`` arguments equivalent to a BERT ``config.json`` (BERT: post-LN, learned positions).

    Args:
        config: The parsed ``config.json``.
        path: Its path, for messages.

    Raises:
        UnsupportedCheckpointError: Not ``model_type: bert``, an activation zoo does not compute (e.g.
            ``quick_gelu``), relative positions or a decoder configuration; the message lists what is supported.

    Example:
        >>> config = json.loads(Path("checkpoints/all-MiniLM-L6-v2/config.json").read_text())
        >>> backbone_arguments(config, "config.json")["activation"]
        'gelu'
    """
    model_type = config.get("model_type")
    if model_type not in MODEL_TYPES:
        raise UnsupportedCheckpointError(f"model_type {model_type!r} is not supported; supported: "
                                         f"{', '.join(MODEL_TYPES)}", path=path, key="model_type")
    c = {**DEFAULTS, **config}
    if not isinstance(c["hidden_act"], str) or c["hidden_act"] not in ACTIVATIONS:
        raise UnsupportedCheckpointError(f"hidden_act {c['hidden_act']!r} is not supported; supported: "
                                         f"{', '.join(ACTIVATIONS)}", path=path, key="hidden_act")
    if c["position_embedding_type"] != "absolute":
        raise UnsupportedCheckpointError(f"position_embedding_type {c['position_embedding_type']!r} is not "
                                         "supported; supported: absolute", path=path, key="position_embedding_type")
    for key in ("is_decoder", "add_cross_attention"):
        if c.get(key):
            raise UnsupportedCheckpointError(f"{key} is true: zoo imports BERT encoders only", path=path, key=key)
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "max_position_embeddings", "type_vocab_size"):
        if isinstance(c[key], bool) or not isinstance(c[key], int) or c[key] < 1:
            raise CheckpointError(f"{key} must be a positive integer, not {c[key]!r}", path=path, key=key)
    epsilon = c["layer_norm_eps"]
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise CheckpointError(f"layer_norm_eps must be a positive number, not {epsilon!r}", path=path,
                              key="layer_norm_eps")
    if c["hidden_size"] % c["num_attention_heads"]:
        raise CheckpointError(f"num_attention_heads {c['num_attention_heads']} does not divide hidden_size "
                              f"{c['hidden_size']}", path=path, key="num_attention_heads")
    return {
        "vocab_size": c["vocab_size"], "sequence_length": c["max_position_embeddings"],
        "num_layers": c["num_hidden_layers"], "d_model": c["hidden_size"], "num_heads": c["num_attention_heads"],
        "ff_dim": c["intermediate_size"], "dropout": config_rate(c["hidden_dropout_prob"], "hidden_dropout_prob", path),
        "attention_dropout": config_rate(c["attention_probs_dropout_prob"], "attention_probs_dropout_prob", path),
        "activation": ACTIVATIONS[c["hidden_act"]], "positional": "learned", "norm_first": False,
        "layer_norm_epsilon": float(epsilon),
        "num_segments": c["type_vocab_size"], "embedding_norm": True, "final_norm": False,
    }


def read_weights(folder):
    """``{key: numpy array}`` of a checkpoint folder, ``bert.`` prefix removed, legacy names updated.

    Reads ``model.safetensors``, or every shard that ``model.safetensors.index.json`` lists, each whole.

    Raises:
        CheckpointFileNotFoundError: Neither file is there (naming both, and any weights of another format with
            the way to convert them), or a listed shard is missing.
        CheckpointError: An unreadable file, a shard without the keys the index puts in it, a weight in two
            shards, mixed prefixes.

    Example:
        >>> read_weights("checkpoints/all-MiniLM-L6-v2")["embeddings.word_embeddings.weight"].shape
        (30522, 384)
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)

    def load(path):
        try:
            return load_file(path)
        except (SafetensorError, OSError) as error:
            raise unreadable_weights(path, "safetensors", error) from None

    if (folder / WEIGHTS_FILE).is_file():
        weights = load(folder / WEIGHTS_FILE)
    elif (folder / INDEX_FILE).is_file():
        weights = _read_shards(folder, load)
    else:
        pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt*")]
        found = [name for name in OTHER_FORMATS if (folder / name).is_file()]
        hints = [f"{', '.join(sorted(pickled))} is pickled, which zoo never loads"] if pickled else []
        hints += [f"{name} holds {OTHER_FORMATS[name][0]} weights, which zoo does not read" for name in found]
        if hints:
            # transformers reads pytorch_model.bin by default, the other formats with an option.
            option = "" if pickled else OTHER_FORMATS[found[0]][1]
            hints.append(f"convert the weights to safetensors: in transformers, "
                         f"BertModel.from_pretrained(folder{option}).save_pretrained(folder) writes {WEIGHTS_FILE}")
        raise CheckpointFileNotFoundError(f"{folder / WEIGHTS_FILE}: weights not found (nor {INDEX_FILE} for "
                                          f"sharded weights){''.join('; ' + hint for hint in hints)}",
                                          path=folder / WEIGHTS_FILE)
    return _normalise_keys(weights, folder)


def _read_shards(folder, load):
    index_path = folder / INDEX_FILE
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise CheckpointError(f"not a safetensors index with a weight_map ({error!r})", path=index_path) from None
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"weight_map must map each weight to its shard file, not {weight_map!r:.80}",
                              path=index_path, key="weight_map")
    for key, shard in weight_map.items():
        if not isinstance(shard, str) or not shard:
            raise CheckpointError(f"weight_map puts {key} in {shard!r}, not in a shard file", path=index_path,
                                  key="weight_map")
    # Every array of a shard is read, not only the ones the index lists (as transformers reads shards): a weight
    # that a stale index leaves out is then used, or reported as unused, like any other, never dropped unseen.
    weights, holder = {}, {}
    for shard in sorted(set(weight_map.values())):
        path = folder / shard
        if not path.is_file():
            raise CheckpointFileNotFoundError(f"{path}: weight shard listed in {index_path} not found", path=path)
        arrays = load(path)
        listed = {key for key, name in weight_map.items() if name == shard}
        absent = sorted(listed - set(arrays))
        if absent:
            raise CheckpointError(f"{index_path} puts {', '.join(absent[:5])} in {shard}, which lacks them",
                                  path=path)
        twice = sorted(set(arrays) & set(weights))
        if twice:
            raise CheckpointError(f"{shard} and {holder[twice[0]]} both hold {', '.join(twice[:5])}: a weight "
                                  f"belongs in one shard, the one {INDEX_FILE} names", path=path)
        weights.update(arrays)
        holder.update(dict.fromkeys(arrays, shard))
    return weights


def _normalise_keys(weights, folder):
    prefixed = {key for key in weights if key.startswith(PREFIX)}
    plain_backbone = {key for key in weights if key.startswith(("embeddings.", "encoder.", "pooler."))}
    if prefixed and plain_backbone:
        raise CheckpointError(f"weights both with and without the {PREFIX!r} prefix (e.g. {min(prefixed)} and "
                              f"{min(plain_backbone)}): one checkpoint holds one model", path=folder)
    out = {}
    for key, value in weights.items():
        key = key[len(PREFIX):] if key in prefixed else key
        for old, new in _LEGACY_NAMES.items():
            if key.endswith(old):
                key = key[:-len(old)] + new
        out[key] = value
    # A buffer, not a weight: transformers saves it in older checkpoints. zoo's positions are always 0..T-1.
    position_ids = out.pop(_POSITION_IDS, None)
    if position_ids is not None and not np.array_equal(np.ravel(position_ids), np.arange(np.size(position_ids))):
        raise CheckpointError(f"{_POSITION_IDS} is not 0, 1, ..., n-1; zoo numbers positions from 0",
                              path=folder, key=_POSITION_IDS)
    return out


def transfers(backbone):
    """The ``Transfer`` of every backbone variable from BERT's weight names (see ``zoo.models.Backbone``)."""
    t = [Transfer(backbone.token_embedding.embeddings, ("embeddings.word_embeddings.weight",)),
         Transfer(backbone.position_embedding.embeddings, ("embeddings.position_embeddings.weight",)),
         Transfer(backbone.segment_embedding.embeddings, ("embeddings.token_type_embeddings.weight",)),
         *_norm(backbone.embedding_norm, "embeddings.LayerNorm")]
    for i, block in enumerate(backbone.blocks):
        layer = f"encoder.layer.{i}."
        attention = layer + "attention.self."
        t += [Transfer(block.attention.qkv_dense.kernel,
                       tuple(f"{attention}{part}.weight" for part in ("query", "key", "value")), fused_linear),
              Transfer(block.attention.qkv_dense.bias,
                       tuple(f"{attention}{part}.bias" for part in ("query", "key", "value")), fused_bias),
              *_dense(block.attention.output_dense, layer + "attention.output.dense"),
              *_norm(block.attention_norm, layer + "attention.output.LayerNorm"),
              *_dense(block.feedforward.hidden, layer + "intermediate.dense"),
              *_dense(block.feedforward.projection, layer + "output.dense"),
              *_norm(block.feedforward_norm, layer + "output.LayerNorm")]
    if backbone.pooler is not None:
        t += _dense(backbone.pooler, "pooler.dense")
    return t


def _dense(layer, name):
    return [Transfer(layer.kernel, (f"{name}.weight",), linear), Transfer(layer.bias, (f"{name}.bias",))]


def _norm(layer, name):
    return [Transfer(layer.gamma, (f"{name}.weight",)), Transfer(layer.beta, (f"{name}.bias",))]


def has_pooler(weights):
    """Whether the checkpoint holds BERT's pooler."""
    return "pooler.dense.weight" in weights
