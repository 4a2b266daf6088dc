"""Loaders: every format, label vocabularies, and every bad-input case naming file, line and column."""
import codecs
import csv
import gzip
import itertools
import json
import logging
import re

import numpy as np
import pytest

from zoo.data import errors
from zoo.data.labeled import UNLABELLED, LabeledTexts, check_labels_seen, load_label_names, save_label_names
from zoo.data.sources import _sorted_labels, load, official_splits


def _names(data):
    return [data.label_names[i] for i in data.labels]


def test_csv_with_header_maps_labels_to_sorted_ids(write):
    path = write("train.csv", 'text,label\n"good, fun film",pos\nboring film,neg\n"multi\nline",pos\n')
    data = load(path)
    assert data.texts == ["good, fun film", "boring film", "multi\nline"]
    assert data.label_names == ["neg", "pos"]
    assert data.labels.tolist() == [1, 0, 1]
    assert data.labels.dtype == np.int32
    assert data.class_counts() == {"neg": 1, "pos": 2}
    assert data.location(2) == f"{path}, line 4"


def test_csv_custom_columns_and_delimiter(write):
    path = write("data.csv", "id;sentiment;review\n1;1;nice\n2;0;awful\n")
    data = load(path, text_column="review", label_column="sentiment", delimiter=";")
    assert data.texts == ["nice", "awful"] and _names(data) == ["1", "0"]


def test_numeric_labels_sort_as_numbers(write):
    path = write("d.jsonl", "".join(json.dumps({"text": f"t{i}", "label": i}) + "\n" for i in (10, 2, 1)))
    assert load(path).label_names == ["1", "2", "10"]


def test_labels_lose_unicode_whitespace_so_the_label_vocabulary_can_be_saved(write, tmp_path):
    path = write("d.csv", "text,label\na,pos\u00a0\nb,neg\nc,\u3000pos\n")
    data = load(path)
    assert data.label_names == ["neg", "pos"] and data.class_counts() == {"neg": 1, "pos": 2}
    assert load_label_names(save_label_names(tmp_path, data.label_names).parent) == ["neg", "pos"]
    # Texts keep theirs: MR's latin-1 0x85 (U+0085) is an ellipsis.
    assert load(write("t.csv", "text,label\nwait\u0085,pos\n")).texts == ["wait\u0085"]


def test_one_number_written_two_ways_is_an_error_not_two_classes(write):
    path = write("n.csv", "text,label\na,1\nb,0\nc,1.0\n")
    with pytest.raises(errors.DataError) as info:
        load(path)
    # The fix works for a zoo train user too: a run config cannot set label_names, so it is not the advice.
    assert str(info.value) == (f"{path}, line 4: label '1.0' is the number '1' written another way; as text they "
                               "would be two classes: write each label one way in the data (e.g. '1' for both). Only "
                               "if they are meant as two classes: zoo.data.load(..., label_names=[...]) listing both "
                               "keeps them apart (a run config has no such option)")
    assert load(path, label_names=["0", "1", "1.0"]).class_counts() == {"0": 1, "1": 1, "1.0": 1}
    multi = write("m.jsonl", '{"text": "a", "label": ["2", "x"]}\n{"text": "b", "label": ["x", "02"]}\n')
    with pytest.raises(errors.DataError, match="line 1: label '2' is the number '02' written another way"):
        load(multi, label_separator=",")


@pytest.mark.parametrize("labels,expected", [
    (["10", "2", "nan"], ["10", "2", "nan"]),
    (["inf", "10", "2"], ["10", "2", "inf"]),
    (["10", "2", "1.5"], ["1.5", "2", "10"]),
])
def test_labels_sort_as_numbers_only_when_all_are_finite_numbers(write, labels, expected):
    # Every order of the rows: the label ids must not depend on the order a set of labels comes in.
    for order in itertools.permutations(labels):
        path = write("d.csv", "text,label\n" + "".join(f"t,{label}\n" for label in order))
        assert load(path).label_names == expected
        assert _sorted_labels(order) == expected


def test_tsv_without_header_uses_column_indices_and_no_quoting(write):
    path = write("sms.tsv", 'ham\t"quoted" text stays\nspam\tWIN now\n')
    data = load(path, header=False, label_column=0, text_column=1)
    assert data.texts == ['"quoted" text stays', "WIN now"]
    assert _names(data) == ["ham", "spam"]


# The fix a CSV-quoted TSV file's warning or error ends with.
CSV_WITH_TABS = ("format='csv', delimiter='\\t' (a tab is \"\\t\" in double quotes in YAML, as in a --set value: --set "
                 "'data.load_options.delimiter=\"\\t\"')")


