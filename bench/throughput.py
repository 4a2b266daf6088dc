"""Training steps/s of zoo's classifier against keras-hub and Keras peers, measured to survive noisy machines.

Method (BENCHMARKS.md, "Speed"): every model masks padding on the same padded batches (random lengths, each
batch cut to its longest example as zoo's loop does); every variant is compiled and warmed up first, then
timed in many short rounds that take turns round-robin (the starting variant rotates every round), so all
variants see the same machine states. Each variant reports best-of, median, spread (IQR and min-max) and the
plateaus its round rates fall on; ratios are the median of per-round ratios to the anchor. The load average
at start and end is recorded beside the CPU flags that decide bfloat16.

On TensorFlow every model is trained by zoo's own step (``zoo.training.loop.Trainer``: ``strategy.run`` of a
``GradientTape`` step, Adam, zoo's classification loss), fed by ``Trainer.distribute``'s ``tf.data`` pipeline
(gather, cut to the longest example) through one step traced for every width, synchronised step by step as
zoo's loop runs them; on JAX (no TensorFlow loop) every model uses Keras ``train_on_batch``. ``--loop`` picks
either on TF.

    python bench/throughput.py --config cpu             # config 1 (issue 16), TensorFlow
    python bench/throughput.py --config minilm          # config 2: all-MiniLM-L6-v2's shape
    python bench/throughput.py --config smoke           # and --config minilm-smoke: the code paths, in seconds
    KERAS_BACKEND=jax python bench/throughput.py --config gpu --models zoo,keras-mha --anchor keras-mha
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time

import keras
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zoo import build_transformer  # noqa: E402
from zoo import hardware  # noqa: E402
from zoo.layers import ClassificationHead  # noqa: E402
from zoo.models import Backbone, TextClassifier  # noqa: E402

# lengths: the real tokens of an example are drawn uniformly from this range, the rest is padding (id 0);
# rounds x steps: the default timing, about 100 steps per variant (fewer for the slow config 2); bert: zoo's
# model is a BERT backbone (segments, embedding norm, pooler) classified from its pooled output.
CONFIGS = {
    "cpu": dict(vocab=20000, seq=200, d_model=128, heads=4, ff=256, layers=2, batch=64, dropout=0.1,
                activation="relu", pooling="mean", lengths=(50, 200), anchor="keras-hub", rounds=20, steps=5,
                bert=False),
    # all-MiniLM-L6-v2's shape: post-LN BERT encoder with exact GELU, classified from [CLS] through a tanh pooler.
    "minilm": dict(vocab=30522, seq=128, d_model=384, heads=12, ff=1536, layers=6, batch=32, dropout=0.1,
                   activation="gelu", pooling="cls", lengths=(32, 128), anchor="keras-hub-bert", rounds=12, steps=2,
                   bert=True),
    "gpu": dict(vocab=32000, seq=512, d_model=512, heads=8, ff=2048, layers=6, batch=64, dropout=0.1,
                activation="gelu", pooling="mean", lengths=(128, 512), anchor="keras-mha", rounds=20, steps=5,
                bert=False),
    "minilm-smoke": dict(vocab=500, seq=24, d_model=16, heads=2, ff=32, layers=1, batch=8, dropout=0.1,
                         activation="gelu", pooling="cls", lengths=(4, 24), anchor="keras-hub-bert", rounds=2,
                         steps=1, bert=True),
    "smoke": dict(vocab=500, seq=24, d_model=16, heads=2, ff=32, layers=1, batch=8, dropout=0.1,
                  activation="relu", pooling="mean", lengths=(4, 24), anchor="keras-hub", rounds=3, steps=2, bert=False),
}
DEFAULT_MODELS = {"cpu": "zoo,zoo-padded,zoo-nomask,keras-hub,keras-mha",
                  "minilm": "zoo,zoo-padded,zoo-nomask,keras-hub-bert,keras-hub,keras-mha",
                  "gpu": "zoo,keras-mha", "smoke": "zoo,zoo-padded,zoo-nomask,keras-hub,keras-mha",
                  "minilm-smoke": "zoo,zoo-padded,zoo-nomask,keras-hub-bert,keras-hub,keras-mha"}
# precision policy, XLA
VARIANTS = {
    "f32": ("float32", False),
    "bf16": ("mixed_bfloat16", False),
    "f32-xla": ("float32", True),
    "bf16-xla": ("mixed_bfloat16", True),
}
# Rates within this factor of their neighbour (sorted) belong to one plateau.
PLATEAU_GAP = 1.2


# ---------------------------------------------------------------------------------------------------- models

def _zoo_backbone(c, skip_padding=None):
    """zoo's ``Backbone`` in the config's layout: post-LN; for config 2 the BERT options zoo's converters use for
    all-MiniLM-L6-v2 (segments, embedding norm, epsilon 1e-12, tanh pooler); attention dropout 0 (the recipe's
    until it kept the checkpoint's 0.1: BENCHMARKS.md's figures were taken with 0)."""
    if c["bert"]:
        return Backbone(c["vocab"], 512, num_layers=c["layers"], d_model=c["d_model"], num_heads=c["heads"],
                        ff_dim=c["ff"], dropout=c["dropout"], activation=c["activation"], norm_first=False,
                        layer_norm_epsilon=1e-12, num_segments=2, embedding_norm=True, final_norm=False, pooler=True,
                        skip_padding=skip_padding)
    return Backbone(c["vocab"], c["seq"], num_layers=c["layers"], d_model=c["d_model"], num_heads=c["heads"],
                    ff_dim=c["ff"], dropout=c["dropout"], activation=c["activation"], norm_first=False,
                    skip_padding=skip_padding)


def _ids_model(model, c):
    """A model from ids alone: segment ids 0 for a backbone with segments (every peer sees one segment too)."""
    if not c["bert"]:
        return model
    ids = keras.Input((None,), dtype="int32")
    return keras.Model(ids, model({"token_ids": ids, "segment_ids": keras.ops.zeros_like(ids)}))


def zoo_model(c, skip_padding=None):
    """zoo's classifier: ``build_transformer`` (config 1), or a BERT ``Backbone`` + ``TextClassifier`` on its pooled
    output (config 2); padding (id 0) masked in attention and pooling. By default (TensorFlow) the blocks compute
    everything but the attention core on the real tokens only; ``zoo-padded`` computes every position, as the peers do."""
    if not c["bert"]:
        return build_transformer(c["vocab"], c["seq"], 2, num_layers=c["layers"], d_model=c["d_model"],
                                 num_heads=c["heads"], ff_dim=c["ff"], dropout=c["dropout"], pooling=c["pooling"],
                                 activation=c["activation"], norm_first=False, skip_padding=skip_padding)
    return _ids_model(TextClassifier(_zoo_backbone(c, skip_padding), 2, pooling="pooled", dropout=c["dropout"]), c)


def zoo_unmasked_model(c):
    """The same zoo model fed an all-true ``padding_mask``: shows only what the mask costs."""
    backbone = _zoo_backbone(c)
    head = ClassificationHead(2, pooling="pooled" if c["bert"] else c["pooling"], dropout=c["dropout"])
    ids = keras.Input((None,), dtype="int32")
    inputs = {"token_ids": ids, "padding_mask": keras.ops.ones_like(ids, dtype="bool")}
    if c["bert"]:
        inputs["segment_ids"] = keras.ops.zeros_like(ids)
    outputs = backbone(inputs)
    return keras.Model(ids, head(outputs["pooled_output"] if c["bert"] else outputs["sequence_output"]))


def _peer_head(c, x, padding):
    """Masked mean pooling, or [CLS] through a tanh pooler (BERT's), then dropout and two float32 logits."""
    if c["pooling"] == "cls":
        x = keras.layers.Dense(c["d_model"], activation="tanh")(x[:, 0, :])
    else:
        x = keras.layers.GlobalAveragePooling1D()(x, mask=padding)
    x = keras.layers.Dropout(c["dropout"])(x)
    return keras.layers.Dense(2, dtype="float32")(x)


def _peer_embeddings(c, ids):
    """keras-hub ``TokenAndPositionEmbedding``, then what zoo's backbone also does to the embeddings (equal
    semantics): dropout, and in config 2 BERT's segment embedding (segment 0) and embedding layer norm."""
    import keras_hub

    x = keras_hub.layers.TokenAndPositionEmbedding(c["vocab"], c["seq"], c["d_model"])(ids)
    if c["bert"]:
        x = x + keras.layers.Embedding(2, c["d_model"])(keras.ops.zeros_like(ids))
        x = keras.layers.LayerNormalization(epsilon=1e-12)(x)
    return keras.layers.Dropout(c["dropout"])(x)


def keras_hub_model(c):
    """keras-hub ``TokenAndPositionEmbedding`` + ``TransformerEncoder(..., padding_mask=...)`` blocks."""
    import keras_hub

    ids = keras.Input((None,), dtype="int32")
    padding = keras.ops.not_equal(ids, 0)
    x = _peer_embeddings(c, ids)
    for _ in range(c["layers"]):
        x = keras_hub.layers.TransformerEncoder(c["ff"], c["heads"], dropout=c["dropout"],
                                                activation=c["activation"])(x, padding_mask=padding)
    return keras.Model(ids, _peer_head(c, x, padding))


def keras_hub_bert_model(c):
    """keras-hub ``BertBackbone`` (masks via ``padding_mask``; its GELU is the tanh form) + a classifier on
    its pooled output."""
    import keras_hub

    ids = keras.Input((None,), dtype="int32")
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=c["vocab"], num_layers=c["layers"], num_heads=c["heads"], hidden_dim=c["d_model"],
        intermediate_dim=c["ff"], dropout=c["dropout"], max_sequence_length=max(c["seq"], 512))
    outputs = backbone({"token_ids": ids, "segment_ids": keras.ops.zeros_like(ids),
                        "padding_mask": keras.ops.not_equal(ids, 0)})
    x = keras.layers.Dropout(c["dropout"])(outputs["pooled_output"])
    return keras.Model(ids, keras.layers.Dense(2, dtype="float32")(x))


