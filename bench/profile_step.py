"""Op-level time of one training step per model and precision, from the TensorFlow profiler.

Each variant of ``bench/throughput.py`` (same models, batches and zoo ``Trainer`` step) is built, warmed up and
traced for ``--steps`` steps with ``tf.profiler``, ``--repeats`` times taking turns with the other variants; the trace's TensorFlow op events (``name:type`` on the
executor threads) are summed per op and per group (matmul/einsum, softmax, mask/bias, casts, layer norm,
GELU, transposes/reshapes, dropout, optimizer, embedding, other) and reported per step. An op's time is its
wall time. By default ops run one at a time on one thread (``--inter-op 1 --intra-op 1``): ops that run side
by side (dropout's random numbers beside a matmul) would otherwise each be charged the time they waited for
a core, and a multi-threaded op takes half or twice as long depending on whether the shared VM gives the
process one core or two at that moment (the two plateaus of the throughput rounds). On one thread an op's
time is its own work, the op times add up to the profiled step's wall time, and each group's share is its
share of the step's work. Each op's time is the median over the repeats, so a burst of load during one
repeat does not move it.

    python bench/profile_step.py --config cpu --models zoo,keras-hub --variants f32,bf16
    python bench/profile_step.py --config smoke --steps 2
"""
import argparse
import collections
import glob
import os
import re
import statistics
import sys
import tempfile
import time

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import throughput  # noqa: E402

# (group, op types, name pattern): the first rule an op matches decides its group. Dropout's name comes
# first (its ops include a Select, which would otherwise count as masking); then types, so a matmul inside
# the softmax gradient still counts as a matmul; then names, which catch the composite ops (gradients of
# softmax, layer norm and GELU are built from Mul, Sum, Sub...), looked up in the op's name scope.
FIRST_BY_NAME = ("dropout",)
GROUPS = (
    ("matmul/einsum", r"MatMul|Einsum|Conv", None),
    ("casts", r"^Cast$", None),
    ("transpose/reshape", r"Transpose|Reshape|StridedSlice|^Pack$|^Unpack$|Concat|^Split|^Slice$|Squeeze|"
                          r"ExpandDims|BroadcastTo|^Tile$|Identity", None),
    ("mask/bias", r"^Select|^NotEqual$|^Equal$|^Logical", r"mask"),
    ("softmax", r"Softmax", r"softmax"),
    ("layernorm", r"LayerNorm|FusedBatchNorm", r"norm"),
    ("gelu", r"Gelu|^Erf", r"gelu"),
    ("dropout", r"StatelessRandom|RandomUniform", r"dropout"),
    ("optimizer", r"ApplyAdam|Assign|ResourceScatter", r"^(adam|optimizer)(_\d+)?/"),
    ("embedding", r"Gather|UnsortedSegment|Unique", r"embedding"),
)


def group_of(name, op_type):
    """Return the group of an op from its type and name scope (see ``GROUPS``)."""
    lowered = name.lower()
    for group, types, names in GROUPS:
        if group in FIRST_BY_NAME and re.search(names, lowered):
            return group
    for group, types, names in GROUPS:
        if re.search(types, op_type):
            return group
    for group, _, names in GROUPS:
        if names and re.search(names, lowered):
            return group
    return "other"


def op_times(xplane_path):
    """Sum the durations (ms) of the TensorFlow op events in a trace, per ``(name, type)``."""
    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if line.name == "python":  # the Python thread holds only the enclosing function call
                continue
            for event in line.events:
                name, sep, op_type = plane.event_metadata[event.metadata_id].name.rpartition(":")
                if sep and name and op_type and "::" not in name + ":" + op_type:
                    totals[(name, op_type)] += event.duration_ps / 1e9
    return totals


def profile(runner, steps):
    """Trace ``steps`` steps of a warmed-up runner (after one untraced step); return per-step wall ms and op ms."""
    runner.step.run(1)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        runner.step.run(steps)
        wall = (time.perf_counter() - start) / steps * 1e3
        tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        totals = op_times(path)
    return wall, {key: value / steps for key, value in totals.items()}


def median_profile(samples):
    """Per-op median over repeated profiles (a missing op counts 0): one slow repeat moves no op's time."""
    keys = set().union(*(ops for _, ops in samples))
    ops = collections.Counter({key: statistics.median(o.get(key, 0.0) for _, o in samples) for key in keys})
    return statistics.median(wall for wall, _ in samples), ops


