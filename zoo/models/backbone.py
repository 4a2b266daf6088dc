"""The Transformer backbone every zoo model is built from: embeddings, a stack of blocks, norms, a pooler."""
import keras
from keras import ops

from zoo.layers import (Dropout, LayerNormalization, PackTokens, PositionEmbedding, TokenEmbedding,
                        TransformerDecoderBlock, TransformerEncoderBlock, UnpackTokens)
from zoo.layers import _validation as check
from zoo.layers.dropout import dropout_rate
from zoo.models.base import FunctionalModel

POSITIONAL = ("learned", "sinusoidal", "rotary")
# The config keys that size a backbone's weights; a mismatch shows as a part or weight shape that differs.
SIZE_KEYS = ("vocab_size", "sequence_length", "num_layers", "d_model", "ff_dim", "num_segments")
# The config keys that change what a backbone computes with weights of the same shapes.
COMPUTATION_KEYS = ("num_heads", "activation", "positional", "norm_first", "layer_norm_epsilon", "causal")
# Weights move only between backbones that agree on all of these (transfer_backbone_weights; zoo.training
# checks a pretraining run's builder arguments against them).
ENCODER_KEYS = SIZE_KEYS + COMPUTATION_KEYS
# The embedding parts of a backbone, in the order they apply; `freeze: embedding` freezes these.
EMBEDDING_PARTS = ("token_embedding", "position_embedding", "segment_embedding", "embedding_norm")


