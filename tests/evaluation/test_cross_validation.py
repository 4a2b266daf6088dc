"""Cross-validation: every example tested once, fold runs reused on rerun, mean ± std computed right."""
import argparse
import json

import numpy as np
import pytest

from tests.evaluation.conftest import assert_folds_partition
from tests.export.tiny import sentiment_texts, write_jsonl
from zoo.evaluation.cli import add_cv_command
from zoo.evaluation.runner import summarize_folds


def test_summarize_folds_is_mean_and_sample_std():
    folds = [{"accuracy": a, "log_loss": 1 - a, "roc_auc": a, "averages": {"macro": {"f1": a / 2},
                                                                         "weighted": {"f1": a / 3}}}
             for a in (0.6, 0.8, 0.85)]  # a median (0.8) apart from the mean
    s = summarize_folds(folds)
    assert s["accuracy"]["mean"] == pytest.approx(np.mean([0.6, 0.8, 0.85]))
    assert s["accuracy"]["std"] == pytest.approx(np.std([0.6, 0.8, 0.85], ddof=1))
    assert s["log_loss"]["values"] == pytest.approx([0.4, 0.2, 0.15])
    assert s["macro_f1"]["values"] == pytest.approx([0.3, 0.4, 0.425])
    assert s["weighted_f1"]["values"] == pytest.approx([0.2, 0.8 / 3, 0.85 / 3])
    assert "roc_auc" in s
    folds[0]["roc_auc"] = None
    assert "roc_auc" not in summarize_folds(folds)


def test_multilabel_cv_summarizes_the_hamming_loss_its_folds_report():
    # Each fold's report had hamming_loss; cv.json's summary and cv.md left it out.
    from zoo.evaluation.cross_validation import render_cv_markdown
    from zoo.evaluation.metrics import classification_metrics

    truth = [[1, 0], [0, 1], [1, 1]]
    folds = [classification_metrics(truth, probabilities, ["a", "b"], multilabel=True)
             for probabilities in ([[0.9, 0.2], [0.1, 0.8], [0.7, 0.3]], [[0.2, 0.2], [0.1, 0.8], [0.7, 0.3]])]
    summary = summarize_folds(folds)
    assert summary["hamming_loss"]["values"] == pytest.approx([1 / 6, 2 / 6])
    assert summary["hamming_loss"]["mean"] == pytest.approx(0.25)
    md = render_cv_markdown({"data": "tags.jsonl", "model": "cnn", "num_folds": 2, "num_examples": 6, "seed": 1,
                             "multilabel": True, "summary": summary})
    assert "| hamming_loss | 0.2500 ± 0.1179 | 0.1667 | 0.3333 |" in md


def test_single_label_cv_reports_each_class_and_the_majority_class_baseline():
    # An imbalanced cv.md gave accuracy 0.63 ± 0.06 and no sign that it was below always guessing the majority
    # class (0.90) or that the minority class was lost.
    from zoo.evaluation.cross_validation import majority_baseline, render_cv_markdown, summarize_classes
    from zoo.evaluation.metrics import classification_metrics

    truth = [0] * 9 + [1]
    folds = [classification_metrics(truth, [[0.4, 0.6]] * 3 + [[0.8, 0.2]] * 7, ["neg", "pos"]),
             classification_metrics(truth, [[0.8, 0.2]] * 4 + [[0.4, 0.6]] * 6, ["neg", "pos"])]
    classes = summarize_classes(folds)
    assert [(row["label"], row["support"]) for row in classes] == [("neg", 18), ("pos", 2)]
    assert classes[0]["recall"]["values"] == pytest.approx([6 / 9, 4 / 9])
    assert classes[1]["recall"]["values"] == [0.0, 1.0] and classes[1]["f1"]["values"] == pytest.approx([0, 2 / 7])
    baseline = majority_baseline(folds)
    assert baseline == {"label": "neg", "mean": 0.9, "std": 0.0, "values": [0.9, 0.9]}
    md = render_cv_markdown({"data": "imb.csv", "model": "cnn", "num_folds": 2, "num_examples": 20, "seed": 1,
                             "multilabel": False, "summary": summarize_folds(folds), "per_class": classes,
                             "majority_baseline": baseline})
    assert "| accuracy | 0.5500 ± 0.0707 | 0.6000 | 0.5000 |\n" in md
    assert "| accuracy of always neg (majority-class baseline) | 0.9000 ± 0.0000 | 0.9000 | 0.9000 |\n" in md
    assert md.endswith("| class | test examples | F1 | recall |\n|---|---:|---:|---:|\n"
                       "| neg | 18 | 0.6827 ± 0.0952 | 0.5556 ± 0.1571 |\n"
                       "| pos | 2 | 0.1429 ± 0.2020 | 0.5000 ± 0.7071 |\n")


