"""Tokenizers: ids against plain-Python references, reserved ids, save/load, graph and SavedModel use."""
import collections
import json
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.vocabularies import FixedVocabTokenizer, bert_like, pad_inside
from zoo.data import LEARNED_IDS, SpecialIds, errors
from zoo.data.cleaning import CleaningConfig
from zoo.data.labeled import load_label_names
from zoo.data.tokenizers import (
    CLS_ID,
    RESERVED_TOKENS,
    UNK_ID,
    CharTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)

KINDS = {"wordpiece": 120, "word": 60, "char": 40, "sentencepiece": 60}
NEW_TEXTS = ["A GRIPPING, unforgettable FILM!", "zyzzyva qwerty", "", "tedious <br /> mess... 10/10"]


def ragged_lists(ragged):
    return [row.tolist() for row in ragged.numpy()] if isinstance(ragged, tf.RaggedTensor) else ragged.tolist()


@pytest.fixture(scope="module")
def fitted(corpus):
    """One fitted tokenizer of each kind on the small corpus."""
    texts = corpus[0] * 3
    return {kind: build_tokenizer(kind, vocab_size=size).fit(texts) for kind, size in KINDS.items()}


def test_word_ids_match_python_reference(corpus):
    texts, _ = corpus
    tok = WordTokenizer(25, cleaning=CleaningConfig(normalization=None)).fit(texts)
    words = [w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())]
    ranked = sorted(collections.Counter(words).items(), key=lambda kv: (-kv[1], kv[0]))[:25 - len(RESERVED_TOKENS)]
    expected_vocab = list(RESERVED_TOKENS) + [w for w, _ in ranked]
    assert tok.vocabulary == expected_vocab
    index = {w: i for i, w in enumerate(expected_vocab)}
    for text in NEW_TEXTS[:2]:
        cleaned = re.sub(r"<[A-Za-z/!?][^<>]*>", " ", text).lower()
        expected = [index.get(w, UNK_ID) if w not in RESERVED_TOKENS else UNK_ID
                    for w in re.findall(r"\w+|[^\w\s]", cleaned)]
        assert ragged_lists(tok.tokenize(tf.constant([text])))[0] == expected


def test_char_ids_match_python_reference(corpus):
    texts, _ = corpus
    tok = CharTokenizer(300, add_cls=True).fit(texts)
    chars = collections.Counter(c for t in texts for c in t.lower())
    ranked = sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))
    assert tok.vocabulary == list(RESERVED_TOKENS) + [c for c, _ in ranked]
    index = {c: i for i, c in enumerate(tok.vocabulary)}
    ids = ragged_lists(tok.tokenize(tf.constant(["Fun  ride!"])))[0]
    assert ids == [CLS_ID] + [index.get(c, UNK_ID) for c in "fun ride!"]


def wordpiece_reference(text, vocab):
    """Greedy longest-match-first WordPiece over BERT's whitespace/punctuation split."""
    index = {t: i for i, t in enumerate(vocab)}
    ids = []
    for word in re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text):
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = ("##" if start else "") + word[start:end]
                if piece in index:
                    pieces.append(index[piece])
                    break
                end -= 1
            if end == start:
                pieces = [UNK_ID]
                break
            start = end
        ids.extend(pieces)
    return ids


def test_wordpiece_ids_match_greedy_longest_match(fitted):
    tok = fitted["wordpiece"]
    assert tok.vocabulary[:len(RESERVED_TOKENS)] == list(RESERVED_TOKENS)
    assert any(t.startswith("##") for t in tok.vocabulary)
    assert tok.vocab_size <= KINDS["wordpiece"]
    texts = ["a gripping, unforgettable film!", "zyzzyva qwerty", "predictably boring"]
    got = ragged_lists(tok.tokenize(tf.constant(texts)))
    assert got == [wordpiece_reference(t, tok.vocabulary) for t in texts]


@pytest.mark.parametrize("params,match", [
    ({"joiner": "@@"}, r"learn_params may not set \['joiner'\]; it takes num_iterations, max_input_tokens"),
    ({"bogus": 1, "upper_thresh": 5}, r"may not set \['bogus', 'upper_thresh'\]"),
    ({"slack_ratio": 1.5}, r"learn_params.slack_ratio must be a fraction in \[0, 1\), not 1.5"),
    ({"slack_ratio": "x"}, "slack_ratio must be a fraction"),
])
def test_wordpiece_learn_params_that_zoo_sets_or_the_learner_lacks_are_errors(params, match):
    with pytest.raises(errors.DataSpecError, match=match):
        WordPieceTokenizer(100, learn_params=params)


