"""Generative Transformers: encoder-decoder (seq2seq), decoder-only LM and masked-LM encoder."""
import keras
from keras import ops

from zoo.layers import TokenAndPositionEmbedding, TransformerDecoderBlock, TransformerEncoderBlock
from zoo.layers import _validation as check


def _embedding(vocab_size, sequence_length, d_model, positional, name):
    return TokenAndPositionEmbedding(
        vocab_size, sequence_length, d_model, positional="none" if positional == "rotary" else positional,
        mask_zero=True, name=name,
    )


def _blocks(block_cls, prefix, num_layers, d_model, num_heads, ff_dim, dropout, activation, norm_first,
            positional):
    return [
        block_cls(d_model, num_heads, ff_dim, dropout=dropout, activation=activation, norm_first=norm_first,
                  use_rotary=positional == "rotary", name=f"{prefix}_{i}")
        for i in range(num_layers)
    ]


def _check_common(vocab_size, sequence_length, num_layers, dropout):
    check.positive_int("vocab_size", vocab_size)
    check.positive_int("sequence_length", sequence_length)
    check.positive_int("num_layers", num_layers)
    check.rate("dropout", dropout)


def build_lm(vocab_size, sequence_length, *, num_layers=2, d_model=128, num_heads=4, ff_dim=256, dropout=0.1,
             activation="gelu", positional="learned", norm_first=True, name="transformer_lm"):
    """Build a GPT-style decoder-only causal language model with tied input/output embeddings.

    Args:
        vocab_size: Number of token ids (``0`` is padding).
        sequence_length: Longest sequence (prompt + generated tokens).
        num_layers: Decoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        activation: Feed-forward activation.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN (with a final layer norm) or post-LN.
        name: Model name.

    Returns:
        A ``keras.Model`` from ids ``[batch, T]`` to next-token logits ``[batch, T, vocab_size]`` (float32).

    Example:
        >>> lm = build_lm(vocab_size=8000, sequence_length=128)
    """
    _check_common(vocab_size, sequence_length, num_layers, dropout)
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    embedding = _embedding(vocab_size, sequence_length, d_model, positional, "embedding")
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(embedding(ids))
    for block in _blocks(TransformerDecoderBlock, "decoder", num_layers, d_model, num_heads, ff_dim, dropout,
                         activation, norm_first, positional):
        x = block(x)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    return keras.Model(ids, embedding(x, reverse=True), name=name)


def build_mlm(vocab_size, sequence_length, *, num_layers=2, d_model=128, num_heads=4, ff_dim=256, dropout=0.1,
              activation="gelu", positional="learned", norm_first=True, name="transformer_mlm"):
    """Build a BERT-style encoder with a masked-language-model head (tied output embeddings).

    Its encoder layers (``embedding``, ``encoder_<i>``, ``final_norm``) carry the same names and shapes as
    ``build_transformer``'s, so ``transfer_encoder_weights`` can start a classifier from it.

    Args:
        vocab_size: Number of token ids (``0`` is padding).
        sequence_length: Longest input.
        num_layers: Encoder blocks.
        d_model: Hidden size.
        num_heads: Attention heads; must divide ``d_model``.
        ff_dim: Feed-forward hidden size.
        dropout: Residual and embedding dropout.
        activation: Feed-forward activation.
        positional: ``learned``, ``sinusoidal`` or ``rotary``.
        norm_first: Pre-LN (with a final layer norm) or post-LN.
        name: Model name.

    Returns:
        A ``keras.Model`` from ``{"token_ids": [batch, T], "mask_positions": [batch, P]}`` to vocabulary logits
        ``[batch, P, vocab_size]`` (float32) at the given positions. As in BERT, only the predicted positions
        go through the vocabulary projection: with 15% of the tokens masked that is most of a step's compute
        saved. Pass ``mask_positions = [[0, 1, ..., T - 1]] * batch`` for logits at every position.

    Example:
        >>> mlm = build_mlm(vocab_size=8000, sequence_length=128)
        >>> logits = mlm({"token_ids": ids, "mask_positions": positions})
    """
    _check_common(vocab_size, sequence_length, num_layers, dropout)
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    positions = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
    embedding = _embedding(vocab_size, sequence_length, d_model, positional, "embedding")
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(embedding(ids))
    for block in _blocks(TransformerEncoderBlock, "encoder", num_layers, d_model, num_heads, ff_dim, dropout,
                         activation, norm_first, positional):
        x = block(x)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    index = ops.repeat(ops.expand_dims(positions, -1), d_model, axis=-1)
    x = ops.take_along_axis(x, index, axis=1)
    x = keras.layers.Dense(d_model, activation="gelu", name="mlm_dense")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="mlm_norm")(x)
    return keras.Model({"token_ids": ids, "mask_positions": positions}, embedding(x, reverse=True), name=name)


