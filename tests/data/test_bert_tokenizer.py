"""BertTokenizer: ids against the `tokenizers` package reading the checkpoint's own tokenizer.json.

The reference is Hugging Face's fast tokenizer (Rust), which implements BERT's normalisation and splitting
independently of TensorFlow. Known, documented divergences (zoo/data/bert_tokenizer.py) are asserted as such.
"""
import json
import random
import shutil
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

import zoo.data
from tests.converters.checkpoints import VOCABULARY
from zoo.data import errors
from zoo.data.bert_tokenizer import BertTokenizer
from zoo.data.tokenizers import build_tokenizer, load_tokenizer

tokenizers = pytest.importorskip("tokenizers", reason="the reference `tokenizers` package is not installed")

HARD_CASES = [
    # accents and case
    "Café naïve résumé À L'ÉCOLE", "ÀÉÎÕÜ ñ Ç ø Å æ Œ", "İstanbul ıi ß ẞ ﬁ ﬂ", "Ǆ ǅ ǆ", "Ωmega ΣΑΣ σας ΑΣ Σ", "Ǻ̃ ḉ",
    "\u0301leading combining mark", "e\u0301 vs \u00e9", "Ａｂｃ full-width ＡＢＣ", "ǅungla",
    # CJK and other scripts
    "中文字符测试", "日本語のテキスト、カタカナ。", "한국어 텍스트", "混合mixed中文text", "𠀀𪜀 rare ideographs", "\uf900\ufa0a compat",
    "Русский текст", "العربية", "עברית", "हिन्दी", "ไทย",
    # emoji and symbols
    "😀 emoji 👍🏽 family 👨‍👩‍👧", "❤️ ☺ ✓ ★ ∑ ∞ € £ ¥ © ®", "^_^ $100 `x` ~ | \\ @#%&*", "9 ½ weeks ¼ ¾ ²",
    "﹏ ¡¿ « » „ “ ” ‘ ’",
    # control, format and zero-width characters
    "a\x00b\x01c\x7fd", "bell\x07 escape\x1b", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom", "soft\u00adhyphen",
    "\u0085nel\u000bvt\u000cff", "rtl\u200fmark\u202eoverride", "\ufffd replacement", "private\ue000use",
    # whitespace variants
    "tab\there\nnew\rline\r\n", "\u00a0nbsp\u3000ideographic\u2003em\u2009thin", "\u2028line\u2029para", "   ", "",
    "  leading and trailing  ", "\u1680ogham\u202fnarrow\u205fmath",
    # long words (WordPiece gives up after 100 characters)
    "a" * 99, "a" * 100, "a" * 101, "é" * 100, "é" * 101, "ß" * 60, "x" * 150 + " short",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "hmmm\x85might", "real\x97she", "don't won't it's", "U.S.A. e.g. 3.14 1,000,000 10/10",
]


def reference(folder):
    hf = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    return hf


@pytest.fixture(scope="module")
def bert(minilm_checkpoint):
    return BertTokenizer.from_pretrained(minilm_checkpoint)


@pytest.fixture(scope="module")
def hf(minilm_checkpoint):
    return reference(minilm_checkpoint)


def mismatches(tok, hf, texts):
    ours = tok.tokenize(tf.constant(texts)).to_list()
    theirs = [e.ids for e in hf.encode_batch(texts)]
    return [(text, t, o) for text, t, o in zip(texts, theirs, ours) if t != o]


