"""Text data: load labelled texts, split them, learn a tokenizer, build ``tf.data`` pipelines.

    import zoo
    data = zoo.data.load("mr")                                   # LabeledTexts, 5,331 + 5,331
    train, val, test = zoo.data.train_val_test_split(data, seed=0)
    tok = zoo.data.build_tokenizer("wordpiece", vocab_size=8000).fit(train.texts)
    ds = zoo.data.make_dataset(train.texts, train.labels, tok, sequence_length=64, batch_size=32, shuffle=True)

Loading and splitting need no TensorFlow; tokenizers and pipelines import it on first use.
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "load": "zoo.data.sources",
    "official_splits": "zoo.data.sources",
    "split_lines": "zoo.data.sources",
    "SHARED": "zoo.data.sources",
    "LabeledTexts": "zoo.data.labeled",
    "check_labels_seen": "zoo.data.labeled",
    "save_label_names": "zoo.data.labeled",
    "load_label_names": "zoo.data.labeled",
    "train_val_test_split": "zoo.data.splits",
    "kfold": "zoo.data.splits",
    "deduplicate": "zoo.data.splits",
    "shared_texts": "zoo.data.splits",
    "LABEL_SEPARATOR": "zoo.data.labeled",
    "UNLABELLED": "zoo.data.labeled",
    "joined_label_problem": "zoo.data.labeled",
    "pair_segment_problem": "zoo.data.labeled",
    "CleaningConfig": "zoo.data.cleaning",
    "clean": "zoo.data.cleaning",
    "AugmentConfig": "zoo.data.augment",
    "augment_ids": "zoo.data.augment",
    "Tokenizer": "zoo.data.tokenizers",
    "WordPieceTokenizer": "zoo.data.tokenizers",
    "WordTokenizer": "zoo.data.tokenizers",
    "CharTokenizer": "zoo.data.tokenizers",
    "SentencePieceTokenizer": "zoo.data.tokenizers",
    "BertTokenizer": "zoo.data.bert_tokenizer",
    "build_tokenizer": "zoo.data.tokenizers",
    "load_tokenizer": "zoo.data.tokenizers",
    "SPECIAL_TOKENS": "zoo.data.special_tokens",
    "SpecialIds": "zoo.data.special_tokens",
    "LEARNED_IDS": "zoo.data.special_tokens",
    "RESERVED_TOKENS": "zoo.data.tokenizers",
    "PAD_ID": "zoo.data.tokenizers",
    "UNK_ID": "zoo.data.tokenizers",
    "CLS_ID": "zoo.data.tokenizers",
    "SEP_ID": "zoo.data.tokenizers",
    "MASK_ID": "zoo.data.tokenizers",
    "mask_tokens": "zoo.data.lm_targets",
    "shift_for_next_token": "zoo.data.lm_targets",
    "make_dataset": "zoo.data.pipeline",
    "default_bucket_lengths": "zoo.data.pipeline",
    "DataError": "zoo.data.errors",
    "DataSpecError": "zoo.data.errors",
    "DataFileNotFoundError": "zoo.data.errors",
    "EncodingError": "zoo.data.errors",
    "EmptyDataError": "zoo.data.errors",
    "EmptyClassError": "zoo.data.errors",
    "TooFewClassesError": "zoo.data.errors",
    "MissingColumnError": "zoo.data.errors",
    "BadRowError": "zoo.data.errors",
    "UnseenLabelError": "zoo.data.errors",
    "VocabularyError": "zoo.data.errors",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
