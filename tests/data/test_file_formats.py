"""Compressed files (gzip, bz2, xz) and parquet files, Hugging Face's included: read as their format, bad ones named."""
import bz2
import gzip
import json
import lzma

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zoo.data import errors
from zoo.data.labeled import UNLABELLED
from zoo.data.sources import FORMATS, load

COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _names(data):
    return [data.label_names[i] for i in data.labels]


def _parquet(path, columns, schema=None, features=None):
    """Write ``columns`` ({name: values}) as parquet; ``features``: the Hugging Face features of the schema metadata,
    as ``datasets`` writes them (``Features.arrow_schema``: ``{"info": {"features": features.to_dict()}}``)."""
    table = pa.table(columns, schema=schema)
    if features is not None:
        table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    pq.write_table(table, path)
    return path


# rotten_tomatoes' features, as its Hugging Face parquet files hold them.
HF_FEATURES = {"text": {"dtype": "string", "_type": "Value"},
               "label": {"names": ["neg", "pos"], "_type": "ClassLabel"}}


@pytest.mark.parametrize("suffix", list(COMPRESS))
@pytest.mark.parametrize("name,content,options,texts,labels,last_line", [
    ("reviews.csv", 'text,label\n"good, fun film",pos\nboring film,neg\n', {}, ["good, fun film", "boring film"],
     ["pos", "neg"], 3),
    ("train.jsonl", '{"text": "great", "label": 1}\n\n{"text": "bad", "label": 0}\n', {}, ["great", "bad"],
     ["1", "0"], 3),
    ("notes.tsv", "text\tlabel\n\"quoted\" stays\tham\n", {}, ['"quoted" stays'], ["ham"], 2),
    ("corpus.txt", "one film\n\ntwo films\n", {"label_column": False}, ["one film", "two films"],
     [UNLABELLED, UNLABELLED], 3),
    ("questions.txt", "NUM:dist How far is it ?\nHUM:ind Who did it ?\n", {}, ["How far is it ?", "Who did it ?"],
     ["NUM", "HUM"], 2),
])
def test_a_compressed_file_reads_as_the_format_inside_its_compression_suffix(write, suffix, name, content, options,
                                                                              texts, labels, last_line):
    path = write(name + suffix, COMPRESS[suffix](content.encode("utf-8")))
    data = load(path, **options)
    assert data.texts == texts and _names(data) == labels
    # Line numbers count the decompressed file's lines.
    assert data.location(len(texts) - 1) == f"{path}, line {last_line}"


def test_errors_in_a_compressed_file_count_its_decompressed_lines(write):
    path = write("d.jsonl.gz", gzip.compress(b'{"text": "a", "label": "x"}\n\n{"text": "b"}\n'))
    with pytest.raises(errors.BadRowError, match=r"d.jsonl.gz, line 3, column 'label': label field is missing"):
        load(path)
    latin = write("l.csv.bz2", bz2.compress("text,label\nok,a\ncaf\u00e9,b\n".encode("latin-1")))
    with pytest.raises(errors.EncodingError, match=r"l.csv.bz2, line 3: byte 0xe9 at byte column 4"):
        load(latin)
    assert load(latin, encoding="latin-1").texts == ["ok", "caf\u00e9"]


@pytest.mark.parametrize("name,content,reason", [
    # mtime=0: gzip writes the time into its header, and the bytes are part of the test's id, which the two
    # pytest-xdist workers must collect alike.
    ("cut.csv.gz", gzip.compress(b"text,label\n" + b"a film,pos\n" * 200, mtime=0)[:40],
     "EOFError: Compressed file ended before the end-of-stream marker was reached"),
    ("plain.csv.gz", b"text,label\na film,pos\n", "BadGzipFile: Not a gzipped file (b'te')"),
    ("cut.jsonl.bz2", bz2.compress(b'{"text": "a", "label": "b"}\n' * 100)[:-8], "EOFError: Compressed file ended"),
    ("junk.txt.xz", b"\xfd7zXZ\x00 not really", "LZMAError: "),
])
def test_a_corrupt_or_truncated_archive_is_a_data_error_naming_the_file(write, name, content, reason):
    path = write(name, content)
    suffix = path.suffix
    with pytest.raises(errors.DataError) as info:
        load(path, label_column=False)
    assert str(info.value).startswith(f"{path}: cannot decompress the {suffix} file ({reason}")
    assert str(info.value).endswith(f"download or compress it again, or, if it is not compressed, remove {suffix} "
                                    "from its name")