def report(label, wall, ops, top):
    groups = collections.Counter()
    for (name, op_type), ms in ops.items():
        groups[group_of(name, op_type)] += ms
    total = sum(ops.values())
    return {"variant": label, "wall_ms_per_step": wall, "op_ms_per_step": total,
            "groups_ms": dict(groups.most_common()),
            "top_ops": [{"name": name, "type": op_type, "ms": ms, "group": group_of(name, op_type)}
                        for (name, op_type), ms in ops.most_common(top)],
            "all_ops": [[name, op_type, ms] for (name, op_type), ms in ops.most_common()]}


def tables(result):
    variants = result["variants"]
    names = [v["variant"] for v in variants]
    groups = sorted({g for v in variants for g in v["groups_ms"]},
                    key=lambda g: -max(v["groups_ms"].get(g, 0.0) for v in variants))
    lines = [f"config={result['config']}; per-op medians of {result['repeats']} interleaved profiles of "
             f"{result['steps']} steps per variant, inter-op threads {result['inter_op_threads'] or 'default'}, "
             f"intra-op threads {result['intra_op_threads'] or 'default'}; "
             "ms per step "
             f"(share of op time); load average start {result['load_average']['start'][0]:.2f} "
             f"end {result['load_average']['end'][0]:.2f}", "",
             "| group | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for g in groups:
        cells = [f"{v['groups_ms'].get(g, 0.0):.1f} ({100 * v['groups_ms'].get(g, 0.0) / v['op_ms_per_step']:.0f}%)"
                 for v in variants]
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    lines.append("| **all ops** | " + " | ".join(f"{v['op_ms_per_step']:.1f}" for v in variants) + " |")
    lines.append("| wall per profiled step | " + " | ".join(f"{v['wall_ms_per_step']:.1f}" for v in variants) + " |")
    for v in variants:
        lines += ["", f"top ops of {v['variant']} (ms per step):", "", "| ms | group | type | op |", "|---|---|---|---|"]
        lines += [f"| {o['ms']:.2f} | {o['group']} | {o['type']} | {o['name']} |" for o in v["top_ops"]]
    return "\n".join(lines)


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(throughput.CONFIGS), default="cpu")
    parser.add_argument("--models", help="comma-separated (default: the config's throughput models)")
    parser.add_argument("--variants", default="f32,bf16")
    parser.add_argument("--steps", type=int, default=3, help="profiled steps per variant and repeat")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved profiles per variant (per-op medians)")
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--bucketed", action="store_true")
    parser.add_argument("--top", type=int, default=12, help="slowest ops listed per variant")
    parser.add_argument("--inter-op", type=int, default=1, help="ops run side by side (0: TensorFlow's default)")
    parser.add_argument("--intra-op", type=int, default=1, help="threads per op (0: TensorFlow's default)")
    parser.add_argument("--json", help="also write the result here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    models = (args.models or throughput.DEFAULT_MODELS[args.config]).split(",")
    variants = args.variants.split(",")
    throughput.check_variants(models, variants)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    c = throughput.CONFIGS[args.config]
    batches = throughput.make_batches(c, args.pool, bucketed=args.bucketed)
    result = {"config": args.config, "steps": args.steps, "repeats": args.repeats, "inter_op_threads": args.inter_op,
              "intra_op_threads": args.intra_op,
              "environment": throughput.environment(),
              "load_average": {"start": os.getloadavg()}, "variants": []}
    runners = [throughput.Runner(name, variant, c, batches, "trainer", args.repeats * (args.steps + 1))
               for name in models for variant in variants]
    samples = {runner.label: [] for runner in runners}
    for repeat in range(args.repeats):  # interleaved, like the throughput rounds
        for runner in runners:
            samples[runner.label].append(profile(runner, args.steps))
        print(f"profile round {repeat + 1}/{args.repeats} done", flush=True)
    for runner in runners:
        wall, ops = median_profile(samples[runner.label])
        result["variants"].append(report(runner.label, wall, ops, args.top))
    result["load_average"]["end"] = os.getloadavg()
    return throughput.publish(result, tables(result), args.json)


if __name__ == "__main__":
    main()
