"""The "Attention Is All You Need" encoder-decoder: a backbone encodes the source, decoder blocks generate."""
import keras
from keras import ops

from zoo.layers import Dropout, LayerNormalization, PositionEmbedding, TokenEmbedding, TransformerDecoderBlock
from zoo.layers import _validation as check
from zoo.models.backbone import Backbone
from zoo.models.task import BackboneTask, check_backbone, check_pad_id, padding_mask


@keras.saving.register_keras_serializable(package="zoo")
class Seq2Seq(BackboneTask):
    """Encoder-decoder: the ``backbone`` encodes the source, decoder blocks attend to it and predict the target.

    With ``target_vocab_size=None`` source and target share the backbone's token and position embeddings (the
    backbone's ``sequence_length`` must then cover ``target_length``); otherwise the decoder has its own.
    ``tie_embeddings`` projects decoder states to logits with the target token table, else ``lm_head`` does.
    The decoder takes its sizes (``d_model``, heads, ``ff_dim``, activation, dropout, norms, positions) from
    the backbone.

    Takes ``{"encoder_ids": [batch, S], "decoder_ids": [batch, T]}`` (``pad_id`` is padding in both) and returns
    next-token logits ``[batch, T, target vocab]`` (float32).

    Args:
        backbone: A bidirectional ``zoo.models.Backbone`` without segments: the encoder.
        target_vocab_size: Target vocabulary size for a separate target vocabulary; ``None`` shares.
        target_length: Longest target sequence; defaults to the backbone's ``sequence_length``.
        num_decoder_layers: Decoder blocks; defaults to the backbone's ``num_layers``.
        tie_embeddings: Project decoder states with the target token table.
        pad_id: The tokenizer's padding id.
        dtype: Dtype policy of the task's own layers; ``None`` follows the global policy.
        **kwargs: ``name`` and other ``keras.Model`` arguments.

    Attributes:
        backbone: The encoder.
        decoder_token_embedding, decoder_position_embedding: The target embeddings (the backbone's own when
            shared; ``decoder_position_embedding`` is ``None`` for rotary positions).
        decoder_blocks: ``TransformerDecoderBlock``s with cross-attention.
        decoder_norm: The decoder's final norm (pre-LN), or ``None``.
        lm_head: The untied output projection, or ``None``.

    Example:
        >>> model = Seq2Seq(Backbone(vocab_size=1000, sequence_length=32))
        >>> tuple(model({"encoder_ids": np.array([[5, 6, 0]]), "decoder_ids": np.array([[2, 9]])}).shape)
        (1, 2, 1000)
    """

    def __init__(self, backbone, *, target_vocab_size=None, target_length=None, num_decoder_layers=None,
                 tie_embeddings=True, pad_id=0, dtype=None, **kwargs):
        self.backbone = check_backbone(backbone)
        if backbone.num_segments:
            raise ValueError(f"a seq2seq encoder takes no segments; backbone {backbone.name!r} has num_segments="
                             f"{backbone.num_segments}")
        shared = target_vocab_size is None
        tie_embeddings = check.flag("tie_embeddings", tie_embeddings)
        check.positive_int("target_vocab_size", target_vocab_size, allow_none=True)
        target_length = check.positive_int(
            "target_length", backbone.sequence_length if target_length is None else target_length)
        num_decoder_layers = check.positive_int(
            "num_decoder_layers", backbone.num_layers if num_decoder_layers is None else num_decoder_layers)
        if shared and target_length > backbone.sequence_length:
            raise ValueError(f"`target_length`={target_length} exceeds the shared embedding's sequence_length="
                             f"{backbone.sequence_length}: build the backbone with the longer length")
        self.pad_id = check_pad_id(
            pad_id, backbone.vocab_size if shared else min(backbone.vocab_size, target_vocab_size))
        if shared:
            self.decoder_token_embedding = backbone.token_embedding
            self.decoder_position_embedding = backbone.position_embedding
        else:
            self.decoder_token_embedding = TokenEmbedding(
                target_vocab_size, backbone.d_model, dtype=dtype, name="decoder_token_embedding")
            self.decoder_position_embedding = None if backbone.positional == "rotary" else PositionEmbedding(
                target_length, backbone.d_model, backbone.positional, dtype=dtype, name="decoder_position_embedding")
        self.decoder_embedding_dropout = Dropout(
            backbone.dropout, dtype=dtype, name="decoder_embedding_dropout")
        self.decoder_blocks = [
            TransformerDecoderBlock(
                backbone.d_model, backbone.num_heads, backbone.ff_dim, dropout=backbone.dropout,
                attention_dropout=backbone.attention_dropout, activation=backbone.activation,
                norm_first=backbone.norm_first, layer_norm_epsilon=backbone.layer_norm_epsilon,
                use_rotary=backbone.positional == "rotary", dtype=dtype, name=f"decoder_block_{i}")
            for i in range(num_decoder_layers)
        ]
        self.decoder_norm = LayerNormalization(
            epsilon=backbone.layer_norm_epsilon, dtype=dtype, name="decoder_norm") if backbone.norm_first else None
        self.lm_head = None if tie_embeddings else keras.layers.Dense(
            self.decoder_token_embedding.vocab_size, dtype="float32", name="lm_head")

        encoder_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_ids")
        decoder_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_ids")
        memory, memory_mask = self.encode(encoder_ids)
        logits = self.decode(decoder_ids, memory, memory_mask)
        super().__init__(inputs={"encoder_ids": encoder_ids, "decoder_ids": decoder_ids}, outputs=logits,
                         dtype=dtype, **kwargs)

        self.target_vocab_size = target_vocab_size
        self.target_length = target_length
        self.num_decoder_layers = num_decoder_layers
        self.tie_embeddings = tie_embeddings

    def encode(self, encoder_ids):
        """Return ``(memory [batch, S, d_model], memory padding mask [batch, S])`` of source ids (any array-like)."""
        # As a tensor: the backbone refuses a dict mixing a numpy array with the (tensor) mask derived from it.
        encoder_ids = ops.cast(encoder_ids, "int32")
        mask = padding_mask(encoder_ids, self.pad_id)
        return self.backbone({"token_ids": encoder_ids, "padding_mask": mask})["sequence_output"], mask

    def _embed_target(self, decoder_ids, start_index=0, training=None):
        x = self.decoder_token_embedding(decoder_ids)
        if self.decoder_position_embedding is not None:
            x = x + self.decoder_position_embedding(decoder_ids, start_index=start_index)
        return self.decoder_embedding_dropout(x, training=training)

    def _logits(self, x):
        if self.decoder_norm is not None:
            x = self.decoder_norm(x)
        return self.decoder_token_embedding(x, reverse=True) if self.lm_head is None else self.lm_head(x)

    def decode(self, decoder_ids, memory, memory_mask):
        """Return float32 logits ``[batch, T, target vocab]`` of target ids given the encoded source."""
        mask = padding_mask(decoder_ids, self.pad_id)
        x = self._embed_target(decoder_ids)
        for block in self.decoder_blocks:
            x = block(x, encoder_outputs=memory, mask=mask, encoder_mask=memory_mask)
        return self._logits(x)

    def init_cache(self, batch_size):
        """Return empty self-attention caches (one per decoder block, ``target_length`` positions)."""
        return [block.init_cache(batch_size, self.target_length) for block in self.decoder_blocks]

    def call_with_cache(self, decoder_ids, cache, cache_update_index, memory, memory_mask):
        """Return ``(float32 logits, updated cache)`` for target ids placed at ``cache_update_index``."""
        x = self._embed_target(decoder_ids, start_index=cache_update_index, training=False)
        updated = []
        for block, block_cache in zip(self.decoder_blocks, cache):
            x, block_cache = block(x, encoder_outputs=memory, encoder_mask=memory_mask,
                                   self_attention_cache=block_cache, cache_update_index=cache_update_index,
                                   training=False)
            updated.append(block_cache)
        return self._logits(x), updated

    def get_config(self):
        config = super().get_config()
        config.update({
            "target_vocab_size": self.target_vocab_size,
            "target_length": self.target_length,
            "num_decoder_layers": self.num_decoder_layers,
            "tie_embeddings": self.tie_embeddings,
        })
        return config


