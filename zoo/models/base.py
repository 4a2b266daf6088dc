"""The base of zoo's models: a functional graph built in ``__init__`` and rebuilt from its arguments."""
import inspect

import keras

# The keras.Model arguments a zoo model passes on (``get_config`` returns them).
MODEL_ARGUMENTS = ("name", "trainable", "dtype")


class FunctionalModel(keras.Model):
    """A ``keras.Model`` whose functional graph is built in ``__init__``; ``get_config`` returns its arguments.

    Subclasses create their layers as attributes, build the graph, call
    ``super().__init__(inputs=..., outputs=..., **kwargs)`` and extend ``get_config`` with their arguments, as
    keras-hub's backbones and tasks do (Keras' own functional config would rebuild a plain ``keras.Model``).

    Every zoo classifier (the Transformer's, the LSTM's, the CNN's) offers what serving and training read:
    ``vocab_size``, ``sequence_length`` (its position range, or ``None`` when it has none), ``masks_padding``
    (whether padded positions leave the output unchanged), ``mode``, ``num_classes``, ``pad_id`` and
    ``num_segments`` (``None`` when it takes ``token_ids`` alone, else it takes a dict with ``segment_ids``).
    """

    def __init__(self, inputs, outputs, **kwargs):
        # Keras' functional Model drops keyword arguments it does not know without a word, so a misspelt argument
        # of a zoo model (``poling="max"``) would leave its default in place.
        unknown = sorted(set(kwargs) - set(MODEL_ARGUMENTS))
        if unknown:
            own = [name for name, p in inspect.signature(type(self).__init__).parameters.items()
                   if name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
            raise ValueError(f"{type(self).__name__} does not take {', '.join(unknown)}; it accepts: "
                             f"{', '.join(own + [name for name in MODEL_ARGUMENTS if name not in own])}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }
        # The arguments rebuild every layer trainable: the frozen ones (zoo's `freeze: embedding`, `freeze_blocks`)
        # are named here so that a reloaded model trains only what the saved one did.
        frozen = [layer.name for layer in self.layers if layer.weights and not layer.trainable]
        if frozen:
            config["frozen_layers"] = frozen
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Both applied once built: Model(trainable=True) would make every sublayer trainable, a nested backbone's
        # frozen layers too.
        trainable = config.pop("trainable", True)
        frozen = config.pop("frozen_layers", [])
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.get(config["dtype"])
        model = cls(**config)
        if not trainable:
            model.trainable = False
        for name in frozen:
            model.get_layer(name).trainable = False
        return model
