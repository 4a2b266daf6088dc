"""Small random BERT checkpoints written the way transformers writes them: HF key names, safetensors, no torch."""
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

# BERT's layout of special tokens ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103), then some words.
WORDS = ["the", "a", "and", "of", "film", "movie", "is", "it", "good", "bad", "great", "dull", "funny", "boring",
         "story", "not", "very", "fun", "##s", "##ly", ",", ".", "!", "?", "'", "caf", "##e"]
VOCABULARY = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
SMALL_CONFIG = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(VOCABULARY), "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 40,
    "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
}


def random_bert_weights(config=None, seed=0, pooler=True):
    """``{HF key: float32 array}`` of a random BertModel; scales large enough that every part matters."""
    config = {**SMALL_CONFIG, **(config or {})}
    rng = np.random.default_rng(seed)
    hidden, inner = config["hidden_size"], config["intermediate_size"]

    def linear(name, out, fan_in):
        weights[f"{name}.weight"] = rng.normal(0, 1 / np.sqrt(fan_in), (out, fan_in))
        weights[f"{name}.bias"] = rng.normal(0, 0.1, out)

    def norm(name):
        weights[f"{name}.weight"] = 1 + rng.normal(0, 0.2, hidden)
        weights[f"{name}.bias"] = rng.normal(0, 0.2, hidden)

    weights = {
        "embeddings.word_embeddings.weight": rng.normal(0, 0.5, (config["vocab_size"], hidden)),
        "embeddings.position_embeddings.weight": rng.normal(0, 0.5, (config["max_position_embeddings"], hidden)),
        "embeddings.token_type_embeddings.weight": rng.normal(0, 0.5, (config["type_vocab_size"], hidden)),
    }
    norm("embeddings.LayerNorm")
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            linear(f"{p}attention.self.{part}", hidden, hidden)
        linear(f"{p}attention.output.dense", hidden, hidden)
        norm(f"{p}attention.output.LayerNorm")
        linear(f"{p}intermediate.dense", inner, hidden)
        linear(f"{p}output.dense", hidden, inner)
        norm(f"{p}output.LayerNorm")
    if pooler:
        linear("pooler.dense", hidden, hidden)
    return {key: value.astype(np.float32) for key, value in weights.items()}


def write_bert_checkpoint(folder, config=None, weights=None, *, prefix="", shards=1, extra=None,
                          tokenizer_config=None):
    """Write a Hugging Face BERT folder; returns ``(folder, config, weights)`` (weights without ``prefix``).

    Args:
        folder: Created if needed.
        config: Overrides of ``SMALL_CONFIG``.
        weights: The weights (default ``random_bert_weights(config)``).
        prefix: Key prefix as written, e.g. ``"bert."``.
        shards: More than one writes ``model-0000i-of-0000n.safetensors`` and ``model.safetensors.index.json``.
        extra: More ``{key: array}`` written as they are (e.g. a head's weights).
        tokenizer_config: Overrides of ``tokenizer_config.json`` (uncased BERT by default).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {**SMALL_CONFIG, **(config or {})}
    weights = random_bert_weights(config) if weights is None else weights
    written = {prefix + key: value for key, value in weights.items()}
    written.update(extra or {})
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    if shards == 1:
        save_file(written, folder / "model.safetensors", metadata={"format": "pt"})
    else:
        keys = sorted(written)
        names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
        weight_map = {key: names[i % shards] for i, key in enumerate(keys)}
        for name in names:
            save_file({k: written[k] for k in keys if weight_map[k] == name}, folder / name, metadata={"format": "pt"})
        (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "vocab.txt").write_text("".join(t + "\n" for t in VOCABULARY), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": True, "tokenizer_class": "BertTokenizer", **(tokenizer_config or {})}))
    return folder, config, weights
