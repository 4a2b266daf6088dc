"""Token packing: position-wise computation on the real tokens of a padded batch only.

A batch ``[batch, T, d]`` whose padding mask keeps ``N`` real tokens is packed to ``[N, d]`` rows, so dense
layers, norms, activations and dropout do ``N / (batch * T)`` of the padded work; the attention core, the one
computation that mixes positions, still sees the padded layout. The row count depends on the data, which
TensorFlow graphs (XLA included) allow and JAX's tracing does not. A batch without padding is gathered too: a
`cond` that reshaped it instead failed inside `tf.function` (TensorFlow 2.21) with shapes of one branch used
for the other's tensors (the dropout mask, the residual add's gradient), however the branches' static shapes
were written.
"""
import keras
from keras import ops


def packing_supported():
    """Whether the backend runs data-dependent shapes inside compiled functions (TensorFlow; not JAX)."""
    return keras.backend.backend() == "tensorflow"


class Packing:
    """The row map of one padding mask: ``pack`` gathers the real tokens' rows, ``unpack`` puts them back.

    Args:
        mask: ``[batch, T]``, true at real tokens.

    Example:
        >>> packing = Packing(ops.array([[True, False], [True, True]]))
        >>> tuple(packing.pack(ops.ones((2, 2, 3))).shape)
        (3, 3)
    """

    def __init__(self, mask):
        self.batch, self.length = ops.shape(mask)[0], ops.shape(mask)[1]
        self.rows = ops.nonzero(ops.reshape(ops.cast(mask, "bool"), (-1,)))[0]

    def pack(self, x):
        """``[batch, T, d]`` -> ``[N, d]``: the real tokens' rows, batch-major."""
        return ops.take(ops.reshape(x, (-1, ops.shape(x)[-1])), self.rows, axis=0)

    def unpack(self, packed):
        """``[N, d]`` -> ``[batch, T, d]`` with zeros at the padded positions."""
        d = ops.shape(packed)[-1]
        flat = ops.scatter(ops.expand_dims(self.rows, -1), packed, (self.batch * self.length, d))
        return ops.reshape(flat, (self.batch, self.length, d))


@keras.saving.register_keras_serializable(package="zoo")
class PackTokens(keras.layers.Layer):
    """``[batch, T, d]`` -> ``[N, d]``: the rows of the ``N`` real tokens of ``padding_mask``, batch-major.

    A stack of encoder blocks packs once, runs every block on the rows (``packed=True``) and unpacks once with
    ``UnpackTokens``. TensorFlow only (see ``packing_supported``).

    Example:
        >>> tuple(PackTokens()(ops.ones((2, 3, 4)), ops.array([[True, True, False], [True, False, False]])).shape)
        (3, 4)
    """

    def call(self, inputs, padding_mask):
        return Packing(padding_mask).pack(inputs)

    def compute_output_shape(self, inputs_shape, padding_mask_shape):
        return (None, inputs_shape[-1])


@keras.saving.register_keras_serializable(package="zoo")
class UnpackTokens(keras.layers.Layer):
    """``[N, d]`` rows of ``padding_mask``'s real tokens -> ``[batch, T, d]``, zeros at padded positions.

    Example:
        >>> mask = ops.array([[True, True, False], [True, False, False]])
        >>> tuple(UnpackTokens()(ops.ones((3, 4)), mask).shape)
        (2, 3, 4)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The rows arrive with the blocks' [batch, T] padding mask attached; it is the unpacked output's mask.
        self.supports_masking = True

    def call(self, rows, padding_mask):
        return Packing(padding_mask).unpack(rows)

    def compute_output_shape(self, rows_shape, padding_mask_shape):
        return tuple(padding_mask_shape) + (rows_shape[-1],)
