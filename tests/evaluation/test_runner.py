"""Evaluating models and run directories: numbers against independent computations, files on disk."""
import argparse
import json
import logging

import numpy as np
import pytest
import tensorflow as tf

from tests.evaluation.test_reports import assert_png
from tests.export.tiny import sentiment_texts, write_jsonl
from zoo.evaluation.cli import add_evaluate_command
from zoo.evaluation.runner import evaluate, evaluate_model, run_splits


def _zoo_evaluate_on(run, texts, labels, tmp_path, name):
    """Run ``zoo evaluate RUN --data <name>.jsonl --out tmp_path/r`` on labelled texts; returns its exit status."""
    data = write_jsonl(tmp_path / f"{name}.jsonl", texts, labels, ["negative", "positive"])
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(run.run_dir), "--data", str(data), "--out", str(tmp_path / "r")])
    return args.handler(args)


def test_evaluate_model_matches_numpy_on_the_keras_model(tiny_run):
    texts, labels = sentiment_texts(150, seed=11)
    report = evaluate_model(tiny_run.model, tiny_run.tokenizer, tiny_run.label_names, texts, labels, mistakes=5)
    ids = tiny_run.tokenizer.encode(tf.constant(texts), 24).numpy()
    logits = tiny_run.model.predict(ids, verbose=0).astype(np.float64)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = report["metrics"]
    assert m["num_examples"] == 150
    assert m["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == labels))
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(probs[np.arange(150), labels])), rel=1e-4)
    assert report["files"] == {}
    for mistake in report["confident_mistakes"]:
        i = mistake["index"]
        assert probs[i].argmax() != labels[i] and mistake["confidence"] == pytest.approx(probs[i].max(), abs=1e-5)


def test_evaluate_run_dir_scores_the_held_out_test_split(trained_run, tmp_path):
    out = tmp_path / "eval"
    report = evaluate(trained_run.run_dir, out_dir=out, progress=False)
    m = report["metrics"]
    # training measured the same test split with its own code: same size, same accuracy
    assert m["num_examples"] == trained_run.metrics["examples"]["test"]
    assert abs(m["accuracy"] - trained_run.metrics["test"]["accuracy"]) <= 1.0 / m["num_examples"] + 1e-9
    assert set(report["files"]) == {"json", "markdown", "confusion_matrix", "training_curves", "roc_curve",
                                    "precision_recall_curve"}
    for name in ("confusion_matrix", "training_curves", "roc_curve", "precision_recall_curve"):
        assert_png(out / report["files"][name])
    assert json.loads((out / "report.json").read_text())["info"]["run"] == str(trained_run.run_dir)
    assert "| negative |" in (out / "report.md").read_text()

    splits = run_splits(trained_run.config)
    assert len(splits["test"]) == m["num_examples"] and len(splits["validation"]) > 0


def test_evaluate_run_dir_on_other_data_and_bad_data(trained_run, tmp_path, capsys):
    texts, labels = sentiment_texts(60, seed=21)
    assert _zoo_evaluate_on(trained_run, texts, labels, tmp_path, "other") == 0
    assert "60 examples: accuracy" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "report.json").read_text())["metrics"]["num_examples"] == 60

    wrong = write_jsonl(tmp_path / "wrong.jsonl", texts, labels, ["bad", "good"])
    unseen = r"wrong.jsonl, line 1, column 'label': label '(good|bad)' is not in the label vocabulary"
    with pytest.raises(ValueError, match=unseen):
        evaluate(trained_run.run_dir, wrong, out_dir=tmp_path / "w", progress=False)
    with pytest.raises(ValueError, match=r"split \(--split\) must be"):
        evaluate(trained_run.run_dir, split="train")
    with pytest.raises(ValueError, match=r"load options \['text_column'\] apply only with data= \(--data\)"):
        evaluate(trained_run.run_dir, text_column="review")
    with pytest.raises(FileNotFoundError, match="not a finished zoo run directory"):
        evaluate(tmp_path)


def _zoo_evaluate_csv(run, csv_text, tmp_path, *flags):
    """Run ``zoo evaluate RUN --data data.csv`` on ``csv_text``; returns its exit status."""
    data = tmp_path / "data.csv"
    data.write_text(csv_text, encoding="utf-8")
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(run.run_dir), "--data", str(data), "--out", str(tmp_path / "r"),
                              *flags])
    return args.handler(args)


