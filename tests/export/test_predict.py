"""Predicting with an exported model: texts, files in every supported format, and clear input errors."""
import bz2
import codecs
import csv
import datetime
import gzip
import io
import json
import lzma
import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf

import zoo.data

from zoo.cli import main
from zoo.export.predict import (
    ModelLoadError,
    PredictInputError,
    SavedModelPredictor,
    find_saved_model,
    load_predictor,
    predict,
    predict_file,
    read_rows,
    read_texts,
)


@pytest.fixture(scope="module")
def reference(exported, tiny_run):
    texts = tiny_run.texts[:70]
    out = tf.saved_model.load(str(exported.path)).signatures["serving_default"](texts=tf.constant(texts))
    return texts, out["probabilities"].numpy(), [s.decode() for s in out["label"].numpy()]


def test_model_directory_resolves_to_the_newest_version(exported):
    assert find_saved_model(exported.path) == exported.path
    assert find_saved_model(exported.path.parent) == exported.path.parent / str(max(
        int(p.name) for p in exported.path.parent.iterdir() if p.name.isdigit()))
    assert isinstance(load_predictor(exported.path), SavedModelPredictor)
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        load_predictor(exported.path.parent / "nope")


def test_the_progress_bar_goes_to_a_terminal_not_to_a_log(exported, monkeypatch, capsys):
    texts = ["a fine film"] * 3
    load_predictor(exported.path).predict(texts, progress=True)
    # Standard error is captured here, as a log or a pipe takes it: tqdm's redrawn lines piled up there.
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    load_predictor(exported.path).predict(texts, progress=True)
    assert "3/3" in capsys.readouterr().err


def test_a_newest_version_without_a_saved_model_is_named(tmp_path):
    (tmp_path / "model" / "2").mkdir(parents=True)
    # it said "neither an exported SavedModel (no saved_model.pb, no numbered version folder) nor a zoo run"
    with pytest.raises(FileNotFoundError, match=r"model/2, the newest version of .*model, has no saved_model.pb"):
        load_predictor(tmp_path / "model")


def test_predict_texts_in_batches_matches_one_call(exported, reference, tiny_run):
    texts, probs, labels = reference
    predictor = load_predictor(exported.path)
    batched = predictor.predict(texts, batch_size=8)
    np.testing.assert_allclose(batched.probabilities, probs, atol=1e-6)
    assert batched.labels == labels
    records = predict(exported.path, texts[:3])
    assert [r["text"] for r in records] == texts[:3]
    assert [r["label"] for r in records] == labels[:3]
    assert records[0]["probabilities"] == pytest.approx(dict(zip(tiny_run.label_names, probs[0].tolist())))
    assert predictor.predict([]).probabilities.shape == (0, 2)
    # a lone surrogate (legal in a Python str, not in UTF-8) goes in as the bytes it stands for
    lone = predictor.predict(["dull \ud800 film", b"dull \xed\xa0\x80 film"]).probabilities
    np.testing.assert_allclose(lone[0], lone[1], atol=1e-6)
    with pytest.raises(PredictInputError, match="single string"):
        predictor.predict("one text")
    with pytest.raises(PredictInputError, match="text 1 is a int"):
        predictor.predict(["ok", 3])
    with pytest.raises(PredictInputError, match=r"^batch_size \(--batch-size\) must be a positive integer, got 0$"):
        predictor.predict(["ok"], batch_size=0)


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".tsv", ".jsonl"])
def test_predict_file_reads_every_format(exported, reference, tmp_path, suffix, capsys, monkeypatch):
    texts, probs, labels = reference
    path = tmp_path / f"in{suffix}"
    if suffix == ".txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps({"id": i, "review": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
    else:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter="\t" if suffix == ".tsv" else ",")
            writer.writerow(["id", "review"])
            writer.writerows(enumerate(texts))
    field = "text" if suffix == ".txt" else "review"
    out = tmp_path / "preds.jsonl"
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)  # a terminal's, which shows the bar
    assert predict_file(exported.path.parent, path, out, text_field=field, batch_size=16) == len(texts)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == texts
    assert [r["label"] for r in rows] == labels
    # The other columns come along, first in each row (they were dropped: predictions lost their ids).
    ids = [None] * len(texts) if suffix == ".txt" else [i if suffix == ".jsonl" else str(i) for i in range(len(texts))]
    assert [r.get("id") for r in rows] == ids
    assert list(rows[0])[0] == ("text" if suffix == ".txt" else "id")
    got = np.array([[r["probabilities"][n] for n in ("negative", "positive")] for r in rows])
    np.testing.assert_allclose(got, probs, atol=1e-6)
    assert "100%" in capsys.readouterr().err, "a progress bar is shown for files on a terminal"


