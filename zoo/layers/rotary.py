"""Rotary position embedding (RoFormer) applied to query and key heads."""
import keras
from keras import ops

from zoo.layers import _validation as check


@keras.saving.register_keras_serializable(package="zoo")
class RotaryEmbedding(keras.layers.Layer):
    """Rotates pairs of features by a position-dependent angle, so dot products see relative positions.

    Uses the "rotate half" layout: feature ``i`` is paired with feature ``i + dim/2``. Has no weights.

    Args:
        max_wavelength: Longest wavelength of the rotation frequencies.
        scaling_factor: Positions are divided by this factor (>1 stretches the usable context).
        **kwargs: Standard layer arguments.

    Example:
        >>> rope = RotaryEmbedding()
        >>> q = keras.random.normal((2, 16, 4, 32))  # [batch, time, heads, head_dim]
        >>> tuple(rope(q).shape)
        (2, 16, 4, 32)
    """

    def __init__(self, max_wavelength=10000, scaling_factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = check.positive_int("max_wavelength", max_wavelength)
        self.scaling_factor = check.positive_float("scaling_factor", scaling_factor)
        self.built = True

    def call(self, inputs, start_index=0):
        """Rotate ``inputs`` of shape ``[batch, time, heads, dim]``; ``start_index`` offsets the positions."""
        dim = inputs.shape[-1]
        if dim % 2:
            raise ValueError(f"RotaryEmbedding needs an even feature size, got {dim}")
        half = dim // 2
        seq_len = ops.shape(inputs)[1]
        inv_freq = 1.0 / ops.power(
            float(self.max_wavelength), ops.arange(0, half, dtype="float32") / float(half)
        )
        positions = (ops.arange(seq_len, dtype="float32") + ops.cast(start_index, "float32")) / self.scaling_factor
        angles = ops.einsum("t,f->tf", positions, inv_freq)
        cos = ops.cast(ops.cos(angles), inputs.dtype)[None, :, None, :]
        sin = ops.cast(ops.sin(angles), inputs.dtype)[None, :, None, :]
        x1, x2 = inputs[..., :half], inputs[..., half:]
        return ops.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength, "scaling_factor": self.scaling_factor})
        return config