def test_a_file_without_labels_is_sent_to_zoo_predict(trained_run, tmp_path, capsys):
    assert _zoo_evaluate_csv(trained_run, "text\na superb film\n", tmp_path) == 2
    # it named label_column= / --label-column only
    assert capsys.readouterr().err.endswith(f"a file without labels is scored with zoo predict {trained_run.run_dir} "
                                            f"--input {tmp_path / 'data.csv'}\n")


def test_a_txt_file_of_unlabelled_texts_is_sent_to_zoo_predict(trained_run, tmp_path, capsys):
    (tmp_path / "pred.txt").write_text("a superb film\na dull film\n", encoding="utf-8")
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(trained_run.run_dir), "--data", str(tmp_path / "pred.txt")])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (
        f"zoo evaluate: error: {tmp_path / 'pred.txt'}: one text per line and no labels, which zoo evaluate cannot "
        "score: it compares a classifier's predictions with labels (a .csv/.tsv/.jsonl/.parquet file with a label "
        "column, --label-column naming it); a file without labels is scored with zoo predict "
        f"{trained_run.run_dir} --input {tmp_path / 'pred.txt'}\n")


def test_a_row_without_text_is_an_error_that_says_how_to_skip_it(trained_run, tmp_path, capsys):
    rows = "text,label\na superb film,positive\n,negative\na dull film,negative\n"
    assert _zoo_evaluate_csv(trained_run, rows, tmp_path) == 2
    # it stopped at "line 3, column 'text': empty text", without a remedy
    assert capsys.readouterr().err.endswith("line 3, column 'text': empty text\n  fix or remove that row, or pass "
                                            "--on-bad-rows skip to leave out such rows (a warning counts them)\n")
    assert _zoo_evaluate_csv(trained_run, rows, tmp_path, "--on-bad-rows", "skip") == 0
    assert capsys.readouterr().out.startswith("2 examples: accuracy")


@pytest.mark.parametrize("given", ["run", "export"])
def test_evaluating_on_texts_the_run_trained_on_warns(trained_run, tmp_path, caplog, given):
    # zoo train warned about a test file holding training texts; zoo evaluate --data did not, and once the run
    # directory warned, its export still scored the texts it trained on silently.
    from zoo.export.saved_model import export_run

    path = (trained_run.run_dir if given == "run" else
            export_run(trained_run.run_dir, out=tmp_path / "saved_models" / "sentiment").path)
    source = trained_run.config.data.source
    with caplog.at_level(logging.WARNING):
        report = evaluate(path, source, out_dir=tmp_path / "own", progress=False)
    trained = json.loads((trained_run.run_dir / "metrics.json").read_text())["examples"]["train"]
    whose = f"run {path}" if given == "run" else f"the run of export {path}"
    assert (f"warning: {trained} of the {report['metrics']['num_examples']} texts of {source} are texts {whose} "
            "trained on (first: ") in caplog.text
    caplog.clear()
    texts, labels = sentiment_texts(60, seed=21)
    with caplog.at_level(logging.WARNING):
        evaluate(path, write_jsonl(tmp_path / "other.jsonl", texts, labels, ["negative", "positive"]),
                 out_dir=tmp_path / "other", progress=False)
    assert "trained on" not in caplog.text


def test_a_mistyped_keyword_of_evaluate_is_named_with_the_keywords_it_takes(tmp_path, monkeypatch):
    # It was "TypeError: load() got an unexpected keyword argument 'label_colum'", after the model loaded.
    import zoo.training

    monkeypatch.setattr(zoo.training, "load_run", lambda run_dir: pytest.fail("the model was loaded"))
    with pytest.raises(TypeError) as error:
        evaluate(tmp_path / "run", "other.csv", label_colum="label")
    message, allowed = str(error.value).split("; allowed: ")
    assert message == "zoo.evaluate(): unknown key 'label_colum' (did you mean 'label_column'?)"
    # its own keywords, then zoo.data.load's options
    assert allowed.startswith("split, out_dir, batch_size, ")
    assert {"threshold", "encoding", "text_column", "label_column", "on_bad_rows"} <= set(allowed.split(", "))
    with pytest.raises(TypeError, match=r"^zoo.evaluate\(\): unknown key 'out_dri' \(did you mean 'out_dir'\?\)"):
        evaluate(tmp_path / "run", out_dri="ev")
    # evaluate sets these itself
    for name in ("inherited", "label_names"):
        with pytest.raises(TypeError, match=rf"^zoo.evaluate\(\): unknown key '{name}'"):
            evaluate(tmp_path / "run", "other.csv", **{name: None})


