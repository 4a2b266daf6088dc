"""What zoo evaluate's command line passes on and prints: the run's own encoding for its own training file, and a
headline that says what its macro F1 averages and why it has no ROC-AUC."""
import argparse

from zoo.evaluation.cli import _headline, add_evaluate_command
from zoo.evaluation.metrics import classification_metrics


def test_the_run_s_own_training_file_is_evaluated_in_the_run_s_encoding(tmp_path, monkeypatch):
    import zoo.evaluation.runner

    monkeypatch.chdir(tmp_path)  # data.source is read from the working directory, as training read it
    (tmp_path / "latin1.csv").write_bytes("text,label\ncafé,pos\n".encode("latin-1"))
    (tmp_path / "other.csv").write_bytes("text,label\ncafé,pos\n".encode("latin-1"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("data:\n  source: latin1.csv\n  load_options:\n"
                                                  "    encoding: latin-1\n")
    given = []

    def evaluate(run_dir, data, **kwargs):
        given.append(kwargs.get("encoding"))
        raise ValueError("stop")

    monkeypatch.setattr(zoo.evaluation.runner, "evaluate", evaluate)
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    for data, *flags in (["latin1.csv"], ["other.csv"], ["latin1.csv", "--encoding", "cp1252"]):
        args = parser.parse_args(["evaluate", "run", "--data", data, *flags])
        assert args.handler(args) == 2
    # Another file detects its own encoding, and --encoding is the user's.
    assert given == ["latin-1", None, "cp1252"]


def test_the_headline_names_the_classes_macro_f1_leaves_out_and_why_there_is_no_roc_auc():
    metrics = classification_metrics([1, 1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7]], ["neg", "pos"])
    assert _headline({"metrics": metrics, "info": {}}) == (
        "4 examples: accuracy 0.7500, macro F1 0.8571 (over the classes present; no example of neg), log-loss "
        f"{metrics['log_loss']:.4f}, no ROC-AUC (only pos is in the labels; ROC-AUC needs examples of both classes)")


def _evaluate_cli(monkeypatch, evaluate, *argv):
    import zoo.evaluation.runner

    monkeypatch.setattr(zoo.evaluation.runner, "evaluate", evaluate)
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", "run", *argv])
    return args.handler(args)


def test_text_column_a_comma_b_names_a_sentence_pair_s_two_columns(monkeypatch):
    # "q,p" was one column's name: a pair file with other columns than text_a, text_b could not be evaluated.
    given = []

    def evaluate(run_dir, data, **kwargs):
        given.append(kwargs["text_column"])
        raise ValueError("stop")

    for column in ("q,p", "review"):
        assert _evaluate_cli(monkeypatch, evaluate, "--data", "d.jsonl", "--encoding", "utf-8",
                             "--text-column", column) == 2
    assert given == [["q", "p"], "review"]


def test_a_bad_row_that_skipping_would_not_fix_is_not_advised_to_be_skipped(monkeypatch, tmp_path, capsys):
    import zoo.data

    def evaluate(run_dir, data, encoding, **kwargs):
        return zoo.data.load(data, encoding=encoding)

    # A single-label run's reading of list labels: --on-bad-rows skip would leave out every row.
    (tmp_path / "ml.jsonl").write_text('{"text": "a film", "label": ["b", "c"]}\n')
    (tmp_path / "null.jsonl").write_text('{"text": "a film", "label": null}\n')
    for name in ("ml.jsonl", "null.jsonl"):
        assert _evaluate_cli(monkeypatch, evaluate, "--data", str(tmp_path / name), "--encoding", "utf-8") == 2
    ml, null = capsys.readouterr().err.split("zoo evaluate: error: ")[1:]
    assert "multilabel" in ml and "--on-bad-rows" not in ml
    assert null.endswith("fix or remove that row, or pass --on-bad-rows skip to leave out such rows (a warning counts "
                         "them)\n")