def test_special_tokens_come_from_the_vocabulary(bert):
    assert (bert.pad_id, bert.unk_id, bert.cls_id, bert.sep_id, bert.mask_id) == (0, 100, 101, 102, 103)
    assert bert.special_tokens == {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    assert bert.vocab_size == 30522 and bert.vocabulary[101] == "[CLS]"
    assert bert.id_to_token(tf.constant([101, 7592, 102])).numpy().tolist() == [b"[CLS]", b"hello", b"[SEP]"]


@pytest.mark.realdata
def test_ids_equal_the_reference_on_every_mr_trec_and_subj_sentence(bert, hf, shared_data):
    counts = {}
    for name, split in (("mr", None), ("subj", None), ("trec", "train"), ("trec", "test")):
        texts = zoo.data.load(name, **({"split": split} if split else {})).texts
        bad = mismatches(bert, hf, texts)
        counts[f"{name}/{split or 'all'}"] = (len(bad), len(texts))
        assert not bad, f"{name}: {len(bad)} of {len(texts)} sentences differ, first: {bad[:3]}"
    assert sum(n for _, n in counts.values()) == 10662 + 10000 + 5452 + 500


def test_ids_equal_the_reference_on_hard_cases(bert, hf):
    bad = mismatches(bert, hf, HARD_CASES)
    assert not bad, f"{len(bad)} of {len(HARD_CASES)} hard cases differ: {bad}"


def test_text_never_becomes_a_special_token(bert, hf):
    """Documented divergence: Hugging Face maps the literal text "[CLS]" to the special id; zoo never does."""
    text = "a [CLS] b [SEP] [MASK] [PAD]"
    ours = bert.tokenize(tf.constant([text])).to_list()[0]
    assert [i for i in ours[1:-1] if i in (0, 101, 102, 103)] == []
    assert {101, 102, 103, 0} <= set(hf.encode(text, add_special_tokens=False).ids)


@pytest.mark.slow
def test_code_point_sweep_diverges_only_on_recently_encoded_characters(bert, hf):
    """Every code point, inside and between words: the divergence stays the documented one (568 code points)."""
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"a{chr(c)}b {chr(c)}" for c in code_points]
    bad = [ord(text[1]) for text, _, _ in mismatches(bert, hf, texts)]
    assert len(bad) <= 568, f"{len(bad)} code points diverge, more than the 568 documented"
    assert min(bad) >= 0x0600, f"a common character diverges: U+{min(bad):04X}"
    categories = {unicodedata.category(chr(c)) for c in bad}
    assert categories <= {"Mn", "Mc", "Po", "Ps", "Pe", "Pd", "Cf", "Cn", "So"}, categories


def test_pack_truncates_pairs_longest_first_like_the_reference(bert, minilm_checkpoint, shared_data):
    hf = tokenizers.Tokenizer.from_file(str(minilm_checkpoint / "tokenizer.json"))
    hf.no_padding()
    texts = zoo.data.load("trec", split="test").texts
    rng = random.Random(0)
    first = ["one two three", "", "a b c d e f g h i j", "x"] + rng.sample(texts, 60)
    second = ["one two three", "x", "a b c d e f g h i j k", ""] + rng.sample(texts, 60)
    for length in (4, 5, 8, 9, 16, 64):
        hf.enable_truncation(max_length=length, strategy="longest_first")
        packed = bert.pack(tf.constant(first), tf.constant(second), sequence_length=length)
        ids, segments, mask = (packed[k].numpy() for k in ("token_ids", "segment_ids", "padding_mask"))
        assert ids.shape == segments.shape == mask.shape == (len(first), length) and mask.dtype == bool
        for row, encoding in enumerate(hf.encode_batch(list(zip(first, second)))):
            n = len(encoding.ids)
            assert ids[row, :n].tolist() == encoding.ids, (length, first[row], second[row])
            assert segments[row, :n].tolist() == encoding.type_ids
            assert mask[row].tolist() == [True] * n + [False] * (length - n)
            assert (ids[row, n:] == bert.pad_id).all() and (segments[row, n:] == 0).all()
        hf.enable_truncation(max_length=length)
        single = bert.encode(tf.constant(first), length).numpy()
        for row, encoding in enumerate(hf.encode_batch(first)):
            assert single[row, :len(encoding.ids)].tolist() == encoding.ids


def test_encode_keeps_sep_and_scalars_work(bert):
    ids = bert.encode(tf.constant(["one two three four five"]), 4).numpy()[0]
    assert ids.tolist() == [101, 2028, 2048, 102]
    assert bert.encode(tf.constant("hello"), 4).numpy().tolist() == [101, 7592, 102, 0]
    assert bert.tokenize(tf.constant("")).numpy().tolist() == [101, 102]
    with pytest.raises(errors.VocabularyError, match="sequence_length=3 leaves no room"):
        bert.pack(tf.constant(["a"]), tf.constant(["b"]), sequence_length=3)


@pytest.mark.parametrize("length", [8.9, True, "8"])
def test_a_sequence_length_that_is_not_a_whole_number_is_refused(bert, length):
    with pytest.raises(errors.VocabularyError, match="sequence_length must be a whole number of tokens, not"):
        bert.pack(tf.constant(["a b c d e f g h i j"]), sequence_length=length)
    assert bert.encode(tf.constant(["a b"]), np.int64(4)).numpy().tolist() == [[101, 1037, 1038, 102]]


def test_graph_dataset_and_saved_model_give_the_same_ids(bert, tmp_path):
    texts = HARD_CASES[:12]
    eager = bert.encode(tf.constant(texts), 24).numpy()
    serve = tf.function(lambda s: bert.encode(s, 24), input_signature=[tf.TensorSpec([None], tf.string)])
    np.testing.assert_array_equal(serve(tf.constant(texts)).numpy(), eager)
    mapped = np.concatenate(list(tf.data.Dataset.from_tensor_slices(texts).batch(5).map(
        lambda s: bert.encode(s, 24)).as_numpy_iterator()))
    np.testing.assert_array_equal(mapped, eager)

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = bert

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)])
        def __call__(self, first, second):
            return self.tokenizer.pack(first, second, sequence_length=24)

    tf.saved_model.save(Serving(), str(tmp_path / "sm"))
    restored = tf.saved_model.load(str(tmp_path / "sm"))
    expected = bert.pack(tf.constant(texts), tf.constant(texts[::-1]), sequence_length=24)
    got = restored(tf.constant(texts), tf.constant(texts[::-1]))
    for key in ("token_ids", "segment_ids", "padding_mask"):
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy())