def test_cv_command_trains_every_fold_and_reuses_finished_ones(tmp_path, capsys):
    texts, labels = sentiment_texts(120, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    config = tmp_path / "cv.yaml"
    config.write_text(json.dumps({
        "data": {"source": str(data), "vocab_size": 300, "sequence_length": 16, "validation_split": 0.1},
        "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1}},
        "training": {"epochs": 1, "batch_size": 16},
        "output": {"tensorboard": False, "progress": "none"},
    }))
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    argv = ["cv", "--config", str(config), "--folds", "2", "--out", str(tmp_path / "cv"), "--set", "training.seed=4"]
    args = parser.parse_args(argv)
    assert args.handler(args) == 0
    assert "accuracy:" in capsys.readouterr().out

    result = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert result["num_folds"] == 2 and len(result["folds"]) == 2
    assert sum(f["num_examples"] for f in result["folds"]) == 120, "every example is tested exactly once"
    assert_folds_partition(tmp_path / "cv", 2, data)
    accs = [f["accuracy"] for f in result["folds"]]
    assert result["summary"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert "± " in (tmp_path / "cv" / "cv.md").read_text()
    assert [(row["label"], row["support"]) for row in result["per_class"]] == [
        (name, int(np.sum(labels == k))) for k, name in enumerate(["negative", "positive"])]
    assert result["majority_baseline"]["values"] == [max(f["per_class"][0]["support"], f["per_class"][1]["support"])
                                                     / f["num_examples"] for f in result["folds"]]
    assert "(majority-class baseline) |" in (tmp_path / "cv" / "cv.md").read_text()
    first_weights = (tmp_path / "cv" / "fold_0" / "run" / "model.weights.h5").stat().st_mtime_ns

    # a rerun reuses the finished fold runs instead of training again, also with another progress display (what
    # a resume may change cannot change a finished run)
    args = parser.parse_args(argv + ["--set", "output.progress=epoch"])
    assert args.handler(args) == 0
    assert (tmp_path / "cv" / "fold_0" / "run" / "model.weights.h5").stat().st_mtime_ns == first_weights
    assert json.loads((tmp_path / "cv" / "cv.json").read_text())["summary"] == result["summary"]
    capsys.readouterr()
    # a setting that changes the model is refused, naming it
    args = parser.parse_args(argv + ["--set", "training.epochs=2"])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (f"zoo cv: error: {tmp_path / 'cv' / 'fold_0' / 'run'} holds a finished run of a "
                                       "different config (training.epochs: 1 -> 2); set out_dir (--out) to another "
                                       "directory for this cross-validation\n")

    capsys.readouterr()
    # (the fold seed kept: only the config differs)
    args = parser.parse_args(argv[:-1] + ["training.seed=5", "--seed", "4"])
    assert args.handler(args) == 2
    assert "finished run of a different config" in capsys.readouterr().err

    # another fold seed puts other examples in each fold under the same config: the fold runs trained on the old
    # ones (and would be tested on examples they trained on), so this is refused and the fold data stay
    before = (tmp_path / "cv" / "fold_0" / "data" / "train.jsonl").read_bytes()
    args = parser.parse_args(argv + ["--seed", "1"])
    assert args.handler(args) == 2
    assert "fold_0/data/train.jsonl holds other examples than this cross-validation puts there" in (
        capsys.readouterr().err)
    assert (tmp_path / "cv" / "fold_0" / "data" / "train.jsonl").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "cv" / "fold_0" / "data").iterdir()) == ["test.jsonl", "train.jsonl"]


def test_cv_output_under_a_file_is_refused_before_any_fold(tmp_path, capsys):
    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cv", "--folds", "2", "--out", str(blocker / "cv"), "--set", f"data.source={data}"])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (f"zoo cv: error: cannot write {blocker}/cv: {blocker} is a file, not a "
                                       "directory; set out_dir (--out) to a directory you can write\n")


def test_a_fold_seed_out_of_range_is_named_before_any_fold(tmp_path, capsys):
    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cv", "--folds", "2", "--seed", "-1", "--out", str(tmp_path / "cv"), "--data", str(data)])
    assert args.handler(args) == 2
    # it was NumPy's "Seed must be between 0 and 2**32 - 1"
    assert capsys.readouterr().err == "zoo cv: error: seed (--seed) must be an integer in [0, 2147483647], got -1\n"
    assert not (tmp_path / "cv").exists()


_FOLDS_SOURCE = ("cross-validation folds data.source itself, and holds out data.validation_split of each fold's "
                 "training part for validation; unset data.{key} (got {data!r})")


