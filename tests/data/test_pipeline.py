"""make_dataset: shapes, padding, truncation, bucketing, seeded shuffling, tf.distribute per-replica input."""
import collections

import numpy as np
import pytest
import tensorflow as tf

from tests.converters.checkpoints import VOCABULARY
from zoo.data import errors
from zoo.data.augment import AugmentConfig
from zoo.data.bert_tokenizer import BertTokenizer
from zoo.data.labeled import LabeledTexts
from zoo.data.pipeline import default_bucket_lengths, make_dataset
from zoo.data.tokenizers import CLS_ID, PAD_ID, build_tokenizer

T = 8


@pytest.fixture(scope="module")
def data():
    words = "good bad film plot acting score story ride dull fun smart slow".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 20))) for _ in range(50)]
    labels = rng.integers(0, 3, size=50).astype(np.int32)
    return texts, labels


@pytest.fixture(scope="module")
def tok(data):
    return build_tokenizer("word", vocab_size=30, add_cls=True).fit(data[0])


def reference_ids(tok, texts, length):
    """Tokenise eagerly, truncate and pad with NumPy."""
    rows = [row.tolist()[:length] for row in tok.tokenize(tf.constant(texts)).numpy()]
    return np.array([row + [PAD_ID] * (length - len(row)) for row in rows], np.int32)


def collect(dataset):
    ids, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(ids), np.concatenate(labels)


def test_fixed_batches_equal_reference_ids(data, tok):
    texts, labels = data
    dataset = make_dataset(texts, labels, tok, sequence_length=T, batch_size=16)
    assert dataset.element_spec[0].shape.as_list() == [None, T]
    assert dataset.element_spec[0].dtype == tf.int32 and dataset.element_spec[1].dtype == tf.int32
    shapes = [x.shape[0] for x, _ in dataset]
    assert shapes == [16, 16, 16, 2]
    ids, got_labels = collect(dataset)
    np.testing.assert_array_equal(ids, reference_ids(tok, texts, T))
    np.testing.assert_array_equal(got_labels, labels)
    assert (ids[:, 0] == CLS_ID).all()
    np.testing.assert_array_equal(ids, tok.encode(tf.constant(texts), T).numpy())


def test_drop_remainder_gives_static_batch(data, tok):
    dataset = make_dataset(*data, tok, sequence_length=T, batch_size=16, drop_remainder=True)
    assert dataset.element_spec[0].shape.as_list() == [16, T]
    assert sum(1 for _ in dataset) == 3


def test_unbatched_examples_for_per_replica_batching(data, tok):
    texts, labels = data
    dataset = make_dataset(texts, labels, tok, sequence_length=T)
    assert dataset.element_spec[0].shape.as_list() == [T]
    ids = np.stack([x.numpy() for x, _ in dataset])
    np.testing.assert_array_equal(ids, reference_ids(tok, texts, T))


def test_without_labels_yields_ids_only(data, tok):
    texts, _ = data
    dataset = make_dataset(texts, None, tok, sequence_length=T, batch_size=50)
    batch = next(iter(dataset))
    assert isinstance(batch, tf.Tensor) and batch.shape == (50, T)


def test_labeled_texts_input(tok):
    data = LabeledTexts(["good film", "dull plot"], np.array([1, 0]), ["neg", "pos"])
    ids, labels = next(iter(make_dataset(data, None, tok, sequence_length=T, batch_size=2)))
    assert labels.numpy().tolist() == [1, 0] and ids.shape == (2, T)


def test_seeded_shuffle_is_reproducible_and_reshuffles_each_epoch(data, tok):
    texts, labels = data

    def order(dataset):
        return [tuple(row) for x, _ in dataset for row in x.numpy()]

    first = make_dataset(texts, labels, tok, sequence_length=T, batch_size=10, shuffle=True, seed=3)
    second = make_dataset(texts, labels, tok, sequence_length=T, batch_size=10, shuffle=True, seed=3)
    epoch1, epoch2 = order(first), order(first)
    assert epoch1 == order(second)
    assert epoch1 != epoch2
    assert sorted(epoch1) == sorted(epoch2) == sorted(map(tuple, reference_ids(tok, texts, T)))
    # Labels travel with their texts.
    pairs = {(tuple(x), int(y)) for xs, ys in first for x, y in zip(xs.numpy(), ys.numpy())}
    assert pairs == set(zip(map(tuple, reference_ids(tok, texts, T)), labels.tolist()))


def test_bucketing_pads_each_batch_to_its_bucket_length(data, tok):
    texts, labels = data
    length = 16
    dataset = make_dataset(texts, labels, tok, sequence_length=length, batch_size=4, pad_to="bucket")
    buckets = default_bucket_lengths(length)
    assert buckets == [2, 4, 8, 16]
    expected = collections.Counter((tuple(r[r != PAD_ID]), y) for r, y in zip(reference_ids(tok, texts, length),
                                                                              labels.tolist()))
    seen = collections.Counter()
    for ids, ys in dataset:
        ids = ids.numpy()
        assert ids.shape[1] in buckets
        lengths = (ids != PAD_ID).sum(axis=1)
        bucket = buckets.index(ids.shape[1])
        assert (lengths <= ids.shape[1]).all() and (bucket == 0 or (lengths > buckets[bucket - 1]).all())
        seen.update((tuple(row[row != PAD_ID]), y) for row, y in zip(ids, ys.numpy().tolist()))
    assert seen == expected
    padded = sum(int(tf.size(ids)) for ids, _ in dataset)
    assert padded < len(texts) * length


