"""Sentence embeddings from a pretrained checkpoint folder or its export (``zoo.embed``, ``zoo embed``).

The checkpoint's backbone reads each text as its tokenizer packs it (``[CLS] text [SEP]``, cut to the
checkpoint's ``max_seq_length``), and its token vectors become one vector per text the way the checkpoint's
sentence-transformers files say (``zoo.converters.sentence_transformers``: all-MiniLM-L6-v2 mean-pools the
real tokens and normalises to unit length), so cosine similarity is a dot product. ``EmbeddingServingGraph``
does it all in one graph, the same in memory and in the SavedModel ``zoo export CHECKPOINT`` writes.
"""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.export.serving import TextEndpoint

DEFAULT_BATCH_SIZE = 64
TASK = "embedding"  # an embedding export's task in zoo_export.json
OUTPUTS = {"embedding": "float32 [None, d]", "empty_input": "bool [None]", "replaced_bytes": "bool [None]",
           "truncated": "bool [None]"}


@dataclasses.dataclass
class Embeddings:
    """What ``embed`` returns.

    Attributes:
        vectors: ``[N, d]`` float32, one row per text, in input order.
        truncated: ``[N]`` whether a text had more tokens than ``sequence_length`` and was embedded from the
            first ones.
        empty_input: ``[N]`` whether nothing was left of a text after cleaning (its vector is that of ``""``).
        replaced_bytes: ``[N]`` whether a text held bytes that are not UTF-8, replaced by U+FFFD before embedding.
        sequence_length: The most tokens a text was read with (special tokens included).
    """

    vectors: np.ndarray
    truncated: np.ndarray
    empty_input: np.ndarray
    replaced_bytes: np.ndarray
    sequence_length: int


class EmbeddingServingGraph(TextEndpoint):
    """A checkpoint's backbone, tokenizer and pooling, and the ``tf.function`` that embeds raw strings.

    Args:
        backbone: The checkpoint's ``zoo.models.Backbone`` (``zoo.from_pretrained(folder, task=None)``).
        tokenizer: Its ``BertTokenizer``.
        pooling: Its ``SentencePooling`` (``zoo.converters.sentence_transformers.read_pooling``).
        sequence_length: Most tokens per text, ``[CLS]`` and ``[SEP]`` included (default: the pooling's
            ``max_seq_length``, else the backbone's position range).

    Example:
        >>> from zoo.converters.sentence_transformers import read_pooling
        >>> backbone, tokenizer = zoo.from_pretrained("checkpoints/all-MiniLM-L6-v2", task=None)
        >>> graph = EmbeddingServingGraph(backbone, tokenizer, read_pooling("checkpoints/all-MiniLM-L6-v2"))
        >>> graph.serve_text(tf.constant(["a gripping film"]))["embedding"].shape
        TensorShape([1, 384])
    """

    def __init__(self, backbone, tokenizer, pooling, sequence_length=None):
        limit = backbone.sequence_length
        if sequence_length is not None and (isinstance(sequence_length, bool) or not isinstance(sequence_length, int)
                                            or sequence_length < 1):
            raise ValueError(f"sequence_length (--sequence-length) must be a positive integer, got "
                             f"{sequence_length!r}")
        self.sequence_length = sequence_length or min(pooling.max_seq_length or limit, limit)
        if self.sequence_length > limit:
            raise ValueError(f"sequence_length (--sequence-length) {self.sequence_length} exceeds the checkpoint's "
                             f"{limit} positions; pass {limit} or less")
        self.backbone, self.tokenizer, self.pooling = backbone, tokenizer, pooling
        self.dimensions = backbone.d_model
        super().__init__()

    def _outputs(self, valid):
        packed = self.tokenizer.pack(valid, sequence_length=self.sequence_length)
        real = tf.reduce_sum(tf.cast(packed["padding_mask"], tf.int32), axis=1)
        # Cut to the longest row (never to width zero, for an empty batch): padding is computed for nothing.
        width = tf.maximum(tf.reduce_max(real), 1)
        packed = {key: value[:, :width] for key, value in packed.items()}
        tokens = tf.cast(self.backbone(packed, training=False)["sequence_output"], tf.float32)
        # tokenize() frames each text as [CLS] text [SEP], as pack does: two tokens are no text.
        lengths = self.tokenizer.tokenize(valid).row_lengths()
        return {"embedding": self._pool(tokens, packed["padding_mask"]), "empty_input": real <= 2,
                "truncated": lengths > self.sequence_length}

    def _pool(self, tokens, padding_mask):
        """One vector per row of ``tokens`` ``[B, T, d]`` over its real positions (``padding_mask``)."""
        real = tf.cast(padding_mask, tokens.dtype)[..., None]
        if self.pooling.mode == "cls":
            vector = tokens[:, 0]
        elif self.pooling.mode == "max":
            vector = tf.reduce_max(tf.where(real > 0, tokens, tokens.dtype.min), axis=1)
        else:
            vector = tf.reduce_sum(tokens * real, axis=1) / tf.maximum(tf.reduce_sum(real, axis=1), 1e-9)
        # sentence-transformers' Normalize divides by max(norm, 1e-12).
        return tf.math.l2_normalize(vector, axis=-1, epsilon=1e-24) if self.pooling.normalize else vector


