"""The base of zoo's models: a functional graph built in ``__init__`` and rebuilt from its arguments."""
import keras
from keras import ops

from zoo.models.backbone import Backbone


class Task(keras.Model):
    """A ``keras.Model`` whose functional graph is built in ``__init__``; ``get_config`` returns its arguments.

    Subclasses create their layers as attributes, build the graph, call
    ``super().__init__(inputs=..., outputs=..., **kwargs)`` and extend ``get_config`` with their arguments.
    A ``backbone`` argument is serialised with the task and rebuilt first by ``from_config``, as in keras-hub.

    Every zoo classifier (the Transformer's, the LSTM's, the CNN's) offers what serving and training read:
    ``vocab_size``, ``sequence_length`` (its position range, or ``None`` when it has none), ``masks_padding``
    (whether padded positions leave the output unchanged), ``mode``, ``num_classes``, ``pad_id`` and
    ``num_segments`` (``None`` when it takes ``token_ids`` alone, else it takes a dict with ``segment_ids``).
    """

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }
        if getattr(self, "backbone", None) is not None:
            config["backbone"] = keras.layers.serialize(self.backbone)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.get(config["dtype"])
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


def check_pad_id(pad_id, vocab_size):
    """Return ``pad_id`` if it is an id of the vocabulary, else raise a ValueError naming it."""
    if isinstance(pad_id, bool) or not isinstance(pad_id, int) or not 0 <= pad_id < vocab_size:
        raise ValueError(f"`pad_id` must be a token id in [0, {vocab_size}) (the tokenizer's [PAD] id), "
                         f"got {pad_id!r}")
    return pad_id


def padding_mask(token_ids, pad_id):
    """``[batch, T]`` bool: true where ``token_ids`` is a real token, not ``pad_id``."""
    return ops.not_equal(token_ids, pad_id)


def token_inputs(backbone, pad_id):
    """The Keras inputs of a task over ``backbone``, and the backbone inputs they give.

    Args:
        backbone: A ``zoo.models.Backbone``.
        pad_id: The padding id; ``padding_mask`` is ``token_ids != pad_id``.

    Returns:
        ``(inputs, backbone_inputs)``: ``inputs`` maps ``token_ids`` (and ``segment_ids`` when the backbone has
        segments) to ``keras.Input``s; ``backbone_inputs`` adds the derived ``padding_mask``.
    """
    check_pad_id(pad_id, backbone.vocab_size)
    inputs = {"token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids")}
    if backbone.num_segments:
        inputs["segment_ids"] = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
    return inputs, {**inputs, "padding_mask": padding_mask(inputs["token_ids"], pad_id)}


def check_backbone(backbone, causal=False):
    """Raise a ValueError unless ``backbone`` is a zoo ``Backbone`` of the wanted kind."""
    if not isinstance(backbone, Backbone):
        raise ValueError(f"`backbone` must be a zoo.models.Backbone, got {type(backbone).__name__}")
    if backbone.causal != causal:
        kind = "causal" if causal else "bidirectional"
        raise ValueError(f"this task needs a {kind} backbone, got backbone {backbone.name!r} with causal="
                         f"{backbone.causal}")
    return backbone

