"""A tokenizer over a given vocabulary, with its special tokens wherever the vocabulary puts them.

zoo's own tokenizers learn their vocabulary and put ``[PAD] [UNK] [CLS] [SEP] [MASK]`` at ids 0-4; a pretrained
vocabulary does not (BERT's: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103). Tests use this one to check
that nothing downstream assumes the learned layout.
"""
import tensorflow as tf

from zoo.data import Tokenizer

WORDS = ("the film movie plot acting story was is a and with its cast great superb moving funny dull boring awful "
         "tedious clumsy bland").split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_like():
    """[PAD] 0, [unused*] 1-99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, then the words."""
    return ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + SPECIALS[1:] + list(WORDS)


def pad_inside():
    """Words around the special tokens, [PAD] at id 7 and no special token at id 0."""
    return list(WORDS[:3]) + ["[MASK]", "[UNK]", "[SEP]", "[CLS]", "[PAD]"] + list(WORDS[3:])


class FixedVocabTokenizer(Tokenizer):
    """Whitespace words looked up in a given vocabulary (unknown words: ``[UNK]``)."""

    kind = "fixed"

    def __init__(self, vocabulary, add_cls=False):
        super().__init__(len(vocabulary), add_cls=add_cls)
        self._set_vocabulary(vocabulary)

    def _install(self, vocabulary):
        special = set(self.special_tokens.values())
        words = [(token, i) for i, token in enumerate(vocabulary) if token not in special]
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer([w for w, _ in words], [i for _, i in words], tf.string, tf.int64),
            default_value=vocabulary.index("[UNK]"))

    def _ids(self, cleaned):
        return tf.ragged.map_flat_values(self._table.lookup, tf.strings.split(cleaned))