@keras.saving.register_keras_serializable(package="zoo")
class Backbone(FunctionalModel):
    """A Transformer stack from token ids to contextual vectors, with its parts as attributes.

    A functional model (built in ``__init__``, rebuilt from ``get_config``) in the spirit of keras-hub's
    ``Backbone``. Tasks (classifier, masked LM, causal LM, seq2seq) wrap it and derive ``padding_mask`` from their
    ``pad_id``; the backbone itself knows no token id.

    Inputs: a dict with ``token_ids`` int ``[batch, T]``, ``padding_mask`` bool ``[batch, T]`` (true for real
    tokens) and, when ``num_segments`` is set, ``segment_ids`` int ``[batch, T]``. Outputs: a dict with
    ``sequence_output`` ``[batch, T, d_model]`` and, with ``pooler``, ``pooled_output`` ``[batch, d_model]``
    (``tanh(dense(sequence_output[:, 0]))``, BERT's pooler over ``[CLS]``).

    Computation: ``token_embedding(ids) + position_embedding + segment_embedding(segment_ids)``, then
    ``embedding_norm``, embedding dropout, ``blocks`` (each given ``padding_mask``), ``final_norm``, ``pooler``;
    absent parts are ``None`` and skipped. With ``causal=True`` the blocks are ``TransformerDecoderBlock``s
    without cross-attention (GPT-style): position ``t`` attends to positions ``<= t`` only, and
    ``init_cache`` / ``call_with_cache`` decode one step at a time with a key/value cache. Otherwise they are
    ``TransformerEncoderBlock``s (bidirectional). Pre-LN (``norm_first``, the default) normalises before each
    sub-layer and ends with ``final_norm``; post-LN (BERT, the 2017 paper) normalises after each residual add.

    Attributes and weight layout (Keras kernels are ``[in, out]``: a PyTorch ``Linear.weight`` transposed):

    - ``token_embedding.embeddings``: ``[vocab_size, d_model]``.
    - ``position_embedding.embeddings``: ``[sequence_length, d_model]`` (``learned``); ``sinusoidal`` has no
      weights; ``position_embedding`` is ``None`` for ``rotary`` (the attention rotates queries and keys).
    - ``segment_embedding.embeddings``: ``[num_segments, d_model]`` (BERT's token-type table), or ``None``.
    - ``embedding_norm``: a ``LayerNormalization`` (``gamma``, ``beta``), or ``None``.
    - ``blocks``: the list of blocks. An encoder block has ``attention``, ``attention_norm``, ``feedforward``,
      ``feedforward_norm``; a causal block names its attention ``self_attention`` and its norm
      ``self_attention_norm``. In post-LN ``attention_norm`` follows the attention's residual add (BERT's
      ``attention.output.LayerNorm``) and ``feedforward_norm`` the feed-forward's (BERT's ``output.LayerNorm``).

      - ``attention.qkv_dense.kernel`` ``[d_model, 3 * num_heads * head_dim]`` and ``.bias``
        ``[3 * num_heads * head_dim]``: the fused query, key and value projections. Columns are ``q | k | v``
        and head-major within each: column ``p * num_heads * head_dim + h * head_dim + j`` is feature ``j`` of
        head ``h`` of part ``p`` (0 q, 1 k, 2 v), i.e. ``concat([Wq.T, Wk.T, Wv.T], axis=1)`` for PyTorch
        weights whose output features are laid out ``[heads, head_dim]`` as in BERT. ``head_dim`` is
        ``d_model // num_heads``.
      - ``attention.output_dense.kernel`` ``[num_heads * head_dim, d_model]`` (rows head-major) and ``.bias``.
      - ``feedforward.hidden.kernel`` ``[d_model, ff_dim]`` (+ bias, then ``activation``) and
        ``feedforward.projection.kernel`` ``[ff_dim, d_model]`` (+ bias).
      - ``attention_norm`` and ``feedforward_norm``: ``gamma``, ``beta`` of shape ``[d_model]``.
    - ``final_norm``: a ``LayerNormalization``, or ``None`` (defaults to present exactly when ``norm_first``).
    - ``pooler``: a ``Dense(d_model, tanh)`` with ``kernel`` ``[d_model, d_model]``, or ``None``.

    Args:
        vocab_size: Number of token ids.
        sequence_length: Longest sequence: the rows of a learned position table, the size of a decoding cache.
        num_layers: Number of blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Embedding and residual dropout.
        attention_dropout: Dropout on attention probabilities.
        activation: Feed-forward activation: ``relu``, ``gelu`` (exact, erf), ``gelu_tanh``, ``leaky_relu`` or
            ``swish``.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN blocks if true, post-LN if false.
        layer_norm_epsilon: Epsilon of every layer norm.
        num_segments: Rows of the segment (token-type) table; ``None`` for no segment input.
        embedding_norm: Layer-normalise the summed embeddings (BERT).
        final_norm: Layer-normalise the last block's output; ``None`` means ``norm_first``.
        pooler: Add the tanh pooler over the first token and the ``pooled_output`` output.
        causal: Causal (decoder-only) blocks with a key/value cache instead of bidirectional ones.
        skip_padding: Compute everything but the attention core (the blocks' projections, norms and
            feed-forward networks, the final norm) on the real tokens only, packed once after the embeddings
            and unpacked once after the final norm (see ``TransformerEncoderBlock``); padded positions of
            ``sequence_output`` are then zeros.
            ``None``: on where the backend allows it (TensorFlow). Not for causal backbones.
        dtype: Dtype policy of every layer; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Example:
        >>> backbone = Backbone(vocab_size=1000, sequence_length=64, num_layers=2, d_model=64, num_heads=4,
        ...                     ff_dim=128)
        >>> ids = np.array([[2, 57, 31, 0]])
        >>> tuple(backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"].shape)
        (1, 4, 64)
    """

    def __init__(self, vocab_size, sequence_length, *, num_layers=2, d_model=128, num_heads=4, ff_dim=256,
                 dropout=0.1, attention_dropout=0.0, activation="gelu", positional="learned", norm_first=True,
                 layer_norm_epsilon=1e-5, num_segments=None, embedding_norm=False, final_norm=None, pooler=False,
                 causal=False, skip_padding=None, dtype=None, **kwargs):
        check.positive_int("vocab_size", vocab_size)
        check.positive_int("sequence_length", sequence_length)
        check.positive_int("num_layers", num_layers)
        check.positive_int("num_segments", num_segments, allow_none=True)
        check.choice("positional", positional, POSITIONAL)
        dropout = dropout_rate("dropout", dropout)
        norm_first, embedding_norm, pooler, causal = (
            check.flag(name, value) for name, value in (("norm_first", norm_first), ("embedding_norm", embedding_norm),
                                                         ("pooler", pooler), ("causal", causal)))
        final_norm = norm_first if final_norm is None else check.flag("final_norm", final_norm)
        if causal and skip_padding:
            raise ValueError("`skip_padding` applies to encoder blocks; a causal backbone (causal=True) has none: "
                             "leave skip_padding None")

        # === Layers (attributes first: the graph below calls them) ===
        self.token_embedding = TokenEmbedding(vocab_size, d_model, dtype=dtype, name="token_embedding")
        self.position_embedding = None if positional == "rotary" else PositionEmbedding(
            sequence_length, d_model, positional, dtype=dtype, name="position_embedding")
        self.segment_embedding = keras.layers.Embedding(
            num_segments, d_model, embeddings_initializer="glorot_uniform", dtype=dtype,
            name="segment_embedding") if num_segments else None
        self.embedding_norm = LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="embedding_norm") if embedding_norm else None
        self.embedding_dropout = Dropout(dropout, dtype=dtype, name="embedding_dropout")
        block, options = (TransformerDecoderBlock, {}) if causal else (TransformerEncoderBlock,
                                                                          {"skip_padding": skip_padding})
        self.blocks = [
            block(d_model, num_heads, ff_dim, dropout=dropout, attention_dropout=attention_dropout,
                  activation=activation, norm_first=norm_first, layer_norm_epsilon=layer_norm_epsilon,
                  use_rotary=positional == "rotary", dtype=dtype, name=f"block_{i}", **options)
            for i in range(num_layers)
        ]
        self.final_norm = LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="final_norm") if final_norm else None
        self.pooler = keras.layers.Dense(d_model, activation="tanh", dtype=dtype, name="pooler") if pooler else None

        # === Functional graph ===
        inputs = {
            "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
            "padding_mask": keras.Input(shape=(None,), dtype="bool", name="padding_mask"),
        }
        if num_segments:
            inputs["segment_ids"] = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        mask = inputs["padding_mask"]
        x = self.embed(inputs["token_ids"], inputs.get("segment_ids"))
        # Skipping padding, the blocks and the final norm run on the real tokens' rows, packed once here.
        packs = not causal and self.blocks[0].packs_tokens
        if packs:
            x = PackTokens(name="pack_tokens")(x, mask)
        for layer in self.blocks:
            x = layer(x, mask=mask, packed=True) if packs else layer(x, mask=mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        if packs:
            x = UnpackTokens(name="unpack_tokens")(x, mask)
        outputs = {"sequence_output": x}
        if self.pooler is not None:
            outputs["pooled_output"] = self.pooler(x[:, 0, :])
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.d_model = d_model
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.positional = positional
        self.norm_first = norm_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.num_segments = num_segments
        self.causal = causal
        self.skip_padding = skip_padding

    @property
    def parts(self):
        """``{name: layer}`` of the parts with weights, in computation order (``blocks.<i>`` for the blocks)."""
        named = [(name, getattr(self, name)) for name in EMBEDDING_PARTS]
        named += [(f"blocks.{i}", block) for i, block in enumerate(self.blocks)]
        named += [("final_norm", self.final_norm), ("pooler", self.pooler)]
        return {name: layer for name, layer in named if layer is not None and layer.weights}

    def embed(self, token_ids, segment_ids=None, start_index=0, training=None):
        """The blocks' input for ``token_ids`` placed at ``start_index``: summed embeddings, norm, dropout.

        Segment ids default to 0 when the backbone has segments and none are given.
        """
        x = self.token_embedding(token_ids)
        if self.position_embedding is not None:
            x = x + self.position_embedding(token_ids, start_index=start_index)
        if self.segment_embedding is not None:
            x = x + self.segment_embedding(ops.zeros_like(token_ids) if segment_ids is None else segment_ids)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x)
        return self.embedding_dropout(x, training=training)

    def init_cache(self, batch_size, max_length=None):
        """Return empty key/value caches (one per block) for ``call_with_cache``; causal backbones only."""
        self._require_causal("init_cache")
        max_length = check.positive_int("max_length", self.sequence_length if max_length is None else max_length)
        return [block.init_cache(batch_size, max_length) for block in self.blocks]

    def call_with_cache(self, token_ids, cache, cache_update_index):
        """Run ids placed at ``cache_update_index`` through a causal backbone, reading and extending ``cache``.

        Args:
            token_ids: int ids ``[batch, T]`` of the new positions (no padding).
            cache: from ``init_cache`` or a previous call.
            cache_update_index: position of ``token_ids[:, 0]``.

        Returns:
            ``(sequence_output [batch, T, d_model], updated cache)``; equal to the uncached output at those
            positions.
        """
        self._require_causal("call_with_cache")
        x = self.embed(token_ids, start_index=cache_update_index, training=False)
        updated = []
        for block, block_cache in zip(self.blocks, cache):
            x, block_cache = block(x, self_attention_cache=block_cache, cache_update_index=cache_update_index,
                                   training=False)
            updated.append(block_cache)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return x, updated

    def _require_causal(self, method):
        if not self.causal:
            raise ValueError(f"backbone {self.name!r} is bidirectional: {method} needs a causal backbone "
                             "(causal=True)")

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size,
            "sequence_length": self.sequence_length,
            "num_layers": self.num_layers,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation": self.activation,
            "positional": self.positional,
            "norm_first": self.norm_first,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "num_segments": self.num_segments,
            "embedding_norm": self.embedding_norm is not None,
            "final_norm": self.final_norm is not None,
            "pooler": self.pooler is not None,
            "causal": self.causal,
            "skip_padding": self.skip_padding,
        })
        return config