def test_a_data_error_of_zoo_evaluate_names_the_flag_of_its_fix(trained_run, tmp_path, capsys):
    data = tmp_path / "other.csv"
    data.write_text("review,label\na fine film,positive\n", encoding="utf-8")
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(trained_run.run_dir), "--data", str(data), "--out", str(tmp_path / "r")])
    assert args.handler(args) == 2
    # the fix was named only as zoo.data.load's argument (text_column=)
    assert capsys.readouterr().err.endswith("pass header=False and column indices\n  on the command line: "
                                            "--text-column\n")
    args = parser.parse_args(["evaluate", str(trained_run.run_dir), "--data", str(data), "--text-column", "review",
                              "--out", str(tmp_path / "r")])
    assert args.handler(args) == 0


def test_a_run_evaluates_exports_and_predicts_with_a_threshold_from_the_command_line(trained_run, tmp_path, capsys):
    from zoo.cli import main

    run = str(trained_run.run_dir)
    assert main(["evaluate", run, "--split", "validation", "--out", str(tmp_path / "v")]) == 0
    report = json.loads((tmp_path / "v" / "report.json").read_text())
    best = report["metrics"]["best_f1_threshold"]
    out = capsys.readouterr().out
    assert (f"best F1 of positive here: {best['f1']:.4f} at threshold {best['threshold']:.4g} (precision "
            f"{best['precision']:.4f}, recall {best['recall']:.4f}): zoo export {run} --threshold "
            f"{best['threshold']:.4g} labels by it\n") in out
    assert main(["evaluate", run, "--threshold", "0.2", "--out", str(tmp_path / "t")]) == 0
    assert "examples, positive from probability 0.2: accuracy" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "t" / "report.json").read_text())["metrics"]
    texts = run_splits(trained_run.config)["test"]
    assert main(["predict", run, *texts.texts]) == 0
    probabilities = np.array([list(json.loads(line)["probabilities"].values())
                              for line in capsys.readouterr().out.splitlines()])
    assert metrics["threshold"] == 0.2
    assert metrics["accuracy"] == pytest.approx(np.mean((probabilities[:, 1] >= 0.2) == texts.labels))
    assert "- **decision threshold**: positive from probability 0.2" in (tmp_path / "t" / "report.md").read_text()
    # Texts on both sides of the option, in order: argparse took the positional texts in one run, and refused
    # those after it.
    assert main(["predict", run, texts.texts[0], "--threshold", "0.2", *texts.texts[1:30]]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["label"] for row in rows] == ["positive" if p >= 0.2 else "negative" for p in probabilities[:30, 1]]
    assert main(["export", run, "--threshold", "0.2", "--out", str(tmp_path / "m" / "1")]) == 0
    assert "labels ['negative', 'positive'], positive from probability 0.2)" in capsys.readouterr().out


def test_other_data_with_official_splits_is_evaluated_on_the_split_asked_for(trained_run, tmp_path):
    # It read the folder's (or TREC's) training split, whatever --split said.
    texts, labels = sentiment_texts(60, seed=23)
    folder = tmp_path / "splits"
    folder.mkdir()
    for split, part in (("train", slice(0, 30)), ("validation", slice(30, 40)), ("test", slice(40, 60))):
        write_jsonl(folder / f"{split}.jsonl", texts[part], labels[part], ["negative", "positive"])
    test = evaluate(trained_run.run_dir, str(folder), out_dir=tmp_path / "a", progress=False)
    assert test["metrics"]["num_examples"] == 20 and test["info"]["data"] == f"{folder} (its official test split)"
    validation = evaluate(trained_run.run_dir, str(folder), split="validation", out_dir=tmp_path / "b",
                          progress=False)
    assert validation["metrics"]["num_examples"] == 10
    with pytest.raises(ValueError, match=rf"^{folder} has the official splits train, validation, test, not 'dev'; "):
        evaluate(trained_run.run_dir, str(folder), split="dev", out_dir=tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match=r"^split \(--split\) 'validation' picks an official split of data "
                                         r"\(--data\), and .*test.jsonl has none: it is evaluated whole"):
        evaluate(trained_run.run_dir, str(folder / "test.jsonl"), split="validation", out_dir=tmp_path / "d",
                 progress=False)
    with pytest.raises(ValueError, match="must be 'test' or 'validation' for a run's own data"):
        evaluate(trained_run.run_dir, split="train", out_dir=tmp_path / "e", progress=False)