def test_save_and_load_tokenizer_round_trip(bert, tmp_path):
    bert.save(tmp_path / "tok", label_names=["neg", "pos"])
    again = load_tokenizer(tmp_path / "tok")
    assert type(again) is BertTokenizer and again.config() == bert.config() and again.vocabulary == bert.vocabulary
    assert again.tokenize(tf.constant(HARD_CASES)).to_list() == bert.tokenize(tf.constant(HARD_CASES)).to_list()
    assert not again.core_ops_only


def make_folder(vocabulary_file, path, **config):
    path.mkdir()
    shutil.copy(vocabulary_file, path / "vocab.txt")
    (path / "tokenizer_config.json").write_text(json.dumps(config))
    return path


@pytest.fixture
def small_vocabulary(tmp_path):
    """A BERT-layout vocabulary file ([PAD] 0, [unused0-98], [UNK] 100 ...): no checkpoint needed."""
    path = tmp_path / "small_vocab.txt"
    path.write_text("".join(token + "\n" for token in VOCABULARY), encoding="utf-8")
    return path


@pytest.mark.parametrize("lowercase, strip_accents, chinese_chars", [
    (False, None, True), (True, False, True), (False, True, False), (True, None, False)])
def test_options_match_the_reference_normaliser(minilm_checkpoint, tmp_path, lowercase, strip_accents,
                                                chinese_chars):
    folder = make_folder(minilm_checkpoint / "vocab.txt", tmp_path / "tok", do_lower_case=lowercase,
                         strip_accents=strip_accents, tokenize_chinese_chars=chinese_chars)
    tok = BertTokenizer.from_pretrained(folder)
    hf = tokenizers.Tokenizer(tokenizers.models.WordPiece.from_file(
        str(folder / "vocab.txt"), unk_token="[UNK]", max_input_chars_per_word=100))
    hf.normalizer = tokenizers.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=chinese_chars, strip_accents=strip_accents, lowercase=lowercase)
    hf.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    hf.post_processor = tokenizers.processors.BertProcessing(("[SEP]", 102), ("[CLS]", 101))
    bad = mismatches(tok, hf, HARD_CASES)
    assert not bad, bad


def test_checkpoint_errors_name_the_file_and_key(small_vocabulary, tmp_path):
    with pytest.raises(errors.DataFileNotFoundError, match="tokenizer_config.json: tokenizer config not found.*"
                                                           r'write one.*\{"do_lower_case": false\} for a cased'):
        BertTokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(errors.DataFileNotFoundError, match="vocab.txt: vocabulary file not found"):
        BertTokenizer.from_pretrained(tmp_path)
    bad = make_folder(small_vocabulary, tmp_path / "roberta", tokenizer_class="RobertaTokenizer")
    with pytest.raises(errors.VocabularyError, match="column 'tokenizer_class'.*RobertaTokenizer.*supported: Bert"):
        BertTokenizer.from_pretrained(bad)
    bad = make_folder(small_vocabulary, tmp_path / "case", do_lower_case="yes")
    with pytest.raises(errors.VocabularyError,
                       match="tokenizer_config.json, column 'do_lower_case': lowercase must be true or false"):
        BertTokenizer.from_pretrained(bad)
    bad = make_folder(small_vocabulary, tmp_path / "special", cls_token="<s>")
    with pytest.raises(errors.VocabularyError, match=r"vocab.txt: special token\(s\) \['<s>'\] not in the vocab"):
        BertTokenizer.from_pretrained(bad)
    renamed = make_folder(small_vocabulary, tmp_path / "renamed", cls_token={"content": "[unused0]"})
    assert BertTokenizer.from_pretrained(renamed).cls_id == 1
    lines = small_vocabulary.read_text(encoding="utf-8").split("\n")
    (renamed / "vocab.txt").write_text("\n".join(lines[:5] + [lines[3]] + lines[6:]), encoding="utf-8")
    with pytest.raises(errors.VocabularyError, match=r"vocab.txt, line 6: token '\[unused2\]' at id 5 repeats id 3"):
        BertTokenizer.from_pretrained(renamed)