def test_input_dash_reads_standard_input_one_text_per_line(exported, reference, tmp_path, monkeypatch, capsys):
    # `cat texts.txt | zoo predict MODEL --input -` was "input file not found: -"
    texts, probs, labels = reference
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(texts[:5]) + "\n").encode("utf-16"))))
    assert main(["predict", str(exported.path), "--input", "-", "--no-progress"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == texts[:5] and [r["label"] for r in rows] == labels[:5]
    np.testing.assert_allclose([[r["probabilities"][n] for n in ("negative", "positive")] for r in rows], probs[:5],
                               atol=1e-6)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"fine\n")))
    with pytest.raises(PredictInputError, match=r"^<stdin>: text_field='review' names a column, but standard input "
                                                r"holds one text per line"):
        read_texts("-", text_field="review")


def test_predictions_can_be_written_as_csv(exported, reference, tmp_path):
    texts, probs, labels = reference
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts[:5]), encoding="utf-8")
    predict_file(exported.path, src, tmp_path / "out.csv", progress=False)
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == labels[:5]
    assert float(rows[0]["p_positive"]) == pytest.approx(probs[0, 1], abs=1e-6)


def test_predictions_can_be_written_as_parquet_with_the_csv_s_columns(exported, reference, tmp_path):

    texts, probs, labels = reference
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts[:5])), encoding="utf-8")
    predict_file(exported.path, src, tmp_path / "out.parquet", progress=False)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["id", "text", "label", "label_id", "p_negative", "p_positive", "empty_input",
                                  "replaced_bytes", "truncated"]
    assert table["label"].to_pylist() == labels[:5] and table["id"].to_pylist() == list(range(5))
    assert table["p_positive"].to_pylist() == pytest.approx(probs[:5, 1], abs=1e-6)
    # An input column of numbers and texts has no one parquet type: the error names it before anything is written.
    src.write_text("".join(json.dumps({"id": i if i else "first", "text": t}) + "\n" for i, t in enumerate(texts[:3])),
                   encoding="utf-8")
    with pytest.raises(PredictInputError, match=rf"^{tmp_path / 'mixed.parquet'}: column 'id' holds values of several "
                                                r"types .*; write .jsonl or .csv instead$"):
        predict_file(exported.path, src, tmp_path / "mixed.parquet", progress=False)
    assert not (tmp_path / "mixed.parquet").exists()