def test_an_export_is_evaluated_as_it_serves_its_threshold_included(trained_run, tmp_path, capsys, monkeypatch):
    from zoo.cli import main
    from zoo.export.saved_model import export_run

    monkeypatch.chdir(tmp_path)
    texts, labels = sentiment_texts(60, seed=29)
    data = write_jsonl(tmp_path / "fresh.jsonl", texts, labels, ["negative", "positive"])
    exported = export_run(trained_run.run_dir, out=tmp_path / "saved_models" / "sentiment", threshold=0.3)
    # It was refused: "an exported model, not a run directory".
    assert main(["evaluate", str(tmp_path / "saved_models" / "sentiment"), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "60 examples, positive from probability 0.3: accuracy" in out
    assert "report: evaluations/sentiment/1/report.md" in out and "exporting its run with --threshold" in out
    served = json.loads((tmp_path / "evaluations" / "sentiment" / "1" / "report.json").read_text())
    run = evaluate(trained_run.run_dir, str(data), threshold=0.3, out_dir=tmp_path / "run", progress=False)
    # The same decisions; probabilities from the SavedModel agree with the in-memory graph's to float32 rounding.
    assert {k: served["metrics"][k] for k in ("confusion_matrix", "per_class", "averages", "threshold")} == {
        k: run["metrics"][k] for k in ("confusion_matrix", "per_class", "averages", "threshold")}
    assert served["metrics"]["log_loss"] == pytest.approx(run["metrics"]["log_loss"], abs=1e-5)
    assert served["info"]["export"] == str(exported.path) and served["info"]["model"] == "transformer-tiny"
    with pytest.raises(ValueError, match=rf"^{exported.path} is an export, which holds no data: pass data= "):
        evaluate(exported.path)
    with pytest.raises(ValueError, match=r"decides by threshold 0.3, as it was exported"):
        evaluate(exported.path, str(data), threshold=0.5, out_dir=tmp_path / "other")


def test_the_report_says_where_the_run_s_own_split_came_from(tmp_path):
    from zoo.config import Config
    from zoo.evaluation.runner import run_split

    trec = tmp_path / "trec"
    trec.mkdir()
    questions = [f"{label} {verb} thing {i} ?" for i in range(20) for label, verb in (("NUM:date", "When"),
                                                                                   ("LOC:city", "Where"))]
    (trec / "train.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    (trec / "test.txt").write_text("NUM:date When was it ?\nLOC:city Where is it ?\n", encoding="utf-8")
    texts, labels = sentiment_texts(40, seed=3)
    other = write_jsonl(tmp_path / "other.jsonl", texts, labels, ["negative", "positive"])
    held_out = write_jsonl(tmp_path / "held_out.jsonl", texts[:4], labels[:4], ["negative", "positive"])
    folder = tmp_path / "splits"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", texts, labels, ["negative", "positive"])
    write_jsonl(folder / "validation.jsonl", texts[:4], labels[:4], ["negative", "positive"])
    for data, split, described in [
            # the official test split was described as drawn with the run's seed
            ({"source": f"trec:{trec}"}, "test", f"trec:{trec} (its official test split)"),
            ({"source": f"trec:{trec}"}, "validation", f"trec:{trec} (validation split, seed 7)"),
            ({"source": str(other), "test_source": str(held_out)}, "test", f"{held_out} (the run's data.test_source)"),
            ({"source": str(other), "validation_source": str(held_out)}, "validation",
             f"{held_out} (the run's data.validation_source)"),
            ({"source": str(folder)}, "validation", f"{folder} (its official validation split)"),
            ({"source": str(other)}, "test", f"{other} (test split, seed 7)")]:
        config = Config.from_dict({"data": data, "training": {"seed": 7}})
        assert run_split(tmp_path, config, split, {})[1] == described


def test_evaluate_output_under_a_file_is_refused_before_scoring(trained_run, tmp_path, capsys, monkeypatch):
    import zoo.training

    blocker = tmp_path / "afile"
    blocker.write_text("x")
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(trained_run.run_dir), "--out", str(blocker / "ev")])
    monkeypatch.setattr(zoo.training, "load_run", lambda run_dir: pytest.fail("the model was loaded"))
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (f"zoo evaluate: error: cannot write {blocker}/ev: {blocker} is a file, not a "
                                       "directory; set out_dir (--out) to a directory you can write\n")


def test_a_multilabel_run_evaluates_on_other_files_of_its_format(tmp_path):
    import zoo

    tagged = [("goal team", ["sports"]), ("vote senate", ["politics"]), ("goal vote", ["politics", "sports"]),
              ("the day", [])]
    rows = [{"review": f"{text} w{i}", "tags": tags} for i, (text, tags) in enumerate(tagged * 15)]
    source = tmp_path / "tags.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    run = zoo.train({"data": {"source": str(source), "vocab_size": 50, "sequence_length": 8, "validation_split": 0.2,
                              "load_options": {"text_column": "review", "label_column": "tags"}},
                     "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "d_model": 8, "num_heads": 2,
                                                                         "ff_dim": 16, "mode": "multilabel"}},
                     "training": {"epochs": 1, "batch_size": 16},
                     "output": {"dir": str(tmp_path / "run"), "progress": "none", "tensorboard": False}})
    # the file it trained on, and a CSV with comma-separated labels, are read with the columns and several labels
    # per row as training read them (they were "text column 'text' does not exist", "label field must be a string
    # or an integer, not list", "empty label")
    (tmp_path / "tags.csv").write_text("review,tags\n" + "".join(f'{r["review"]},"{",".join(r["tags"])}"\n'
                                                                  for r in rows[:4]), encoding="utf-8")
    for data, count in ((source, 60), (tmp_path / "tags.csv", 4)):
        metrics = evaluate(run.run_dir, str(data), out_dir=tmp_path / "ev", progress=False)["metrics"]
        assert metrics["multilabel"] and metrics["num_examples"] == count
        assert [c["support"] for c in metrics["per_class"]] == ([30, 30] if count == 60 else [2, 2])