def build_seq2seq(vocab_size, sequence_length, *, target_vocab_size=None, target_length=None, num_layers=2,
                  num_decoder_layers=None, d_model=128, num_heads=4, ff_dim=256, dropout=0.1, activation="gelu",
                  positional="learned", norm_first=True, tie_embeddings=True, name="transformer_seq2seq"):
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
        name: Model name.

    Returns:
        A ``keras.Model`` from ``{"encoder_ids": [batch, S], "decoder_ids": [batch, T]}`` to next-token logits
        ``[batch, T, target vocab]`` (float32). Both id inputs use ``0`` for padding.

    Example:
        >>> model = build_seq2seq(vocab_size=1000, sequence_length=32)
    """
    _check_common(vocab_size, sequence_length, num_layers, dropout)
    target_length = check.positive_int("target_length", target_length or sequence_length)
    num_decoder_layers = check.positive_int("num_decoder_layers", num_decoder_layers or num_layers)
    shared = target_vocab_size is None
    target_vocab_size = check.positive_int("target_vocab_size", target_vocab_size or vocab_size)

    encoder_ids = keras.Input(shape=(None,), dtype="int32", name="encoder_ids")
    decoder_ids = keras.Input(shape=(None,), dtype="int32", name="decoder_ids")
    if shared:
        source_embedding = target_embedding = _embedding(
            vocab_size, max(sequence_length, target_length), d_model, positional, "embedding")
    else:
        source_embedding = _embedding(vocab_size, sequence_length, d_model, positional, "encoder_embedding")
        target_embedding = _embedding(target_vocab_size, target_length, d_model, positional, "decoder_embedding")

    x = keras.layers.Dropout(dropout, name="encoder_embedding_dropout")(source_embedding(encoder_ids))
    for block in _blocks(TransformerEncoderBlock, "encoder", num_layers, d_model, num_heads, ff_dim, dropout,
                         activation, norm_first, positional):
        x = block(x)
    if norm_first:
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")(x)
    memory = x
    encoder_mask = ops.not_equal(encoder_ids, 0)

    y = keras.layers.Dropout(dropout, name="decoder_embedding_dropout")(target_embedding(decoder_ids))
    for block in _blocks(TransformerDecoderBlock, "decoder", num_decoder_layers, d_model, num_heads, ff_dim,
                         dropout, activation, norm_first, positional):
        y = block(y, encoder_outputs=memory, encoder_mask=encoder_mask)
    if norm_first:
        y = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")(y)
    if tie_embeddings:
        logits = target_embedding(y, reverse=True)
    else:
        logits = keras.layers.Dense(target_vocab_size, dtype="float32", name="lm_head")(y)
    return keras.Model({"encoder_ids": encoder_ids, "decoder_ids": decoder_ids}, logits, name=name)


ENCODER_LAYER_PREFIXES = ("embedding", "encoder_", "final_norm")


def transfer_encoder_weights(source, target, freeze=False):
    """Copy the encoder (embedding, encoder blocks, final norm) of ``source`` into ``target`` by layer name.

    Args:
        source: A model from ``build_mlm`` or ``build_transformer``.
        target: A model from ``build_transformer`` with the same encoder sizes.
        freeze: Make the copied layers non-trainable.

    Returns:
        The names of the copied layers.

    Example:
        >>> classifier = build_transformer(vocab_size=8000, sequence_length=128, num_classes=2)
        >>> transfer_encoder_weights(build_mlm(vocab_size=8000, sequence_length=128), classifier)
        ['embedding', 'encoder_0', 'encoder_1', 'final_norm']
    """
    copied = []
    for layer in target.layers:
        if not layer.weights or not layer.name.startswith(ENCODER_LAYER_PREFIXES):
            continue
        try:
            donor = source.get_layer(layer.name)
        except ValueError:
            raise ValueError(f"source model {source.name!r} has no layer {layer.name!r} to copy") from None
        shapes = [tuple(w.shape) for w in donor.weights], [tuple(w.shape) for w in layer.weights]
        if shapes[0] != shapes[1]:
            raise ValueError(
                f"layer {layer.name!r} differs in shape between source {shapes[0]} and target {shapes[1]}: "
                "the encoder sizes (vocab_size, d_model, ff_dim, sequence_length) must match"
            )
        layer.set_weights(donor.get_weights())
        if freeze:
            layer.trainable = False
        copied.append(layer.name)
    if not copied:
        raise ValueError(f"target model {target.name!r} has no encoder layers to receive weights")
    return copied
