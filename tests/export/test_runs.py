"""Export and predict straight from a ``zoo.train`` run directory, and the CLI commands over them."""
import argparse
import csv
import json

import numpy as np
import pytest
import yaml

from zoo.export.cli import add_export_command, add_predict_command
from zoo.export.predict import InMemoryPredictor, SavedModelPredictor, load_predictor
from zoo.export.saved_model import read_metadata


def _cli(argv):
    parser = argparse.ArgumentParser(prog="zoo")
    commands = parser.add_subparsers(dest="command", required=True)
    add_export_command(commands)
    add_predict_command(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


def test_export_and_predict_commands_on_a_run_directory(trained_run, tmp_path, capsys):
    out = tmp_path / "models" / "cli"
    assert _cli(["export", str(trained_run.run_dir), "--out", str(out / "3")]) == 0
    assert "version 3" in capsys.readouterr().out
    path = out / "3"
    saved = json.loads((path / "assets.extra" / "zoo_config.json").read_text())
    assert saved == yaml.safe_load((trained_run.run_dir / "config.yaml").read_text())
    assert read_metadata(path)["sequence_length"] == trained_run.config.data.sequence_length
    assert json.loads((path / "assets.extra" / "model.json").read_text()) == json.loads(
        (trained_run.run_dir / "model.json").read_text())

    from_run = load_predictor(trained_run.run_dir)
    from_export = load_predictor(out)
    assert isinstance(from_run, InMemoryPredictor) and isinstance(from_export, SavedModelPredictor)
    texts = ["The plot was superb and gripping.", "Dull, lifeless acting.", ""]
    np.testing.assert_allclose(from_run.predict(texts).probabilities, from_export.predict(texts).probabilities,
                               atol=1e-6)

    assert _cli(["predict", str(out), *texts[:2]]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == from_export.predict(texts[:2]).records(texts[:2])

    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts[:2]) + "\n", encoding="utf-8")
    assert _cli(["predict", str(trained_run.run_dir), "--input", str(src), "--output", str(tmp_path / "p.jsonl")]) == 0
    run_rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["label"] for r in run_rows] == [r["label"] for r in rows]

    capsys.readouterr()
    assert _cli(["predict", str(out)]) == 2
    assert "zoo predict: error: give texts on the command line or --input FILE" in capsys.readouterr().err
    assert _cli(["export", str(tmp_path / "no-run")]) == 2
    assert "zoo export: error: " in capsys.readouterr().err


def test_export_refuses_a_name_beside_out(trained_run, tmp_path, capsys):
    out = tmp_path / "models" / "mine"
    # --out is the model directory itself: the export went to mine/1 and --name was dropped without a word
    with pytest.raises(SystemExit) as exit_info:
        _cli(["export", str(trained_run.run_dir), "--out", str(out), "--name", "other"])
    assert exit_info.value.code == 2
    assert "argument --name: not allowed with argument --out" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_an_empty_export_name_is_refused(trained_run, tmp_path, capsys, monkeypatch):
    # It was taken for no name: the export went to saved_models/<run name>/ without a word.
    monkeypatch.chdir(tmp_path)
    assert _cli(["export", str(trained_run.run_dir), "--name", ""]) == 2
    assert "zoo export: error: export name must be a plain directory name, got ''" in capsys.readouterr().err
    assert not (tmp_path / "saved_models").exists()


def test_neither_export_nor_run_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="neither an exported SavedModel .* nor a zoo run directory"):
        load_predictor(tmp_path / "empty")


def test_predict_writes_command_line_texts_to_output(trained_run, tmp_path, capsys):
    texts = ["The plot was superb and gripping.", "Dull, lifeless acting."]
    out = tmp_path / "preds" / "p.csv"
    assert _cli(["predict", str(trained_run.run_dir), *texts, "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"wrote 2 predictions to {out}" in captured.err
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = load_predictor(trained_run.run_dir).predict(texts).records(texts)
    assert [(r["text"], r["label"]) for r in rows] == [(e["text"], e["label"]) for e in expected]


def test_an_output_under_a_file_is_refused_before_any_work(trained_run, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    # A model directory that does not exist: the output is checked first, before the model would load.
    assert _cli(["predict", str(tmp_path / "no-model"), "a text", "--output", str(blocker / "p.jsonl")]) == 2
    assert capsys.readouterr().err == (f"zoo predict: error: cannot write {blocker}/p.jsonl: {blocker} is a file, not "
                                       "a directory; set the output path (--output) to a .jsonl, .csv or .parquet file "
                                       "in a directory you can write\n")
    assert _cli(["export", str(trained_run.run_dir), "--out", str(blocker / "m")]) == 2
    assert capsys.readouterr().err == (f"zoo export: error: cannot write {blocker}/m/1: {blocker} is a file, not a "
                                       "directory; set out (--out) to a directory you can write\n")
    (tmp_path / "dir.jsonl").mkdir()
    assert _cli(["predict", str(trained_run.run_dir), "a text", "--output", str(tmp_path / "dir.jsonl")]) == 2
    assert f"cannot write {tmp_path}/dir.jsonl: {tmp_path}/dir.jsonl is a directory" in capsys.readouterr().err


def test_an_export_into_its_own_run_directory_is_refused(trained_run, capsys):
    # it wrote the SavedModel into the run (run/1, then run/2), mixing it with the run's own files
    run = trained_run.run_dir
    for out in (run, run / "exported"):
        assert _cli(["export", str(run), "--out", str(out)]) == 2
        assert capsys.readouterr().err == (f"zoo export: error: export destination {out / '1'} is inside the run "
                                           f"directory {run}; set out (--out) to a directory outside it (default: "
                                           "saved_models/NAME)\n")
    assert not (run / "1").exists() and not (run / "exported").exists()


@pytest.mark.parametrize("command", ["export", "evaluate", "predict"])
def test_an_unfinished_run_says_how_to_finish_it(trained_run, tmp_path, capsys, command):
    """A run interrupted before its model was written: the error names the zoo train command that finishes it."""
    from zoo.evaluation.cli import add_evaluate_command

    run = tmp_path / "cut run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text((trained_run.run_dir / "config.yaml").read_text())
    (run / "checkpoints" / "ckpt-240.index").write_text("")
    parser = argparse.ArgumentParser(prog="zoo")
    commands = parser.add_subparsers(dest="command", required=True)
    add_export_command(commands)
    add_evaluate_command(commands)
    add_predict_command(commands)
    args = parser.parse_args([command, str(run)] + (["a film"] if command == "predict" else []))
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert f"; {run} holds an unfinished run: finish it with zoo train " \
           f"--config '{run}/config.yaml' --output '{run}' --set output.overwrite=false (it resumes from its last " \
           "checkpoint)" in err
    assert err.count("\n") == 1
