"""The data sets: exact sizes, encodings, TREC's official split; tokenizers on MR (embedded: runs anywhere)."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from zoo import paths
from zoo.data import errors
from zoo.data.pipeline import make_dataset
from zoo.data.sources import load, official_splits
from zoo.data.splits import kfold
from zoo.data.tokenizers import build_tokenizer, load_tokenizer

def raw_lines(path):
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


@pytest.mark.realdata
def test_mr_from_the_data_directory_has_5331_per_class_and_keeps_nel_inside_lines(shared_data, monkeypatch):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(shared_data))
    data = load("mr")
    assert data.class_counts() == {"neg": 5331, "pos": 5331}
    assert len(raw_lines(shared_data / "mr" / "rt-polarity.pos")) == 5331
    # Byte 0x85 (cp1252 "...") decodes to U+0085, which str.splitlines would split on.
    assert any("\x85" in text for text in data.texts)
    assert data.location(0) == f"{shared_data / 'mr' / 'rt-polarity.neg'}, line 1"


@pytest.mark.realdata
def test_trec_official_split_with_six_coarse_labels(shared_data):
    assert official_splits("trec") == ("train", "test")
    train, test = load("trec"), load("trec", split="test")
    assert (len(train), len(test)) == (5452, 500)
    assert train.label_names == test.label_names == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    for data, name in ((train, "train.txt"), (test, "test.txt")):
        expected = collections.Counter(line.split(b":")[0].decode() for line in raw_lines(shared_data / "trec" / name))
        assert data.class_counts() == dict(sorted(expected.items()))
    fine = load("trec", label_level="fine")
    assert fine.num_classes == 50
    assert load("trec", split="test", label_level="fine").label_names == fine.label_names


@pytest.mark.realdata
def test_trec_read_as_utf8_names_the_latin1_line(shared_data):
    path = shared_data / "trec" / "train.txt"
    raw = path.read_bytes()
    line = raw.count(b"\n", 0, raw.index(b"\xf0")) + 1
    with pytest.raises(errors.EncodingError) as info:
        load(f"trec:{path}")
    assert f"{path}, line {line}" in str(info.value) and "0xf0" in str(info.value)


@pytest.mark.realdata
def test_subj_and_sms_counts(shared_data):
    assert load("subj").class_counts() == {"objective": 5000, "subjective": 5000}
    sms = load("sms_spam")
    labels = collections.Counter(line.split(b"\t")[0].decode() for line in
                                 raw_lines(shared_data / "sms_spam" / "SMSSpamCollection"))
    assert len(sms) == 5574 and sms.class_counts() == dict(sorted(labels.items()))


def test_mr_ten_fold_cross_validation():
    folds = kfold(load("mr"), k=10, seed=0)
    sizes = sorted(len(test) for _, test in folds)
    assert sum(sizes) == 10662 and sizes[0] >= 1066 and sizes[-1] <= 1067
    for _, test in folds:
        counts = test.class_counts()
        assert abs(counts["neg"] - counts["pos"]) <= 1


@pytest.fixture(scope="module")
def mr_wordpiece():
    data = load("mr")
    subset = data.subset(np.random.default_rng(0).permutation(len(data))[:2000])
    return data, build_tokenizer("wordpiece", vocab_size=2000).fit(subset.texts)


@pytest.mark.slow
def test_mr_tokenizer_save_load_gives_identical_ids(mr_wordpiece, tmp_path):
    data, wordpiece = mr_wordpiece
    word = build_tokenizer("word", vocab_size=8000).fit(data.texts)
    strings = tf.constant(data.texts)
    for tok in (wordpiece, word):
        reloaded = load_tokenizer(tok.save(tmp_path / tok.kind))
        assert reloaded.vocabulary == tok.vocabulary
        a, b = reloaded.tokenize(strings), tok.tokenize(strings)
        np.testing.assert_array_equal(a.row_lengths().numpy(), b.row_lengths().numpy())
        np.testing.assert_array_equal(a.flat_values.numpy(), b.flat_values.numpy())


@pytest.mark.slow
def test_mr_in_graph_tokenisation_equals_the_pipeline(mr_wordpiece):
    data, tok = mr_wordpiece
    serve = tf.function(lambda s: tok.encode(s, 48), input_signature=[tf.TensorSpec([None], tf.string)])
    pipeline = np.concatenate([x.numpy() for x, _ in make_dataset(data, None, tok, sequence_length=48,
                                                                    batch_size=512)])
    np.testing.assert_array_equal(serve(tf.constant(data.texts)).numpy(), pipeline)
    unknown = (pipeline == 1).sum() / (pipeline != 0).sum()
    assert unknown < 0.01, f"{unknown:.2%} of MR tokens are [UNK]"
