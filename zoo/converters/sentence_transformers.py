"""How a sentence-transformers checkpoint turns token vectors into one sentence embedding.

A sentence-transformers folder (all-MiniLM-L6-v2's) says it in its own files: ``modules.json`` lists the
modules in order (a ``Transformer``, a ``Pooling``, perhaps a ``Normalize``), the pooling module's folder holds
``config.json`` with the ``pooling_mode_*`` flags, and ``sentence_bert_config.json`` the longest input
(``max_seq_length``). A plain BERT folder has none of them: its sentences are mean-pooled and not normalised,
sentence-transformers' own default for such a folder.
"""
import json
from pathlib import Path
from typing import NamedTuple

from zoo.converters.errors import UnsupportedCheckpointError

MODULES_FILE = "modules.json"
SETTINGS_FILE = "sentence_bert_config.json"
# sentence-transformers' pooling_mode_* flags zoo computes, and the name of each.
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                 "pooling_mode_max_tokens": "max"}


class SentencePooling(NamedTuple):
    """How a checkpoint's sentence embedding is made from its token vectors.

    Attributes:
        mode: ``mean`` (over the real tokens), ``cls`` (the first token's vector) or ``max`` (per dimension).
        normalize: Whether the embedding is scaled to unit L2 norm.
        max_seq_length: The most tokens a sentence is read with (``[CLS]`` and ``[SEP]`` included), or ``None``.
    """

    mode: str
    normalize: bool
    max_seq_length: object


def read_pooling(folder):
    """The ``SentencePooling`` of a checkpoint folder, from its sentence-transformers files (mean pooling, not
    normalised, no length of its own when it has none).

    Raises:
        UnsupportedCheckpointError: A pooling zoo does not compute (the file and the supported modes named), or
            a file that is not the JSON it should be.

    Example:
        >>> read_pooling("checkpoints/all-MiniLM-L6-v2")
        SentencePooling(mode='mean', normalize=True, max_seq_length=256)
    """
    folder = Path(folder)
    modules = _json(folder / MODULES_FILE, list) or []
    kinds = {str(module.get("type", "")).rsplit(".", 1)[-1]: module for module in modules if isinstance(module, dict)}
    mode = "mean"
    if "Pooling" in kinds:
        path = folder / str(kinds["Pooling"].get("path", "")) / "config.json"
        flags = _json(path, dict) or {}
        chosen = [name for name, on in flags.items() if name.startswith("pooling_mode_") and on is True]
        if len(chosen) != 1 or chosen[0] not in POOLING_MODES:
            raise UnsupportedCheckpointError(
                f"pooling {', '.join(chosen) or 'none'}: zoo computes one of {', '.join(POOLING_MODES)}", path=path)
        mode = POOLING_MODES[chosen[0]]
    settings = _json(folder / SETTINGS_FILE, dict) or {}
    return SentencePooling(mode, "Normalize" in kinds, settings.get("max_seq_length"))


def _json(path, kind):
    """The JSON ``kind`` in ``path``, or ``None`` when there is no such file."""
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnsupportedCheckpointError(f"not valid JSON ({error})", path=path) from None
    if not isinstance(value, kind):
        raise UnsupportedCheckpointError(f"holds a {type(value).__name__}, not a JSON "
                                         f"{'list' if kind is list else 'object'}", path=path)
    return value