def test_a_run_on_a_headerless_file_evaluates_on_files_of_its_layout(tmp_path):
    import zoo

    texts, labels = sentiment_texts(60, seed=8)
    names = ["negative", "positive"]
    source = tmp_path / "plain.csv"
    source.write_text("".join(f"{names[label]};{text}\n" for text, label in zip(texts, labels)), encoding="utf-8")
    run = zoo.train({"data": {"source": str(source), "vocab_size": 100, "sequence_length": 16, "validation_split": 0.2,
                              "load_options": {"header": False, "delimiter": ";", "text_column": 1,
                                               "label_column": 0}},
                     "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "d_model": 8, "num_heads": 2,
                                                                         "ff_dim": 16}},
                     "training": {"epochs": 1, "batch_size": 16},
                     "output": {"dir": str(tmp_path / "run"), "progress": "none", "tensorboard": False}})
    # the header row and delimiter of training apply too: without them the first example became a header
    # (silently dropped) and each row one field
    metrics = evaluate(run.run_dir, str(source), out_dir=tmp_path / "ev", progress=False)["metrics"]
    assert metrics["num_examples"] == 60
    assert [c["support"] for c in metrics["per_class"]] == [int((labels == 0).sum()), int((labels == 1).sum())]
    # Data of another layout reads with those of the run's options it has: a TSV file has no delimiter option and
    # class folders no columns; what evaluate is given for the data itself must apply.
    tsv = tmp_path / "plain.tsv"
    tsv.write_text("".join(f"{names[label]}\t{text}\n" for text, label in zip(texts, labels)), encoding="utf-8")
    folders = tmp_path / "folders"
    for i, (text, label) in enumerate(zip(texts, labels)):
        (folders / names[label]).mkdir(parents=True, exist_ok=True)
        (folders / names[label] / f"{i}.txt").write_text(text, encoding="utf-8")
    for data in (tsv, folders):
        assert evaluate(run.run_dir, str(data), out_dir=tmp_path / f"ev-{data.name}", progress=False)["metrics"][
            "num_examples"] == 60
    with pytest.raises(zoo.data.DataSpecError, match=r"text_column=1 is read only from .*; this is a folder of class "
                                                     "folders, which would ignore it: remove text_column=$"):
        evaluate(run.run_dir, str(folders), out_dir=tmp_path / "given", progress=False, text_column=1)


