"""Position-wise feed-forward network of a Transformer block."""
import functools
import math

import keras
from keras import ops

from zoo.layers import _validation as check

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


@ops.custom_gradient
def _gelu_erf(x):
    # The derivative Phi(x) + x * phi(x) from the forward's Phi: the automatic gradient of erf rebuilds it
    # from more ops. Phi from erf rather than erfc: TensorFlow's CPU erf is about 2x faster than its erfc
    # (bench/profile_ops.py, BENCHMARKS.md); 1 + erf loses Phi's relative accuracy far in the negative tail,
    # where GELU and its derivative are within 1e-7 of 0 anyway (absolute error at most float32's epsilon).
    cdf = 0.5 + 0.5 * ops.erf(x * _SQRT_HALF)

    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        return upstream * (cdf + x * (ops.exp(ops.square(x) * -0.5) * _INV_SQRT_2PI))

    return x * cdf, grad


def _gelu_exact(x):
    # In float32 whatever the compute dtype: TensorFlow's bfloat16 Erfc is not vectorised, and the exact GELU
    # in bfloat16 took 65 ms (forward and backward on [4096, 1536]) against 39 ms with the casts around a
    # float32 one (bench/profile_step.py, BENCHMARKS.md); float32 also keeps a checkpoint's numerics.
    return ops.cast(_gelu_erf(ops.cast(x, "float32")), x.dtype)


# "gelu" is the exact erf form; "gelu_tanh" its tanh approximation (GPT-2, `gelu_new` in Hugging Face configs).
_ACTIVATION_FNS = {
    "relu": keras.activations.relu,
    "gelu": _gelu_exact,
    "gelu_tanh": functools.partial(keras.activations.gelu, approximate=True),
    "leaky_relu": keras.activations.leaky_relu,
    "swish": keras.activations.silu,
}
# The activation names the blocks accept.
ACTIVATIONS = tuple(_ACTIVATION_FNS)


@keras.saving.register_keras_serializable(package="zoo")
class FeedForward(keras.layers.Layer):
    """Two dense layers with a non-linearity between them: ``d_model -> ff_dim -> d_model``.

    Args:
        d_model: Input and output feature size.
        ff_dim: Hidden feature size.
        activation: One of ``relu``, ``gelu`` (exact, with erf), ``gelu_tanh`` (the tanh approximation),
            ``leaky_relu``, ``swish``.
        kernel_initializer: Initializer of both kernels.
        **kwargs: Standard layer arguments.

    Example:
        >>> ffn = FeedForward(d_model=32, ff_dim=64, activation="gelu")
        >>> tuple(ffn(keras.random.normal((2, 5, 32))).shape)
        (2, 5, 32)
    """

    def __init__(self, d_model, ff_dim, activation="gelu", kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.d_model = check.positive_int("d_model", d_model)
        self.ff_dim = check.positive_int("ff_dim", ff_dim)
        self.activation = check.choice("activation", activation, ACTIVATIONS)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.hidden = keras.layers.Dense(
            self.ff_dim, activation=_ACTIVATION_FNS[self.activation], kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="hidden",
        )
        self.hidden.build(input_shape)
        self.projection = keras.layers.Dense(
            self.d_model, kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy, name="projection",
        )
        self.projection.build(tuple(input_shape[:-1]) + (self.ff_dim,))
        self.built = True

    def call(self, inputs):
        return self.projection(self.hidden(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.d_model,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "d_model": self.d_model,
            "ff_dim": self.ff_dim,
            "activation": self.activation,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