def test_input_columns_carry_to_the_output_renamed_where_the_output_has_their_name(exported, reference, tmp_path,
                                                                                  capsys):
    texts, probs, labels = reference
    rows = [{"id": 1, "review": texts[0], "label": "gold", "meta": {"page": 2}},
            {"id": 2, "review": texts[1], "text": "other", "input_label": "x"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert main(["predict", str(exported.path), "--input", str(src), "--text-field", "review"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed[0] == {"id": 1, "input_label": "gold", "meta": {"page": 2}, "text": texts[0], "label": labels[0],
                          "label_id": ["negative", "positive"].index(labels[0]),
                          "probabilities": pytest.approx(dict(zip(["negative", "positive"], probs[0].tolist()))),
                          "empty_input": False, "replaced_bytes": False, "truncated": False}
    assert list(printed[1])[:3] == ["id", "input_text", "input_input_label"]
    assert printed[1]["input_text"] == "other" and printed[1]["text"] == texts[1]
    # A CSV names every carried column once, first, and leaves it blank in rows without it.
    assert main(["predict", str(exported.path), "--input", str(src), "--text-field", "review",
                 "--output", str(tmp_path / "out.csv")]) == 0
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["id", "input_label", "meta", "input_text", "input_input_label", "text", "label", "label_id",
                        "p_negative", "p_positive", "empty_input", "replaced_bytes", "truncated"]
    assert table[1][:6] == ["1", "gold", '{"page": 2}', "", "", texts[0]]
    assert table[2][:6] == ["2", "", "", "other", "x", texts[1]] and table[2][6] == labels[1]
    # A CSV column named like an output column (p_positive) is renamed too.
    (tmp_path / "in.csv").write_text("p_positive,text\n0.5,a film\n", encoding="utf-8")
    predict_file(exported.path, tmp_path / "in.csv", tmp_path / "out2.csv", progress=False)
    assert (tmp_path / "out2.csv").read_text(encoding="utf-8").splitlines()[0].startswith("input_p_positive,text,")


def test_bad_input_files_name_file_and_line(tmp_path, exported):
    with pytest.raises(FileNotFoundError, match="input file not found"):
        read_texts(tmp_path / "missing.txt")
    (tmp_path / "a.xml").write_text("<x/>")
    with pytest.raises(PredictInputError, match="unsupported input type '.xml'"):
        read_texts(tmp_path / "a.xml")
    (tmp_path / "b.jsonl").write_text('{"text": "fine"}\n{"text": broken\n', encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"b.jsonl:2: not valid JSON"):
        read_texts(tmp_path / "b.jsonl")
    (tmp_path / "c.jsonl").write_text('{"text": "fine"}\n{"body": "x"}\n', encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"c.jsonl:2: no 'text' field"):
        read_texts(tmp_path / "c.jsonl")
    (tmp_path / "d.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    # it said "(set text_field= (--text-field))"
    with pytest.raises(PredictInputError, match=r"d.csv: no column 'text' in the header; name the texts' column with "
                                                r"text_field \(--text-field\); columns: id, body$"):
        read_texts(tmp_path / "d.csv")
    (tmp_path / "e.txt").write_bytes(b"cafe ok\n" + "na\u00efve\n".encode("latin-1"))
    # UTF-8 input keeps bytes that do not decode, for the graph to replace and flag as the SavedModel does
    # (test_bad_inputs); in an encoding given explicitly, they mean a wrong encoding
    assert read_texts(tmp_path / "e.txt")[1] == "na\udcefve"
    with pytest.raises(PredictInputError, match=r"e.txt:2: cannot decode as ascii .*; pass encoding= \(--encoding\)$"):
        read_texts(tmp_path / "e.txt", encoding="ascii")
    assert read_texts(tmp_path / "e.txt", encoding="latin-1")[1] == "na\u00efve"
    with pytest.raises(PredictInputError, match=r"unknown encoding 'klingon' for .*e.txt"):
        read_texts(tmp_path / "e.txt", encoding="klingon")
    # every line of a .txt input is one text, a blank one too (flagged empty_input when predicted: test_bad_inputs)
    (tmp_path / "f.txt").write_text("one\n\n  \nfour\n", encoding="utf-8")
    assert read_texts(tmp_path / "f.txt") == ["one", "", "  ", "four"]
    (tmp_path / "g.txt").write_bytes(b"")
    with pytest.raises(PredictInputError, match="no texts to predict"):
        read_texts(tmp_path / "g.txt")
    # a .txt file has no columns: a CSV saved as .txt was read line by line, header and all, text_field ignored
    (tmp_path / "i.txt").write_text("id,review\n1,A fine film.\n", encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"i.txt: text_field='review' names a column, but a .txt file holds "
                                                r"one text per line; give a .csv, .tsv, .jsonl or .parquet file, or "
                                                r"leave text_field \(--text-field\) out$"):
        read_texts(tmp_path / "i.txt", text_field="review")
    (tmp_path / "h.txt").write_text("fine\n", encoding="utf-8")
    with pytest.raises(PredictInputError, match="unsupported output type"):
        predict_file(exported.path, tmp_path / "h.txt", tmp_path / "out.xlsx")


def test_byte_order_marks_and_utf16_files_read_as_their_texts(tmp_path):
    texts = ["a fine film", "caf\u00e9 \u2014 tr\u00e8s bien", "dull"]
    rows = {".txt": "\n".join(texts) + "\n", ".jsonl": "".join(json.dumps({"text": t}) + "\n" for t in texts),
            ".csv": "text\r\n" + "".join(f"{t}\r\n" for t in texts)}
    for suffix, content in rows.items():
        # A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not part of the first text or column name.
        (tmp_path / f"bom{suffix}").write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
        assert read_texts(tmp_path / f"bom{suffix}") == texts, suffix
        # UTF-16 writes a newline as two bytes (0x0A 0x00): split on bytes, the next line began with a stray 0x00.
        (tmp_path / f"u16{suffix}").write_bytes(content.encode("utf-16"))
        assert read_texts(tmp_path / f"u16{suffix}", encoding="utf-16") == texts, suffix
        # Without encoding=, the mark decides it, as zoo.data.load decides (Excel's "Unicode Text" is UTF-16):
        # it read as UTF-8, and the header named the columns "\udcff\udcfet e x t".
        for codec, mark in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                            ("utf-32-le", codecs.BOM_UTF32_LE)):
            (tmp_path / f"{codec}{suffix}").write_bytes(mark + content.encode(codec))
            assert read_texts(tmp_path / f"{codec}{suffix}") == texts, (codec, suffix)
    (tmp_path / "u16.tsv").write_bytes("text\tlabel\ngreat film\tpos\n".encode("utf-16"))
    assert read_texts(tmp_path / "u16.tsv") == zoo.data.load(tmp_path / "u16.tsv").texts == ["great film"]
    # Without its mark, ASCII in UTF-16 is valid UTF-8 with NULs between the letters: predicted, not refused.
    (tmp_path / "nomark.txt").write_bytes("one\ntwo\n".encode("utf-16-le"))
    with pytest.raises(PredictInputError,
                       match=r"nomark.txt:1: a NUL byte, .*\(e.g. encoding='utf-16-le'\) \(--encoding\)$"):
        read_texts(tmp_path / "nomark.txt")
    assert read_texts(tmp_path / "nomark.txt", encoding="utf-16-le") == ["one", "two"]
    (tmp_path / "bad16.txt").write_bytes("one\ntwo\n".encode("utf-16") + b"\x00")
    with pytest.raises(PredictInputError, match=r"bad16.txt:3: cannot decode as utf-16"):
        read_texts(tmp_path / "bad16.txt", encoding="utf-16")


def test_csv_and_tsv_texts_are_read_as_zoo_data_reads_them(tmp_path):
    # TSV has no quoting: a text that starts with a quote keeps it, as in training and evaluation
    (tmp_path / "a.tsv").write_text('text\tlabel\n"Great" film, said critics\tpos\nA "dull" film\tneg\n')
    assert read_texts(tmp_path / "a.tsv") == zoo.data.load(tmp_path / "a.tsv").texts == [
        '"Great" film, said critics', 'A "dull" film']
    # an unquoted comma cut the text at it and dropped the rest of the row
    (tmp_path / "b.csv").write_text("id,text\n1,A gripping, funny film.\n")
    with pytest.raises(PredictInputError, match=r"b.csv:2: row has 3 fields but the header has 2"):
        read_texts(tmp_path / "b.csv")
    # an unbalanced quote read the rest of the file as one text
    (tmp_path / "c.csv").write_text('text\n"unterminated\nsecond\n')
    with pytest.raises(PredictInputError, match=r"c.csv, line 2: unbalanced double quote"):
        read_texts(tmp_path / "c.csv")
    # a sentence-pair model reads text_a and text_b, or the two columns text_field names (it refused any)
    (tmp_path / "d.jsonl").write_text('{"question": "q", "answer": "a", "id": 1}\n')
    with pytest.raises(PredictInputError, match=r"d.jsonl:1: no 'text_a' field; a sentence-pair model reads the "
                                                r"text_a and text_b columns: name yours with text_field "
                                                r"\(--text-field\) A,B$"):
        read_texts(tmp_path / "d.jsonl", pairs=True)
    assert read_rows(tmp_path / "d.jsonl", text_field="question,answer", pairs=True) == ([("q", "a")], [{"id": 1}])
    with pytest.raises(PredictInputError, match=r"d.jsonl: text_field \(--text-field\) 'question' names 1 column; "
                                                r"a sentence-pair model reads two, named A,B \(default: "
                                                r"text_a,text_b\)$"):
        read_texts(tmp_path / "d.jsonl", text_field="question", pairs=True)
    # a text column named twice: the first was read, silently
    (tmp_path / "e.csv").write_text("text,id,text\nfirst,1,second\n")
    with pytest.raises(PredictInputError, match=r"e.csv, line 1, column 'text': text column 'text' is named 2 times "
                                                r"in the header \(columns 0, 2\); rename the others$"):
        read_texts(tmp_path / "e.csv")
    (tmp_path / "f.tsv").write_text("text_a\ttext_b\ttext_b\nq\ta\tb\n")
    with pytest.raises(PredictInputError, match=r"second text column 'text_b' is named 2 times"):
        read_texts(tmp_path / "f.tsv", pairs=True)
    # spaces around a column name (a header typed "id, text") are no part of it, as for zoo.data: it was "no column"
    (tmp_path / "g.csv").write_text("id, text \n1,A fine film.\n")
    assert read_texts(tmp_path / "g.csv") == zoo.data.load(tmp_path / "g.csv", label_column=0).texts == [
        "A fine film."]


def test_compressed_and_parquet_inputs_are_read_as_zoo_data_reads_them(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b'id,review\n1,"A gripping, funny film."\n2,A dull film.\n'))
    assert read_rows(tmp_path / "a.csv.gz", text_field="review") == (
        ["A gripping, funny film.", "A dull film."], [{"id": "1"}, {"id": "2"}])
    (tmp_path / "b.jsonl.xz").write_bytes(lzma.compress(b'{"text_a": "q", "text_b": "a", "id": 3}\n'))
    assert read_rows(tmp_path / "b.jsonl.xz", pairs=True) == ([("q", "a")], [{"id": 3}])
    (tmp_path / "c.txt.bz2").write_bytes(bz2.compress(b"one\n\ntwo\n"))
    assert read_texts(tmp_path / "c.txt.bz2") == ["one", "", "two"]
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b"text\n" + b"a film\n" * 100)[:30])
    with pytest.raises(PredictInputError, match=r"d.csv.gz: cannot decompress the .gz file \(EOFError: "):
        read_texts(tmp_path / "d.csv.gz")
    # Parquet: the other columns carry as JSON values; a date, which JSON has not, as its text.
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"idx": [0, 1], "sentence": ["A fine film.", "A dull film."], "label": [1, 0],
                             "day": [datetime.date(2024, 5, 1), None]}), path)
    texts, columns = read_rows(path, text_field="sentence")
    assert texts == zoo.data.load(path, text_column="sentence").texts == ["A fine film.", "A dull film."]
    assert columns == [{"idx": 0, "label": 1, "day": "2024-05-01"}, {"idx": 1, "label": 0, "day": None}]
    assert json.loads(json.dumps(columns)) == columns
    with pytest.raises(PredictInputError, match=r"e.parquet: no column 'text'; name the texts' column with text_field "
                                                r"\(--text-field\); columns: idx, sentence, label, day$"):
        read_texts(path)
    with pytest.raises(PredictInputError, match=r"e.parquet, row 1: column 'idx' is 0 \(int\), not a string: name the "
                                                r"texts' column with text_field \(--text-field\), or, if it is the "
                                                r'text, write it as a string \("0"\)$'):
        read_texts(path, text_field="idx")
    with pytest.raises(PredictInputError, match=r"e.parquet: encoding='latin-1' \(--encoding\) decodes text files, "
                                                r"but a parquet file's strings are already decoded; leave --encoding "
                                                "out$"):
        read_texts(path, encoding="latin-1")
    # A Hugging Face ClassLabel column carries as its class names (the predicted label's form), -1 as no label.
    features = {"label": {"names": ["neg", "pos"], "_type": "ClassLabel"},
                "tags": {"feature": {"names": ["a", "b"], "_type": "ClassLabel"}, "_type": "Sequence"}}
    table = pa.table({"text": ["A fine film.", "A dull film.", "Unseen."], "label": [1, 0, -1],
                      "tags": [[0, 1], [], [1]]})
    pq.write_table(table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})}),
                   tmp_path / "hf.parquet")
    assert read_rows(tmp_path / "hf.parquet").columns == [{"label": "pos", "tags": ["a", "b"]},
                                                          {"label": "neg", "tags": []}, {"label": None, "tags": ["b"]}]
    (tmp_path / "f.parquet").write_text("text\na film\n")
    with pytest.raises(PredictInputError, match=r"f.parquet: cannot read the file as parquet"):
        read_texts(tmp_path / "f.parquet")
    (tmp_path / "g.parquet.gz").write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(PredictInputError, match=r"g.parquet.gz: parquet files compress their own columns"):
        read_texts(tmp_path / "g.parquet.gz")
    (tmp_path / "h.xml.gz").write_bytes(gzip.compress(b"<x/>"))
    with pytest.raises(PredictInputError, match=r"unsupported input type '.xml'; use one of .txt, .csv, .tsv, .jsonl, "
                                                r".parquet \(all but .parquet may be compressed: .gz, .bz2, .xz, "
                                                r".lzma\)$"):
        read_texts(tmp_path / "h.xml.gz")