def backbone_of(model):
    """Return ``model`` if it is a ``Backbone``, else its ``backbone`` attribute; a ValueError when it has none."""
    backbone = model if isinstance(model, Backbone) else getattr(model, "backbone", None)
    if not isinstance(backbone, Backbone):
        raise ValueError(f"model {model.name!r} has no zoo Backbone (build it with zoo.build_transformer, build_mlm, "
                         "build_lm or build_seq2seq)")
    return backbone


def transfer_backbone_weights(source, target):
    """Copy every weight of ``source``'s backbone into ``target``'s; all is checked before any weight is copied.

    The backbones must agree on ``COMPUTATION_KEYS`` (heads, activation, positions, norms, causality) and have
    the same parts and weight shapes.

    Args:
        source: A ``Backbone`` or a task with one (e.g. a ``MaskedLM`` from pretraining).
        target: A ``Backbone`` or a task with one (e.g. a ``TextClassifier``) with the same parts and sizes.

    Returns:
        The names of the copied parts (``Backbone.parts``).

    Example:
        >>> classifier = zoo.build_transformer(vocab_size=8000, sequence_length=128, num_classes=2)
        >>> transfer_backbone_weights(zoo.build_mlm(vocab_size=8000, sequence_length=128), classifier)
        ['token_embedding', 'position_embedding', 'blocks.0', 'blocks.1', 'final_norm']
    """
    donor, receiver = backbone_of(source), backbone_of(target)
    differ = [f"{key}: {getattr(donor, key)!r} in {source.name!r}, {getattr(receiver, key)!r} in {target.name!r}"
              for key in COMPUTATION_KEYS if getattr(donor, key) != getattr(receiver, key)]
    if differ:
        raise ValueError("the backbones compute differently (" + "; ".join(differ) + "): weights transfer only "
                         "between backbones built with the same " + ", ".join(COMPUTATION_KEYS))
    given, wanted = donor.parts, receiver.parts
    if list(given) != list(wanted):
        raise ValueError(f"the backbones differ in their parts: {source.name!r} has {list(given)}, {target.name!r} "
                         f"has {list(wanted)}")
    for name, layer in wanted.items():
        shapes = [tuple(w.shape) for w in given[name].weights], [tuple(w.shape) for w in layer.weights]
        if shapes[0] != shapes[1]:
            raise ValueError(
                f"backbone part {name!r} differs in shape between {source.name!r} {shapes[0]} and {target.name!r} "
                f"{shapes[1]}: the sizes ({', '.join(SIZE_KEYS)}) must match")
    for name, layer in wanted.items():
        layer.set_weights(given[name].get_weights())
    return list(wanted)