def test_a_file_without_a_format_suffix_lists_the_formats_and_compressions(write):
    path = write("data.gz", gzip.compress(b"text,label\na,b\n"))
    with pytest.raises(errors.DataSpecError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: cannot tell the format of this file from its name; pass format= one of 'csv', 'tsv', 'jsonl', "
        "'parquet', 'trec', 'lines' (a compressed file's name ends in its format's suffix, then .gz or .bz2 or .xz "
        "or .lzma: reviews.csv.gz)")
    assert "parquet" in FORMATS
    assert load(path, format="csv").texts == ["a"]


def test_parquet_reads_text_and_label_columns_with_rows_located(tmp_path):
    path = _parquet(tmp_path / "train-00000-of-00001.parquet",
                    {"id": [7, 8, 9], "review": ["a great film", "  a dull film ", "fine"], "y": ["pos", "neg", "pos"]})
    data = load(path, text_column="review", label_column="y")
    assert data.texts == ["a great film", "a dull film", "fine"] and _names(data) == ["pos", "neg", "pos"]
    assert data.label_names == ["neg", "pos"] and data.location(2) == f"{path}, row 3"
    # Integer labels without Hugging Face metadata are labels as JSONL's are: their numbers, sorted as numbers.
    numbers = _parquet(tmp_path / "n.parquet", {"text": ["a", "b", "c"], "label": [10, 2, 2]})
    assert load(numbers).label_names == ["2", "10"] and _names(load(numbers)) == ["10", "2", "2"]
    assert load(numbers, label_column=False).class_counts() == {UNLABELLED: 3}
    # format= reads a parquet file under any name.
    renamed = path.rename(tmp_path / "data.bin")
    assert load(renamed, format="parquet", text_column="review", label_column="y").texts[0] == "a great film"


def test_hugging_face_class_labels_read_as_their_names_and_unlabelled_rows_are_bad_rows(tmp_path):
    path = _parquet(tmp_path / "rotten_tomatoes.parquet",
                    {"text": ["a gripping film", "a dull film", "no label here", "a fine film"],
                     "label": pa.array([1, 0, -1, 1], pa.int64())}, features=HF_FEATURES)
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}, row 3, column 'label': the row is unlabelled: label id -1 is none of the classes 0-1 of the file's "
        "ClassLabel; use a file whose rows are labelled (a train or validation split), on_bad_rows='skip' to leave "
        "such rows out, or label_column=False to read the texts alone")
    data = load(path, on_bad_rows="skip")
    assert data.texts == ["a gripping film", "a dull film", "a fine film"]
    assert data.label_names == ["neg", "pos"] and _names(data) == ["pos", "neg", "pos"]
    assert data.labels.tolist() == [1, 0, 1] and len(data.skipped) == 1 and "row 3" in data.skipped[0]
    assert load(path, label_column=False).texts[2] == "no label here"
    # A test file read with the training set's vocabulary: ids still map to the file's names, then to its ids.
    assert load(path, on_bad_rows="skip", label_names=["pos", "neg"]).labels.tolist() == [0, 1, 0]
    # The ClassLabel's names are the vocabulary, in their order, even for a class the file lacks.
    only_pos = _parquet(tmp_path / "pos.parquet", {"text": ["good"], "label": pa.array([1], pa.int64())},
                        features=HF_FEATURES)
    assert load(only_pos).label_names == ["neg", "pos"] and load(only_pos).labels.tolist() == [1]


