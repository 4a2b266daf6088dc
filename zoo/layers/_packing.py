"""Token packing: position-wise sub-layers computed on the real tokens of a padded batch only.

A batch ``[batch, T, d]`` whose padding mask keeps ``N`` real tokens is packed to ``[N, d]`` rows, so dense
layers, norms, activations and dropout do ``N / (batch * T)`` of the padded work; the attention core, the one
computation that mixes positions, still sees the padded layout. The row count depends on the data, which
TensorFlow graphs (XLA included) allow and JAX's tracing does not. A batch without padding is gathered too: a
`cond` that skipped it gave gradients with mismatched shapes inside `tf.function` (TensorFlow 2.21).
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