def test_special_tokens_map_names_the_special_tokens_as_in_transformers(small_vocabulary, tmp_path):
    """Checkpoints saved by older transformers keep their special tokens in special_tokens_map.json only."""
    folder = make_folder(small_vocabulary, tmp_path / "map", do_lower_case=True, unk_token="[UNK]")
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"pad_token": "[unused0]", "unk_token": {"content": "[UNK]"}, "mask_token": "[unused1]"}))
    tok = BertTokenizer.from_pretrained(folder)
    assert tok.special_tokens == {"pad": "[unused0]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]",
                                  "mask": "[unused1]"}
    assert (tok.pad_id, tok.unk_id, tok.mask_id) == (1, 100, 2)
    assert tok.encode(tf.constant([""]), 4).numpy().tolist() == [[101, 102, 1, 1]]
    (folder / "tokenizer_config.json").write_text(json.dumps({"pad_token": "[PAD]"}))
    with pytest.raises(errors.VocabularyError, match=r"tokenizer_config.json, column 'pad_token': pad_token is "
                                                     r"'\[PAD\]' here but '\[unused0\]' in .*special_tokens_map"
                                                     r".json: make the two files agree"):
        BertTokenizer.from_pretrained(folder)
    (folder / "special_tokens_map.json").write_text("[]")
    with pytest.raises(errors.VocabularyError,
                       match="special_tokens_map.json.*not a JSON special-tokens map: its value is a list"):
        BertTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("name, content, where", [
    ("added_tokens.json", {"<e1>": 131}, r"added_tokens.json: added tokens \['<e1>'\]"),
    ("tokenizer_config.json", {"added_tokens_decoder": {"0": {"content": "[PAD]", "special": True},
                                                        "131": {"content": "<e1>", "special": False}}},
     r"tokenizer_config.json, column 'added_tokens_decoder': added tokens \['<e1>'\]"),
    ("special_tokens_map.json", {"additional_special_tokens": [{"content": "[unused5]"}]},
     r"special_tokens_map.json, column 'additional_special_tokens': added tokens \['\[unused5\]'\]")])
def test_added_tokens_are_refused_as_their_ids_would_differ(small_vocabulary, tmp_path, name, content, where):
    folder = make_folder(small_vocabulary, tmp_path / "added")
    (folder / name).write_text(json.dumps(content))
    with pytest.raises(errors.VocabularyError, match=where + " are not supported: Hugging Face gives their text"):
        BertTokenizer.from_pretrained(folder)


def test_the_reference_gives_added_tokens_their_own_ids(minilm_checkpoint):
    """Why they are refused: the reference maps the text of an added token to its id, before WordPiece."""
    hf = reference(minilm_checkpoint)
    hf.add_tokens(["<e1>"])
    assert hf.encode("the <e1> cat").ids == [101, 1996, 30522, 4937, 102]


def test_a_null_tokenizer_class_is_no_class_given(small_vocabulary, tmp_path):
    folder = make_folder(small_vocabulary, tmp_path / "null_class", tokenizer_class=None)
    assert BertTokenizer.from_pretrained(folder).vocab_size == len(VOCABULARY)


def test_special_tokens_listed_as_added_tokens_are_accepted(small_vocabulary, tmp_path):
    """transformers writes the special tokens into added_tokens_decoder; they are the usual ones."""
    folder = make_folder(small_vocabulary, tmp_path / "listed", added_tokens_decoder={
        "0": {"content": "[PAD]"}, "100": {"content": "[UNK]"}, "101": {"content": "[CLS]"}})
    assert BertTokenizer.from_pretrained(folder).special_ids.cls == 101


def test_a_folder_with_tokenizer_json_but_no_vocab_txt_is_told_how_to_write_it(minilm_checkpoint, tmp_path):
    folder = tmp_path / "fast_only"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(minilm_checkpoint / name, folder / name)
    with pytest.raises(errors.DataFileNotFoundError, match="vocab.txt: vocabulary file not found; write it from "
                                                           ".*tokenizer.json with: python -c") as raised:
        BertTokenizer.from_pretrained(folder)
    command = str(raised.value).split("python -c ", 1)[1]
    exec(command.strip('"'))  # the command the message gives, run as given
    assert (folder / "vocab.txt").read_bytes() == (minilm_checkpoint / "vocab.txt").read_bytes()
    assert BertTokenizer.from_pretrained(folder).vocab_size == 30522


def test_a_bert_vocabulary_is_never_learnt():
    with pytest.raises(errors.VocabularyError, match="comes from its pretrained checkpoint"):
        BertTokenizer(VOCABULARY).fit(["some text"])
    with pytest.raises(errors.DataSpecError, match="bert tokenizer comes with its pretrained checkpoint"):
        build_tokenizer("bert")