def test_a_class_label_id_past_its_names_is_named_as_such_not_as_unlabelled(tmp_path):
    # It was "the row is unlabelled: label id 5 ...", the wording for Hugging Face's -1.
    path = _parquet(tmp_path / "d.parquet", {"text": ["a gripping film", "odd"], "label": pa.array([1, 5], pa.int64())},
                    features=HF_FEATURES)
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}, row 2, column 'label': label id 5 is outside the file's ClassLabel, whose 2 classes are ids 0-1 "
        "(0 'neg', 1 'pos'): the file's labels and its features disagree (written by another version of the data "
        "set?); fix the file's labels or its ClassLabel names, or pass on_bad_rows='skip' to leave such rows out")
    # A long list of classes is cut to its first ten and its last.
    many = {**HF_FEATURES, "label": {"names": [f"c{i}" for i in range(30)], "_type": "ClassLabel"}}
    path = _parquet(tmp_path / "many.parquet", {"text": ["a"], "label": pa.array([30], pa.int64())}, features=many)
    with pytest.raises(errors.BadRowError, match=r"whose 30 classes are ids 0-29 \(0 'c0', 1 'c1', .* 9 'c9', \.\.\. "
                                                 r"29 'c29'\): "):
        load(path)


def test_a_float_label_column_of_whole_numbers_reads_as_integers(tmp_path):
    # pandas stores integer labels with a missing value as float64; they were refused as "not float".
    path = _parquet(tmp_path / "d.parquet", {"text": ["a", "b", "c", "d"], "label": [1.0, 0.0, float("nan"), 10.0]})
    with pytest.raises(errors.BadRowError) as info:
        load(path)
    assert str(info.value) == (f"{path}, row 3, column 'label': label field is NaN, a missing value (pandas writes one "
                               "for an empty cell of a number column)")
    data = load(path, on_bad_rows="skip")
    assert _names(data) == ["1", "0", "10"] and data.label_names == ["0", "1", "10"] and len(data.skipped) == 1
    # As the integers they are: one vocabulary with an int64 file's.
    ints = _parquet(tmp_path / "i.parquet", {"text": ["e"], "label": [1]})
    assert load(ints, label_names=data.label_names).labels.tolist() == [1]


def test_parquet_sentence_pairs_and_multi_label_lists(tmp_path):
    pairs = _parquet(tmp_path / "pairs.parquet",
                     {"text_a": ["a man sleeps", "a cat"], "text_b": ["a person rests", "a dog"],
                      "label": ["entailment", "contradiction"]})
    data = load(pairs)
    assert data.texts == ["a man sleeps", "a cat"] and data.text_pairs == ["a person rests", "a dog"]
    assert _names(data) == ["entailment", "contradiction"]
    assert load(pairs, text_column=["text_b", "text_a"]).texts == ["a person rests", "a dog"]
    tags = _parquet(tmp_path / "tags.parquet", {"text": ["a", "b", "c"],
                                                "label": [["sports", "politics"], [], ["sports", "sports"]]})
    data = load(tags, label_separator=",")
    assert data.label_names == ["politics", "sports"] and data.labels.tolist() == [[1, 1], [0, 0], [0, 1]]
    joined = _parquet(tmp_path / "joined.parquet", {"text": ["a", "b"], "label": ["x|y", "y"]})
    assert load(joined, label_separator="|").labels.tolist() == [[1, 1], [0, 1]]
    with pytest.raises(errors.BadRowError, match=r"tags.parquet, row 1, column 'label': label field must be a string "
                                                 r"or an integer, not list \['sports', 'politics'\]; a list of labels "
                                                 r"per example is multi-label data: train it with "
                                                 r"model.overrides.mode: multilabel"):
        load(tags)


@pytest.mark.parametrize("kind", ["Sequence", "List"])
def test_hugging_face_multi_label_class_label_lists_read_as_their_names(tmp_path, kind):
    # go_emotions' labels: a list of ClassLabel ids ("Sequence" before datasets 4, "List" since); they were
    # refused as lists of integers.
    features = {"text": {"dtype": "string", "_type": "Value"},
                "labels": {"feature": {"names": ["anger", "joy", "neutral"], "_type": "ClassLabel"}, "_type": kind}}
    path = _parquet(tmp_path / "emotions.parquet", {"text": ["so happy", "meh", "angry and glad", "odd"],
                                                    "labels": [[1], [2], [0, 1], [5]]}, features=features)
    data = load(path, label_column="labels", label_separator=",", on_bad_rows="skip")
    assert data.label_names == ["anger", "joy", "neutral"]
    assert data.labels.tolist() == [[0, 1, 0], [0, 0, 1], [1, 1, 0]]
    # An id past the ClassLabel's names is no unlabelled row (-1): the file and its features disagree.
    assert data.skipped == [
        f"{path}, row 4, column 'labels': label id 5 is outside the file's ClassLabel, whose 3 classes are ids 0-2 "
        "(0 'anger', 1 'joy', 2 'neutral'): the file's labels and its features disagree (written by another version "
        "of the data set?); fix the file's labels or its ClassLabel names, or pass on_bad_rows='skip' to leave such "
        "rows out"]