def test_augmentation_changes_ids_reproducibly(data, tok):
    texts, labels = data
    plain = collect(make_dataset(texts, labels, tok, sequence_length=24, batch_size=50))[0]
    config = AugmentConfig(mask=0.3, seed=1)
    one = collect(make_dataset(texts, labels, tok, sequence_length=24, batch_size=50, augment=config))[0]
    two = collect(make_dataset(texts, labels, tok, sequence_length=24, batch_size=50, augment=config))[0]
    np.testing.assert_array_equal(one, two)
    changed = one != plain
    assert changed.any() and (one[changed] == 4).all()


def test_mirrored_strategy_batches_per_replica(data, tok):
    texts, labels = data
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def input_fn(context):
        per_replica = context.get_per_replica_batch_size(10)
        return make_dataset(texts, labels, tok, sequence_length=T).shard(
            context.num_input_pipelines, context.input_pipeline_id).batch(per_replica)

    distributed = strategy.distribute_datasets_from_function(input_fn)
    rows = []
    for ids, _ in distributed:
        parts = strategy.experimental_local_results(ids)
        assert len(parts) == 2 and all(p.shape[1] == T and p.shape[0] <= 5 for p in parts)
        rows.extend(row for part in parts for row in part.numpy().tolist())
    assert sorted(rows) == sorted(reference_ids(tok, texts, T).tolist())


def test_input_context_keeps_one_shard_before_tokenising(data, tok):
    texts, labels = data
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    ids, got_labels = collect(make_dataset(texts, labels, tok, sequence_length=T, batch_size=8,
                                           input_context=context, shuffle=True, seed=0))
    expected = sorted(zip(map(tuple, reference_ids(tok, texts, T)[1::2]), labels[1::2].tolist()))
    assert sorted(zip(map(tuple, ids), got_labels.tolist())) == expected


@pytest.mark.parametrize("kwargs,error,match", [
    ({"sequence_length": 0}, errors.DataSpecError, "sequence_length"),
    ({"sequence_length": T, "batch_size": -1}, errors.DataSpecError, "batch_size"),
    ({"sequence_length": T, "pad_to": "longest"}, errors.DataSpecError, "pad_to"),
    ({"sequence_length": T, "pad_to": "bucket"}, errors.DataSpecError, "needs batch_size"),
    ({"sequence_length": T, "augment": {"drop": 0.1}}, errors.DataSpecError, "unknown augment"),
    ({"sequence_length": T, "augment": {"mask": 1.5}}, errors.DataSpecError, "augment.mask"),
])
def test_bad_pipeline_options(data, tok, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_dataset(*data, tok, **kwargs)


def test_mismatched_labels_and_unfitted_tokenizer(data, tok):
    texts, labels = data
    with pytest.raises(errors.DataError, match="50 texts but labels of shape"):
        make_dataset(texts, labels[:3], tok, sequence_length=T)
    with pytest.raises(errors.DataError, match="integer ids"):
        make_dataset(texts, ["pos"] * 50, tok, sequence_length=T)
    with pytest.raises(errors.DataError, match="text 1 is a NoneType"):
        make_dataset(["a", None], None, tok, sequence_length=T)
    with pytest.raises(errors.DataError, match="not the single text 'a great film'; wrap it in a list"):
        make_dataset("a great film", None, tok, sequence_length=T)
    with pytest.raises(errors.VocabularyError, match="call fit"):
        make_dataset(texts, labels, build_tokenizer("word"), sequence_length=T)


def test_bert_ids_keep_sep_when_truncated_as_encode_does():
    bert = BertTokenizer(VOCABULARY)
    word = {token: i for i, token in enumerate(VOCABULARY)}
    texts = ["the good film is not dull", "a film"]
    expected = [[101, word["the"], word["good"], word["film"], 102], [101, word["a"], word["film"], 102, 0]]
    ids = np.concatenate(list(make_dataset(texts, None, bert, sequence_length=5, batch_size=2)))
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(ids, bert.encode(tf.constant(texts), 5).numpy())
    # Bucketing cuts each batch to its bucket: [CLS] a film [SEP] has 4 ids.
    bucketed = next(iter(make_dataset(texts[1:], None, bert, sequence_length=8, batch_size=1, pad_to="bucket",
                                      bucket_lengths=[4, 8])))
    np.testing.assert_array_equal(bucketed, [expected[1][:4]])


def test_sentence_pairs_and_multilabel_data_are_refused_with_what_to_use(tok):
    pairs = LabeledTexts(["a cat", "a dog"], np.array([0, 1]), ["no", "yes"], text_pairs=["sat", "ran"])
    with pytest.raises(errors.DataSpecError) as info:
        make_dataset(pairs, None, tok, sequence_length=T)
    assert str(info.value).startswith("inline: make_dataset reads one text per example, but these are sentence pairs")
    assert "pack(first, second, sequence_length=...)" in str(info.value)
    multilabel = LabeledTexts(["a", "b"], np.array([[1, 0], [1, 1]]), ["x", "y"])
    for texts, labels in ((multilabel, None), (multilabel.texts, multilabel.labels)):
        with pytest.raises(errors.DataSpecError, match=r"multi-label \(a multi-hot matrix of shape \(2, 2\)\); "
                                                       r"encode the texts with tokenizer.encode"):
            make_dataset(texts, labels, tok, sequence_length=T)
