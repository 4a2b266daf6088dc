"""Dropout alone: zoo's ``Dropout`` against ``keras.layers.Dropout``, forward and backward, on one CPU thread.

Both layers drop 10 % of a tensor inside a ``tf.function`` with its gradient, at two shapes:
``[64, 200, 128]`` (config 1's activations) and ``[32, 12, 128, 128]`` (the attention probabilities of a
MiniLM fine-tuning step). The variants take turns over ``--rounds`` rounds of ``--steps`` calls and each round's
process CPU time per call is kept (one inter-op thread, ``--intra-op`` threads per op, 1 by default: an op's
time is then its own work, steady under other load). Reported per shape and precision: best and median ms
per call, and the median per-round ratio.

    python bench/profile_dropout.py [--rounds 15] [--steps 5] [--intra-op 2]
"""
import argparse
import itertools
import os
import statistics
import sys
import time

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402

from zoo.layers import Dropout  # noqa: E402

SHAPES = {"config 1 activations": (64, 200, 128), "MiniLM attention probabilities": (32, 12, 128, 128)}
RATE = 0.1


def step(layer, x):
    """One forward and backward pass of ``layer`` over ``x`` in training mode, as a ``tf.function``."""
    @tf.function
    def run():
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(tf.cast(layer(x, training=True), tf.float32))
        return tape.gradient(total, x)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--intra-op", type=int, default=1, help="threads per op")
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds x {args.steps} calls; "
          f"intra-op threads {args.intra_op}")
    for (label, shape), dtype in itertools.product(SHAPES.items(), ("float32", "bfloat16")):
        x = tf.Variable(tf.random.normal(shape, dtype=dtype))
        variants = {"keras": step(keras.layers.Dropout(RATE, seed=1), x), "zoo": step(Dropout(RATE, seed=1), x)}
        for run in variants.values():
            run(), run()
        times = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                start = time.process_time()
                for _ in range(args.steps):
                    run().numpy()
                times[name].append((time.process_time() - start) / args.steps * 1e3)
        ratios = [k / z for k, z in zip(times["keras"], times["zoo"])]
        cells = ", ".join(f"{name} best {min(t):.2f} ms, median {statistics.median(t):.2f} ms"
                          for name, t in times.items())
        print(f"{label} {list(shape)}, {dtype}: {cells}; keras / zoo per round: median {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
