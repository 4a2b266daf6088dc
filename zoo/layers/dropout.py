"""Dropout that draws a third of the random numbers ``keras.layers.Dropout`` draws."""
import math

import keras
from keras import ops

from zoo.layers import _validation as check

# Each random 30-bit integer decides three elements (10 bits each). Random-number generation is most of what
# keras.layers.Dropout costs on CPU, and TensorFlow's costs the same per 32-bit number whatever its dtype or
# range. Forward and backward of a [32, 12, 128, 128] float32 tensor (a MiniLM step's attention
# probabilities), one thread per op: keras.layers.Dropout 38.6 ms of CPU, this layer 22.2 ms
# (bench/profile_ops.py; BENCHMARKS.md, issue 16).
BITS = 10
PER_DRAW = 3
LEVELS = 1 << BITS


def _threshold(rate):
    """The number of the ``LEVELS`` values of a 10-bit field that drop an element: ``rate * LEVELS``, rounded."""
    scaled = rate * LEVELS
    # Halves round up, so the documented bounds hold exactly (round() takes 2^-11 to 0, half to even);
    # `scaled % 1` is exact where floor(scaled + 0.5) could round the sum up.
    return math.floor(scaled) + int(scaled % 1 >= 0.5)


def dropout_rate(name, value):
    """Return ``value`` as a float if ``Dropout`` takes it as a rate, else raise a ValueError naming ``name``.

    The layers that build a ``Dropout`` check their rates with it when constructed, so the error names their
    argument (``attention_dropout``, not the inner layer's ``rate``) and comes before the first call.

    Example:
        >>> dropout_rate("attention_dropout", 0.1)
        0.1
    """
    rate = check.rate(name, value)
    if rate and not 0 < _threshold(rate) < LEVELS:
        raise ValueError(f"`{name}` must be 0 or in [{0.5 / LEVELS}, {1 - 0.5 / LEVELS}) (it is rounded to a "
                         f"multiple of 1/{LEVELS}), got {value!r}")
    return rate


@keras.saving.register_keras_serializable(package="zoo")
class Dropout(keras.layers.Layer):
    """Inverted dropout whose rate is rounded (halves up) to a multiple of 2^-10 (0.1 drops 102 / 1024 = 0.0996).

    Kept elements are scaled by ``1 / (1 - rounded rate)``, so the expected output is the input; outside
    training the layer is the identity.

    Args:
        rate: Fraction of the elements to zero while training: 0, or in ``[2^-11, 1 - 2^-11)`` so that it
            rounds to neither 0 nor 1.
        seed: Seed of the layer's random stream; ``None`` for a random one.
        **kwargs: Standard layer arguments.

    Example:
        >>> layer = Dropout(0.5, seed=0)
        >>> ops.convert_to_numpy(layer(ops.ones((2, 4)), training=True))
        array([[2., 2., 0., 2.],
               [2., 0., 2., 2.]], dtype=float32)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = dropout_rate("rate", rate)
        # keras.random.SeedGenerator refuses numpy integers ("must be an integer. Received: seed=3").
        self.seed = None if seed is None else check.integer("seed", seed)
        self.threshold = _threshold(self.rate)
        # The random stream is state, not a sublayer; created here as keras.layers.Dropout does, and like its
        # stream it is not among the weights, so saved models keep their weight lists.
        self.seed_generator = keras.random.SeedGenerator(self.seed) if self.threshold else None
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not self.threshold:
            return inputs
        size = ops.size(inputs)
        draws = keras.random.randint(((size + PER_DRAW - 1) // PER_DRAW,), 0, 1 << (PER_DRAW * BITS),
                                     dtype="int32", seed=self.seed_generator)
        # Field i of a draw is kept when it is >= the threshold; comparing the masked draw with the threshold
        # shifted into place saves a shift per field, and the top field needs no mask.
        keep = [ops.bitwise_and(draws, (LEVELS - 1) << (BITS * i)) >= self.threshold << (BITS * i)
                for i in range(PER_DRAW - 1)]
        keep.append(draws >= self.threshold << (BITS * (PER_DRAW - 1)))
        keep = ops.reshape(ops.concatenate(keep)[:size], ops.shape(inputs))
        # Multiplying by a {0, scale} mask costs one pass backward, where a `where` costs two.
        scale = ops.cast(LEVELS / (LEVELS - self.threshold), inputs.dtype)
        return inputs * (ops.cast(keep, inputs.dtype) * scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