@pytest.mark.parametrize("setting, message", [
    ("data.test_source={data}", _FOLDS_SOURCE.replace("{key}", "test_source")),
    ("data.validation_source={data}", _FOLDS_SOURCE.replace("{key}", "validation_source")),
    # It was ignored: every fold tests on its own part.
    ("data.test_split=0.2", "cross-validation tests each fold on its own part of data.source, so none is held out "
                            "for testing; unset data.test_split (got 0.2)"),
    # Each was ignored: the folds went to runs/data-transformer-tiny-cv2, and finished folds were reused.
    ("output.dir={out}-mine", "output.dir would be ignored: zoo cv writes its folds' runs and cv.json under out_dir "
                              "(--out); set that instead, and unset output.dir (got '{out}-mine')"),
    ("output.overwrite=true", "output.overwrite would be ignored: zoo cv reuses the finished folds in out_dir (--out) "
                              "and resumes an interrupted one; to start afresh, remove {out} or set out_dir (--out) "
                              "to a new directory, and unset output.overwrite"),
    # It failed in the first fold advising data.validation_source, which zoo cv refuses.
    ("training.early_stopping.patience=1", "training.early_stopping.patience needs a validation set, which zoo cv "
                                           "holds out of each fold's training part: set data.validation_split > 0, or "
                                           "training.early_stopping.patience=0"),
])
def test_cv_refuses_a_setting_it_would_ignore_before_any_fold(tmp_path, capsys, setting, message):
    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "cv"
    args = parser.parse_args(["cv", "--folds", "2", "--out", str(out), "--data", str(data), "--set",
                              "data.validation_split=0", "--set", setting.format(data=data, out=out)])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == f"zoo cv: error: {message.format(data=str(data), out=out)}\n"
    assert not out.exists() and not (tmp_path / "cv-mine").exists()


@pytest.mark.parametrize("folds", ["2", 2.0, 1, True])
def test_a_bad_number_of_folds_is_named_as_given(tmp_path, folds):
    from zoo.evaluation.cross_validation import cross_validate

    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    # They were TypeError: '<' not supported between 'str' and 'int', "k must be an integer of at least 2, not 2.0"
    # (zoo.data.kfold's argument) and "folds must be at least 2, got 1" (not naming --folds).
    with pytest.raises(ValueError, match=rf"^folds \(--folds\) must be an integer of at least 2, got {folds!r}$"):
        cross_validate({"data": {"source": str(data)}}, folds=folds, out_dir=tmp_path / "cv", progress=False)
    assert not (tmp_path / "cv").exists()


def test_cv_refuses_a_model_that_is_not_a_classifier_before_any_fold(tmp_path, capsys):
    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cv", "--folds", "2", "--out", str(tmp_path / "cv"), "--data", str(data),
                              "--set", "model.name=lm"])
    # it trained an lm in each fold
    assert args.handler(args) == 2
    assert capsys.readouterr().err == ("zoo cv: error: model.name: 'lm' is not a classifier (its task is lm); zoo cv "
                                       "cross-validates classifiers\n")
    assert not (tmp_path / "cv").exists()


def test_an_interrupted_fold_ends_zoo_cv_with_one_line_and_the_signal_s_status(tmp_path, capsys, monkeypatch):
    import signal

    import zoo.training

    def interrupted(config, **kwargs):
        raise zoo.training.TrainingInterrupted(
            f"training interrupted at epoch 1, step 2/3; rerun the same command to resume from {config.output.dir}",
            signal.SIGTERM, None)

    texts, labels = sentiment_texts(40, seed=9)
    data = write_jsonl(tmp_path / "data.jsonl", texts, labels, ["negative", "positive"])
    monkeypatch.setattr(zoo.training, "train", interrupted)
    parser = argparse.ArgumentParser(prog="zoo")
    add_cv_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["cv", "--folds", "2", "--out", str(tmp_path / "cv"), "--data", str(data)])
    # SIGTERM (or Ctrl-C) during a fold ended zoo cv with a TrainingInterrupted traceback
    assert args.handler(args) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == ("zoo cv: error: training interrupted at epoch 1, step 2/3; rerun the same "
                                       f"command to resume from {tmp_path / 'cv' / 'fold_0' / 'run'}\n")


