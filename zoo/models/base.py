"""The base of zoo's models: a functional graph built in ``__init__`` and rebuilt from its arguments."""
import keras


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

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.get(config["dtype"])
        return cls(**config)
