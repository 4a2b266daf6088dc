"""A layer test harness in the spirit of keras-hub's ``run_layer_test``, backend-neutral."""
import inspect
import os

import keras
import numpy as np
from keras import ops

BACKEND = keras.backend.backend()


def to_numpy(x):
    return ops.convert_to_numpy(x)


def gradients(fn, variables):
    """Gradients of ``sum(fn()**2)`` with respect to ``variables`` on the active backend."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = ops.sum(ops.square(ops.cast(fn(), "float32")))
        return [None if g is None else to_numpy(g) for g in tape.gradient(loss, variables)]
    if BACKEND == "jax":
        import jax

        def loss_fn(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return ops.sum(ops.square(ops.cast(fn(), "float32")))

        return [to_numpy(g) for g in jax.grad(loss_fn)([v.value for v in variables])]
    raise NotImplementedError(f"no gradient helper for backend {BACKEND}")


def assert_all_gradients_flow(fn, variables):
    grads = gradients(fn, variables)
    for var, grad in zip(variables, grads):
        assert grad is not None, f"no gradient reaches {var.path}"
        assert np.all(np.isfinite(grad)), f"non-finite gradient for {var.path}"
        assert np.abs(grad).sum() > 0, f"zero gradient for {var.path}"


def assert_config_complete(layer):
    """``get_config`` names every constructor argument, and ``from_config`` rebuilds an equal config."""
    config = layer.get_config()
    params = inspect.signature(type(layer).__init__).parameters
    missing = [p for p in params if p not in ("self", "kwargs") and p not in config]
    assert not missing, f"{type(layer).__name__}.get_config() lacks {missing}"
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)


def run_layer_test(layer_cls, init_kwargs, inputs, call_kwargs=None, tensor_kwargs=None, expected_shape=None,
                   tmp_path=None, output_index=None, check_mixed=True):
    """Config round trip, gradients to every weight, ``.keras`` save/load equality and mixed precision.

    Args:
        layer_cls: Layer class under test.
        init_kwargs: Constructor arguments.
        inputs: Positional tensor inputs (list of arrays).
        call_kwargs: Non-tensor call keyword arguments.
        tensor_kwargs: Tensor call keyword arguments (they become model inputs when saving).
        expected_shape: Shape of the (selected) output.
        tmp_path: Directory for the ``.keras`` file.
        output_index: Pick this element when the layer returns a tuple.
        check_mixed: Also check ``mixed_bfloat16`` dtypes and finiteness.
    """
    call_kwargs = dict(call_kwargs or {})
    tensor_kwargs = dict(tensor_kwargs or {})

    def pick(out):
        return out[output_index] if output_index is not None else out

    layer = layer_cls(**init_kwargs)
    assert_config_complete(layer)
    output = pick(layer(*inputs, **tensor_kwargs, **call_kwargs))
    if expected_shape is not None:
        assert tuple(output.shape) == tuple(expected_shape)
    assert_config_complete(layer)

    assert_all_gradients_flow(
        lambda: pick(layer(*inputs, **tensor_kwargs, **call_kwargs)), layer.trainable_variables)

    positional = [keras.Input(shape=np.shape(x)[1:], batch_size=np.shape(x)[0], dtype=str(np.asarray(x).dtype))
                  for x in inputs]
    named = {k: keras.Input(shape=np.shape(v)[1:], batch_size=np.shape(v)[0], dtype=str(np.asarray(v).dtype),
                            name=k) for k, v in tensor_kwargs.items()}
    fresh = layer_cls(**init_kwargs)
    symbolic = pick(fresh(*positional, **named, **call_kwargs))
    model = keras.Model(positional + list(named.values()), symbolic)
    feed = list(inputs) + list(tensor_kwargs.values())
    before = to_numpy(model(feed, training=False))
    path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    after = to_numpy(loaded(feed, training=False))
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)

    if check_mixed:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            mixed = layer_cls(**init_kwargs)
            out = pick(mixed(*inputs, **tensor_kwargs, **call_kwargs))
            assert mixed.compute_dtype == "bfloat16"
            assert all(v.dtype == "float32" for v in mixed.weights), [v.dtype for v in mixed.weights]
            assert np.all(np.isfinite(to_numpy(ops.cast(out, "float32"))))
        finally:
            keras.mixed_precision.set_global_policy("float32")
    return layer, output