def keras_mha_model(c, masked=True):
    """The Keras example's block on ``keras.layers.MultiHeadAttention`` (post-LN, dropout on both residual
    branches), given the padding as ``attention_mask``."""
    ids = keras.Input((None,), dtype="int32")
    padding = keras.ops.not_equal(ids, 0)
    x = _peer_embeddings(c, ids)
    for _ in range(c["layers"]):
        mask = padding[:, None, :] if masked else None
        attn = keras.layers.MultiHeadAttention(c["heads"], c["d_model"] // c["heads"])(x, x, attention_mask=mask)
        x = keras.layers.LayerNormalization(epsilon=1e-6)(x + keras.layers.Dropout(c["dropout"])(attn))
        ffn = keras.layers.Dense(c["d_model"])(keras.layers.Dense(c["ff"], activation=c["activation"])(x))
        x = keras.layers.LayerNormalization(epsilon=1e-6)(x + keras.layers.Dropout(c["dropout"])(ffn))
    return keras.Model(ids, _peer_head(c, x, padding if masked else None))


BUILDERS = {
    "zoo": zoo_model,
    "zoo-padded": lambda c: zoo_model(c, skip_padding=False),
    "zoo-nomask": zoo_unmasked_model,
    "keras-hub": keras_hub_model,
    "keras-hub-bert": keras_hub_bert_model,
    "keras-mha": keras_mha_model,
    "keras-mha-nomask": lambda c: keras_mha_model(c, masked=False),
}
# What a model computes without a mask is not the same task: these only show the cost of masking.
UNMASKED = ("zoo-nomask", "keras-mha-nomask")
# zoo's models that compute on the real tokens only (skip_padding's default on TensorFlow).
SKIPS_PADDING = ("zoo", "zoo-nomask")


# ------------------------------------------------------------------------------------------------------ data

def make_batches(c, count, seed=0, bucketed=False):
    """Return ``count`` batches ``(ids, labels)`` padded to random lengths and cut to their longest example.

    The cut keeps a multiple of 8 columns, as ``zoo.training.objectives.trim_padding`` does. ``bucketed``
    sorts the lengths before they are cut into batches (zoo's ``EpochBatches`` bucketing), so batches carry
    little padding and have different widths.
    """
    rng = np.random.default_rng(seed)
    low, high = c["lengths"]
    lengths = rng.integers(low, high + 1, size=count * c["batch"])
    if bucketed:
        lengths = np.sort(lengths)
    batches = []
    for chunk in lengths.reshape(count, c["batch"]):
        width = min(max(-(-int(chunk.max()) // 8) * 8, 8), c["seq"])
        ids = rng.integers(1, c["vocab"], size=(c["batch"], width)).astype("int32")
        ids[np.arange(width)[None, :] >= chunk[:, None]] = 0
        if c["pooling"] == "cls":
            ids[:, 0] = 1  # a [CLS]-like first token
        batches.append((ids, rng.integers(0, 2, size=(c["batch"],)).astype("int32")))
    return batches


# ----------------------------------------------------------------------------------------------- train steps

class TrainerStep:
    """zoo's ``Trainer`` under the default strategy, fed as zoo's loop feeds it: a ``tf.data`` pipeline that gathers
    each batch and cuts it to its longest example, one step traced for every width, synchronised per step.

    ``run(n)`` takes the next ``n`` steps; the batches come round in the pool's order, ``total_steps`` in all.
    """

    name = "zoo Trainer (tf.data batches cut to their longest example, one traced step, synchronised per step)"

    def __init__(self, model, batches, jit_compile, total_steps):
        import tensorflow as tf

        from zoo.training.loop import Trainer
        from zoo.training.objectives import Objective

        size = len(batches[0][1])
        self.trainer = Trainer(model, keras.optimizers.Adam(1e-4), tf.distribute.get_strategy(),
                               Objective("multiclass"), size, jit_compile=jit_compile)
        width = max(ids.shape[1] for ids, _ in batches)
        features = np.concatenate([np.pad(ids, ((0, 0), (0, width - ids.shape[1]))) for ids, _ in batches])
        labels = np.concatenate([y for _, y in batches])
        pool = np.arange(len(features)).reshape(len(batches), size)
        order = np.tile(pool, (-(-total_steps // len(batches)), 1))
        self.iterator = iter(self.trainer.distribute(features, labels, order))

    def run(self, steps):
        for _ in self.trainer.run_steps(self.iterator, steps):
            pass


class KerasStep:
    """Keras ``train_on_batch`` on the pool's batches in turn (the only loop on JAX)."""

    name = "Keras train_on_batch"

    def __init__(self, model, batches, jit_compile, total_steps):
        model.compile(optimizer=keras.optimizers.Adam(1e-4),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit_compile or keras.backend.backend() == "jax")
        self.model, self.batches, self.taken = model, batches, 0

    def run(self, steps):
        for _ in range(steps):
            loss = self.model.train_on_batch(*self.batches[self.taken % len(self.batches)])
            self.taken += 1
        float(np.asarray(loss))


LOOPS = {"trainer": TrainerStep, "keras": KerasStep}


@contextlib.contextmanager
def dtype_policy(name):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


class Runner:
    """One model at one precision with its step function, traced for every batch of the pool and warmed up.

    Args:
        model_name: A key of ``BUILDERS``.
        variant: A key of ``VARIANTS``.
        c: The config.
        batches: The pool from ``make_batches``.
        loop: A key of ``LOOPS``.
        steps_after_warmup: Steps the runner will take after its warm-up pass over the pool.
    """

    def __init__(self, model_name, variant, c, batches, loop="trainer", steps_after_warmup=1000):
        policy, jit = VARIANTS[variant]
        self.model_name, self.variant = model_name, variant
        self.label = f"{model_name} [{variant}]"
        keras.utils.set_random_seed(0)
        with dtype_policy(policy):
            self.model = BUILDERS[model_name](c)
            self.step = LOOPS[loop](self.model, batches, jit, len(batches) + steps_after_warmup)
        self.rates, self.cpu_times = [], []
        self.step.run(len(batches))  # trace (and compile), warm the caches

    def round(self, steps):
        """Time the next ``steps`` steps; record steps/s and CPU seconds per step."""
        start, cpu = time.perf_counter(), time.process_time()
        self.step.run(steps)
        self.rates.append(steps / (time.perf_counter() - start))
        self.cpu_times.append((time.process_time() - cpu) / steps)


# ----------------------------------------------------------------------------------------------- statistics

def plateaus(rates, gap=PLATEAU_GAP):
    """Group rates into plateaus: sorted rates split where one exceeds its predecessor by more than ``gap``×.

    Returns ``[(median rate, rounds), ...]`` from the fastest plateau down.

    Example:
        >>> plateaus([3.0, 1.5, 2.9, 1.6, 3.1])
        [(3.0, 3), (1.55, 2)]
    """
    ordered = sorted(rates)
    groups = [[ordered[0]]]
    for rate in ordered[1:]:
        if rate > groups[-1][-1] * gap:
            groups.append([])
        groups[-1].append(rate)
    return [(statistics.median(g), len(g)) for g in reversed(groups)]


def summary(values):
    """Best (max), median, quartiles and range of a list of rates or ratios."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values * 3)
    return {"best": max(values), "median": statistics.median(values), "q1": q1, "q3": q3,
            "min": min(values), "max": max(values)}


def paired(runner, other):
    """Per-round ratios ``runner / other``: both ran in every round, one right after the other."""
    return [a / b for a, b in zip(runner.rates, other.rates)]


def comparisons(runners, anchor_label):
    """The issue's target ratios that the measured variants allow, each a summary of per-round ratios."""
    by = {r.label: r for r in runners}
    out = {}

    def add(name, a, b):
        if a in by and b in by:
            out[name] = summary(paired(by[a], by[b]))
            # The same ratio from CPU time per step, which other processes on the machine inflate far less.
            out[name]["cpu_ratio"] = statistics.median(by[b].cpu_times) / statistics.median(by[a].cpu_times)

    for variant in VARIANTS:
        add(f"zoo [{variant}] / zoo-nomask [{variant}] (mask cost)", f"zoo [{variant}]", f"zoo-nomask [{variant}]")
        add(f"zoo [{variant}] / zoo-padded [{variant}] (skipping padding)", f"zoo [{variant}]",
            f"zoo-padded [{variant}]")
        peers = [r for r in runners if r.variant == variant and not r.model_name.startswith("zoo")
                 and r.model_name not in UNMASKED]
        if peers and f"zoo [{variant}]" in by:
            fastest = max(peers, key=lambda r: statistics.median(r.rates))
            add(f"zoo [{variant}] / fastest masked peer {fastest.label}", f"zoo [{variant}]", fastest.label)
        add(f"zoo [{variant}] / anchor {anchor_label}", f"zoo [{variant}]", anchor_label)
    add("zoo [bf16] / zoo [f32]", "zoo [bf16]", "zoo [f32]")
    return out


def environment():
    """CPU, load and library versions that a figure depends on."""
    flags = hardware.cpu_flags()
    model = next((line.partition(":")[2].strip() for line in _cpuinfo_lines() if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "cores": os.cpu_count(),
            "cpu_flags": sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma"}),
            "attention_core_under_bf16": hardware.attention_core_dtype("bfloat16"),
            "backend": keras.backend.backend(), "keras": keras.__version__, "python": platform.python_version()}


def _cpuinfo_lines():
    try:
        with open("/proc/cpuinfo") as f:
            return f.read().splitlines()
    except OSError:
        return []


# ------------------------------------------------------------------------------------------------------- run

def check_variants(models, variants):
    """Refuse a model or variant name that is not one, before any of them is built (which takes minutes)."""
    for kind, names, known in (("--models", models, BUILDERS), ("--variants", variants, VARIANTS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"{kind}: no {', '.join(unknown)}; choose from {', '.join(known)}")
    # XLA needs a static shape for dropout's random numbers, and on TensorFlow these models drop out on their
    # packed real tokens, whose count is data-dependent (zoo train refuses training.jit_compile for them too).
    packed = [name for name in models if name in SKIPS_PADDING] if keras.backend.backend() == "tensorflow" else []
    compiled = [variant for variant in variants if VARIANTS[variant][1]]
    if packed and compiled:
        raise ValueError(f"--variants {', '.join(compiled)}: XLA cannot compile the dropout of {', '.join(packed)}, "
                         f"which skip padding on TensorFlow; measure zoo-padded under XLA instead")


def run(config="cpu", models=None, variants=("f32", "bf16"), anchor=None, anchor_variant="f32", steps=None,
        rounds=None, warmup_rounds=1, pool=4, bucketed=False, loop=None):
    """Build every (model, variant), take ``rounds`` interleaved rounds of ``steps`` steps, return the result."""
    c = CONFIGS[config]
    models = list(models or DEFAULT_MODELS[config].split(","))
    anchor = anchor or c["anchor"]
    check_variants(models, variants)
    anchor_label = f"{anchor} [{anchor_variant}]"
    if anchor not in models or anchor_variant not in variants:
        raise ValueError(f"the anchor {anchor_label} is not among the measured variants; add it to --models "
                         f"and --variants or choose another --anchor")
    steps, rounds = steps or c["steps"], rounds or c["rounds"]
    loop = loop or ("trainer" if keras.backend.backend() == "tensorflow" else "keras")
    load_start = os.getloadavg()
    batches = make_batches(c, pool, bucketed=bucketed)
    runners = []
    for name in models:
        for variant in variants:
            started = time.perf_counter()
            runners.append(Runner(name, variant, c, batches, loop, (warmup_rounds + rounds) * steps))
            print(f"built and warmed {runners[-1].label} in {time.perf_counter() - started:.0f} s", flush=True)
    for r in range(warmup_rounds + rounds):
        for runner in runners[r % len(runners):] + runners[:r % len(runners)]:
            runner.round(steps)
            if r < warmup_rounds:
                runner.rates.pop()
                runner.cpu_times.pop()
        print(f"round {r + 1 - warmup_rounds}/{rounds} done" if r >= warmup_rounds else "warm-up round done",
              flush=True)
    anchor_runner = next(x for x in runners if x.label == anchor_label)
    rows = []
    for runner in runners:
        rows.append({"model": runner.label, "params": int(runner.model.count_params()),
                     "steps_per_s": summary(runner.rates), "plateaus": plateaus(runner.rates),
                     "ratio_to_anchor": summary(paired(runner, anchor_runner)),
                     "cpu_s_per_step": summary(runner.cpu_times), "rates": runner.rates,
                     "cpu_times": runner.cpu_times, "unmasked": runner.model_name in UNMASKED})
    widths = sorted({int(b[0].shape[1]) for b in batches})
    return {"config": config, "settings": c, "loop": LOOPS[loop].name, "anchor": anchor_label,
            "steps_per_round": steps, "rounds": rounds, "warmup_rounds": warmup_rounds, "batch_widths": widths,
            "bucketed": bucketed, "load_average": {"start": load_start, "end": os.getloadavg()},
            "environment": environment(), "rows": rows, "comparisons": comparisons(runners, anchor_label)}


def _spread(s, digits=2):
    return f"{s['q1']:.{digits}f}–{s['q3']:.{digits}f}"


def table(result):
    """Markdown table of a result, with the comparisons the issue's targets name."""
    env, load = result["environment"], result["load_average"]
    lines = [
        f"config={result['config']} {result['settings']}",
        f"backend={env['backend']} cpu={env['cpu']} ({env['cores']} cores) flags={','.join(env['cpu_flags'])} "
        f"attention core under bf16: {env['attention_core_under_bf16']}",
        f"loop: {result['loop']}; {result['rounds']} interleaved rounds x {result['steps_per_round']} steps "
        f"(+{result['warmup_rounds']} warm-up); batch widths {result['batch_widths']}; "
        f"load average start {load['start'][0]:.2f} end {load['end'][0]:.2f}",
        f"anchor: {result['anchor']}; ratio = median of per-round ratios (IQR)",
        "",
        "| model | params | best steps/s | median | IQR | min–max | plateaus (rate×rounds) | × anchor | IQR "
        "| CPU s/step (min, median) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        s, ratio = row["steps_per_s"], row["ratio_to_anchor"]
        name = row["model"] + (" (no mask: cost reference only)" if row["unmasked"] else "")
        plats = " ".join(f"{rate:.2f}×{n}" for rate, n in row["plateaus"])
        lines.append(f"| {name} | {row['params']:,} | {s['best']:.2f} | {s['median']:.2f} | {_spread(s)} | "
                     f"{s['min']:.2f}–{s['max']:.2f} | {plats} | {ratio['median']:.2f} | {_spread(ratio)} | "
                     f"{row['cpu_s_per_step']['min']:.3f}, {row['cpu_s_per_step']['median']:.3f} |")
    lines += ["", "| comparison | median of per-round ratios | IQR | min–max | ratio of median CPU s/step |",
              "|---|---|---|---|---|"]
    for name, s in result["comparisons"].items():
        lines.append(f"| {name} | {s['median']:.2f} | {_spread(s)} | {s['min']:.2f}–{s['max']:.2f} | "
                     f"{s['cpu_ratio']:.2f} |")
    return "\n".join(lines)


def publish(result, text, json_path=None):
    """Print a benchmark's table and write its full result (every round's figures) as JSON when asked."""
    print(text)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=2)
    return result


def build_parser():
    """The command line (tests/test_benchmarks.py parses every command of BENCHMARKS.md with it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    parser.add_argument("--models", help=f"comma-separated, of {', '.join(BUILDERS)} (default: per config)")
    parser.add_argument("--variants", default="f32,bf16", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--anchor", help="model the ratios refer to (default: per config)")
    parser.add_argument("--anchor-variant", default="f32")
    parser.add_argument("--steps", type=int, help="timed steps per variant and round (default: per config)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: per config)")
    parser.add_argument("--warmup-rounds", type=int, default=1)
    parser.add_argument("--pool", type=int, default=4, help="distinct padded batches, cycled through")
    parser.add_argument("--bucketed", action="store_true", help="batches of similar lengths (zoo's bucketing)")
    parser.add_argument("--loop", choices=sorted(LOOPS), help="default: trainer on TensorFlow, keras on JAX")
    parser.add_argument("--json", help="also write the result here")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    result = run(args.config, args.models.split(",") if args.models else None, args.variants.split(","),
                 args.anchor, args.anchor_variant, args.steps, args.rounds, args.warmup_rounds, args.pool,
                 args.bucketed, args.loop)
    return publish(result, table(result), args.json)


if __name__ == "__main__":
    main()