@pytest.mark.parametrize("columns,options,error,message,kept", [
    ({"text": ["a", None, "c"], "label": ["x", "y", "z"]}, {}, errors.BadRowError,
     "row 2, column 'text': text field is missing or null", 2),
    ({"text": ["a", "b", "c"], "label": ["x", "y", None]}, {}, errors.BadRowError,
     "row 3, column 'label': label field is missing or null", 2),
    ({"text": ["a", "b", "  "], "label": ["x", "y", "z"]}, {}, errors.BadRowError, "row 3, column 'text': empty text",
     2),
    ({"text": ["a", "b", "c"], "label": ["x", "y", "z"]}, {"label_names": ["x", "y"]}, errors.UnseenLabelError,
     r"row 3, column 'label': label 'z' is not in the label vocabulary \['x', 'y'\]", 2),
    # A column's type is every row's: each row is bad, and skipping them all leaves no examples.
    ({"text": [1, 2, 3], "label": ["x", "y", "z"]}, {}, errors.BadRowError,
     "row 1, column 'text': text field must be a string, not int", 0),
    ({"text": ["a", "b", "c"], "label": [0.5, 1.5, 2.5]}, {}, errors.BadRowError,
     "row 1, column 'label': label field must be a string or an integer, not float 0.5; only a whole number can be "
     'a class id: if 0.5 names a class, write it as the string "0.5"', 0),
    ({"text": ["a", "b", "c"], "label": [True, False, True]}, {}, errors.BadRowError,
     "row 1, column 'label': label field must be a string or an integer, not bool True", 0),
])
def test_bad_parquet_rows_name_file_row_and_column(tmp_path, columns, options, error, message, kept):
    path = _parquet(tmp_path / "d.parquet", columns)
    with pytest.raises(error, match=rf"^{path}, {message}"):
        load(path, **options)
    if kept:
        data = load(path, on_bad_rows="skip", **options)
        assert len(data.texts) == kept and len(data.skipped) == 3 - kept and message.split(":")[0] in data.skipped[0]
    else:
        with pytest.raises(errors.EmptyDataError, match=r"d.parquet: no examples \(3 bad rows skipped\)"):
            load(path, on_bad_rows="skip", **options)


def test_a_parquet_column_that_does_not_exist_lists_the_files_columns(tmp_path):
    path = _parquet(tmp_path / "d.parquet", {"sentence": ["a great film"], "idx": [0], "label": [1]})
    with pytest.raises(errors.MissingColumnError) as info:
        load(path)
    assert str(info.value) == (f"{path}, column 'text': text column 'text' does not exist; the file has columns "
                               "['sentence', 'idx', 'label']: name the column with text_column=")
    assert info.value.options == ("text_column",) and info.value.column == "text"
    with pytest.raises(errors.MissingColumnError, match="label column 'stars' does not exist; the file has columns "
                                                        r"\['sentence', 'idx', 'label'\]: name the column with "
                                                        "label_column="):
        load(path, text_column="sentence", label_column="stars")
    assert load(path, text_column="sentence").texts == ["a great film"]
    twice = tmp_path / "twice.parquet"
    pq.write_table(pa.table([pa.array(["first"]), pa.array(["second"]), pa.array(["x"])],
                            names=["text", "text", "label"]), twice)
    with pytest.raises(errors.DataSpecError, match=r"twice.parquet, column 'text': text column 'text' is named 2 "
                                                   r"times in the file, so which holds the text is unknown"):
        load(twice)


