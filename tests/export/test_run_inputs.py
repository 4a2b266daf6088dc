"""zoo predict, zoo embed and zoo generate read a run's own training file as training read it (its header, columns
and encoding), and a JSONL text that is null as an empty one."""
import argparse

import pytest

from zoo.export.cli import read_input
from zoo.export.predict import PredictInputError, read_rows


def _run(tmp_path, source, **load_options):
    """A run directory as far as reading inputs goes: its config.yaml."""
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    options = "".join(f"\n    {key}: {value}" for key, value in load_options.items())
    (run / "config.yaml").write_text(f"data:\n  source: {source}\n  load_options:{options}\n")
    return run


def _args(run, path, text_field=None, encoding=None):
    return argparse.Namespace(model_dir=str(run), input=str(path), text_field=text_field, encoding=encoding)


def test_a_header_less_run_reads_its_training_file_by_column_index(tmp_path):
    train = tmp_path / "nohdr.csv"
    train.write_text("very weak awful film,neg\na fine film,pos\n")
    run = _run(tmp_path, train, header="false", text_column=0, label_column=1)
    expected = (["very weak awful film", "a fine film"], [{"1": "neg"}, {"1": "pos"}])
    assert read_input(_args(run, train)) == expected
    assert read_input(_args(run, train, text_field="0")) == expected
    # A column named reads a header row by that name, the escape for a file with a header.
    (tmp_path / "named.csv").write_text("text\na film\n")
    assert read_input(_args(run, tmp_path / "named.csv", text_field="text")).texts == ["a film"]


def test_column_indices_read_a_file_without_a_header_only(tmp_path):
    (tmp_path / "d.csv").write_text("x,a film\ny,a dull film\n")
    assert read_rows(tmp_path / "d.csv", text_field="1", header=False) == (
        ["a film", "a dull film"], [{"0": "x"}, {"0": "y"}])
    (tmp_path / "d.csv").write_text("x,a film\ny,a dull film,extra\n")
    with pytest.raises(PredictInputError, match=r"d.csv:2: row has 3 fields but the first row has 2; "):
        read_rows(tmp_path / "d.csv", text_field="1", header=False)
    with pytest.raises(PredictInputError, match=r"d.csv: text_field \(--text-field\) 'text' is not a column index, "
                                                r"but the file is read without a header row .* --text-field 0$"):
        read_rows(tmp_path / "d.csv", header=False)
    (tmp_path / "h.csv").write_text("text,label\na film,pos\n")
    with pytest.raises(PredictInputError, match=r"h.csv: no column '0' in the header; .*\(a column index reads a "
                                                r"file without a header row only, .*\); columns: text, label$"):
        read_rows(tmp_path / "h.csv", text_field="0")


def test_the_run_s_encoding_reads_its_own_training_file_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data.source is read from the working directory, as training read it
    train = tmp_path / "latin1.csv"
    train.write_bytes("text,label\ncafé naïve,pos\n".encode("latin-1"))
    other = tmp_path / "other.csv"
    other.write_bytes(train.read_bytes())
    run = _run(tmp_path, "latin1.csv", encoding="latin-1")
    assert read_input(_args(run, "latin1.csv")).texts == ["café naïve"]
    # Another file detects its own encoding (UTF-8 here): its byte 0xE9 is kept, to be flagged replaced_bytes.
    assert read_input(_args(run, other)).texts == ["caf\udce9 na\udcefve"]
    assert read_input(_args(run, other, encoding="latin-1")).texts == ["café naïve"]


def test_a_null_jsonl_text_is_an_empty_one_and_a_number_is_refused(tmp_path):
    (tmp_path / "n.jsonl").write_text('{"text": null, "id": 1}\n{"text": "a film", "id": 2}\n')
    assert read_rows(tmp_path / "n.jsonl") == (["", "a film"], [{"id": 1}, {"id": 2}])
    (tmp_path / "p.jsonl").write_text('{"text_a": "a film", "text_b": null}\n')
    assert read_rows(tmp_path / "p.jsonl", pairs=True).texts == [("a film", "")]
    (tmp_path / "5.jsonl").write_text('{"text": "a film"}\n{"text": 5}\n')
    with pytest.raises(PredictInputError, match=r"5.jsonl:2: field 'text' is 5 \(int\), not a string: name the texts' "
                                                r"column with text_field \(--text-field\), or, if it is the text, "
                                                r'write it as a string \("5"\)$'):
        read_rows(tmp_path / "5.jsonl")