def embedding_graph(checkpoint, sequence_length=None):
    """The ``EmbeddingServingGraph`` of a checkpoint folder, pooled as its files say."""
    from zoo.converters import from_pretrained
    from zoo.converters.sentence_transformers import read_pooling

    pooling = read_pooling(checkpoint)
    backbone, tokenizer = from_pretrained(checkpoint, task=None)
    return EmbeddingServingGraph(backbone, tokenizer, pooling, sequence_length)


def embed(checkpoint, texts, *, batch_size=DEFAULT_BATCH_SIZE, sequence_length=None, progress=False):
    """Embed texts with a pretrained checkpoint folder, pooled as the checkpoint says, or with its export.

    Args:
        checkpoint: A BERT checkpoint folder (Hugging Face or keras-hub, see ``zoo.from_pretrained``), or its
            export by ``zoo export`` (``saved_models/NAME[/N]``).
        texts: A list of strings (none: ``[0, d]`` vectors).
        batch_size: Texts per model call.
        sequence_length: Most tokens per text, ``[CLS]`` and ``[SEP]`` included (default: the checkpoint's
            ``max_seq_length``, else its position range; an export's is fixed).
        progress: show a progress bar on stderr (where it is a terminal or Jupyter).

    Returns:
        ``Embeddings``.

    Raises:
        ValueError: a text that is not a string, or a bad ``batch_size`` / ``sequence_length``.

    Example:
        >>> e = embed("checkpoints/all-MiniLM-L6-v2", ["a gripping film", "an exciting movie", "stocks fell"])
        >>> e.vectors.shape, bool(e.vectors[0] @ e.vectors[1] > e.vectors[0] @ e.vectors[2])
        ((3, 384), True)
    """
    from tqdm.auto import tqdm

    from zoo.export.predict import find_saved_model, predicted_bytes
    from zoo.export.versions import unfinished_version
    from zoo.training.progress import shows_bar

    if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
        raise ValueError(f"texts must be a list of strings, got {texts!r:.80}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size (--batch-size) must be a positive integer, got {batch_size!r}")
    exported = find_saved_model(checkpoint)
    unfinished = None if exported is not None else unfinished_version(checkpoint)
    if unfinished:
        raise FileNotFoundError(unfinished)
    if exported is not None:
        serve, length = _exported(exported, sequence_length)
    else:
        _check_not_a_run(checkpoint)
        graph = embedding_graph(checkpoint, sequence_length)
        serve, length = graph.serve_text, graph.sequence_length
    # Batches of texts of similar length pad little; the rows go back to input order at the end.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = []
    with tqdm(total=len(texts), unit="text", desc="embedding", disable=not (progress and shows_bar(sys.stderr)),
              file=sys.stderr) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = tf.constant([predicted_bytes(texts[i]) for i in rows], tf.string)
            parts.append({key: value.numpy() for key, value in serve(texts=batch).items()})
            bar.update(len(rows))
    if not parts:  # no texts: the graph's answer to an empty batch gives the outputs their shapes ([0, d])
        parts.append({key: value.numpy() for key, value in serve(texts=tf.constant([], tf.string)).items()})
    inverse = np.argsort(order)
    joined = {key: np.concatenate([part[key] for part in parts])[inverse] for key in parts[0]}
    return Embeddings(joined["embedding"], joined["truncated"], joined["empty_input"], joined["replaced_bytes"],
                      length)


