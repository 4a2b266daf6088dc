"""The special tokens of zoo tokenizers, and the ids that tokenizers learning their own vocabulary give them."""
import dataclasses

# Name -> token. Tokenizers that learn their vocabulary put these first, at ids 0-4 in this order; a tokenizer
# with a given vocabulary (e.g. BERT's vocab.txt: [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103) finds
# them wherever they are. Code that handles ids reads them from ``tokenizer.special_ids``, never as literals.
SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}


@dataclasses.dataclass(frozen=True)
class SpecialIds:
    """The ids of a tokenizer's special tokens: padding, unknown, ``[CLS]`` (also lm/seq2seq begin), ``[SEP]``
    (also end) and ``[MASK]``.

    Example:
        >>> zoo.data.BertTokenizer.from_pretrained("checkpoints/all-MiniLM-L6-v2").special_ids
        SpecialIds(pad=0, unk=100, cls=101, sep=102, mask=103)
    """

    pad: int
    unk: int
    cls: int
    sep: int
    mask: int

    @property
    def all(self):
        """The distinct special ids, sorted."""
        return tuple(sorted(set(dataclasses.astuple(self))))


# Where tokenizers that learn their vocabulary put the special tokens: the order of SPECIAL_TOKENS.
LEARNED_IDS = SpecialIds(*range(len(SPECIAL_TOKENS)))