def test_cv_of_a_multilabel_config_reads_its_data_as_training_does(tmp_path):
    from zoo.evaluation.cross_validation import cross_validate

    tagged = [("goal team", ["sports"]), ("vote senate", ["politics"]), ("goal vote", ["politics", "sports"]),
              ("the day", [])]
    source = tmp_path / "tags.jsonl"
    source.write_text("".join(json.dumps({"text": f"{text} w{i}", "label": tags}) + "\n"
                              for i, (text, tags) in enumerate(tagged * 10)), encoding="utf-8")
    # it was "label field must be a string or an integer, not list", then "cannot be stratified by class"
    result = cross_validate(
        {"data": {"source": str(source), "vocab_size": 60, "sequence_length": 8, "validation_split": 0.2},
         "model": {"name": "transformer-tiny", "overrides": {"num_layers": 1, "d_model": 8, "num_heads": 2,
                                                             "ff_dim": 16, "mode": "multilabel"}},
         "training": {"epochs": 1, "batch_size": 8}, "output": {"tensorboard": False, "progress": "none"}},
        folds=2, out_dir=tmp_path / "cv", progress=False)
    assert all(fold["multilabel"] for fold in result["folds"])
    assert sum(fold["num_examples"] for fold in result["folds"]) == 40
    assert result["summary"]["hamming_loss"]["values"] == [fold["hamming_loss"] for fold in result["folds"]]
    assert "per_class" not in result and "majority_baseline" not in result  # classes are not exclusive
    assert_folds_partition(tmp_path / "cv", 2, source)
    macro = [fold["averages"]["macro"]["f1"] for fold in result["folds"]]
    assert result["summary"]["macro_f1"]["mean"] == pytest.approx(np.mean(macro))
    assert result["summary"]["macro_f1"]["std"] == pytest.approx(np.std(macro, ddof=1))


def test_cv_refuses_folds_whose_training_part_lacks_a_label_before_training_any(tmp_path):
    from zoo.evaluation.cross_validation import cross_validate

    tagged = [("goal team", ["sports"]), ("vote senate", ["politics"]), ("goal vote", ["politics", "sports"]),
              ("the day", [])]
    rows = [{"text": f"{text} w{i}", "label": tags} for i, (text, tags) in enumerate(tagged * 10)]
    rows[0]["label"], rows[1]["label"] = ["sports", "rare"], ["politics", "rare"]
    source = tmp_path / "tags.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    # Random multi-label folds (seed 0) put both "rare" examples in fold 2's test part: fold 2's run learnt only
    # the other labels, and after training both folds the evaluation failed on "label 'rare' is not in the label
    # vocabulary ['politics', 'sports']".
    config = {"data": {"source": str(source), "vocab_size": 60, "sequence_length": 8, "validation_split": 0.0},
              "model": {"name": "transformer-tiny", "overrides": {"mode": "multilabel"}}}
    with pytest.raises(ValueError, match=rf"^{source}: every example of label 'rare' \(2 in all\) falls in fold 2's "
                                         r"test part \(fold seed 0\), so that fold's run would never learn it; use "
                                         r"fewer folds, another fold seed \(--seed\), or more examples of it$"):
        cross_validate(config, folds=2, seed=0, out_dir=tmp_path / "cv", progress=False)
    assert not (tmp_path / "cv").exists()


def test_multilabel_cv_report_says_its_accuracy_is_subset_accuracy():
    from zoo.evaluation.cross_validation import render_cv_markdown

    cv = {"data": "tags.jsonl", "model": "cnn", "num_folds": 2, "num_examples": 40, "seed": 1, "multilabel": True,
          "summary": {"accuracy": {"mean": 0.2, "std": 0.1, "values": [0.1, 0.3]}}}
    md = render_cv_markdown(cv)
    assert "| subset accuracy | 0.2000" in md and "per-label accuracy in each run's metrics.json" in md


@pytest.mark.parametrize("rare, folds, fix", [
    (2, 2, "add examples of it, or set data.validation_split=0 (and training.early_stopping.patience=0)"),
    (2, 3, "add examples of it"),
    (3, 2, "use 3 folds (--folds), add examples of it, or set data.validation_split=0 (and "
           "training.early_stopping.patience=0)")])
def test_folds_that_leave_a_class_too_few_examples_to_validate_on_are_refused_before_training(tmp_path, rare, folds,
                                                                                                fix):
    from zoo.evaluation.cross_validation import cross_validate

    texts, labels = sentiment_texts(40, seed=3)
    texts += [f"an odd film number {i}" for i in range(rare)]
    data = write_jsonl(tmp_path / "data.jsonl", texts, [*labels, *[2] * rare], ["negative", "positive", "rare"])
    # it advised "use at most 2 folds" for 3 folds, then failed inside fold 1's run with 2
    kept = rare - -(-rare // folds)
    with pytest.raises(ValueError) as error:
        cross_validate({"data": {"source": str(data), "validation_split": 0.1}}, folds=folds, out_dir=tmp_path / "cv")
    assert str(error.value) == (f"{data}: class 'rare' has {rare} examples; with {folds} folds a fold's training "
                                f"part keeps only {kept} of them, and its stratified data.validation_split needs 2 to "
                                f"put the class on both sides; {fix}")
    assert not (tmp_path / "cv").exists()