def build_seq2seq(vocab_size, sequence_length, *, target_vocab_size=None, target_length=None, num_layers=2,
                  num_decoder_layers=None, d_model=128, num_heads=4, ff_dim=256, dropout=0.1, activation="gelu",
                  positional="learned", norm_first=True, tie_embeddings=True, pad_id=0, name="transformer_seq2seq"):
    """Build the "Attention Is All You Need" encoder-decoder.

    With ``target_vocab_size=None`` source and target share one vocabulary and one embedding table; otherwise
    each side has its own. ``tie_embeddings`` makes the output projection the (target) embedding table.

    Args:
        vocab_size: Source vocabulary size (and target's, when shared).
        sequence_length: Longest source sequence.
        target_vocab_size: Target vocabulary size for separate vocabularies; ``None`` shares.
        target_length: Longest target sequence; defaults to ``sequence_length``.
        num_layers: Encoder blocks.
        num_decoder_layers: Decoder blocks; defaults to ``num_layers``.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        activation: Feed-forward activation.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN (with final layer norms) or post-LN.
        tie_embeddings: Project decoder states to logits with the target embedding table.
        pad_id: The tokenizer's padding id (in sources and targets).
        name: Model name.

    Returns:
        A ``Seq2Seq`` from ``{"encoder_ids": [batch, S], "decoder_ids": [batch, T]}`` to next-token logits
        ``[batch, T, target vocab]`` (float32).

    Example:
        >>> model = build_seq2seq(vocab_size=1000, sequence_length=32, target_vocab_size=500)
        >>> tuple(model({"encoder_ids": np.array([[5, 6, 0]]), "decoder_ids": np.array([[2, 9]])}).shape)
        (1, 2, 500)
    """
    check.positive_int("sequence_length", sequence_length)
    target_length = check.positive_int("target_length", sequence_length if target_length is None else target_length)
    # A shared embedding table serves both sides, so its positions cover the longer one.
    positions = max(sequence_length, target_length) if target_vocab_size is None else sequence_length
    backbone = Backbone(vocab_size, positions, num_layers=num_layers, d_model=d_model, num_heads=num_heads,
                        ff_dim=ff_dim, dropout=dropout, activation=activation, positional=positional,
                        norm_first=norm_first, name="backbone")
    return Seq2Seq(backbone, target_vocab_size=target_vocab_size, target_length=target_length,
                   num_decoder_layers=num_decoder_layers, tie_embeddings=tie_embeddings, pad_id=pad_id, name=name)
