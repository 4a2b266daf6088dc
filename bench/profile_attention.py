"""Forward + backward time of one self-attention layer alone: zoo's core against the fused Keras path.

Isolates what zoo's attention layer controls from the rest of a training step (feed-forward, layer norms,
dropout, optimizer are the same Keras layers in every model). Per config shape (``bench/throughput.py``'s
batch, longest length, d_model, heads; keys padded to random lengths) and precision, each variant's
``tf.function`` of forward + gradient (inputs and weights) is timed in interleaved rounds; the table gives
CPU milliseconds per call (best and median; CPU time is what other processes on a shared machine inflate
least) and the ratio of medians to zoo.

Variants: ``zoo`` (its own heads-first core, padding mask), ``zoo-nomask``, ``zoo-core-f32`` (under
bfloat16: the core forced to float32, what an AVX2-only CPU runs), ``zoo-fused`` (zoo's projections around
``keras.ops.dot_product_attention`` with the mask), ``keras-mha`` (``keras.layers.MultiHeadAttention``,
which calls ``keras.ops.dot_product_attention`` when it has no dropout).

    python bench/profile_attention.py --config cpu
    python bench/profile_attention.py --config minilm --rounds 12
"""
import argparse
import contextlib
import os
import statistics
import sys
import time

import keras
import tensorflow as tf
from keras import ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import throughput  # noqa: E402
from zoo import hardware  # noqa: E402
from zoo.layers import MultiHeadAttention  # noqa: E402


@contextlib.contextmanager
def attention_core(dtype):
    """Build zoo attention layers with the core dtype ``dtype`` (``float32``/``compute``) or the CPU's choice."""
    previous = os.environ.get(hardware.ATTENTION_CORE_ENV)
    if dtype:
        os.environ[hardware.ATTENTION_CORE_ENV] = dtype
    try:
        yield
    finally:
        os.environ.pop(hardware.ATTENTION_CORE_ENV, None)
        if previous is not None:
            os.environ[hardware.ATTENTION_CORE_ENV] = previous


def zoo_layer(c, core=None):
    with attention_core(core):
        layer = MultiHeadAttention(c["d_model"], c["heads"])
        layer.build((None, None, c["d_model"]))
    return layer


def fused_call(layer, x, padding):
    """zoo's projections around ``keras.ops.dot_product_attention`` (the kernel Keras' own layer uses)."""
    b, t = ops.shape(x)[0], ops.shape(x)[1]
    q, k, v = ops.unstack(ops.reshape(layer.qkv_dense(x), (b, t, 3, layer.num_heads, layer.head_dim)), 3, axis=2)
    context = ops.dot_product_attention(q, k, v, mask=padding[:, None, None, :])
    return layer.output_dense(ops.reshape(context, (b, t, layer.num_heads * layer.head_dim)))


def variants(c, bf16):
    """``{name: (layer, call(x, padding))}`` for one precision (the global policy is already set)."""
    zoo, unmasked, fused = zoo_layer(c), zoo_layer(c), zoo_layer(c)
    keras_mha = keras.layers.MultiHeadAttention(c["heads"], c["d_model"] // c["heads"])
    out = {
        "zoo": (zoo, lambda x, m: zoo(x, padding_mask=m)),
        "zoo-nomask": (unmasked, lambda x, m: unmasked(x)),
        "zoo-fused": (fused, lambda x, m: fused_call(fused, x, m)),
        "keras-mha": (keras_mha, lambda x, m: keras_mha(x, x, attention_mask=m[:, None, :])),
    }
    if bf16:
        core32 = zoo_layer(c, "float32")
        out["zoo-core-f32"] = (core32, lambda x, m: core32(x, padding_mask=m))
    return out


def step_fn(layer, call, x, padding):
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(call(x, padding), tf.float32))
        return tape.gradient(loss, [x] + layer.trainable_variables)

    fn = tf.function(step)
    fn()  # trace; builds keras-mha
    return fn


# throughput's variants without XLA: the step functions here are not compiled.
PRECISIONS = ("f32", "bf16")


def run(config="cpu", precisions=PRECISIONS, rounds=8, calls=3):
    unknown = [precision for precision in precisions if precision not in PRECISIONS]
    if unknown:
        raise ValueError(f"--precisions: no {', '.join(unknown)}; choose from {', '.join(PRECISIONS)}")
    c = throughput.CONFIGS[config]
    ids, _ = throughput.make_batches(c, 1)[0]
    padding = tf.constant(ids != 0)
    load_start = os.getloadavg()
    fns = {}
    for precision in precisions:
        policy = throughput.VARIANTS[precision][0]
        with throughput.dtype_policy(policy):
            x = tf.Variable(tf.random.normal((c["batch"], ids.shape[1], c["d_model"]), seed=0))
            for name, (layer, call) in variants(c, policy == "mixed_bfloat16").items():
                fns[f"{name} [{precision}]"] = step_fn(layer, call, x, padding)
    times = {label: [] for label in fns}
    for r in range(rounds):
        labels = list(fns)[r % len(fns):] + list(fns)[:r % len(fns)]
        for label in labels:
            start = time.process_time()
            for _ in range(calls):
                out = fns[label]()
            out[0].numpy()
            times[label].append((time.process_time() - start) / calls * 1e3)
    rows = []
    for label, values in times.items():
        precision = label[label.index("[") + 1:-1]
        base = statistics.median(times[f"zoo [{precision}]"])
        rows.append({"variant": label, "cpu_ms_best": min(values), "cpu_ms_median": statistics.median(values),
                     "median_over_zoo": statistics.median(values) / base, "cpu_ms": values})
    return {"config": config, "shape": {k: c[k] for k in ("batch", "d_model", "heads", "lengths")},
            "width": int(ids.shape[1]), "rounds": rounds, "calls_per_round": calls,
            "load_average": {"start": load_start, "end": os.getloadavg()},
            "environment": throughput.environment(), "rows": rows}


def table(result):
    env, load = result["environment"], result["load_average"]
    lines = [f"config={result['config']} {result['shape']} width {result['width']}; cpu flags "
             f"{','.join(env['cpu_flags'])}; {result['rounds']} interleaved rounds x {result['calls_per_round']} "
             f"calls; load average start {load['start'][0]:.2f} end {load['end'][0]:.2f}", "",
             "| variant | CPU ms per forward+backward, best | median | median / zoo's |", "|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['variant']} | {row['cpu_ms_best']:.1f} | {row['cpu_ms_median']:.1f} | "
                     f"{row['median_over_zoo']:.2f} |")
    return "\n".join(lines)


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(throughput.CONFIGS), default="cpu")
    parser.add_argument("--precisions", default=",".join(PRECISIONS),
                        help=f"comma-separated, of {', '.join(PRECISIONS)}")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=3, help="timed calls per variant and round")
    parser.add_argument("--json", help="also write the result here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    result = run(args.config, args.precisions.split(","), args.rounds, args.calls)
    return throughput.publish(result, table(result), args.json)


if __name__ == "__main__":
    main()