def test_a_file_that_is_not_parquet_or_is_damaged_is_a_data_error_naming_it(write, tmp_path):
    fake = write("d.parquet", "text,label\na great film,pos\n")
    with pytest.raises(errors.DataError, match=rf"^{fake}: cannot read the file as parquet \(Parquet magic bytes not "
                                               r"found in footer.*\): it is truncated or corrupt \(write or download "
                                               r"it again\), or not parquet \(name it by its format, e.g. .csv\)$"):
        load(fake)
    whole = _parquet(tmp_path / "whole.parquet", {"text": ["a"] * 100, "label": ["x"] * 100}).read_bytes()
    with pytest.raises(errors.DataError, match=r"cut.parquet: cannot read the file as parquet"):
        load(write("cut.parquet", whole[: len(whole) // 2]))
    with pytest.raises(errors.DataError, match=r"empty.parquet: cannot read the file as parquet"):
        load(write("empty.parquet", b""))
    # Parquet compresses its own columns: a compressed one is refused, not decompressed.
    with pytest.raises(errors.DataSpecError, match=r"d.parquet.gz: parquet files compress their own columns, so zoo "
                                                   r"reads them as they are, not .gz-compressed: decompress this one"):
        load(write("d.parquet.gz", gzip.compress(whole)))
    # No rows at all: no examples.
    with pytest.raises(errors.EmptyDataError, match=r"none.parquet: no examples"):
        load(_parquet(tmp_path / "none.parquet", {"text": pa.array([], pa.string()), "label": pa.array([], pa.int8())}))


def test_a_parquet_string_that_is_not_utf8_names_its_row_and_column(tmp_path):
    # pyarrow writes the bytes of a string column without checking them; to_pylist fails on them, saying where not.
    texts = pa.array([b"fine", b"also fine", b"caf\xe9 film"], pa.binary()).view(pa.string())
    path = _parquet(tmp_path / "d.parquet", {"label": ["x", "y", "z"], "text": texts})
    with pytest.raises(errors.EncodingError, match=rf"^{path}, row 3, column 'text': the string is not valid UTF-8 "
                                                   r"\(invalid continuation byte\), as every parquet string must be"):
        load(path)


def test_an_encoding_for_a_parquet_file_is_refused(tmp_path):
    # It was ignored: the strings of a parquet file are UTF-8, decoded by pyarrow whatever encoding= said.
    path = _parquet(tmp_path / "d.parquet", {"text": ["caf\u00e9 film"], "label": ["x"]})
    with pytest.raises(errors.DataSpecError, match=rf"^{path}: encoding='latin-1' decodes text files, but this is a "
                                                   r"parquet file \(UTF-8 by its format\), whose strings are already "
                                                   "decoded; remove encoding=$") as error:
        load(path, encoding="latin-1")
    assert error.value.options == ("encoding",)


def test_an_unlabelled_hugging_face_test_file_is_no_test_split(tmp_path, caplog):
    # GLUE's layout: its test file's labels are all -1, and the run stopped on the first of them.
    from zoo.data.sources import official_splits

    _parquet(tmp_path / "train-00000-of-00001.parquet", {"text": ["a gripping film", "a dull film"],
                                                         "label": pa.array([1, 0], pa.int64())}, features=HF_FEATURES)
    _parquet(tmp_path / "validation-00000-of-00001.parquet", {"text": ["fine"], "label": pa.array([1], pa.int64())},
             features=HF_FEATURES)
    test = _parquet(tmp_path / "test-00000-of-00001.parquet", {"text": ["hidden", "labels"],
                                                               "label": pa.array([-1, -1], pa.int64())},
                    features=HF_FEATURES)
    with caplog.at_level("WARNING", logger="zoo.data.sources"):
        assert official_splits(tmp_path) == ("train", "validation")
    assert f"{test}: every row is unlabelled (class id -1 throughout, as GLUE's test files are)" in caplog.text
    # One labelled row makes it a test split, whose unlabelled rows are bad rows as before.
    test.unlink()
    _parquet(test, {"text": ["hidden", "shown"], "label": pa.array([-1, 0], pa.int64())}, features=HF_FEATURES)
    assert official_splits(tmp_path) == ("train", "validation", "test")