def test_texts_keep_unusual_line_separators(tmp_path):
    # \x85 and \u2028 are line breaks to str.splitlines but belong inside a text
    (tmp_path / "a.txt").write_text("one\u2028still one\x85too\nsecond\n", encoding="utf-8")
    assert read_texts(tmp_path / "a.txt") == ["one\u2028still one\x85too", "second"]


def test_a_truncated_variables_file_is_named(exported, tmp_path, capsys):
    damaged = tmp_path / "tiny" / "1"
    shutil.copytree(exported.path, damaged)
    data = damaged / "variables" / "variables.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match=rf"cannot load the SavedModel {damaged}: {data} is truncated or corrupt "
                                             r"\(IndexError: Read less bytes than requested\); export the run again"):
        load_predictor(damaged)
    assert main(["predict", str(damaged), "a fine film"]) == 2
    assert f"zoo predict: error: cannot load the SavedModel {damaged}: {data} is truncated" in capsys.readouterr().err


def test_a_jsonl_text_given_twice_and_an_output_that_is_the_input_are_refused(tmp_path, exported):
    # json keeps a repeated key's last value: the first text was dropped without a word.
    (tmp_path / "dup.jsonl").write_text('{"text": "a great film", "text": "a dull film"}\n', encoding="utf-8")
    with pytest.raises(PredictInputError, match=r"dup.jsonl:1: field 'text' appears more than once; keep one"):
        read_texts(tmp_path / "dup.jsonl")
    # Predictions written over their input replaced the texts (the CSV was read before the model ran).
    source = tmp_path / "texts.csv"
    source.write_text("text\na great film\n", encoding="utf-8")
    with pytest.raises(PredictInputError, match="the output is the input file"):
        predict_file(exported.path, source, tmp_path / "." / "texts.csv")
    assert source.read_text(encoding="utf-8") == "text\na great film\n"


def test_a_pair_reaches_the_model_with_its_segment_ids(bert_pairs):
    # Served pairs were only checked for their flags: a graph feeding the model segment 0 throughout (as for single
    # texts) passed every test. The reference packs the pairs itself and calls the model on its segment ids.
    tokenizer, model, predictor = bert_pairs
    pairs = [("the film", "is good"), ("a dull plot", "the film"), ("good", "a film is a film")]
    packed = tokenizer.pack(tf.constant([a for a, _ in pairs]), tf.constant([b for _, b in pairs]), sequence_length=16)

    def reference(segment_ids):
        logits = model({"token_ids": packed["token_ids"], "segment_ids": segment_ids}, training=False).numpy()
        return tf.nn.softmax(logits.astype(np.float64)).numpy()

    expected = reference(packed["segment_ids"])
    assert not np.allclose(expected, reference(tf.zeros_like(packed["segment_ids"])), atol=1e-4)
    got = predictor.predict(pairs).probabilities
    np.testing.assert_allclose(got, expected, atol=1e-5)
