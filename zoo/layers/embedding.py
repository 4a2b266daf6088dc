"""Token and position embeddings."""
import keras
from keras import ops

from zoo.layers import _validation as check

POSITIONAL = ("learned", "sinusoidal")


def sinusoidal_table(length, dim, max_wavelength=10000, start_index=0):
    """Return the ``[length, dim]`` float32 sine/cosine position table of "Attention Is All You Need".

    Args:
        length: Number of positions.
        dim: Feature size (sines fill the even features, cosines the odd ones).
        max_wavelength: Longest wavelength.
        start_index: Position of the first row.

    Example:
        >>> ops.convert_to_numpy(sinusoidal_table(3, 4)).round(2)
        array([[ 0.  ,  1.  ,  0.  ,  1.  ],
               [ 0.84,  0.54,  0.01,  1.  ],
               [ 0.91, -0.42,  0.02,  1.  ]], dtype=float32)
    """
    positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
    exponents = ops.cast(2 * (ops.arange(dim) // 2), "float32") / float(dim)
    angles = positions[:, None] / ops.power(float(max_wavelength), exponents)[None, :]
    even = (ops.arange(dim) % 2) == 0
    return ops.where(even[None, :], ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="zoo")
class TokenEmbedding(keras.layers.Layer):
    """A ``[vocab_size, d_model]`` token table; ``reverse=True`` projects hidden states back onto it.

    The reverse call ties a language model's output projection to its input embedding.

    Args:
        vocab_size: Number of token ids.
        d_model: Embedding size.
        embeddings_initializer: Initializer of the table (the weight ``embeddings``).
        **kwargs: Standard layer arguments.

    Example:
        >>> emb = TokenEmbedding(vocab_size=100, d_model=16)
        >>> x = emb(ops.array([[5, 7, 0]]))
        >>> tuple(x.shape), tuple(emb(x, reverse=True).shape)
        ((1, 3, 16), (1, 3, 100))
    """

    def __init__(self, vocab_size, d_model, embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check.positive_int("vocab_size", vocab_size)
        self.d_model = check.positive_int("d_model", d_model)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        # A reverse call passes the hidden states' padding mask on to the logits.
        self.supports_masking = True

    def build(self, input_shape=None):
        # Not autocast: under a mixed policy every call would cast the whole table (2 ms of a 12 ms batch-1
        # MiniLM forward in bfloat16); `call` casts only the rows it gathers.
        self.embeddings = self.add_weight(name="embeddings", shape=(self.vocab_size, self.d_model),
                                          initializer=self.embeddings_initializer, autocast=False)
        self.built = True

    def call(self, inputs, reverse=False):
        """Embed int ids ``[batch, T]``; with ``reverse=True`` map ``[batch, T, d_model]`` to float32 logits."""
        if reverse:
            table = ops.cast(ops.convert_to_tensor(self.embeddings), inputs.dtype)
            return ops.cast(ops.matmul(inputs, ops.transpose(table)), "float32")
        return ops.cast(ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0), self.compute_dtype)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor(tuple(inputs.shape[:-1]) + (self.vocab_size,), dtype="float32")
        return keras.KerasTensor(tuple(inputs.shape) + (self.d_model,), dtype=self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size,
            "d_model": self.d_model,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config


@keras.saving.register_keras_serializable(package="zoo")
class PositionEmbedding(keras.layers.Layer):
    """The position signal ``[1, T, d_model]`` of a sequence: a learned table or fixed sinusoids.

    Args:
        sequence_length: Number of positions the signal covers (the rows of a learned table); positions past it
            raise a ValueError where the input length and ``start_index`` are known before running.
        d_model: Embedding size.
        positional: ``"learned"`` (a trained table, the weight ``embeddings``) or ``"sinusoidal"`` (no weights).
        max_wavelength: Longest wavelength of the sinusoids.
        embeddings_initializer: Initializer of a learned table.
        **kwargs: Standard layer arguments.

    Example:
        >>> positions = PositionEmbedding(sequence_length=8, d_model=16)
        >>> tuple(positions(ops.zeros((2, 5), "int32")).shape)
        (1, 5, 16)
    """

    def __init__(self, sequence_length, d_model, positional="learned", max_wavelength=10000,
                 embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = check.positive_int("sequence_length", sequence_length)
        self.d_model = check.positive_int("d_model", d_model)
        self.positional = check.choice("positional", positional, POSITIONAL)
        self.max_wavelength = check.positive_int("max_wavelength", max_wavelength)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape=None):
        if self.positional == "learned":
            # Not autocast, as TokenEmbedding's table: `call` casts the rows it slices.
            self.embeddings = self.add_weight(name="embeddings", shape=(self.sequence_length, self.d_model),
                                              initializer=self.embeddings_initializer, autocast=False)
        self.built = True

    def call(self, inputs, start_index=0):
        """The signal of positions ``start_index ..`` for ``inputs`` of length ``T`` (ids or features; axis 1)."""
        length = ops.shape(inputs)[1]
        # Past the table JAX's slice clamps (silently wrong rows) and TensorFlow's fails deep in the graph.
        check.positions("start_index", start_index, length, self.sequence_length, "sequence_length")
        if self.positional == "learned":
            table = ops.slice(ops.convert_to_tensor(self.embeddings), (start_index, 0), (length, self.d_model))
        else:
            table = sinusoidal_table(length, self.d_model, self.max_wavelength, start_index)
        return ops.cast(table, self.compute_dtype)[None]

    def compute_output_spec(self, inputs, start_index=0):
        # Spelled out because tracing `call` with a symbolic length fails on JAX (the table slice).
        return keras.KerasTensor((1, inputs.shape[1], self.d_model), dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "sequence_length": self.sequence_length,
            "d_model": self.d_model,
            "positional": self.positional,
            "max_wavelength": self.max_wavelength,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config