def test_wordpiece_threshold_search_lands_near_the_requested_size():
    texts = [f"word{i} " * (i % 7 + 1) + f"stem{i % 13}ing" for i in range(400)]
    tok = WordPieceTokenizer(150).fit(texts)
    assert 0.8 * 150 <= tok.vocab_size <= 150


def test_wordpiece_tokenises_the_words_it_learnt_from_control_and_format_characters_included():
    """The learner splits words at control and format characters (MR's latin-1 dashes \x96 and \x97, a soft
    hyphen, a zero-width space); tokenising split them as letters, so a training word became one [UNK]."""
    texts = ["real\x97she said", "even if \x96 i doubt", "a\u00adb film", "tab\u200bzero film"] * 5
    tok = WordPieceTokenizer(100).fit(texts)
    ids = tok.tokenize(tf.constant(texts[:4]))
    assert tok.unk_id not in ids.flat_values.numpy().tolist()
    assert tok.id_to_token(ids).to_list() == [[b"real", b"she", b"said"], [b"even", b"if", b"i", b"doubt"],
                                              [b"a", b"b", b"film"], [b"tab", b"zero", b"film"]]


def test_sentencepiece_ids_match_the_sentencepiece_library(fitted):
    import sentencepiece as spm

    tok = fitted["sentencepiece"]
    processor = spm.SentencePieceProcessor(model_proto=tok._model_proto)
    assert [processor.id_to_piece(i) for i in range(5)] == list(RESERVED_TOKENS)
    texts = ["a gripping film", "zyzzyva"]
    assert ragged_lists(tok.tokenize(tf.constant(texts))) == [processor.encode(t) for t in texts]


