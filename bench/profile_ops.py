"""Ops alone: zoo's dropout, exact GELU and layer norm against Keras's, forward and backward, on one CPU thread.

Each case runs zoo's layer and the Keras layer it replaces on the same tensor inside a ``tf.function`` with its
gradients (to the input and the layer's weights, from a fixed random output gradient), in float32 and under
``mixed_bfloat16``:

- dropout at 10 %, ``zoo.layers.Dropout`` against ``keras.layers.Dropout``, on ``[64, 200, 128]`` (config 1's
  activations) and ``[32, 12, 128, 128]`` (the attention probabilities of a MiniLM fine-tuning step);
- the exact GELU of ``zoo.layers.FeedForward`` (its ``hidden.activation``) against
  ``keras.activations.gelu(approximate=False)``, on ``[32, 128, 1536]`` (MiniLM's feed-forward);
- ``zoo.layers.LayerNormalization`` against ``keras.layers.LayerNormalization``, on ``[32, 128, 384]``.

The two take turns over ``--rounds`` rounds of ``--steps`` calls and each round's process CPU time per call is
kept (one inter-op thread, ``--intra-op`` threads per op, 1 by default: an op's time is then its own work,
steady under other load). Reported per case and precision: best and median ms per call, and the median
per-round ratio.

    python bench/profile_ops.py [--rounds 15] [--steps 5] [--intra-op 2] [--cases dropout gelu layernorm]
"""
import argparse
import functools
import itertools
import os
import statistics
import sys
import time

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402

from zoo.layers import Dropout, FeedForward, LayerNormalization  # noqa: E402

RATE = 0.1


def zoo_gelu(dtype):
    """zoo's exact GELU, taken from the feed-forward layer that applies it."""
    ffn = FeedForward(d_model=384, ff_dim=1536, activation="gelu", dtype=dtype)
    ffn.build((None, 384))
    return keras.layers.Activation(ffn.hidden.activation, dtype=dtype)


# case -> (shapes, Keras's layer, zoo's layer); each layer factory takes the dtype policy.
CASES = {
    "dropout": ({"config 1 activations": (64, 200, 128), "MiniLM attention probabilities": (32, 12, 128, 128)},
                lambda dtype: keras.layers.Dropout(RATE, seed=1, dtype=dtype),
                lambda dtype: Dropout(RATE, seed=1, dtype=dtype)),
    "gelu": ({"MiniLM feed-forward": (32, 128, 1536)},
             lambda dtype: keras.layers.Activation(functools.partial(keras.activations.gelu, approximate=False),
                                                   dtype=dtype),
             zoo_gelu),
    "layernorm": ({"MiniLM hidden states": (32, 128, 384)},
                  lambda dtype: keras.layers.LayerNormalization(epsilon=1e-12, dtype=dtype),
                  lambda dtype: LayerNormalization(epsilon=1e-12, dtype=dtype)),
}


def step(layer, x):
    """One forward and backward pass of ``layer`` over ``x`` in training mode, as a ``tf.function``.

    The backward pass starts from a fixed random gradient of the output (as inside a model), not from the
    gradient of a sum, whose constant ones TensorFlow would fold into the backward ops.
    """
    layer.build(x.shape)
    upstream = tf.Variable(tf.random.normal(x.shape, dtype=x.dtype))

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            outputs = layer(x, training=True)
        return tape.gradient(outputs, [x] + [v.value for v in layer.trainable_variables], output_gradients=upstream)
    return run


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--intra-op", type=int, default=1, help="threads per op")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    # Every variant traces its own ``run``; TensorFlow counts them as retraces of one function and warns.
    tf.get_logger().setLevel("ERROR")
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds x {args.steps} calls; "
          f"intra-op threads {args.intra_op}")
    for case in args.cases:
        shapes, keras_layer, zoo_layer = CASES[case]
        for (label, shape), policy in itertools.product(shapes.items(), ("float32", "mixed_bfloat16")):
            dtype = keras.mixed_precision.DTypePolicy(policy).compute_dtype
            x = tf.Variable(tf.random.normal(shape, dtype=dtype))
            variants = {"keras": step(keras_layer(policy), x), "zoo": step(zoo_layer(policy), x)}
            for run in variants.values():
                run(), run()
            times = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, run in variants.items():
                    start = time.process_time()
                    for _ in range(args.steps):
                        [g.numpy() for g in run()]
                    times[name].append((time.process_time() - start) / args.steps * 1e3)
            ratios = [k / z for k, z in zip(times["keras"], times["zoo"])]
            cells = ", ".join(f"{name} best {min(t):.2f} ms, median {statistics.median(t):.2f} ms"
                              for name, t in times.items())
            print(f"{case}, {label} {list(shape)}, {policy}: {cells}; keras / zoo per round: median "
                  f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})", flush=True)


if __name__ == "__main__":
    main()