def _check_not_a_run(path):
    """Raise ``ValueError`` naming what ``zoo embed`` reads where ``path`` is a zoo run directory (it has no
    checkpoint ``config.json``, which ``from_pretrained`` would say without saying what the folder is)."""
    from zoo.config import Config
    from zoo.converters.pretrained import is_checkpoint_folder

    path = Path(path)
    if not path.is_dir() or is_checkpoint_folder(path) or not any(
            (path / name).is_file() for name in ("config.yaml", "model.json")):
        return
    config = path / "config.yaml"
    start = Config.load(config).model.init_from if config.is_file() else None
    # A run's weights are its task's model (a classifier, an mlm), not a checkpoint with sentence-transformers
    # pooling: zoo embeds none of them. The checkpoint a fine-tuned run started from it does embed.
    started = (f"; the checkpoint this run was fine-tuned from (model.init_from) embeds, without the fine-tuning: "
               f"zoo embed {start}" if start and is_checkpoint_folder(Path(start)) else "")
    raise ValueError(f"{path} is a zoo run directory (zoo train or zoo pretrain), which zoo embed does not read: it "
                     "embeds with a BERT checkpoint folder (Hugging Face or keras-hub, with a config.json) or its "
                     f"export (zoo export CHECKPOINT); it embeds with no run's weights, fine-tuned or "
                     f"pretrained{started}")


def _positions(checkpoint):
    """The most tokens ``checkpoint`` (a folder) reads, from its config; ``None`` where it cannot be read."""
    from zoo.converters.errors import CheckpointError
    from zoo.converters.pretrained import read_config

    try:
        config, layout = read_config(checkpoint)
        return layout.backbone_arguments(config, Path(checkpoint) / "config.json")["sequence_length"]
    except (CheckpointError, OSError, KeyError, TypeError):
        return None


def _exported(path, sequence_length):
    """The ``serving_default`` of an embedding export and its ``sequence_length``."""
    from zoo.export.predict import export_metadata, load_export

    metadata = export_metadata(path, TASK)
    if sequence_length is not None and sequence_length != metadata["sequence_length"]:
        checkpoint = metadata["checkpoint"]
        limit = _positions(checkpoint)
        # Advise only a length the checkpoint can be exported with: zoo export refuses one past its positions.
        if limit is not None and sequence_length > limit:
            fix = (f"the checkpoint reads at most {limit} tokens: leave --sequence-length out, or export it again "
                   f"with up to {limit} (zoo export {checkpoint} --sequence-length {limit})")
        else:
            within = "" if limit is not None else " (at most the checkpoint's positions, its max_position_embeddings)"
            fix = f"export the checkpoint again with it{within} (zoo export {checkpoint} --sequence-length " \
                  f"{sequence_length})"
        raise ValueError(f"sequence_length (--sequence-length) {sequence_length}: {path} was exported with "
                         f"{metadata['sequence_length']}; {fix}")
    return load_export(path, metadata).signatures["serving_default"], metadata["sequence_length"]
