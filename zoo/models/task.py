"""Tasks over a backbone: the base class and the helpers that turn token ids into the backbone's inputs."""
import keras
from keras import ops

from zoo.models.backbone import Backbone
from zoo.models.base import FunctionalModel


class BackboneTask(FunctionalModel):
    """A task over a ``Backbone``: its sizes are the backbone's, and its ``pad_id`` marks padding.

    The backbone is serialised with the task and rebuilt first by ``from_config``, as in keras-hub.
    """

    @property
    def vocab_size(self):
        return self.backbone.vocab_size

    @property
    def sequence_length(self):
        return self.backbone.sequence_length

    @property
    def num_segments(self):
        return self.backbone.num_segments

    def get_config(self):
        config = super().get_config()
        config.update({"backbone": keras.layers.serialize(self.backbone), "pad_id": self.pad_id})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["backbone"], dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return super().from_config(config)


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


def ids_or_dict(inputs):
    """A task's Keras inputs: the ``token_ids`` input alone when it is the only one (zoo feeds id arrays), else all."""
    return inputs["token_ids"] if len(inputs) == 1 else inputs


def check_backbone(backbone, causal=False):
    """Raise a ValueError unless ``backbone`` is a zoo ``Backbone`` of the wanted kind."""
    if not isinstance(backbone, Backbone):
        raise ValueError(f"`backbone` must be a zoo.models.Backbone, got {type(backbone).__name__}")
    if backbone.causal != causal:
        kind = "causal" if causal else "bidirectional"
        raise ValueError(f"this task needs a {kind} backbone, got backbone {backbone.name!r} with causal="
                         f"{backbone.causal}")
    return backbone

