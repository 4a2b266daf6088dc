"""Token and position embeddings."""
import keras
from keras import ops

from zoo.layers import _validation as check

POSITIONAL = ("learned", "sinusoidal", "none")


def sinusoidal_table(length, dim, max_wavelength=10000, start_index=0):
    """Return the ``[length, dim]`` float32 sine/cosine position table of "Attention Is All You Need".

    Args:
        length: Number of positions.
        dim: Feature size (sines fill the even features, cosines the odd ones).
        max_wavelength: Longest wavelength.
        start_index: Position of the first row.

    Example:
        >>> sinusoidal_table(4, 8).shape
        (4, 8)
    """
    positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
    exponents = ops.cast(2 * (ops.arange(dim) // 2), "float32") / float(dim)
    angles = positions[:, None] / ops.power(float(max_wavelength), exponents)[None, :]
    even = (ops.arange(dim) % 2) == 0
    return ops.where(even[None, :], ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="zoo")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed sine/cosine position encodings with no weights, shaped like the input.

    Args:
        max_wavelength: Longest wavelength of the sinusoids.
        **kwargs: Standard layer arguments.

    Example:
        >>> enc = SinusoidalPositionEncoding()
        >>> enc(keras.random.normal((2, 5, 16))).shape
        (2, 5, 16)
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = check.positive_int("max_wavelength", max_wavelength)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        table = sinusoidal_table(shape[-2], inputs.shape[-1], self.max_wavelength, start_index)
        return ops.broadcast_to(ops.cast(table, self.compute_dtype), shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["max_wavelength"] = self.max_wavelength
        return config


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token embedding plus a position signal, with an optional padding mask from id 0.

    Called with ``reverse=True`` on hidden states it projects them back onto the vocabulary with the same
    token table, which ties input and output embeddings of language models.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Longest sequence the position signal covers.
        d_model: Embedding size.
        positional: ``"learned"`` (a trained table), ``"sinusoidal"`` (fixed, no weights) or ``"none"``
            (for models whose attention adds positions itself, e.g. rotary).
        mask_zero: Emit a Keras mask that is false where the id is 0 (``[PAD]``).
        scale_embeddings: Multiply token embeddings by ``sqrt(d_model)`` as in the original Transformer.
        embeddings_initializer: Initializer of the token (and learned position) tables.
        **kwargs: Standard layer arguments.

    Example:
        >>> emb = TokenAndPositionEmbedding(vocab_size=100, sequence_length=8, d_model=16)
        >>> ids = ops.array([[5, 7, 0, 0]])
        >>> emb(ids).shape, emb.compute_mask(ids).tolist()
        ((1, 4, 16), [[True, True, False, False]])
    """

    def __init__(self, vocab_size, sequence_length, d_model, positional="learned", mask_zero=True,
                 scale_embeddings=False, embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check.positive_int("vocab_size", vocab_size)
        self.sequence_length = check.positive_int("sequence_length", sequence_length)
        self.d_model = check.positive_int("d_model", d_model)
        self.positional = check.choice("positional", positional, POSITIONAL)
        self.mask_zero = bool(mask_zero)
        self.scale_embeddings = bool(scale_embeddings)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.supports_masking = self.mask_zero

    def build(self, input_shape):
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size, self.d_model, embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy, name="token_embedding",
        )
        self.token_embedding.build(input_shape)
        self.position_embedding = None
        if self.positional == "learned":
            self.position_embedding = self.add_weight(
                name="position_embedding", shape=(self.sequence_length, self.d_model),
                initializer=self.embeddings_initializer,
            )
        self.built = True

    def call(self, inputs, start_index=0, reverse=False):
        """Embed ids ``[batch, T]``; ``start_index`` is the position of ``inputs[:, 0]`` (for cached decoding).

        With ``reverse=True`` map hidden states ``[batch, T, d_model]`` to float32 vocabulary logits through the
        transposed token table (tied input/output embeddings).
        """
        if reverse:
            table = ops.cast(ops.convert_to_tensor(self.token_embedding.embeddings), inputs.dtype)
            return ops.cast(ops.matmul(inputs, ops.transpose(table)), "float32")
        x = self.token_embedding(inputs)
        if self.scale_embeddings:
            x = x * ops.cast(ops.sqrt(float(self.d_model)), x.dtype)
        length = ops.shape(inputs)[-1]
        if self.positional == "learned":
            table = ops.convert_to_tensor(self.position_embedding)
            positions = ops.slice(table, (start_index, 0), (length, self.d_model))
            x = x + ops.cast(positions, x.dtype)[None]
        elif self.positional == "sinusoidal":
            x = x + ops.cast(sinusoidal_table(length, self.d_model, start_index=start_index), x.dtype)[None]
        return x

    def compute_output_spec(self, inputs, start_index=0, reverse=False):
        # Spelled out because tracing `call` with a symbolic length fails on JAX (the position slice).
        if reverse:
            return keras.KerasTensor(tuple(inputs.shape[:-1]) + (self.vocab_size,), dtype="float32")
        return keras.KerasTensor(tuple(inputs.shape) + (self.d_model,), dtype=self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        if "float" in str(inputs.dtype):
            return mask  # a reverse (logits) call keeps the sequence's padding mask
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size,
            "sequence_length": self.sequence_length,
            "d_model": self.d_model,
            "positional": self.positional,
            "mask_zero": self.mask_zero,
            "scale_embeddings": self.scale_embeddings,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config