def test_sentencepiece_learns_from_texts_longer_than_its_trainers_default_limit():
    """The trainer skips texts over 4192 bytes unless told otherwise: here, every text holding "z" and "q"."""
    texts = [" ".join(["zebra quokka"] * 400)] * 20 + ["a short film review"] * 20
    tok = SentencePieceTokenizer(60).fit(texts)
    assert tok.unk_id not in tok.tokenize(tf.constant(["zebra quokka"])).flat_values.numpy().tolist()
    # Texts all shorter than the trainer's smallest limit (10 bytes).
    assert SentencePieceTokenizer(30).fit(["a b", "b c", "c a"] * 10).vocab_size > 5


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_text_never_produces_reserved_ids_except_unk(fitted, kind):
    ids = fitted[kind].tokenize(tf.constant(["[CLS] [PAD] [MASK] [SEP] text"])).flat_values.numpy().tolist()
    assert ids and not set(ids) & {0, 2, 3, 4}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_learned_tokenizers_put_the_special_tokens_at_ids_0_to_4(fitted, kind):
    tok = fitted[kind]
    assert tok.special_tokens == {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    assert tok.special_ids == LEARNED_IDS == SpecialIds(pad=0, unk=1, cls=2, sep=3, mask=4)
    assert [tok.vocabulary[i] for i in LEARNED_IDS.all] == list(RESERVED_TOKENS)


def test_a_given_vocabulary_keeps_its_special_ids_for_padding_and_cls():
    bert = FixedVocabTokenizer(bert_like(), add_cls=True)
    assert bert.special_ids == SpecialIds(pad=0, unk=100, cls=101, sep=102, mask=103)
    other = FixedVocabTokenizer(pad_inside())
    assert (other.pad_id, other.unk_id, other.cls_id, other.sep_id, other.mask_id) == (7, 4, 6, 5, 3)
    the, film = other.vocabulary.index("the"), other.vocabulary.index("film")
    assert other.encode(tf.constant(["the film zzz"]), 5).numpy().tolist() == [[the, film, 4, 7, 7]]
    assert bert.encode(tf.constant(["the film"]), 4).numpy().tolist() == [
        [101, bert.vocabulary.index("the"), bert.vocabulary.index("film"), 0]]
    with pytest.raises(errors.VocabularyError, match=r"no special token \[MASK\]"):
        FixedVocabTokenizer([t for t in bert_like() if t != "[MASK]"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_text_maps_to_unk_and_cls_prefix(fitted, kind, tmp_path):
    tok = fitted[kind]
    ids = tok.tokenize(tf.constant(["\u4e2d\u6587"])).flat_values.numpy().tolist()
    assert ids and set(ids) <= {UNK_ID} | ({5} if kind == "sentencepiece" else set())  # "▁" may precede
    tok.save(tmp_path)
    config = json.loads((tmp_path / "tokenizer.json").read_text())
    config["add_cls"] = True
    (tmp_path / "tokenizer.json").write_text(json.dumps(config))
    with_cls = load_tokenizer(tmp_path)
    plain = ragged_lists(tok.tokenize(tf.constant(NEW_TEXTS)))
    assert ragged_lists(with_cls.tokenize(tf.constant(NEW_TEXTS))) == [[CLS_ID] + row for row in plain]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_save_load_gives_identical_ids(fitted, kind, tmp_path):
    tok = fitted[kind]
    tok.save(tmp_path / kind, label_names=["neg", "pos"])
    assert load_label_names(tmp_path / kind) == ["neg", "pos"]
    again = load_tokenizer(tmp_path / kind)
    assert type(again) is type(tok) and again.vocabulary == tok.vocabulary and again.config() == tok.config()
    assert ragged_lists(again.tokenize(tf.constant(NEW_TEXTS))) == ragged_lists(tok.tokenize(tf.constant(NEW_TEXTS)))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_graph_eager_and_dataset_tokenisation_agree(fitted, kind):
    tok = fitted[kind]
    serve = tf.function(lambda s: tok.encode(s, 12), input_signature=[tf.TensorSpec([None], tf.string)])
    in_graph = serve(tf.constant(NEW_TEXTS)).numpy()
    mapped = np.concatenate(list(tf.data.Dataset.from_tensor_slices(NEW_TEXTS).batch(3).map(
        lambda s: tok.encode(s, 12)).as_numpy_iterator()))
    eager_rows = [row[:12] + [0] * (12 - len(row[:12])) for row in ragged_lists(tok.tokenize(tf.constant(NEW_TEXTS)))]
    assert in_graph.dtype == np.int32 and in_graph.shape == (len(NEW_TEXTS), 12)
    np.testing.assert_array_equal(in_graph, mapped)
    np.testing.assert_array_equal(in_graph, np.array(eager_rows))
    assert tok.encode(tf.constant(NEW_TEXTS[0]), 12).numpy().tolist() == eager_rows[0]


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece", "word"])
def test_saved_model_round_trip_gives_the_same_ids(fitted, kind, tmp_path):
    tok = fitted[kind]

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tok

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, strings):
            return self.tokenizer.encode(strings, 16)

    tf.saved_model.save(Serving(), str(tmp_path / "sm"))
    restored = tf.saved_model.load(str(tmp_path / "sm"))
    np.testing.assert_array_equal(restored(tf.constant(NEW_TEXTS)).numpy(), tok.encode(tf.constant(NEW_TEXTS), 16))


# A core-ops tokenizer's SavedModel read in a process without tensorflow-text: tests/export/test_standalone.py.
def test_core_ops_only_flags():
    assert not WordTokenizer().core_ops_only  # NFKC needs tensorflow-text
    assert WordTokenizer(cleaning=CleaningConfig(normalization=None)).core_ops_only
    assert not WordTokenizer(cleaning=CleaningConfig(normalization=None), split="unicode_script").core_ops_only
    with pytest.raises(errors.DataSpecError, match="normalization to None"):
        build_tokenizer("word_core", cleaning=CleaningConfig())


def test_unicode_script_split(corpus):
    texts, _ = corpus
    tok = build_tokenizer("word", vocab_size=100, split="unicode_script").fit(texts)
    tokens = tok.id_to_token(tok.tokenize(tf.constant(["funny, moving!!"]))).flat_values.numpy().tolist()
    assert tokens == [b"funny", b",", b"moving", b"[UNK]"]


@pytest.mark.parametrize("kind", sorted(KINDS) + ["word_core"])
@pytest.mark.parametrize("size", [0, 5])
def test_vocab_size_smaller_than_reserved_tokens(kind, size):
    with pytest.raises(errors.VocabularyError) as info:
        build_tokenizer(kind, vocab_size=size)
    assert info.value.options == ("vocab_size",) and f"vocab_size={size}" in str(info.value)
    assert "[PAD], [UNK], [CLS], [SEP], [MASK]" in str(info.value)


def test_vocab_too_small_for_the_alphabet(corpus):
    texts, _ = corpus
    with pytest.raises(errors.VocabularyError, match="vocab_size=10 is too small"):
        WordPieceTokenizer(10).fit(texts)
    with pytest.raises(errors.VocabularyError, match="vocab_size=8"):
        SentencePieceTokenizer(8).fit(texts)


def test_unfitted_and_bad_options(corpus):
    with pytest.raises(errors.VocabularyError, match="call fit"):
        WordTokenizer().tokenize(tf.constant(["x"]))
    with pytest.raises(errors.DataSpecError, match="unknown tokenizer kind 'bpe'"):
        build_tokenizer("bpe")
    with pytest.raises(errors.DataSpecError) as info:
        build_tokenizer("char", split="x", bogus=1)
    assert str(info.value) == "a char tokenizer has no option 'bogus', 'split'; its options: min_count, name"
    assert info.value.options == ("bogus", "split")
    with pytest.raises(errors.EmptyDataError):
        WordTokenizer().fit([])


@pytest.mark.parametrize("kind", sorted(KINDS) + ["word_core"])
def test_fit_on_texts_left_empty_by_cleaning_or_not_strings(kind):
    with pytest.raises(errors.EmptyDataError, match="every training text is empty after cleaning"):
        build_tokenizer(kind, vocab_size=KINDS.get(kind, 60)).fit(["<br />", "  ", "<p></p>"])
    with pytest.raises(errors.DataError, match="text 1 is a NoneType, not a string"):
        build_tokenizer(kind, vocab_size=KINDS.get(kind, 60)).fit(["a film", None])
    # One string is not a list of its characters.
    with pytest.raises(errors.DataError, match="expected a list of texts, not the single text 'a film'; wrap it"):
        build_tokenizer(kind, vocab_size=KINDS.get(kind, 60)).fit("a film")


@pytest.mark.parametrize("kind", ["word", "char", "word_core"])
def test_min_count_that_leaves_no_token_is_named(kind):
    with pytest.raises(errors.VocabularyError) as info:
        build_tokenizer(kind, vocab_size=60, min_count=5).fit(["a b", "b c"])
    assert info.value.options == ("min_count",)
    assert "min_count=5 leaves no token: the most frequent one occurs 2 time(s)" in str(info.value)


def test_load_errors_name_the_file_and_line(fitted, tmp_path):
    with pytest.raises(errors.DataFileNotFoundError, match="tokenizer.json"):
        load_tokenizer(tmp_path / "none")
    fitted["word"].save(tmp_path)
    vocab_path = tmp_path / "vocab.txt"
    lines = vocab_path.read_text().split("\n")
    vocab_path.write_text("\n".join(lines[:3] + lines[4:]))
    with pytest.raises(errors.VocabularyError) as info:
        load_tokenizer(tmp_path)
    assert f"{vocab_path}, line 4: expected reserved token [SEP]" in str(info.value)
    vocab_path.write_text("\n".join(lines[:7] + [lines[6]] + lines[7:]))
    with pytest.raises(errors.VocabularyError, match="line 8: token .* repeats id 6"):
        load_tokenizer(tmp_path)
    config = json.loads((tmp_path / "tokenizer.json").read_text())
    (tmp_path / "tokenizer.json").write_text(json.dumps({**config, "kind": "magic"}))
    with pytest.raises(errors.VocabularyError, match="column 'kind': unknown tokenizer kind"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize("kind, text, expected", [
    # words and marks apart, as the word tokenizer splits them; an unseen word is [UNK]
    ("word", "Great films, truly moving!", "great films , truly moving !"),
    ("word_core", "Greatly moving!", "[UNK] moving !"),
    ("wordpiece", "Greatly moving!", "greatly moving !"),  # great ##l ##y: pieces glued back to their word
    ("char", "Great films, truly moving!", "great films, truly moving!"),  # the space is a token
    ("sentencepiece", "Great films, truly moving!", "great films, truly moving!"),  # "\u2581" starts a word
])
def test_detokenize_gives_back_the_cleaned_text(kind, text, expected):
    texts = ["Great films, truly moving!", "a dull film", "great plots, moving films"] * 20
    tok = build_tokenizer(kind, vocab_size={"sentencepiece": 45}.get(kind, 60)).fit(texts)
    ids = tok.encode(tf.constant([text]), 40)[0]
    assert tok.detokenize(ids) == expected
    if kind == "wordpiece":
        pieces = [t.decode() for t in tok.id_to_token(ids).numpy() if t != b"[PAD]"]
        assert pieces[:3] == ["great", "##l", "##y"], pieces  # the case the join must handle
    framed = [tok.cls_id, *ids.numpy().tolist(), tok.sep_id]
    assert tok.detokenize(framed) == expected  # frame markers and padding are not text
    # In a batch, as an exported lm's graph detokenizes: ragged, an empty row included, each row as alone.
    dull = tok.tokenize(tf.constant(["a dull film"]))[0].numpy().tolist()
    batch = tf.ragged.constant([framed, [], [tok.cls_id], dull], dtype=tf.int32)
    assert [t.decode() for t in tok.detokenize_batch(batch).numpy()] == [expected, "", "", tok.detokenize(batch[3])]
