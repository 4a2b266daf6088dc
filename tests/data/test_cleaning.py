"""In-graph cleaning against a plain-Python reference (unicodedata, str.lower, re with Unicode \\b)."""
import re
import unicodedata

import pytest
import tensorflow as tf
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from zoo.data.cleaning import CleaningConfig, clean
from zoo.data.errors import DataSpecError

SAMPLES = [
    "A <br />GREAT film<br/><br />with   <i>style</i>",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ and ligature ﬁne",
    "Café DÉJÀ vu\u00a0\u2003spaces\t\ttabs\nnewline",
    "&lt;b&gt; stays as text &amp; entities &quot;decoded&quot; &#39;ok&#39;",
    "   ",
    "The movie and a dog were not there",
    # Stop words next to non-ASCII letters, digits and "_" (word characters), and runs of stop words.
    "Amélie is a film; noël and año nuevo, THE naïve mañana",
    "Über the Ænema were the_end and 2the a² x is a the of an und",
    "and, the.were-ΑΝΔ theé déthe",
    # "<" and ">" that open no tag are text.
    "i <3 this film -> 10/10", "if x < 5 and y > 2 then", "<!-- a comment --> ok <br/> <?xml?>",
]


def reference(text, config):
    if config.normalization:
        text = unicodedata.normalize(config.normalization, text)
    if config.strip_html:
        text = re.sub(r"<[A-Za-z/!?][^<>]*>", " ", text)
        for entity, char in (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                             ("&apos;", "'"), ("&amp;", "&")):
            text = text.replace(entity, char)
    if config.lowercase:
        text = text.lower()
    if config.remove_stopwords:
        words = set(config.stopwords or ENGLISH_STOP_WORDS)
        flags = 0 if config.lowercase else re.IGNORECASE
        text = re.sub(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b", " ",
                      text, flags=flags)
    return " ".join(text.split())


@pytest.mark.parametrize("config", [
    CleaningConfig(),
    CleaningConfig(normalization=None, strip_html=False, lowercase=False),
    CleaningConfig(normalization="NFC", remove_stopwords=True),
    CleaningConfig(lowercase=False, remove_stopwords=True, stopwords=("the", "and", "were")),
])
def test_clean_matches_python_reference(config):
    got = [s.decode("utf-8") for s in clean(tf.constant(SAMPLES), config).numpy()]
    assert got == [reference(s, config) for s in SAMPLES]


def test_clean_runs_in_a_graph_and_keeps_shape():
    config = CleaningConfig(remove_stopwords=True)
    fn = tf.function(lambda s: clean(s, config), input_signature=[tf.TensorSpec([None, 2], tf.string)])
    out = fn(tf.constant([["The END", "<p>Hi</p>"]]))
    assert out.shape == (1, 2) and out.numpy().tolist() == [[b"end", b"hi"]]


def test_default_config_is_nfkc_lowercase_html():
    out = clean(tf.constant(["<b>ＢＩＧ</b> Deal"])).numpy().tolist()
    assert out == [b"big deal"]


def test_config_round_trip_writes_out_stopwords():
    config = CleaningConfig(remove_stopwords=True)
    values = config.to_dict()
    assert values["stopwords"] == sorted(ENGLISH_STOP_WORDS)
    assert CleaningConfig.from_dict(values).resolved_stopwords() == config.resolved_stopwords()


def test_stopwords_are_matched_as_the_text_is_normalised_and_lower_cased():
    config = CleaningConfig(remove_stopwords=True, stopwords=("The", "FILM", "ﬁne", "İs"))
    text = tf.constant(["The film is THE fine FILM ﬁne İs it"])
    assert clean(text, config).numpy().tolist() == [b"is it"]
    assert CleaningConfig.from_dict(config.to_dict()).resolved_stopwords() == ("film", "fine", "i\u0307s", "the")
    # Without lower-casing, stop words match in any case.
    config = CleaningConfig(normalization=None, lowercase=False, remove_stopwords=True, stopwords=("The",))
    assert clean(text, config).numpy().tolist() == ["film is fine FILM ﬁne İs it".encode()]


@pytest.mark.parametrize("values,match", [
    ({"stopwords": ["the"]}, "stopwords is set but cleaning.remove_stopwords is false, so no word would be removed"),
    ({"normalization": "NFX"}, "normalization"),
    ({"lowercase": "yes"}, "lowercase"),
    ({"stopwords": ["two words"]}, "single words"),
    ({"remove_stopwords": True, "stopwords": []}, "cleaning.stopwords is empty, so remove_stopwords would remove"),
    ({"remove_stopwords": True, "stopwords": "the"}, "stopwords must be a list of words, not 'the'"),
    ({"stem": True}, "unknown cleaning option"),
])
def test_bad_cleaning_options(values, match):
    with pytest.raises(DataSpecError, match=match):
        CleaningConfig.from_dict(values)


def test_deduplication_reads_whitespace_and_case_as_cleaning_does():
    # zoo.data.splits.text_key compares texts in Python, cleaning rewrites them in the graph: one set of spaces
    from zoo.data.splits import text_key

    text = " A\u2003b\x0bc\xa0d\u0085e  f\u3000\u200ag\u2009h\ti\nj\r"
    assert text_key(text) == clean(tf.constant([text])).numpy()[0].decode() == "a b c d\x85e f g h i j"
