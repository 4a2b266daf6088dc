"""Training steps/s and forward examples/s of zoo's classifier against keras-hub and the Keras example.

All models are timed in one process, interleaved round by round, and reported as medians and as ratios to
an anchor measured in the same run.

    python bench/throughput.py                        # CPU config (issue 2), TensorFlow backend
    KERAS_BACKEND=jax python bench/throughput.py --config gpu --variants f32,bf16 --anchor keras-mha
"""
import argparse
import json
import os
import statistics
import sys
import time

import keras
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zoo import build_transformer  # noqa: E402

CONFIGS = {
    "cpu": dict(vocab=20000, seq=200, d_model=128, heads=4, ff=256, layers=2, batch=64, dropout=0.1),
    "gpu": dict(vocab=32000, seq=512, d_model=512, heads=8, ff=2048, layers=6, batch=64, dropout=0.1),
    "smoke": dict(vocab=500, seq=16, d_model=16, heads=2, ff=32, layers=1, batch=8, dropout=0.1),
}
# precision policy, jit_compile
VARIANTS = {
    "f32": ("float32", False),
    "f32-xla": ("float32", True),
    "bf16": ("mixed_bfloat16", False),
    "bf16-xla": ("mixed_bfloat16", True),
}


def zoo_model(c):
    """zoo's classifier in keras-hub's TransformerEncoder layout: post-LN, ReLU feed-forward, mean pooling."""
    return build_transformer(c["vocab"], c["seq"], 2, num_layers=c["layers"], d_model=c["d_model"],
                             num_heads=c["heads"], ff_dim=c["ff"], dropout=c["dropout"], pooling="mean",
                             activation="relu", norm_first=False)


def zoo_default_model(c):
    """zoo's classifier with its own defaults: pre-LN with a final norm, GELU."""
    return build_transformer(c["vocab"], c["seq"], 2, num_layers=c["layers"], d_model=c["d_model"],
                             num_heads=c["heads"], ff_dim=c["ff"], dropout=c["dropout"], pooling="mean")


def keras_hub_model(c):
    import keras_hub

    ids = keras.Input((c["seq"],), dtype="int32")
    x = keras_hub.layers.TokenAndPositionEmbedding(c["vocab"], c["seq"], c["d_model"], mask_zero=True)(ids)
    for _ in range(c["layers"]):
        x = keras_hub.layers.TransformerEncoder(c["ff"], c["heads"], dropout=c["dropout"])(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(ids, keras.layers.Dense(2, dtype="float32")(x))


def keras_mha_model(c):
    """The Keras example's ``TransformerBlock`` (keras.io text classification): ``keras.layers.MultiHeadAttention``,
    post-LN, ReLU feed-forward, dropout on both residual branches, learned positions."""
    ids = keras.Input((c["seq"],), dtype="int32")
    tokens = keras.layers.Embedding(c["vocab"], c["d_model"])(ids)
    positions = keras.layers.Embedding(c["seq"], c["d_model"])(keras.ops.arange(c["seq"]))
    x = tokens + positions
    for _ in range(c["layers"]):
        attn = keras.layers.MultiHeadAttention(c["heads"], c["d_model"] // c["heads"])(x, x)
        x = keras.layers.LayerNormalization(epsilon=1e-6)(x + keras.layers.Dropout(c["dropout"])(attn))
        ffn = keras.layers.Dense(c["d_model"])(keras.layers.Dense(c["ff"], activation="relu")(x))
        x = keras.layers.LayerNormalization(epsilon=1e-6)(x + keras.layers.Dropout(c["dropout"])(ffn))
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(ids, keras.layers.Dense(2, dtype="float32")(x))


BUILDERS = {"zoo": zoo_model, "zoo-default": zoo_default_model, "keras-hub": keras_hub_model,
            "keras-mha": keras_mha_model}


def make_batch(c, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, c["vocab"], size=(c["batch"], c["seq"])).astype("int32")
    lengths = rng.integers(c["seq"] // 4, c["seq"] + 1, size=c["batch"])
    ids[np.arange(c["seq"])[None, :] >= lengths[:, None]] = 0
    return ids, rng.integers(0, 2, size=(c["batch"],)).astype("int32")


class Runner:
    """One compiled model with its data, able to time a round of training and of inference steps."""

    def __init__(self, name, builder, variant, c):
        policy, jit = VARIANTS[variant]
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(0)
        self.label = f"{name} [{variant}]"
        self.model = builder(c)
        self.model.compile(optimizer=keras.optimizers.Adam(1e-4),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
        keras.mixed_precision.set_global_policy("float32")
        self.x, self.y = make_batch(c)
        self.batch = c["batch"]
        self.train_times, self.infer_times = [], []
        for _ in range(2):  # trace, compile and warm the caches
            self.model.train_on_batch(self.x, self.y)
            self.model.predict_on_batch(self.x)

    def round(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            loss = self.model.train_on_batch(self.x, self.y)
        float(np.asarray(loss))
        self.train_times.append((time.perf_counter() - start) / steps)
        start = time.perf_counter()
        for _ in range(steps):
            out = self.model.predict_on_batch(self.x)
        np.asarray(out)
        self.infer_times.append((time.perf_counter() - start) / steps)

    def result(self):
        train, infer = statistics.median(self.train_times), statistics.median(self.infer_times)
        return {"model": self.label, "train_steps_per_s": 1.0 / train,
                "forward_examples_per_s": self.batch / infer, "params": int(self.model.count_params())}


def run(config="cpu", models=("zoo", "keras-hub", "keras-mha"), variants=("f32",), anchor="keras-hub",
        anchor_variant="f32", steps=5, rounds=5):
    """Time every (model, variant) pair and return rows with ratios to the anchor."""
    c = CONFIGS[config]
    runners = []
    for name in models:
        for variant in variants:
            if not name.startswith("zoo") and variant != anchor_variant and name != anchor:
                continue
            runners.append(Runner(name, BUILDERS[name], variant, c))
            print(f"compiled {runners[-1].label}", flush=True)
    for r in range(rounds):
        for runner in runners:
            runner.round(steps)
        print(f"round {r + 1}/{rounds} done", flush=True)
    rows = [runner.result() for runner in runners]
    base = next(row for row in rows if row["model"] == f"{anchor} [{anchor_variant}]")
    for row in rows:
        row["train_ratio"] = row["train_steps_per_s"] / base["train_steps_per_s"]
        row["forward_ratio"] = row["forward_examples_per_s"] / base["forward_examples_per_s"]
    return {"backend": keras.backend.backend(), "config": config, "settings": c, "anchor": base["model"],
            "steps_per_round": steps, "rounds": rounds, "rows": rows}


def table(result):
    lines = [f"backend={result['backend']} config={result['config']} {result['settings']}",
             f"anchor: {result['anchor']}; medians of {result['rounds']} rounds x {result['steps_per_round']} steps",
             "| model | params | train steps/s | forward ex/s | train × anchor | forward × anchor |",
             "|---|---|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['model']} | {row['params']:,} | {row['train_steps_per_s']:.2f} | "
                     f"{row['forward_examples_per_s']:.0f} | {row['train_ratio']:.2f} | {row['forward_ratio']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    parser.add_argument("--models", default="zoo,keras-hub,keras-mha")
    parser.add_argument("--variants", default="f32,f32-xla,bf16,bf16-xla")
    parser.add_argument("--anchor", default="keras-hub")
    parser.add_argument("--anchor-variant", default="f32")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args.config, args.models.split(","), args.variants.split(","), args.anchor, args.anchor_variant,
                 args.steps, args.rounds)
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