def _csv_written_tsv(path, rows):
    """Write ``rows`` as Python's csv module (and so pandas' ``to_csv(sep="\t")``) writes a tab-separated file."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter="\t").writerows([["text", "label"], *rows])
    return path


def test_a_csv_quoted_tsv_file_is_warned_of_and_its_broken_rows_name_the_fix(write, tmp_path, caplog):
    # Its quotes were read as text (a doubled quote silently), or a quoted line break was "the label field is
    # missing", with no word of quoting.
    doubled = _csv_written_tsv(tmp_path / "pandas_like.tsv", [['he said "hi" loudly', "pos"], ["fine", "neg"]])
    with caplog.at_level("WARNING", logger="zoo.data.sources"):
        assert load(doubled).texts == ['"he said ""hi"" loudly"', "fine"]
    assert (f"{doubled}: 1 field(s) look CSV-quoted, first on line 2, column 'text': '\"he said \"\"hi\"\" loudly\"'; "
            "TSV is read without quoting, so their quotes are part of the text. If the file was written as CSV with "
            f"tabs (Python's csv, pandas' to_csv(sep=\"\\t\")), read it with {CSV_WITH_TABS}") in caplog.text
    assert load(doubled, format="csv", delimiter="\t").texts == ['he said "hi" loudly', "fine"]
    broken = _csv_written_tsv(tmp_path / "broken.tsv", [["two\nlines", "pos"], ["a\ttab", "neg"], ["fine", "neg"]])
    with pytest.raises(errors.BadRowError) as info:
        load(broken)
    assert str(info.value) == (
        f"{broken}, line 2, column 'label': row has 1 field(s); the label field (column 1) is missing; a field opens a "
        "double quote that it does not close, as Python's csv module and pandas' to_csv(sep=\"\\t\") write a text "
        "that holds a line break or a tab: TSV is read without quoting, so if the file was written so, read it with "
        f"{CSV_WITH_TABS}")
    assert info.value.options == ("format", "delimiter")
    skipped = load(broken, on_bad_rows="skip").skipped
    assert "line 4: row has 3 fields but the header has 2; a delimiter inside a field must be quoted (CSV) or " \
           "removed (TSV); a field opens a double quote" in skipped[1]
    assert load(broken, format="csv", delimiter="\t").texts == ["two\nlines", "a\ttab", "fine"]
    # Quotes that are text, as in SMS spam, are no CSV quoting: no warning.
    caplog.clear()
    with caplog.at_level("WARNING", logger="zoo.data.sources"):
        sms = load(write("sms.tsv", 'text\tlabel\n"quoted" text stays\tham\n"half\tspam\n'))
    assert sms.texts == ['"quoted" text stays', '"half'] and "CSV-quoted" not in caplog.text


def test_a_tsv_header_in_csv_quotes_names_the_fix(write):
    path = write("quoted.tsv", '"text"\t"label"\n"a fine film"\t"pos"\n')
    with pytest.raises(errors.MissingColumnError) as info:
        load(path)
    assert str(info.value) == (f"{path}, line 1, column 'text': text column 'text' does not exist; the header has "
                               "['\"text\"', '\"label\"'], whose names are in double quotes, as CSV writes them: TSV "
                               f"is read without quoting, so read the file with {CSV_WITH_TABS}")
    assert load(path, format="csv", delimiter="\t").texts == ["a fine film"]


@pytest.mark.parametrize("name,content,options,char,fix,fix_options", [
    ("semi.csv", "text;label\na film;pos\n", {}, ";", "if the fields are separated by ';', not ',', read it with "
     "delimiter=';'", {"delimiter": ";"}),
    ("pipe.csv", "text|label\na film|pos\n", {}, "|", "if the fields are separated by '|', not ',', read it with "
     "delimiter='|'", {"delimiter": "|"}),
    ("tabs.csv", "text\tlabel\na film\tpos\n", {}, "\t", "if the fields are separated by tabs, not ',', read it with "
     "delimiter='\\t' (a tab is \"\\t\" in double quotes in YAML, as in a --set value: --set "
     "'data.load_options.delimiter=\"\\t\"')", {"delimiter": "\t"}),
    ("comma.csv", "text,label\na film,pos\n", {"delimiter": ";"}, ",", "if the fields are separated by ',', not ';', "
     "read it with delimiter=','", {"delimiter": ","}),
    ("comma.tsv", "text,label\na film,pos\n", {}, ",", "if the fields are separated by ',', not tabs, read it with "
     "format='csv'", {"format": "csv"}),
    ("semi.tsv", "text;label\na film;pos\n", {}, ";", "if the fields are separated by ';', not tabs, read it with "
     "format='csv', delimiter=';'", {"format": "csv", "delimiter": ";"}),
])
def test_a_one_column_header_holding_another_delimiter_names_the_delimiter_option(write, name, content, options,
                                                                                   char, fix, fix_options):
    # It was "the header has ['text;label']: name the column with text_column=, or ... header=False".
    path = write(name, content)
    with pytest.raises(errors.MissingColumnError) as info:
        load(path, **options)
    assert str(info.value) == (f"{path}, line 1, column 'text': text column 'text' does not exist; the header has "
                               f"[{'text' + char + 'label'!r}], one column whose name holds {char!r}: {fix}")
    assert info.value.options == tuple(fix_options)
    assert load(path, **{**options, **fix_options}).texts == ["a film"]


def test_a_one_field_row_holding_another_delimiter_names_the_delimiter_option(write):
    path = write("semi.csv", "a film;pos\n")
    with pytest.raises(errors.BadRowError, match=r"line 1, column 1: row has 1 field\(s\); the label field "
                                                 r"\(column 1\) is missing; the row is one field holding ';': if the "
                                                 r"fields are separated by ';', not ',', read it with delimiter=';'$"):
        load(path, header=False, text_column=0, label_column=1)
    # A one-column file whose texts hold ';' is read as it is.
    assert load(write("one.csv", "text\nhello; world\n"), label_column=False).texts == ["hello; world"]


def test_jsonl_with_custom_keys_and_blank_lines(write):
    path = write("d.jsonl", '{"review": "great", "y": "pos"}\n\n{"review": "bad", "y": "neg"}\n')
    data = load(path, text_column="review", label_column="y")
    assert data.texts == ["great", "bad"] and _names(data) == ["pos", "neg"]
    assert data.location(1) == f"{path}, line 3"


def test_class_folders_read_one_example_per_file(write, tmp_path):
    write("imdb/train/pos/1_10.txt", "Loved it.<br />Great.")
    write("imdb/train/pos/2_9.txt", "Fine film")
    write("imdb/train/neg/3_1.txt", "Awful\r\nfilm")
    write("imdb/train/unsup/4_0.txt", "no label")
    data = load(tmp_path / "imdb" / "train", classes=["neg", "pos"])
    assert sorted(zip(_names(data), data.texts)) == [
        ("neg", "Awful\nfilm"), ("pos", "Fine film"), ("pos", "Loved it.<br />Great.")]
    assert data.location(0).endswith("3_1.txt")
    assert load(tmp_path / "imdb" / "train", classes=["neg", "unsup"]).label_names == ["neg", "unsup"]


def test_class_folders_read_sub_folders_and_say_which_files_they_skip(write, tmp_path, caplog):
    write("c/pos/1.txt", "good")
    write("c/pos/2019/may/2.txt", "great")
    write("c/pos/.ipynb_checkpoints/1-checkpoint.txt", "a copy, not an example")
    write("c/pos/README.md", "not an example")
    write("c/neg/1.TXT", "bad")
    write("c/neg/2.text", "awful")
    with caplog.at_level("WARNING", logger="zoo.data.sources"):
        data = load(tmp_path / "c")
    assert sorted(zip(_names(data), data.texts)) == [("neg", "bad"), ("pos", "good"), ("pos", "great")]
    skipped = tmp_path / "c" / "neg" / "2.text"
    assert f"skipped 1 files of class 'neg' that are not .txt files, e.g. {skipped}" in caplog.text
    # Examples only in sub-folders: the layout is still recognised as class folders.
    write("deep/a/x/1.txt", "one")
    write("deep/b/y/2.txt", "two")
    assert load(tmp_path / "deep").texts == ["one", "two"]


def test_an_undecodable_file_in_a_class_folder_is_a_bad_row(write, tmp_path):
    write("c/pos/1.txt", "good")
    write("c/neg/1.txt", b"caf\xe9 bad")
    write("c/neg/2.txt", "awful")
    with pytest.raises(errors.EncodingError, match="1.txt, line 1: byte 0xe9 at byte column 4"):
        load(tmp_path / "c")
    data = load(tmp_path / "c", on_bad_rows="skip")
    assert data.texts == ["awful", "good"] and len(data.skipped) == 1 and "byte 0xe9" in data.skipped[0]
    write("c/neg/2.txt", b"\xff")
    with pytest.raises(errors.EmptyClassError, match="all 2 files are empty or undecodable"):
        load(tmp_path / "c", on_bad_rows="skip")


def test_class_folders_skip_aclimdbs_unlabelled_folder_by_default_and_say_so(write, tmp_path, caplog):
    write("imdb/train/pos/1_10.txt", "Loved it.")
    write("imdb/train/neg/3_1.txt", "Awful film")
    write("imdb/train/unsup/4_0.txt", "no label")
    with caplog.at_level("WARNING", logger="zoo.data.sources"):
        data = load(tmp_path / "imdb" / "train")
    assert data.label_names == ["neg", "pos"] and sorted(data.texts) == ["Awful film", "Loved it."]
    assert ("skipped the folder unsup/ (aclImdb's unlabelled reviews); classes ['neg', 'pos']. Pass classes=[...] (in "
            "a run config, data.load_options.classes) to choose the class folders." in caplog.text)
    # With one labelled folder beside it, unsup/ is not taken for aclImdb's: every folder is a class.
    write("two/a/1.txt", "x")
    write("two/unsup/2.txt", "y")
    assert load(tmp_path / "two").label_names == ["a", "unsup"]


@pytest.mark.parametrize("files,spec,layout", [
    ({"mr/rt-polarity.pos": "good\n", "mr/rt-polarity.neg": "bad\n", "mr/rt-polarity.neu": "meh\n"}, "mr",
     "one file per class"),
    ({"d.csv": "text,label\ngood,pos\nmeh,neu\n"}, "d.csv", "a CSV file"),
    ({"d.tsv": "text\tlabel\ngood\tpos\nmeh\tneu\n"}, "d.tsv", "a TSV file"),
    ({"d.jsonl": '{"text": "good", "label": "pos"}\n'}, "d.jsonl", "a JSONL file"),
    ({"q.txt": "NUM:dist How far ?\n"}, "q.txt", "TREC data"),
])
def test_classes_with_a_layout_that_reads_every_class_is_an_error_not_ignored(write, tmp_path, files, spec, layout):
    # Ignored, classes=["pos", "neg"] would silently train on a third class ("neu") as well.
    for name, content in files.items():
        write(name, content)
    with pytest.raises(errors.DataSpecError) as info:
        load(tmp_path / spec, classes=["pos", "neg"])
    assert f"classes=['pos', 'neg'] chooses the sub-folders of a folder of class folders, but this is {layout}, of " \
           "which every class would be read; remove classes=" in str(info.value)
    assert str(tmp_path / spec) in str(info.value)


def test_one_file_per_class_directory_splits_on_newline_only(write, tmp_path):
    # latin-1 0x85 decodes to U+0085, which str.splitlines would treat as a line break.
    write("mr/rt-polarity.pos", b"good \x85 really\nfine\n")
    write("mr/rt-polarity.neg", b"bad\n")
    write("mr/README.md", "not data")
    data = load(tmp_path / "mr", encoding="latin-1")
    assert data.label_names == ["neg", "pos"]
    assert data.texts == ["bad", "good \x85 really", "fine"]


def test_files_beside_the_class_files_are_skipped_with_a_warning_naming_them(write, tmp_path, caplog):
    write("mr/rt-polarity.pos", "good\n")
    write("mr/rt-polarity.neg", "bad\n")
    write("mr/rt_polarity.neu", "meh\n")
    write("mr/LICENSE", "not data")
    assert load(tmp_path / "mr").label_names == ["neg", "pos"]
    assert (f"{tmp_path / 'mr'}: skipped 1 files that are not rt-polarity.<label> class files, e.g. rt_polarity.neu; "
            "pass a {label: path} dict to read them") in caplog.text


def test_old_mac_line_endings_in_one_per_line_files_are_an_error_not_one_merged_example(write):
    pos, neg = write("p.txt", "good film\rgreat acting\rloved it\r"), write("n.txt", "bad\r\nawful\n")
    trec = write("q.trec", "DESC:manner How is it done ?\rHUM:ind Who did it ?\r")
    for spec, options, path in (({"pos": pos, "neg": neg}, {}, pos), (trec, {"format": "trec"}, trec)):
        with pytest.raises(errors.BadRowError) as info:
            load(spec, **options)
        assert str(info.value).startswith(f'{path}, line 1: a carriage return ("\\r") inside the line')
        assert 'old Mac line endings ("\\r" alone), convert them to "\\n"' in str(info.value)
    # Skipped, the merged line leaves the class (or file) empty: still an error, never one merged example.
    with pytest.raises(errors.EmptyClassError, match="'pos' has zero examples"):
        load({"pos": pos, "neg": neg}, on_bad_rows="skip")
    with pytest.raises(errors.EmptyDataError):
        load(trec, format="trec", on_bad_rows="skip")
    # "\r\n" line endings are line breaks as "\n" is.
    assert load({"neg": neg, "pos": write("q.txt", "fine\r\n")}).texts == ["bad", "awful", "fine"]


def test_explicit_mapping_spec(write):
    pos, neg = write("p.txt", "yes\n"), write("n.txt", "no\n")
    data = load({"positive": pos, "negative": neg})
    assert data.label_names == ["negative", "positive"] and _names(data) == ["positive", "negative"]


def test_trec_coarse_fine_and_split_folder(write, tmp_path):
    write("trec/train.txt", "NUM:date When was it ?\nLOC:city Where is it ?\nHUM:ind Who did it ?\n")
    write("trec/test.txt", "LOC:city Which city ?\n")
    coarse = load(f"trec:{tmp_path / 'trec'}")
    assert coarse.label_names == ["HUM", "LOC", "NUM"] and coarse.texts[0] == "When was it ?"
    fine_test = load(f"trec:{tmp_path / 'trec'}", split="test", label_level="fine")
    # Test ids come from the training label vocabulary.
    assert fine_test.label_names == ["HUM:ind", "LOC:city", "NUM:date"]
    assert _names(fine_test) == ["LOC:city"]
    assert load(tmp_path / "trec").label_names == coarse.label_names
    assert official_splits(f"trec:{tmp_path / 'trec'}") == ("train", "test")
    assert load(tmp_path / "trec" / "test.txt").texts == ["Which city ?"]


def test_a_trec_folder_whose_files_start_with_a_byte_order_mark_is_recognised(write, tmp_path):
    write("trec/train.txt", "\ufeffDESC:manner How is it done ?\nHUM:ind Who did it ?\n")
    write("trec/test.txt", "\ufeffLOC:city Where is it ?\n")
    assert official_splits(str(tmp_path / "trec")) == ("train", "test")
    assert load(tmp_path / "trec").label_names == ["DESC", "HUM"]
    assert load(tmp_path / "trec" / "test.txt").texts == ["Where is it ?"]
    write("bin.dat", b"\xff\xfe\x00 not text")
    with pytest.raises(errors.DataSpecError, match="cannot tell the format"):
        load(tmp_path / "bin.dat", encoding="utf-8")


def test_a_txt_corpus_reads_one_unlabelled_text_per_line(write, tmp_path):
    # `zoo pretrain --data corpus.txt` was "cannot tell the format of this file from its name".
    path = write("corpus.txt", "the first text\n\n  \nthe second, caf\xe9\n".encode("latin-1"))
    data = load(path, label_column=False, encoding="latin-1")
    assert data.texts == ["the first text", "the second, caf\u00e9"] and data.label_names == [UNLABELLED]
    assert data.origins.tolist() == [[0, 1], [0, 4]]  # blank lines skipped, line numbers kept
    assert load(write("notes.dat", "one\ntwo\n"), format="lines", label_column=False).texts == ["one", "two"]
    with pytest.raises(errors.DataSpecError, match=r"corpus\.txt: this file holds one text per line and no labels.*"
                                                   r"a classifier needs labelled data"):
        load(path, encoding="latin-1")
    with pytest.raises(errors.DataSpecError, match="text_column='body' names a column") as err:
        load(path, label_column=False, text_column="body", encoding="latin-1")
    assert err.value.options == ("text_column",)
    with pytest.raises(errors.EmptyDataError, match=r"blank\.txt: no examples"):
        load(write("blank.txt", "\n \n"), label_column=False)
    # A TREC file keeps its own reading.
    write("q.txt", "DESC:manner How is it done ?\n")
    assert load(tmp_path / "q.txt").label_names == ["DESC"]


def test_label_names_fix_the_vocabulary(write):
    path = write("val.csv", "text,label\nx,b\n")
    data = load(path, label_names=["a", "b", "c"])
    assert data.label_names == ["a", "b", "c"] and data.labels.tolist() == [1]


def test_summary_is_logged(write, caplog):
    path = write("d.csv", "text,label\nx,a\ny,b\nz,b\n")
    with caplog.at_level(logging.INFO, logger="zoo.data"):
        load(path)
    assert "3 examples (a 1, b 2)" in caplog.text


def test_label_vocabulary_round_trip(tmp_path):
    save_label_names(tmp_path, ["neg", "pos"])
    assert load_label_names(tmp_path) == ["neg", "pos"]
    with pytest.raises(errors.DataError, match="cannot be stored"):
        save_label_names(tmp_path, ["a\nb"])


# --- bad input: each error names the file, line and column ---------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(errors.DataFileNotFoundError) as info:
        load(path)
    assert isinstance(info.value, FileNotFoundError) and str(path) in str(info.value)


def test_missing_shared_data_dir_names_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(errors.DataFileNotFoundError, match="ZOO_DATA_DIR"):
        load("trec")


@pytest.mark.parametrize("name,content", [("e.csv", ""), ("e.jsonl", "\n\n"), ("e.tsv", "  \n")])
def test_empty_file(write, name, content):
    path = write(name, content)
    with pytest.raises(errors.EmptyDataError) as info:
        load(path, header=name != "e.tsv", text_column=1 if name == "e.tsv" else None,
             label_column=0 if name == "e.tsv" else None)
    assert str(path) in str(info.value) and "empty" in str(info.value)


def test_header_only_csv_is_empty(write):
    path = write("h.csv", "text,label\n")
    with pytest.raises(errors.EmptyDataError, match="header but no rows"):
        load(path)


@pytest.mark.parametrize("row,column,reason", [
    ("only text", "label", "field (column 1) is missing"),
    (",pos", "text", "empty text"),
    ("some text,", "label", "empty label"),
    ("some text,  ", "label", "empty label"),
])
def test_csv_bad_row_names_line_and_column(write, row, column, reason):
    path = write("bad.csv", f"text,label\ngood,pos\n{row}\n")
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    message = str(info.value)
    assert f"{path}, line 3, column '{column}'" in message and reason in message
    assert (info.value.path, info.value.line, info.value.column) == (str(path), 3, column)


def test_extra_fields_are_an_error_not_a_silently_cut_text(write):
    path = write("sms.tsv", "ham\tfine\nspam\tWIN\tnow\n")
    with pytest.raises(errors.BadRowError) as info:
        load(path, header=False, label_column=0, text_column=1)
    assert f"{path}, line 2: row has 3 fields but the first row has 2" in str(info.value)
    csv_path = write("d.csv", "text,label\nok,a\nnot, quoted,b\n")
    with pytest.raises(errors.BadRowError, match=f"{csv_path}, line 3: row has 3 fields but the header has 2"):
        load(csv_path)


@pytest.mark.parametrize("content", [
    # A stray quote opens a field that a later quote (line 5) ends mid-field: not 3 rows merged into one text.
    'text,label\ngood film,pos\n"stray quote,neg\nrow a,neg\nanother "quote",pos\nrow b,pos\n',
    # A quoted field that never closes: not one short row missing its label.
    'text,label\ngood film,pos\n"unterminated,pos\nsecond,neg\n',
    # Text after the closing quote.
    'text,label\ngood film,pos\n"quoted" tail,neg\nrow b,pos\n',
])
@pytest.mark.parametrize("on_bad_rows", ["error", "skip"])
def test_csv_unbalanced_quote_is_an_error_naming_where_the_record_starts(write, content, on_bad_rows):
    path, line = write("q.csv", content), 3
    with pytest.raises(errors.BadRowError) as info:
        load(path, on_bad_rows=on_bad_rows)
    message = str(info.value)
    assert (info.value.path, info.value.line) == (str(path), line)
    assert message.startswith(f"{path}, line {line}: unbalanced double quote")
    assert 'double every quote inside it (e.g. "say ""hi"" now")' in message
    assert "error even with on_bad_rows='skip'" in message


def test_lone_carriage_return_is_text_in_tsv_and_a_bad_row_in_csv(write):
    tsv = write("cr.tsv", "ham\tfine text\nspam\tbad\rtext\nham\tok\n")
    assert load(tsv, header=False, label_column=0, text_column=1).texts == ["fine text", "bad\rtext", "ok"]
    csv_path = write("cr.csv", 'text,label\nfine,pos\nbad\rtext,neg\n"quoted\rkept",neg\nok,pos\n')
    with pytest.raises(errors.BadRowError) as info:
        load(csv_path)
    assert str(info.value).startswith(f'{csv_path}, line 3: a carriage return ("\\r") inside an unquoted field')
    data = load(csv_path, on_bad_rows="skip")
    assert data.texts == ["fine", "quoted\rkept", "ok"]
    assert len(data.skipped) == 1 and data.skipped[0].startswith(f"{csv_path}, line 3:")
    header = write("h.csv", "te\rxt,label\nfine,pos\n")
    with pytest.raises(errors.BadRowError, match=f"{header}, line 1: a carriage return"):
        load(header, on_bad_rows="skip")


def test_label_column_that_does_not_exist(write):
    path = write("d.csv", "review,stars\nx,1\n")
    with pytest.raises(errors.MissingColumnError) as info:
        load(path, text_column="review", label_column="label")
    assert f"{path}, line 1, column 'label'" in str(info.value) and "['review', 'stars']" in str(info.value)


@pytest.mark.parametrize("name,content", [("d.csv", "a great film,pos\na dull film,neg\n"),
                                          ("d.tsv", "a great film\tpos\na dull film\tneg\n")])
def test_a_file_without_a_header_row_is_told_how_to_read_it(write, name, content):
    path = write(name, content)
    with pytest.raises(errors.MissingColumnError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}, line 1, column 'text': text column 'text' does not exist; the header has ['a great film', 'pos']: "
        "name the column with text_column=, or, if line 1 is an example rather than a header, pass header=False "
        "and column indices")
    assert info.value.options == ("text_column", "header")  # what a run config names data.load_options.*
    data = load(path, header=False, text_column=0, label_column=1)
    assert data.texts == ["a great film", "a dull film"] and data.label_names == ["neg", "pos"]


def test_a_jsonl_key_that_does_not_exist_is_told_which_option_names_it(write):
    path = write("d.jsonl", '{"review": "a great film", "stars": "5"}\n')
    for options, message in (({}, "text field 'text' does not exist; the first record has keys ['review', 'stars']: "
                                  "name the key with text_column="),
                             ({"text_column": "review"}, "label field 'label' does not exist; the first record has "
                                                         "keys ['review', 'stars']: name the key with label_column=")):
        with pytest.raises(errors.MissingColumnError) as info:
            load(path, **options)
        assert str(info.value) == f"{path}, line 1, column '{message.split(chr(39))[1]}': {message}"
        assert info.value.options == (message.rsplit(" ", 1)[1].rstrip("="),)


def test_a_column_named_twice_in_the_header_is_an_error_not_the_first_one(write):
    path = write("d.csv", "text,label,text\nfirst,pos,second\n")
    with pytest.raises(errors.DataSpecError) as info:
        load(path)
    assert str(info.value) == (f"{path}, line 1, column 'text': text column 'text' is named 2 times in the header "
                               "(columns 0, 2); rename the others, or give the column's index")
    assert load(path, text_column=2).texts == ["second"]


def test_column_index_out_of_range_and_names_without_header(write):
    path = write("d.csv", "a,b\nx,1\n")
    with pytest.raises(errors.MissingColumnError, match="column 5"):
        load(path, text_column=5, label_column="b")
    with pytest.raises(errors.DataSpecError, match="must be an index"):
        load(path, header=False)


def test_jsonl_missing_key_bad_json_and_bad_types(write):
    missing = write("m.jsonl", '{"text": "x"}\n')
    with pytest.raises(errors.MissingColumnError) as info:
        load(missing)
    assert f"{missing}, line 1, column 'label'" in str(info.value)
    broken = write("b.jsonl", '{"text": "x", "label": "a"}\n{"text": "y", label: 1}\n')
    with pytest.raises(errors.BadRowError) as info:
        load(broken)
    assert f"{broken}, line 2, column 15: invalid JSON" in str(info.value)
    later = write("l.jsonl", '{"text": "x", "label": "a"}\n{"text": "y"}\n')
    with pytest.raises(errors.BadRowError, match="line 2, column 'label': label field is missing"):
        load(later)
    typed = write("t.jsonl", '{"text": ["x"], "label": "a"}\n')
    with pytest.raises(errors.BadRowError, match="column 'text': text field must be a string"):
        load(typed)


def test_a_jsonl_float_label_reads_as_its_integer_or_is_refused_quoting_its_value(write):
    # Whole-number floats were "label field must be a string or an integer, not float", with no value or fix.
    path = write("dnum.jsonl", '{"text": "a", "label": 1.0}\n{"text": "b", "label": 0}\n{"text": "c", "label": 1}\n')
    data = load(path)
    assert _names(data) == ["1", "0", "1"] and data.label_names == ["0", "1"]
    half = write("half.jsonl", '{"text": "a", "label": 0.5}\n')
    with pytest.raises(errors.BadRowError) as info:
        load(half)
    assert str(info.value) == (f"{half}, line 1, column 'label': label field must be a string or an integer, not float "
                               "0.5; only a whole number can be a class id: if 0.5 names a class, write it as the "
                               'string "0.5"')
    missing = write("nan.jsonl", '{"text": "a", "label": NaN}\n{"text": "b", "label": 2.0}\n')
    with pytest.raises(errors.BadRowError, match=r"nan.jsonl, line 1, column 'label': label field is NaN, a missing "
                                                 r"value \(pandas writes one for an empty cell of a number column\)$"):
        load(missing)
    assert load(missing, on_bad_rows="skip").label_names == ["2"]
    # A CSV cell is the text it holds: "1.0" read with the vocabulary of the JSONL file says what to write.
    csv_file = write("n.csv", "text,label\nd,1.0\n")
    with pytest.raises(errors.UnseenLabelError) as info:
        load(csv_file, label_names=data.label_names)
    assert str(info.value) == (f"{csv_file}, line 2, column 'label': label '1.0' is not in the label vocabulary "
                               "['0', '1']; it is the number '1' written another way, and labels are text: write it "
                               "'1'")


def test_a_jsonl_key_given_twice_is_a_bad_row_not_its_last_value(write):
    """json keeps the last value of a repeated key; a CSV column named twice is an error too."""
    path = write("d.jsonl", '{"text": "a great film", "label": "pos", "text": "a dull film"}\n'
                            '{"text": "fine", "label": "pos", "label": "neg", "note": 1, "note": 2}\n'
                            '{"text": "ok", "label": "neg", "note": 1, "note": 2}\n')
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    assert str(info.value) == (f"{path}, line 1, column 'text': text key 'text' appears more than once in the "
                               "record, so which value is the text is unknown; keep one")
    data = load(path, on_bad_rows="skip")
    assert data.texts == ["ok"] and len(data.skipped) == 2
    assert "line 2, column 'label': label key 'label' appears more than once" in data.skipped[1]


def test_jsonl_unpaired_surrogate_is_a_bad_row_not_a_later_tensorflow_error(write):
    path = write("s.jsonl", '{"text": "fine", "label": ["a"]}\n{"text": "great \\ud83d film", "label": ["b"]}\n'
                            '{"text": "emoji \\ud83d\\ude00", "label": ["b"]}\n{"text": "x", "label": ["\\udc00"]}\n')
    with pytest.raises(errors.BadRowError) as info:
        load(path, label_separator=",")
    assert str(info.value).startswith(f"{path}, line 2, column 'text': text field holds the unpaired surrogate "
                                      "\\ud83d (half of a UTF-16 pair")
    data = load(path, label_separator=",", on_bad_rows="skip")
    assert data.texts == ["fine", "emoji \U0001f600"] and len(data.skipped) == 2
    assert "line 4, column 'label': label field holds the unpaired surrogate \\udc00" in data.skipped[1]


def test_trec_malformed_line(write):
    path = write("t.txt", "NUM:date When ?\nno label here\n")
    with pytest.raises(errors.BadRowError) as info:
        load(path, format="trec")
    assert f"{path}, line 2" in str(info.value)


def test_undecodable_bytes_name_file_and_line(write):
    path = write("latin.csv", b"text,label\ngood,pos\ncaf\xe9 film,neg\n")
    with pytest.raises(errors.EncodingError) as info:
        load(path)
    assert f"{path}, line 3" in str(info.value) and "0xe9" in str(info.value)
    assert "encoding='latin-1'" in str(info.value)
    assert load(path, encoding="latin-1").texts[1] == "café film"


def test_a_utf8_byte_order_mark_is_not_text_and_errors_count_the_files_bytes(write):
    bom = b"\xef\xbb\xbf"
    path = write("bom.csv", bom + b"text,label\ngood,pos\nbad,neg\n")
    # Excel's "CSV UTF-8" starts with a BOM: it is not part of the first column's name, however UTF-8 is spelt.
    for encoding in (None, "utf-8", "UTF8", "utf-8-sig"):
        assert load(path, encoding=encoding).texts == ["good", "bad"], encoding
    lines = write("bom.txt", bom + "caf\u00e9\nfine\n".encode("utf-8"))
    assert load({"pos": lines}, encoding="utf-8").texts == ["caf\u00e9", "fine"]
    # The error names the bad byte where it is in the file: line 2, byte column 4 (the BOM is on line 1).
    path = write("bad.csv", bom + b"text,label\ncaf\xe9,pos\n")
    with pytest.raises(errors.EncodingError) as info:
        load(path)
    assert f"{path}, line 2" in str(info.value) and "byte 0xe9 at byte column 4" in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_is_read_after_its_byte_order_mark(write, encoding):
    mark = {"utf-16": b"", "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": b""}[encoding]
    tsv = write("excel.tsv", mark + "text\tlabel\nCafé ☕\tpos\nbad\tneg\n".encode(encoding))
    assert load(tsv).texts == ["Café ☕", "bad"]
    pos = write("p.txt", mark + "good\nfine\n".encode(encoding))
    neg = write("n.txt", "bad\n".encode("utf-8"))
    assert load({"pos": pos, "neg": neg}).texts == ["good", "fine", "bad"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_byte_order_mark_is_refused_naming_the_encoding_to_pass(write, encoding):
    # ASCII in UTF-16 decodes as UTF-8 without error, into NUL-riddled columns no header name matches.
    tsv = write("nomark.tsv", "text\tlabel\nCafé ☕\tpos\nbad\tneg\n".encode(encoding))
    with pytest.raises(errors.EncodingError) as info:
        load(tsv)
    column = 2 if encoding == "utf-16-le" else 1
    assert str(info.value) == (
        f"{tsv}, line 1: byte 0x00 at byte column {column}: a NUL byte, which UTF-8 text does not hold; the file "
        f"looks like UTF-16 or UTF-32 without a byte-order mark: pass encoding= with its encoding (e.g. "
        f"encoding='{encoding}')")
    assert load(tsv, encoding=encoding).texts == ["Café ☕", "bad"]
    lines = write("p.txt", "good\nfine\n".encode(encoding))
    with pytest.raises(errors.EncodingError, match=f"p.txt, line 1: byte 0x00 .* encoding='{encoding}'"):
        load({"pos": lines, "neg": write("n.txt", "bad\n")})


@pytest.mark.parametrize("encoding", ["utf-32-le", "utf-32-be"])
def test_utf32_or_non_latin_utf16_without_its_byte_order_mark_is_named(write, encoding):
    path = write("nomark.tsv", "text\tlabel\nCafé ☕\tpos\n".encode(encoding))
    with pytest.raises(errors.EncodingError, match=f"looks like UTF-16 or UTF-32 .* encoding='{encoding}'"):
        load(path)
    assert load(path, encoding=encoding).texts == ["Café ☕"]
    # Cyrillic in UTF-16 has NULs only beside its spaces and ASCII marks.
    russian = write("ru.tsv", "text\tlabel\nочень хороший фильм, 10 из 10\tpos\n".encode("utf-16-le"))
    with pytest.raises(errors.EncodingError, match="looks like UTF-16 or UTF-32 .* encoding='utf-16-le'"):
        load(russian)


def test_a_stray_nul_byte_is_named_as_such_not_as_utf16(write):
    # One NUL in an ASCII file was "the file looks like UTF-16 or UTF-32 without a byte-order mark".
    path = write("nul.csv", b"text,label\nfine film,pos\nbad\x00 film,neg\n")
    with pytest.raises(errors.EncodingError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}, line 3: byte 0x00 at byte column 4 (byte offset 28; 1 NUL byte(s) in the file): a NUL byte, which "
        "text does not hold: the file holds a stray NUL, not one beside every character as UTF-16 or UTF-32 would; "
        "remove it (the file may be damaged or partly binary), or, if the file is in another encoding, pass "
        "encoding= with its encoding")
    # NUL padding (a file cut short while written) is no UTF-16 either.
    padded = write("pad.csv", b"text,label\nfine film,pos\n" + b"\x00" * 64)
    with pytest.raises(errors.EncodingError, match=r"line 3: byte 0x00 at byte column 1 \(byte offset 25; 64 NUL "
                                                   r"byte\(s\) in the file\): a NUL byte, which text does not hold: "
                                                   r"the file holds a stray NUL"):
        load(padded)


@pytest.mark.parametrize("name,header", [("j.csv", "text,label"), ("j.tsv", "text\tlabel")])
def test_a_header_repeated_by_joining_two_files_is_a_bad_row_not_a_class(write, name, header):
    first, second = (f"\ufeff{header}\n" + row for row in ("good,pos\n", "bad,neg\n"))
    path = write(name, (first + second).replace(",", "\t" if name.endswith(".tsv") else ","))
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    assert str(info.value) == (f"{path}, line 3: the row repeats the header (files joined with their header "
                               "rows?); remove it")
    data = load(path, on_bad_rows="skip")
    assert data.texts == ["good", "bad"] and data.label_names == ["neg", "pos"]


def test_a_csv_field_longer_than_csvs_default_limit_loads(write):
    long_text = "word " * 30_000  # 150,000 characters: above csv's default limit of 131,072
    path = write("long.csv", f'text,label\n"{long_text}",pos\nshort,neg\n')
    assert load(path).texts == [long_text.strip(), "short"]


def test_empty_class_folder(write, tmp_path):
    write("c/pos/a.txt", "fine")
    (tmp_path / "c" / "neg").mkdir()
    with pytest.raises(errors.EmptyClassError) as info:
        load(tmp_path / "c")
    assert str(tmp_path / "c" / "neg") in str(info.value) and "'neg' has zero examples" in str(info.value)


def test_class_file_with_zero_examples(write):
    pos, neg = write("p.txt", "fine\n"), write("n.txt", "\n\n")
    with pytest.raises(errors.EmptyClassError) as info:
        load({"pos": pos, "neg": neg})
    assert str(neg) in str(info.value) and "'neg'" in str(info.value)


def test_blank_line_in_one_per_line_file_is_a_bad_row(write):
    pos, neg = write("p.txt", "fine\n\nok\n"), write("n.txt", "bad\n")
    with pytest.raises(errors.BadRowError, match=f"{pos}, line 2: empty text"):
        load({"pos": pos, "neg": neg})


def test_validation_label_unseen_in_training(write):
    train = load(write("train.csv", "text,label\na,x\nb,y\n"))
    val_path = write("val.csv", "text,label\nc,x\nd,z\n")
    with pytest.raises(errors.UnseenLabelError) as info:
        load(val_path, label_names=train.label_names)
    assert f"{val_path}, line 3, column 'label'" in str(info.value) and "'z'" in str(info.value)


def test_check_labels_seen_names_first_unseen_example(write):
    vocabulary = ["x", "y", "z"]
    train = load(write("train.csv", "text,label\na,x\nb,y\n"), label_names=vocabulary)
    val_path = write("val.csv", "text,label\nc,x\nd,z\ne,z\n")
    val = load(val_path, label_names=vocabulary)
    with pytest.raises(errors.UnseenLabelError) as info:
        check_labels_seen(train, val)
    assert f"{val_path}, line 3" in str(info.value) and "'z'" in str(info.value) and "2 validation" in str(
        info.value)
    check_labels_seen(train, train)


def test_skip_bad_rows_counts_and_warns(write, caplog):
    path = write("bad.csv", "text,label\ngood,pos\n,neg\nfine,\nonly\nok,neg\n")
    with caplog.at_level(logging.WARNING, logger="zoo.data"):
        data = load(path, on_bad_rows="skip")
    assert data.texts == ["good", "ok"]
    assert len(data.skipped) == 3
    assert [s.split(":")[0] for s in data.skipped] == [f"{path}, line {n}, column 'text'" if n == 3 else
                                                      f"{path}, line {n}, column 'label'" for n in (3, 4, 5)]
    assert "skipped 3 bad rows" in caplog.text
    assert "skipped 3 bad rows" in data.summary()


def test_skip_with_nothing_left_is_still_an_error(write):
    path = write("bad.csv", "text,label\n,a\n")
    with pytest.raises(errors.EmptyDataError, match="1 bad rows skipped"):
        load(path, on_bad_rows="skip")


def test_bad_options(write, tmp_path):
    path = write("d.csv", "text,label\nx,a\n")
    with pytest.raises(errors.DataSpecError, match="on_bad_rows"):
        load(path, on_bad_rows="ignore")
    with pytest.raises(errors.DataSpecError, match="no official splits"):
        load(path, split="test")
    with pytest.raises(errors.DataSpecError, match="cannot tell the format"):
        load(write("data.xyz", "x\n"))
    with pytest.raises(errors.DataSpecError, match="encoding='no-such-codec' is not a text encoding"):
        load(path, encoding="no-such-codec")
    write("odd/a.txt", "x")
    write("odd/b.csv", "y")
    with pytest.raises(errors.DataSpecError, match="cannot tell the layout"):
        load(tmp_path / "odd")
    # A delimiter the csv module rejects (a raw TypeError), or that an empty string would turn into ",".
    for delimiter in (";;", "", 1, '"'):
        with pytest.raises(errors.DataSpecError) as info:
            load(path, delimiter=delimiter)
        assert str(info.value) == (f"delimiter={delimiter!r}: the CSV field delimiter must be one character other "
                                   "than a double quote or a line break, e.g. ';' or '|'")
        assert info.value.options == ("delimiter",)
    assert load(write("semi.csv", "text;label\nx;a\n"), delimiter=";").texts == ["x"]


def test_labeled_texts_rejects_out_of_range_ids():
    with pytest.raises(errors.UnseenLabelError, match="label id 2"):
        LabeledTexts(["a", "b"], np.array([0, 2]), ["x", "y"])


# --- tfds, through tfds.testing.mock_data ---------------------------------------------------------------

def _fake_reviews(self, split, decoders=None, read_config=None, **kwargs):
    import tensorflow as tf

    texts = [f"{split} review {i}" for i in range(5)]
    return tf.data.Dataset.from_tensor_slices({"text": texts, "label": np.array([0, 1, 1, 0, 1], np.int64)})


def test_tfds_uses_supervised_keys_and_class_label_names():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(as_dataset_fn=_fake_reviews):
        data = load("tfds:imdb_reviews", split="test")
        config = load("tfds:imdb_reviews:plain_text")
    assert data.texts == [f"test review {i}" for i in range(5)]
    assert data.label_names == ["neg", "pos"] and data.labels.tolist() == [0, 1, 1, 0, 1]
    assert data.location(2) == "tfds:imdb_reviews (test), record 2"
    assert config.texts[0] == "train review 0"
    with pytest.raises(errors.DataSpecError, match=r"^tfds:imdb_reviews: encoding='latin-1' decodes text files, but "
                                                   "this is a tfds data set, whose strings are already decoded"):
        load("tfds:imdb_reviews", encoding="latin-1")


def _fake_partly_unlabelled(self, split, decoders=None, read_config=None, **kwargs):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices({"text": ["x", "y", "z"], "label": np.array([0, 1, -1], np.int64)})


def test_tfds_unlabelled_record_is_a_bad_row_not_the_last_class():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(as_dataset_fn=_fake_partly_unlabelled):
        with pytest.raises(errors.BadRowError) as info:
            load("tfds:imdb_reviews", split="unsupervised")
        skipped = load("tfds:imdb_reviews", split="unsupervised", on_bad_rows="skip")
    assert (info.value.path, info.value.line, info.value.column) == ("tfds:imdb_reviews (unsupervised)", 2, "label")
    assert "record is unlabelled: label id -1" in str(info.value)
    assert "choose a split whose records are labelled (this is split='unsupervised')" in str(info.value)
    assert skipped.texts == ["x", "y"] and skipped.class_counts() == {"neg": 1, "pos": 1}
    assert skipped.skipped == [str(info.value)]


def test_tfds_random_mock_and_explicit_text_feature():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        data = load("tfds:ag_news_subset", text_column="title", on_bad_rows="skip")
        with pytest.raises(errors.MissingColumnError, match="column 'body'"):
            load("tfds:ag_news_subset", text_column="body")
    assert len(data) + len(data.skipped) == 6
    assert data.label_names == ["World", "Sports", "Business", "Sci/Tech"]


def test_tfds_not_prepared_says_how_to_use_local_files(tmp_path):
    with pytest.raises(errors.DataFileNotFoundError) as info:
        load("tfds:imdb_reviews", data_dir=str(tmp_path))
    message = str(info.value)
    assert "tfds:imdb_reviews" in message and str(tmp_path) in message
    assert "cannot download" in message and "local files" in message
    assert info.value.options == ("data_dir",)  # a run config names it data.load_options.data_dir


def test_tfds_unknown_name():
    with pytest.raises(errors.DataSpecError, match="no data set named 'no_such_set_zz'"):
        load("tfds:no_such_set_zz")


def test_multilabel_csv_and_jsonl_give_multi_hot_labels(write):
    csv_path = write("tags.csv", 'text,label\n"goal, then a vote","sports|politics"\nquiet day,\nmatch,sports\n')
    data = load(csv_path, label_separator="|")
    assert data.multilabel and data.label_names == ["politics", "sports"]
    assert data.labels.tolist() == [[1, 1], [0, 0], [0, 1]]
    assert data.class_counts() == {"politics": 1, "sports": 2}
    jsonl = write("tags.jsonl", '{"text": "goal, then a vote", "label": ["sports", "politics"]}\n'
                                '{"text": "quiet day", "label": []}\n{"text": "match", "label": "sports"}\n')
    same = load(jsonl, label_separator="|")
    np.testing.assert_array_equal(same.labels, data.labels)
    fixed = load(csv_path, label_separator="|", label_names=["sports", "politics", "weather"])
    assert fixed.labels.tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]


@pytest.mark.parametrize("content, options, error, match", [
    ('text,label\na,"x||y"\n', {"label_separator": "|"}, errors.BadRowError,
     r"tags.csv, line 2, column 'label': empty label in 'x\|\|y' \(labels separated by '\|'\)"),
    ('text,label\na,x|z\n', {"label_separator": "|", "label_names": ["x", "y"]}, errors.UnseenLabelError,
     r"tags.csv, line 2, column 'label': label 'z' is not in the label vocabulary \['x', 'y'\]"),
    ('text,label\na,x\n', {"label_separator": " "}, errors.DataSpecError,
     r"label_separator must be a non-blank string, not ' '"),
])
def test_bad_multilabel_rows_name_file_line_and_column(write, content, options, error, match):
    with pytest.raises(error, match=match):
        load(write("tags.csv", content), **options)


def test_a_label_list_needs_label_separator(write):
    path = write("tags.jsonl", '{"text": "a", "label": ["x", "y"]}\n')
    with pytest.raises(errors.BadRowError, match=r"tags.jsonl, line 1, column 'label': label field must be a string "
                                                 r"or an integer, not list"):
        load(path)


def test_label_column_false_reads_the_texts_alone(tmp_path):
    # lm/mlm corpora: a file without a label column was a MissingColumnError.
    (tmp_path / "a.jsonl").write_text('{"text": "one film"}\n{"text": "two films", "label": "x"}\n')
    (tmp_path / "b.csv").write_text("id,text\n1,a film\n2,\"a, film\"\n")
    for name, texts in (("a.jsonl", ["one film", "two films"]), ("b.csv", ["a film", "a, film"])):
        data = load(tmp_path / name, label_column=False)
        assert data.texts == texts and data.label_names == [UNLABELLED] and data.labels.tolist() == [0, 0]
        assert data.location(1) == f"{tmp_path / name}, line {3 if name == 'b.csv' else 2}"
    mr = load("mr", label_column=False)  # a labelled set: its labels are dropped
    assert len(mr) == 10662 and mr.class_counts() == {UNLABELLED: 10662}
    with pytest.raises(errors.DataSpecError, match="label_column=False reads texts without labels; label_names"):
        load(tmp_path / "b.csv", label_column=False, label_names=["x"])


def test_a_folder_of_split_files_reads_each_split_its_shards_joined(tmp_path):
    # Hugging Face's layout: a split's files named after it, sharded; it was "cannot tell the layout".
    (tmp_path / "train-00000-of-00002.csv").write_text("text,label\na fine film,pos\na dull film,neg\n")
    (tmp_path / "train-00001-of-00002.jsonl").write_text('{"text": "so-so", "label": "mixed"}\n'
                                                          '{"text": "superb", "label": "pos"}\n')
    (tmp_path / "dev.tsv").write_text("text\tlabel\nfine\tpos\n")
    (tmp_path / "test.csv").write_text("text,label\nawful,neg\n")
    (tmp_path / "README.md").write_text("# a data set card\n")
    assert official_splits(tmp_path) == ("train", "validation", "test")
    train = load(tmp_path)
    assert train.texts == ["a fine film", "a dull film", "so-so", "superb"]
    assert train.label_names == ["mixed", "neg", "pos"] and train.labels.tolist() == [2, 1, 0, 2]
    assert train.source == f"{tmp_path} (train)"
    assert train.location(3) == f"{tmp_path / 'train-00001-of-00002.jsonl'}, line 2"
    assert load(tmp_path, split="validation").texts == ["fine"]
    assert load(tmp_path, split="test", label_names=train.label_names).labels.tolist() == [1]
    with pytest.raises(errors.DataSpecError, match=r"this folder of splits has the splits train, validation, "
                                                   r"test, not 'unsup'$"):
        load(tmp_path, split="unsup")
    # Without a training split the files are no split layout: the error says which split is missing.
    (tmp_path / "train-00000-of-00002.csv").unlink()
    (tmp_path / "train-00001-of-00002.jsonl").unlink()
    assert official_splits(tmp_path) == ()
    with pytest.raises(errors.DataSpecError, match=r"holds validation and test split files \(dev\.tsv, test\.csv\) "
                                                   r"but no training split: add it as train\.csv"):
        load(tmp_path)


def test_a_folder_of_split_folders_reads_each_split_as_its_layout(write, tmp_path, caplog):
    # aclImdb's root: it read as two classes, "train" and "test", of 50,000 reviews each.
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            write(f"aclImdb/{split}/{label}/1_7.txt", f"a {split} {label} review")
    write("aclImdb/train/unsup/0_0.txt", "unlabelled")
    write("aclImdb/README", "Large Movie Review Dataset")
    root = tmp_path / "aclImdb"
    assert official_splits(root) == ("train", "test")
    train = load(root)
    assert train.label_names == ["neg", "pos"] and sorted(train.texts) == ["a train neg review", "a train pos review"]
    assert sorted(load(root, split="test").texts) == ["a test neg review", "a test pos review"]
    # Hugging Face's parquet conversion: a folder per split of numbered shards.
    write("converted/train/0000.jsonl", '{"text": "one", "label": "a"}\n')
    write("converted/train/0001.jsonl", '{"text": "two", "label": "b"}\n')
    write("converted/validation/0000.jsonl", '{"text": "three", "label": "a"}\n')
    converted = load(tmp_path / "converted")
    assert converted.texts == ["one", "two"] and converted.label_names == ["a", "b"]
    assert official_splits(tmp_path / "converted") == ("train", "validation")


@pytest.mark.parametrize("first, second, split", [
    ("dev.csv", "validation.csv", "validation"),
    ("test.jsonl", "testing.csv", "test"),
    ("train-00000-of-00001.csv", "training.csv", "train"),
    ("dev.tsv", "val/", "validation"),
])
def test_one_split_under_two_names_is_refused_naming_both_files(tmp_path, first, second, split):
    # dev.csv and validation.csv were joined silently as shards of the validation split.
    for name in {"train.csv", first, second}:
        if name.endswith("/"):
            (tmp_path / name / "pos").mkdir(parents=True)
            (tmp_path / name / "pos" / "1.txt").write_text("fine")
        else:
            (tmp_path / name).write_text("text\tlabel\nfine\tpos\n" if name.endswith(".tsv") else
                                         '{"text": "fine", "label": "pos"}\n' if name.endswith(".jsonl") else
                                         "text,label\nfine,pos\n")
    names = sorted([first.rstrip("/"), second.rstrip("/")])
    message = (rf"^{tmp_path}: {re.escape(names[0])} and {re.escape(names[1])} both name the {split} split \(as "
               rf".+\), so its examples would be the files joined: remove or rename one of them")
    for call in (lambda: load(tmp_path, split=split), lambda: official_splits(tmp_path)):
        with pytest.raises(errors.DataSpecError, match=message):
            call()


def test_one_split_name_twice_is_refused_not_joined_as_shards(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\nfine,pos\n")
    (tmp_path / "train.jsonl.gz").write_bytes(gzip.compress(b'{"text": "fine", "label": "pos"}\n'))
    with pytest.raises(errors.DataSpecError, match=r"train\.csv and train\.jsonl\.gz are both the train split by the "
                                                   r"same name \(the same data in two formats\?\), not shards of it: "
                                                   r"remove or rename one of them"):
        load(tmp_path)


def test_data_files_named_after_no_split_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    # notes.csv and extra.jsonl were left out silently; train_extra.csv joined the training split silently.
    (tmp_path / "train.csv").write_text("text,label\na fine film,pos\na dull film,neg\n")
    (tmp_path / "train_extra.csv").write_text("text,label\nsuperb,pos\n")
    (tmp_path / "notes.csv").write_text("text,label\nmeh,neg\n")
    (tmp_path / "extra.jsonl").write_text('{"text": "meh", "label": "neg"}\n')
    (tmp_path / "readme.md").write_text("# card\n")
    (tmp_path / "vocab.txt").write_text("fine\n")
    with caplog.at_level(logging.WARNING, logger="zoo.data.sources"):
        data = load(tmp_path)
    assert data.texts == ["a fine film", "a dull film", "superb"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{tmp_path}: skipped 2 data file(s) named after no split: extra.jsonl, notes.csv; a split's files are named "
        "after it (dev, test, testing, train, training, val, valid, validation): rename one to read it as a split or "
        "one of its shards (e.g. train-00001-of-00002.csv), or read it as a source of its own (zoo.data.load(PATH); "
        "in a run config data.validation_source or data.test_source, or data.extra_sources for an lm/mlm run's "
        "texts)",
        f"{tmp_path}: the train split joins 2 files as its shards: train.csv, train_extra.csv; move any that is not "
        "part of it out of the folder"]
    # Numbered shards are one split for sure: no warning.
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(2):
        (shards / f"train-0000{i}-of-00002.csv").write_text(f"text,label\ntext {i},pos\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zoo.data.sources"):
        assert load(shards).texts == ["text 0", "text 1"]
    assert not caplog.records


def test_a_folder_of_held_out_splits_without_a_training_split_says_so(tmp_path):
    # It was "cannot tell the layout of this directory" (files), or classes named "test" and "validation" (folders).
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "validation.csv").write_text("text,label\nfine,pos\n")
    (tmp_path / "files" / "test.csv").write_text("text,label\nfine,pos\n")
    with pytest.raises(errors.DataSpecError) as info:
        load(tmp_path / "files")
    assert str(info.value) == (
        f"{tmp_path / 'files'}: the folder holds validation and test split files (validation.csv, test.csv) but no "
        "training split: add it as train.csv (or .tsv, .jsonl, .parquet; shards train-00000-of-00002.parquet, "
        "train-00001-of-00002.parquet; or a train/ folder), or name a file of the folder itself as the data")
    for split in ("dev", "test"):
        for label in ("neg", "pos"):
            (tmp_path / "folders" / split / label).mkdir(parents=True)
            (tmp_path / "folders" / split / label / "1.txt").write_text(f"a {label} film")
    with pytest.raises(errors.DataSpecError, match=r"holds validation and test split files \(dev/, test/\) but no "
                                                   "training split") as info:
        load(tmp_path / "folders")
    assert str(info.value).endswith("; if they are class folders, not splits, pass format='class_folders'")
    assert load(tmp_path / "folders", format="class_folders").label_names == ["dev", "test"]
    # A class folder named after a split, beside others, is still a class.
    (tmp_path / "folders" / "other" / "x").mkdir(parents=True)
    (tmp_path / "folders" / "other" / "1.txt").write_text("x")
    assert load(tmp_path / "folders").label_names == ["dev", "other", "test"]


def test_labels_differing_only_in_case_are_kept_apart_with_a_warning(write, tmp_path, caplog):
    # "pos", "Pos" and "POS " became three classes silently. Spaces around a label are no part of it (as before).
    path = write("d.csv", "text,label\na,pos\nb,Pos\nc,POS \nd,neg\ne, pos\nf,Neg\n")
    with caplog.at_level(logging.WARNING, logger="zoo.data.sources"):
        data = load(path)
    assert data.class_counts() == {"Neg": 1, "POS": 1, "Pos": 1, "neg": 1, "pos": 2}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{path}: labels 'Neg' (1 example, first at {path}, line 7), 'neg' (1 example, first at {path}, line 5) "
        "differ only in case, so they are 2 classes; labels are case-sensitive: if they are one class, write it one "
        "way in the data (e.g. 'Neg')",
        f"{path}: labels 'POS' (1 example, first at {path}, line 4), 'Pos' (1 example, first at {path}, line 3), "
        f"'pos' (2 examples, first at {path}, line 2) differ only in case, so they are 3 classes; labels are "
        "case-sensitive: if they are one class, write it one way in the data (e.g. 'pos')"]
    # Across the shards of a split, once.
    write("split/train-00000-of-00002.csv", "text,label\na,pos\nb,neg\n")
    write("split/train-00001-of-00002.csv", "text,label\nc,Pos\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zoo.data.sources"):
        assert load(tmp_path / "split").label_names == ["Pos", "neg", "pos"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"{tmp_path / 'split'} (train): labels 'Pos' (1 example, first at {tmp_path / 'split' / 'train-00001'}")
    # A fixed vocabulary (a test file read with the training labels) refuses the other spelling, saying why.
    with pytest.raises(errors.UnseenLabelError, match=r"line 3, column 'label': label 'Pos' is not in the label "
                                                      r"vocabulary \['neg', 'pos'\]; it differs from 'pos' only in "
                                                      r"case, and labels are case-sensitive: write it 'pos'$"):
        load(path, label_names=["neg", "pos"])


@pytest.mark.parametrize("value", ["nonsense", "rot13", 5])
def test_an_unknown_encoding_is_refused_naming_the_option_and_what_it_takes(write, value):
    # It was "unknown encoding 'nonsense'", without the option's name; rot13 (str to str) failed later with a
    # TypeError; 5 (a YAML number) with a TypeError of codecs.lookup.
    with pytest.raises(errors.DataSpecError) as info:
        load(write("d.csv", "text,label\nfine,pos\n"), encoding=value)
    assert str(info.value) == (f"encoding={value!r} is not a text encoding Python knows: pass the name of a Python "
                               "codec that decodes bytes to text, e.g. 'utf-8', 'latin-1', 'cp1252' or 'utf-16' (the "
                               "list: https://docs.python.org/3/library/codecs.html#standard-encodings)")
    assert info.value.options == ("encoding",)
    assert load(write("e.csv", "text,label\nfine,pos\n"), encoding="UTF8").texts == ["fine"]


def test_a_tab_delimiter_written_as_backslash_t_is_told_how_to_write_a_tab(write):
    # YAML's '\t' (single quotes) is a backslash and a t.
    with pytest.raises(errors.DataSpecError) as info:
        load(write("d.csv", "text,label\nfine,pos\n"), delimiter="\\t")
    assert str(info.value).startswith("delimiter='\\\\t': ")
    assert str(info.value).endswith(' (a tab is "\\t" in double quotes in YAML, or name the file .tsv)')
    assert load(write("t.csv", "text\tlabel\nfine\tpos\n"), delimiter="\t").texts == ["fine"]


# --- options a layout would ignore ----------------------------------------------------------------------------

def _layouts(tmp_path):
    """``{layout: (spec, options it needs)}``: one small source of each layout."""
    (tmp_path / "d.csv").write_text("text,label\na film,pos\n", encoding="utf-8")
    (tmp_path / "d.tsv").write_text("text\tlabel\na film\tpos\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text('{"text": "a film", "label": "pos"}\n', encoding="utf-8")
    (tmp_path / "corpus.txt").write_text("a film\n", encoding="utf-8")
    (tmp_path / "q.txt").write_text("DESC:manner How did serfdom develop ?\n", encoding="utf-8")
    for label in ("neg", "pos"):
        (tmp_path / "folders" / label).mkdir(parents=True)
        (tmp_path / "folders" / label / "1.txt").write_text(f"a {label} film", encoding="utf-8")
        (tmp_path / f"files.{label}").write_text(f"a {label} film\n", encoding="utf-8")
    return {"CSV": (tmp_path / "d.csv", {}), "TSV": (tmp_path / "d.tsv", {}), "JSONL": (tmp_path / "d.jsonl", {}),
            "lines": (tmp_path / "corpus.txt", {"label_column": False}), "TREC": (tmp_path / "q.txt", {}),
            "class folders": (tmp_path / "folders", {}),
            "class files": ({"neg": tmp_path / "files.neg", "pos": tmp_path / "files.pos"}, {})}


@pytest.mark.parametrize("option, value, read_by", [
    ("text_column", "review", {"CSV", "TSV", "JSONL"}),
    ("label_column", "stars", {"CSV", "TSV", "JSONL"}),
    ("header", False, {"CSV", "TSV"}),
    ("delimiter", ";", {"CSV"}),
    ("label_level", "fine", {"TREC"}),
    ("data_dir", "/tmp/tfds", set()),
    ("download", True, set()),
])
def test_an_option_the_layout_would_ignore_is_refused_naming_it(tmp_path, option, value, read_by):
    # Each was read as nothing where it does not apply: text_column for MR's class files, header for JSONL.
    for layout, (spec, needs) in _layouts(tmp_path).items():
        if layout in read_by:  # read: it loads, or fails for what the value says (no column 'review')
            try:
                load(spec, **needs, **{option: value})
            except errors.DataError as error:
                assert "is read only" not in str(error), layout
        elif not (layout == "lines" and option in ("text_column", "label_column")):  # those have their own errors
            message = rf"{option}={value!r} is read only (from|for) .*, which (would ignore it|this is not): remove"
            with pytest.raises(errors.DataSpecError, match=rf"{message} {option}=$") as error:
                load(spec, **needs, **{option: value})
            assert error.value.options == (option,), layout


def test_label_column_false_reads_any_layout_without_labels(tmp_path):
    for layout, (spec, _) in _layouts(tmp_path).items():
        assert load(spec, label_column=False).label_names == [UNLABELLED], layout


def test_options_inherited_from_another_source_are_left_out_where_the_layout_does_not_read_them(tmp_path):
    # A run's CSV options read its JSONL test file too (data.test_source, zoo evaluate --data): header and
    # delimiter describe the CSV, and the JSONL file has neither.
    spec, _ = _layouts(tmp_path)["JSONL"]
    data = load(spec, header=False, delimiter=";", inherited=["header", "delimiter"])
    assert data.texts == ["a film"] and data.label_names == ["pos"]
    with pytest.raises(errors.DataSpecError, match="delimiter=';' is read only from a CSV file"):
        load(spec, header=False, delimiter=";", inherited=["header"])


def test_a_pair_file_without_its_second_text_names_it_and_how_a_pair_is_named(write):
    # It said only "text field 'text' does not exist ... name the key with text_column=": not that the file holds
    # half of a sentence pair, nor how a pair's two columns are named.
    pair_fix = ("; a sentence pair's file has 'text_b' beside 'text_a': add it, or name a pair's two columns with "
                "text_column=[first, second]")
    path = write("half.jsonl", '{"text_a": "a great film", "label": "same"}\n')
    with pytest.raises(errors.MissingColumnError) as info:
        load(path)
    assert str(info.value) == (f"{path}, line 1, column 'text': text field 'text' does not exist; the first record "
                               f"has keys ['label', 'text_a']: name the key with text_column={pair_fix}")
    path = write("half.csv", "text_a,label\na great film,same\n")
    with pytest.raises(errors.MissingColumnError) as info:
        load(path)
    assert str(info.value).endswith(f"pass header=False and column indices{pair_fix}")
    named = write("qp.jsonl", '{"q": "a great film", "p": "a fine film", "label": "same"}\n')
    with pytest.raises(errors.MissingColumnError) as info:
        load(named, text_column=["q", "x"])
    assert str(info.value) == (f"{named}, line 1, column 'x': second text field 'x' does not exist; the first record "
                               "has keys ['label', 'p', 'q']: name the key with text_column=; text_column=[first, "
                               "second] names the two columns of a sentence pair")
    # A list of three names is refused naming the option, so that a command can name its flag.
    with pytest.raises(errors.DataSpecError) as info:
        load(named, text_column=["q", "p", "label"])
    assert info.value.options == ("text_column",)


def test_list_labels_read_as_single_labels_are_not_advised_to_be_skipped(write):
    from zoo.training.data import naming_config_keys

    # A run config's reading added "fix or remove that row, or --set data.load_options.on_bad_rows=skip": skipping
    # leaves out every multi-label row, when the mode is the fix.
    path = write("ml.jsonl", '{"text": "a film", "label": ["b", "c"]}\n{"text": "a story", "label": ["b"]}\n')
    with pytest.raises(errors.BadRowError) as info, naming_config_keys():
        load(path)
    assert str(info.value) == (f"{path}, line 1, column 'label': label field must be a string or an integer, not "
                               "list ['b', 'c']; a list of labels per example is multi-label data: train it with "
                               "model.overrides.mode: multilabel (zoo.data.load: label_separator=), not "
                               "on_bad_rows='skip', which would leave out every such row")
    assert not getattr(info.value, "__notes__", [])
    # A row skipping does fix keeps the advice.
    with pytest.raises(errors.BadRowError) as info, naming_config_keys():
        load(write("null.jsonl", '{"text": "a film", "label": null}\n'))
    assert info.value.__notes__[-1].startswith("fix or remove that row, or --set data.load_options.on_bad_rows=skip")
