"""Exports that would be read as something else: into a run directory, beside versions that serve another model, or
unfinished; and the messages that name them."""
import json

import pytest
import tensorflow as tf

import zoo
from zoo.export.generative import GenerativeServingGraph
from zoo.export.saved_model import export_generator
from zoo.export.versions import ExportPathError, resolve_export_dir


def _fake_export(version_dir, **metadata):
    """A version folder holding a ``saved_model.pb`` and the ``zoo_export.json`` of ``metadata``."""
    (version_dir / "assets.extra").mkdir(parents=True)
    (version_dir / "saved_model.pb").write_bytes(b"")
    (version_dir / "assets.extra" / "zoo_export.json").write_text(json.dumps(metadata))
    return version_dir


def test_an_export_into_another_run_directory_is_refused(tmp_path):
    # zoo export RUN_A --out RUN_B was accepted, and zoo predict RUN_B then read RUN_A's export from RUN_B/1
    other = tmp_path / "runs" / "b"
    other.mkdir(parents=True)
    (other / "config.yaml").write_text("model:\n  name: lm\n")
    (other / "model.json").write_text("{}")
    for out in (other, other / "exported", other / "exported" / "3"):
        destination = out if out.name == "3" else out / "1"
        with pytest.raises(ExportPathError) as error:
            resolve_export_dir(out, name="a")
        assert str(error.value) == (f"export destination {destination} is inside the run directory {other}; set out "
                                    "(--out) to a directory outside it (default: saved_models/NAME)")
    assert not (other / "1").exists() and not (other / "exported").exists()
    assert resolve_export_dir(tmp_path / "runs" / "models", name="a") == (tmp_path / "runs" / "models" / "1", 1)


def test_a_version_that_serves_another_model_is_refused(lm, tmp_path, monkeypatch):
    # a pair classifier (or an lm) exported beside a neg/pos classifier became the newest version, which TF Serving
    # serves: its clients switched signature and labels without a word
    base = tmp_path / "models" / "small"
    _fake_export(base / "1", task="classification", label_names=["neg", "pos"],
                 signatures={"serving_default": {"inputs": {"texts": "string [None]"}}})
    with pytest.raises(ExportPathError) as error:
        export_generator(*lm, "lm", 8, out=base, max_new_tokens=2)
    assert str(error.value) == (
        f"export destination {base}/2 would serve another model than {base}/1, the newest version of {base}: task lm "
        "(1: classification); label_names [] (1: ['neg', 'pos']); TF Serving serves the newest version, so its "
        f"clients would switch without a word: set out (--out) or name (--name) to another model directory, or "
        f"remove the old versions from {base}")
    assert sorted(p.name for p in base.iterdir()) == ["1"]
    monkeypatch.chdir(tmp_path)  # --name exports to saved_models/NAME
    _fake_export(tmp_path / "saved_models" / "pairs" / "4", task="lm", label_names=[],
                 signatures={"serving_default": {"inputs": {"text_a": "string [None]", "text_b": "string [None]"}}})
    with pytest.raises(ExportPathError, match=r"^export destination saved_models/pairs/5 would serve another model "
                                              r"than saved_models/pairs/4, the newest version of saved_models/pairs: "
                                              r"inputs \['texts'\] \(4: \['text_a', 'text_b'\]\); TF Serving"):
        export_generator(*lm, "lm", 8, name="pairs", max_new_tokens=2)
    # the same model again is a new version of it
    first = export_generator(*lm, "lm", 8, out=tmp_path / "lm", max_new_tokens=2)
    assert export_generator(*lm, "lm", 8, out=tmp_path / "lm", max_new_tokens=3).path == first.path.parent / "2"


def _main(argv, capsys):
    from zoo.cli import main

    assert main(argv) == 2
    return capsys.readouterr().err


def test_every_command_names_an_unfinished_newest_version(tmp_path, capsys, monkeypatch):
    # zoo evaluate and zoo generate said "sm2 is an exported model (a SavedModel), not a run directory: zoo predict
    # and zoo evaluate --data ... read it"; zoo embed "sm2/config.json: checkpoint config not found"
    monkeypatch.chdir(tmp_path)
    _fake_export(tmp_path / "sm2" / "1", task="classification")
    (tmp_path / "sm2" / "9").mkdir()
    (tmp_path / "f.csv").write_text("text,label\na film,pos\n")
    problem = ("sm2/9, the newest version of sm2, has no saved_model.pb (an export that did not finish, or a partial "
               "copy); export the run again or remove sm2/9\n")
    for command in (["predict", "sm2", "x"], ["evaluate", "sm2", "--data", "f.csv"], ["generate", "sm2", "x"],
                    ["embed", "sm2", "x"]):
        assert _main(command, capsys) == f"zoo {command[0]}: error: {problem}"


