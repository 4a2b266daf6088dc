"""Transformer layers written with ``keras.ops`` only: they run on every Keras backend."""
from zoo.layers.attention import MultiHeadAttention, combine_masks
from zoo.layers.decoder import TransformerDecoderBlock
from zoo.layers.dropout import Dropout
from zoo.layers.embedding import PositionEmbedding, TokenEmbedding, sinusoidal_table
from zoo.layers.encoder import TransformerEncoderBlock
from zoo.layers.feedforward import FeedForward
from zoo.layers.heads import ClassificationHead
from zoo.layers.normalization import LayerNormalization
from zoo.layers.packing import PackTokens, UnpackTokens
from zoo.layers.rotary import RotaryEmbedding

__all__ = [
    "ClassificationHead",
    "Dropout",
    "FeedForward",
    "LayerNormalization",
    "MultiHeadAttention",
    "PackTokens",
    "PositionEmbedding",
    "RotaryEmbedding",
    "TokenEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "UnpackTokens",
    "combine_masks",
    "sinusoidal_table",
]
