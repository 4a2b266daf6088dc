"""Sentence embeddings (``zoo.embed``, ``zoo embed``) against the float64 numpy BERT, pooled as a checkpoint says."""
import json

import numpy as np
import pytest
import tensorflow as tf

from tests.converters.checkpoints import write_bert_checkpoint
from tests.converters.numpy_bert import bert_forward
from zoo.cli import main
from zoo.converters import UnsupportedCheckpointError
from zoo.converters.pretrained import load_tokenizer
from zoo.converters.sentence_transformers import SentencePooling, read_pooling
from zoo.export.embed import embed

TEXTS = ["a good film", "the story is very dull and not fun , not at all", "great !"]


def _sentence_transformers(folder, mode="mean_tokens", normalize=True, max_seq_length=12):
    """Add sentence-transformers' files to a checkpoint folder, as all-MiniLM-L6-v2 has them."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    flags = {f"pooling_mode_{m}": m == mode for m in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **flags}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    return folder


def _reference(folder, config, weights, texts, length, mode, normalize):
    """The numpy BERT's token vectors of the packed texts, pooled in float64 as sentence-transformers pools."""
    packed = load_tokenizer(folder).pack(tf.constant(texts), sequence_length=length)
    ids, real = packed["token_ids"].numpy(), packed["padding_mask"].numpy()
    tokens, _ = bert_forward(weights, config, ids, packed["segment_ids"].numpy(), real)
    mask = real[..., None].astype(np.float64)
    if mode == "cls_token":
        vectors = tokens[:, 0]
    elif mode == "max_tokens":
        vectors = np.where(mask > 0, tokens, -np.inf).max(1)
    else:
        vectors = (tokens * mask).sum(1) / mask.sum(1)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True) if normalize else vectors


