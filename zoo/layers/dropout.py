"""Dropout that draws half the random numbers ``keras.layers.Dropout`` draws."""
import keras
from keras import ops

from zoo.layers import _validation as check

# Each random 30-bit integer decides two elements (15 bits each). Random-number generation is most of what
# keras.layers.Dropout costs on CPU: forward and backward of a [64, 200, 128] float32 tensor took 10.6 ms of
# CPU with it and 8.6 ms with this, one thread per op (bench/profile_dropout.py; BENCHMARKS.md, issue 16).
BITS = 15
LEVELS = 1 << BITS


@keras.saving.register_keras_serializable(package="zoo")
class Dropout(keras.layers.Layer):
    """Inverted dropout whose rate is rounded to a multiple of 2^-15 (0.1 drops 3277 / 32768 = 0.100006).

    Kept elements are scaled by ``1 / (1 - rounded rate)``, so the expected output is the input; outside
    training the layer is the identity.

    Args:
        rate: Fraction of the elements to zero while training, in ``[0, 1)``.
        seed: Seed of the layer's random stream; ``None`` for a random one.
        **kwargs: Standard layer arguments.

    Example:
        >>> layer = Dropout(0.1, seed=0)
        >>> layer(ops.ones((2, 4)), training=True).shape
        (2, 4)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check.rate("rate", rate)
        self.seed = seed
        self.threshold = round(self.rate * LEVELS)
        # The random stream is state, not a sublayer; created here as keras.layers.Dropout does, and like its
        # stream it is not among the weights, so saved models keep their weight lists.
        self.seed_generator = keras.random.SeedGenerator(seed) if self.threshold else None
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not self.threshold:
            return inputs
        size = ops.size(inputs)
        draws = keras.random.randint(((size + 1) // 2,), 0, 1 << (2 * BITS), dtype="int32",
                                     seed=self.seed_generator)
        levels = ops.concatenate([ops.bitwise_and(draws, LEVELS - 1), ops.right_shift(draws, BITS)])[:size]
        keep = ops.reshape(levels >= self.threshold, ops.shape(inputs))
        scale = ops.cast(LEVELS / (LEVELS - self.threshold), inputs.dtype)
        return ops.where(keep, inputs * scale, ops.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