def test_evaluating_a_run_whose_data_changed_is_refused_as_no_longer_held_out(tmp_path, capsys):
    import zoo

    texts, labels = sentiment_texts(80, seed=5)
    source = write_jsonl(tmp_path / "s.jsonl", texts, labels, ["negative", "positive"])
    run = zoo.train({"data": {"source": str(source), "vocab_size": 200, "sequence_length": 16, "test_split": 0.25,
                              "validation_split": 0.1},
                     "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "d_model": 8,
                                                                         "num_heads": 2, "ff_dim": 16}},
                     "training": {"epochs": 1, "batch_size": 16, "seed": 3},
                     "output": {"dir": str(tmp_path / "run"), "progress": "none", "tensorboard": False}})
    trained_on = set(run_splits(run.config)["train"].texts)
    # the same examples in another order split differently: the rebuilt test split was scored silently, though
    # the run had trained on most of it
    lines = source.read_text(encoding="utf-8").splitlines()
    source.write_text("\n".join(lines[::-1]) + "\n", encoding="utf-8")
    assert set(run_splits(run.config)["test"].texts) & trained_on
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", str(run.run_dir), "--out", str(tmp_path / "ev")])
    assert args.handler(args) == 2
    fingerprint = run.run_dir / "data_fingerprint.json"
    assert capsys.readouterr().err == (
        f"zoo evaluate: error: {source} changed since {run.run_dir} trained on it ({fingerprint} records other "
        "examples for its train split (52 examples then, 52 now) and validation split (8 examples then, 8 now)), so "
        "the test split is no longer held out; restore the data, or pass data= (--data) to evaluate on other texts\n")
    assert not (tmp_path / "ev" / "report.json").exists()


def test_a_mistyped_run_directory_with_generation_options_is_not_called_a_classification_run(tmp_path, capsys):
    from zoo.cli import main

    # it was "run .../typo is a classification run: method, num_beams, max_new_tokens and limit apply to lm and
    # seq2seq runs", though there is no run there at all
    assert main(["evaluate", str(tmp_path / "typo"), "--limit", "5", "--out", str(tmp_path / "ev")]) == 2
    assert capsys.readouterr().err == (f"zoo evaluate: error: {tmp_path}/typo/config.yaml not found: {tmp_path}/typo "
                                       "is not a finished zoo run directory\n")
    # a data file given for the run was "cannot write data.csv/evaluation: data.csv is a file, not a directory"
    (tmp_path / "data.csv").write_text("text,label\na,b\n")
    assert main(["evaluate", str(tmp_path / "data.csv")]) == 2
    assert capsys.readouterr().err == (f"zoo evaluate: error: {tmp_path}/data.csv/config.yaml not found: "
                                       f"{tmp_path}/data.csv is not a finished zoo run directory\n")


def test_texts_longer_than_the_model_reads_are_counted_in_the_report_not_warned(trained_run, tmp_path, capsys,
                                                                                 caplog):
    # Scored cut, as training scored them (data.sequence_length: auto cuts the longest texts by design): zoo evaluate
    # warned about each run's own test split; the report now says how many.
    length = trained_run.config.data.sequence_length
    texts, labels = sentiment_texts(20, seed=5)
    texts[:3] = [text + " superb" * length for text in texts[:3]]
    assert _zoo_evaluate_on(trained_run, texts, labels, tmp_path, "long") == 0
    assert "3 of 20 texts had more tokens than the model reads" in capsys.readouterr().out
    # (These synthetic texts repeat some the run trained on, which is warned about.)
    assert "tokens" not in caplog.text and "truncat" not in caplog.text
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["info"]["truncated_texts"] == 3
    assert "- **truncated_texts**: 3" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize("options, message", [
    # it was "limit (how many mistakes to list; zoo evaluate --mistakes) must be ..."
    (["--mistakes", "-1"], "mistakes (--mistakes) must be an integer >= 0, got -1"),
    (["--batch-size", "0"], "batch_size (--batch-size) must be a positive integer, got 0"),
])
def test_bad_counts_of_zoo_evaluate_name_their_flag_before_scoring(trained_run, tmp_path, capsys, monkeypatch,
                                                                   options, message):
    import zoo.training
    from zoo.cli import main

    monkeypatch.setattr(zoo.training, "load_run", lambda run_dir: pytest.fail("the model was loaded"))
    assert main(["evaluate", str(trained_run.run_dir), "--out", str(tmp_path / "ev"), *options]) == 2
    assert capsys.readouterr().err == f"zoo evaluate: error: {message}\n"