def test_every_command_names_the_newest_version_when_no_version_finished(tmp_path, capsys, monkeypatch):
    # evaluate, generate and explain said "sm3/config.yaml not found: sm3 is not a finished zoo run directory"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sm3" / "1").mkdir(parents=True)
    (tmp_path / "sm3" / "2" / "variables").mkdir(parents=True)
    (tmp_path / "f.csv").write_text("text,label\na film,pos\n")
    problem = ("sm3/2, the newest version of sm3, has no saved_model.pb (an export that did not finish, or a partial "
               "copy); export the run again or remove sm3/2\n")
    for command in (["predict", "sm3", "x"], ["evaluate", "sm3", "--data", "f.csv"], ["generate", "sm3", "x"],
                    ["embed", "sm3", "x"], ["explain", "sm3", "x"]):
        assert _main(command, capsys) == f"zoo {command[0]}: error: {problem}"


def test_a_folder_of_numbered_runs_is_not_called_an_export(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "1").mkdir(parents=True)
    (tmp_path / "runs" / "1" / "config.yaml").write_text("{}")
    assert _main(["explain", "runs", "x"], capsys) == (
        "zoo explain: error: runs/config.yaml not found: runs is not a finished zoo run directory\n")


def test_export_of_a_missing_run_directory_says_it_is_not_found(tmp_path, capsys, monkeypatch):
    # it said "nothere/config.yaml not found: nothere is not a finished zoo run directory"
    monkeypatch.chdir(tmp_path)
    assert _main(["export", "nothere"], capsys) == "zoo export: error: run directory not found: nothere\n"


def test_evaluate_says_how_to_score_with_another_threshold(tmp_path):
    # it said "export the run again with --threshold, or predict with the run directory"
    path = _fake_export(tmp_path / "m" / "1", task="classification", label_names=["neg", "pos"], threshold=0.3)
    with pytest.raises(ValueError) as error:
        zoo.evaluate(tmp_path / "m", tmp_path / "ev.csv", out_dir=tmp_path / "ev", threshold=0.9)
    assert str(error.value) == (f"threshold (--threshold) 0.9: the export {path} decides by threshold 0.3, as it was "
                                "exported; export the run again with --threshold, or evaluate the run directory "
                                "with --threshold")


def test_evaluate_points_an_embedder_export_to_zoo_embed(tmp_path):
    # it said "evaluate the run directory it was exported from instead": an embedder's export has no run
    path = _fake_export(tmp_path / "all-MiniLM-L6-v2" / "1", task="embedding")
    with pytest.raises(ValueError) as error:
        zoo.evaluate(path.parent, tmp_path / "ev.csv")
    assert str(error.value) == (f"{path} is the export of a checkpoint's sentence embedder: zoo evaluate scores "
                                f"classifiers' exports; `zoo embed {path} TEXT ...` embeds texts with it")


def test_a_seq2seq_run_is_called_a_seq2seq_run(tmp_path):
    run = tmp_path / "s2s"
    run.mkdir()
    (run / "config.yaml").write_text("model:\n  name: seq2seq\n")
    with pytest.raises(ValueError, match=rf"^threshold \(--threshold\) applies to classifier runs; {run} is a seq2seq "
                                         "run$"):
        zoo.export_run(run, out=tmp_path / "m", threshold=0.5)


def _graph(lm, choice, max_new_tokens):
    """The lm's graph, each step choosing the token ``choice`` (the model's choice would depend on its weights)."""
    model, tokenizer = lm
    graph = GenerativeServingGraph(model, tokenizer, "lm", 8, max_new_tokens)
    token = choice if isinstance(choice, int) else int(tokenizer.tokenize(tf.constant([choice])).flat_values[0])
    graph._choose = lambda logits: tf.fill([tf.shape(logits)[0]], token)
    return graph


@pytest.mark.parametrize("max_new_tokens, full", [(None, [True, True]), (2, [False, False]), (3, [False, True])])
def test_a_generation_cut_short_by_the_model_positions_is_flagged_context_full(lm, max_new_tokens, full):
    # 8 positions: a prompt of 6 tokens and its begin token leave 2 to generate, a prompt of 1 leaves 7; it returned
    # the short continuation unflagged, the default max_new_tokens (8) included
    prompts = tf.constant(["a", "a b c a b c"])
    out = _graph(lm, "b", max_new_tokens).serve_text(prompts)
    assert out["context_full"].numpy().tolist() == full
    from zoo.training.data import frame_ids

    ended = _graph(lm, int(frame_ids(lm[1])[1]), max_new_tokens).serve_text(prompts)  # the end token, at once
    assert ended["context_full"].numpy().tolist() == [False, False]


def test_generate_with_an_export_gives_context_full(lm, tmp_path):
    from zoo.export.predict import generate_with_export

    result = export_generator(*lm, "lm", 8, out=tmp_path / "lm")
    assert "context_full" in result.metadata["signatures"]["serving_default"]["outputs"]
    [row] = generate_with_export(result.path, ["a b c a b c"])
    assert isinstance(row["context_full"], bool)