@pytest.mark.parametrize("mode, normalize", [("mean_tokens", True), ("cls_token", False), ("max_tokens", True)])
def test_embeddings_pool_the_backbone_as_the_checkpoint_says(tmp_path, mode, normalize):
    folder, config, weights = write_bert_checkpoint(tmp_path / "st")
    _sentence_transformers(folder, mode, normalize)
    pooling = read_pooling(folder)
    assert pooling == SentencePooling({"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}[mode],
                                      normalize, 12)
    result = embed(folder, TEXTS, batch_size=2)
    assert result.vectors.shape == (3, 32) and result.sequence_length == 12
    # The second text has 14 tokens with [CLS] and [SEP]: cut to the checkpoint's max_seq_length of 12.
    assert result.truncated.tolist() == [False, True, False]
    np.testing.assert_allclose(result.vectors, _reference(folder, config, weights, TEXTS, 12, mode, normalize),
                               atol=2e-5)


def test_a_plain_bert_folder_is_mean_pooled_unnormalised_over_its_positions(tmp_path):
    folder, config, weights = write_bert_checkpoint(tmp_path / "plain")
    assert read_pooling(folder) == SentencePooling("mean", False, None)
    result = embed(folder, TEXTS, sequence_length=8)
    np.testing.assert_allclose(result.vectors, _reference(folder, config, weights, TEXTS, 8, "mean_tokens", False),
                               atol=2e-5)
    assert result.truncated.tolist() == [False, True, False]
    assert embed(folder, TEXTS[:1]).sequence_length == config["max_position_embeddings"]
    with pytest.raises(ValueError, match=r"sequence_length \(--sequence-length\) 41 exceeds the checkpoint's 40 "
                                         r"positions; pass 40 or less$"):
        embed(folder, TEXTS, sequence_length=41)
    with pytest.raises(ValueError, match="texts must be a list of strings"):
        embed(folder, "a text")


def test_a_pooling_zoo_does_not_compute_is_named_with_its_file(tmp_path):
    folder, _, _ = write_bert_checkpoint(tmp_path / "sqrt")
    _sentence_transformers(folder, "mean_sqrt_len_tokens")
    with pytest.raises(UnsupportedCheckpointError, match=r"1_Pooling/config\.json: pooling pooling_mode_mean_sqrt_"
                                                         r"len_tokens: zoo computes one of pooling_mode_mean_tokens"):
        read_pooling(folder)
    (folder / "modules.json").write_text("{not json")
    with pytest.raises(UnsupportedCheckpointError, match=r"modules\.json: not valid JSON"):
        read_pooling(folder)


def test_zoo_embed_prints_or_writes_the_vectors_with_the_input_s_columns(tmp_path, capsys, monkeypatch):
    folder, _, _ = write_bert_checkpoint(tmp_path / "st")
    _sentence_transformers(folder)
    expected = embed(folder, TEXTS).vectors
    with monkeypatch.context() as patch:
        patch.setattr("sys.stderr.isatty", lambda: True, raising=False)  # a terminal's, which shows the bar
        embed(folder, TEXTS, progress=True)
        assert "embedding: 100%" in capsys.readouterr().err
    assert main(["embed", str(folder), *TEXTS]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["text"] for row in rows] == TEXTS and [row["truncated"] for row in rows] == [False, True, False]
    np.testing.assert_allclose([row["embedding"] for row in rows], expected, atol=1e-7)
    assert err == ("warning: 1 of 3 texts had more tokens than 12 (--sequence-length) and were embedded from the "
                   "first ones; flagged truncated\n")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    assert main(["embed", str(folder), "--input", str(source), "--output", str(tmp_path / "out" / "e.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out" / "e.npy"), expected, atol=1e-7)
    assert main(["embed", str(folder), "--input", str(source), "--output", str(tmp_path / "e.jsonl")]) == 0
    assert [json.loads(line)["id"] for line in (tmp_path / "e.jsonl").read_text().splitlines()] == [0, 1, 2]
    capsys.readouterr()
    assert main(["embed", str(folder), "a text", "--output", str(tmp_path / "e.txt")]) == 2
    assert capsys.readouterr().err == (f"zoo embed: error: {tmp_path / 'e.txt'}: unsupported output type '.txt'; "
                                       "use one of .npy, .jsonl\n")


def test_a_checkpoint_exports_as_an_embedder_that_loads_without_zoo(tmp_path, capsys):
    from tests.export.test_standalone import run_standalone

    folder, _, _ = write_bert_checkpoint(tmp_path / "st")
    _sentence_transformers(folder)
    out = tmp_path / "models" / "st"
    assert main(["export", str(folder), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"exported {folder} to {out / '1'} (version 1, sentence embeddings of "
                                              "32 dimensions, mean-pooled, unit length; zoo embed reads it)")
    texts = TEXTS + ["", "caf\u00e9 !"]
    expected = embed(folder, texts)
    exported = embed(out, texts)  # the newest version of the model folder
    np.testing.assert_allclose(exported.vectors, expected.vectors, atol=1e-6)
    assert exported.truncated.tolist() == expected.truncated.tolist() == [False, True, False, False, False]
    assert exported.empty_input.tolist() == [False, False, False, True, False] and exported.sequence_length == 12
    [alone] = run_standalone([out / "1"], texts, tmp_path)
    assert "error" not in alone, alone.get("error")
    np.testing.assert_allclose(alone["embedding"], expected.vectors, atol=1e-6)
    with pytest.raises(ValueError, match=r"sequence_length \(--sequence-length\) 8: .* was exported with 12"):
        embed(out, texts, sequence_length=8)
    # The advice to export again stays within the checkpoint's 40 positions, which zoo export would refuse past.
    with pytest.raises(ValueError, match=r"reads at most 40 tokens: leave --sequence-length out, or export it again "
                                         r"with up to 40 \(zoo export .* --sequence-length 40\)$"):
        embed(out, texts, sequence_length=41)
    # Each command names the one that reads an export of another kind.
    assert main(["predict", str(out), "a text"]) == 2
    assert capsys.readouterr().err == (f"zoo predict: error: {out / '1'} is the export of a checkpoint's sentence "
                                       f"embedder: it embeds texts; `zoo embed {out / '1'} TEXT ...` reads it\n")
    assert main(["generate", str(out), "a text"]) == 2
    assert "`zoo embed" in capsys.readouterr().err


def test_a_zoo_run_directory_is_named_as_one_with_what_zoo_embed_reads(tmp_path, capsys):
    folder, _, _ = write_bert_checkpoint(tmp_path / "bert")
    run = tmp_path / "runs" / "tuned"
    run.mkdir(parents=True)
    (run / "model.json").write_text("{}")
    (run / "config.yaml").write_text(f"model:\n  init_from: {folder}\n")
    assert main(["embed", str(run), "a good film"]) == 2
    assert capsys.readouterr().err == (
        f"zoo embed: error: {run} is a zoo run directory (zoo train or zoo pretrain), which zoo embed does not read: "
        "it embeds with a BERT checkpoint folder (Hugging Face or keras-hub, with a config.json) or its export (zoo "
        "export CHECKPOINT); it embeds with no run's weights, fine-tuned or pretrained; the checkpoint this run was "
        f"fine-tuned from (model.init_from) embeds, without the fine-tuning: zoo embed {folder}\n")


def test_an_empty_input_file_has_no_texts_to_embed(tmp_path, capsys):
    folder, _, _ = write_bert_checkpoint(tmp_path / "bert")
    (tmp_path / "empty.csv").write_text("text\n")
    assert main(["embed", str(folder), "--input", str(tmp_path / "empty.csv")]) == 2
    assert capsys.readouterr().err == f"zoo embed: error: {tmp_path / 'empty.csv'}: no texts to embed\n"