def test_bad_counts_given_to_zoo_evaluate_in_python_name_their_argument(trained_run, tmp_path):
    # It was TypeError: 'float' object cannot be interpreted as an integer, after the model loaded.
    with pytest.raises(ValueError, match=r"^batch_size \(--batch-size\) must be a positive integer, got 2.5$"):
        evaluate(trained_run.run_dir, out_dir=tmp_path / "ev", batch_size=2.5, progress=False)
    with pytest.raises(ValueError, match=r"^mistakes \(--mistakes\) must be an integer >= 0, got 2.0$"):
        evaluate(trained_run.run_dir, out_dir=tmp_path / "ev", mistakes=2.0, progress=False)


def test_the_threshold_hint_suggests_a_validation_split_only_where_there_is_one(trained_run, tmp_path, capsys):
    # It said "choose it on --split validation" for --data files without one and for runs without one, where that
    # then failed.
    import zoo
    from zoo.cli import main

    run = str(trained_run.run_dir)
    texts, labels = sentiment_texts(60, seed=31)
    data = write_jsonl(tmp_path / "other.jsonl", texts, labels, ["negative", "positive"])
    folder = tmp_path / "splits"
    for split in ("train", "validation", "test"):
        write_jsonl(folder / f"{split}.jsonl", texts, labels, ["negative", "positive"])
    alone = zoo.train({"data": {"source": str(data), "vocab_size": 100, "sequence_length": 16,
                                "validation_split": 0, "test_split": 0.3},
                       "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "d_model": 8,
                                                                           "num_heads": 2, "ff_dim": 16}},
                       "training": {"epochs": 1, "batch_size": 16},
                       "output": {"dir": str(tmp_path / "alone"), "progress": "none", "tensorboard": False}})
    other_texts = "; choose it on labelled texts other than those it is scored on (--data FILE)\n"
    for argv, advice in [
            ([run], "; choose it on --split validation\n"),
            ([run, "--data", str(folder)], "; choose it on --split validation\n"),
            ([run, "--data", str(data)], f"; choose it on the run's validation split (zoo evaluate {run} --split "
                                         "validation)\n"),
            ([str(alone.run_dir)], other_texts),
            ([str(alone.run_dir), "--data", str(data)], other_texts)]:
        assert main(["evaluate", *argv, "--out", str(tmp_path / "ev")]) == 0
        hint = capsys.readouterr().out.splitlines()[-1] + "\n"
        assert hint.startswith("best F1 of positive here: ") and hint.endswith(advice), argv


def test_the_trained_on_check_reloads_the_training_file_without_its_notes(tmp_path, capsys):
    # zoo evaluate RUN --data other.csv printed "train.csv: removed 2 duplicate texts", a note about the training
    # file, while the warning about the file scored was right
    import zoo
    from zoo.evaluation.runner import warn_trained_on

    (tmp_path / "train.csv").write_text("text,label\n" + "a good film,pos\n" * 3 + "a dull film,neg\n" * 3
                                        + "".join(f"film {i},{'pos' if i % 2 else 'neg'}\n" for i in range(20)))
    config = zoo.Config.from_dict({"data": {"source": str(tmp_path / "train.csv"), "test_split": 0.0,
                                            "validation_split": 0.0}})
    scored = zoo.data.LabeledTexts(["a good film", "something new"], [1, 0], ["neg", "pos"], source="other.csv")
    warn_trained_on("runs/x", config, scored)
    err = capsys.readouterr().err
    assert "duplicate" not in err
    assert err.startswith("warning: 1 of the 2 texts of other.csv are texts run runs/x trained on")
