"""Export a trained classifier (or an lm or seq2seq model) as a SavedModel that takes raw strings, in TF Serving's
layout.

Signatures:
    ``serving_default`` (alias of ``serve_text``): ``texts: tf.string [None]`` →
        ``probabilities: float32 [None, C]``, ``label_id: int64 [None]`` (a multi-label model's: ``label_ids:
        int64 [None, C]``, multi-hot), ``label: string [None]``,
        ``empty_input: bool [None]`` (nothing left after cleaning: the answer for empty input; for a sentence
        pair, nothing left of either text),
        ``replaced_bytes: bool [None]`` (invalid UTF-8 bytes were replaced by U+FFFD before predicting) and
        ``truncated: bool [None]`` (the text had more tokens than ``sequence_length`` and was cut to it).
    ``serve_token_ids``: ``token_ids: int32 [None, None]`` (padded with ``pad_id`` of ``zoo_export.json``) → the
        same outputs.
A sentence-pair classifier's ``serving_default`` (alias of ``serve_text_pairs``) takes two inputs,
``text_a`` and ``text_b: tf.string [None]``, and its ``serve_token_ids`` takes ``segment_ids`` too. An lm or
seq2seq export's only signature, ``serving_default`` (alias of ``serve_text``), takes ``texts`` and returns the
text it generates greedily, flagged ``context_full`` where the model's positions cut it short
(``zoo.export.generative``).

How bad input is answered (and which errors a wrong rank gives) is in ``zoo.export.serving``.

Next to the graph, ``assets.extra/`` (the directory TF Serving reserves for such files) holds
``zoo_export.json`` (what was exported, which ops it needs), ``labels.txt``, ``zoo_config.json``,
``model.json`` (how to rebuild the model) and the tokenizer's own files (``tokenizer/``).

A graph whose tokenizer uses tensorflow-text ops (WordPiece, SentencePiece, Unicode normalisation) loads
only in a process that ran ``import tensorflow_text`` first, so stock TF Serving cannot load it;
``zoo_export.json`` lists such ops under ``custom_ops``. A ``word_core`` tokenizer (word split and
lookup, no Unicode normalisation) exports with core TensorFlow ops only.
"""
import dataclasses
import json
from pathlib import Path

import keras
import tensorflow as tf

import zoo
from zoo.data.labeled import save_label_names
from zoo.export import versions
from zoo.export.serving import ServingGraph, label_id_output
from zoo.paths import output_errors

META_FILE = "zoo_export.json"
CONFIG_FILE = "zoo_config.json"
MODEL_FILE = "model.json"
TOKENIZER_DIR = "tokenizer"
EXTRA_DIR = "assets.extra"
IDS_SIGNATURE = "serve_token_ids"
# Raised when what an export holds changes (3: the truncated output; 4: a multi-label model's label_ids; 5: an lm or
# seq2seq export's context_full).
FORMAT_VERSION = 5
# The class ids a classifier's signatures return, by name (zoo.export.serving.label_id_output).
ID_OUTPUTS = {"label_id": "int64 [None]", "label_ids": "int64 [None, C]"}


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where an export went and what it holds."""

    path: Path
    version: int
    metadata: dict


def _config_dict(config):
    if config is None or isinstance(config, dict):
        return config
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    raise TypeError(f"config must be a dict, a dataclass or have to_dict(), got {type(config).__name__}")


def custom_ops(path):
    """Return the op types in a SavedModel that are not part of core TensorFlow, sorted.

    An empty list means stock TensorFlow (and TF Serving) can load the model without tensorflow-text.

    Args:
        path: a SavedModel directory.

    Example:
        >>> custom_ops("saved_models/reviews/1")
        ['NormalizeUTF8']
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    used, functions = set(), set()
    for meta_graph in proto.meta_graphs:
        used.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            functions.add(function.signature.name)
            used.update(node.op for node in function.node_def)
    # tf.raw_ops lists every op compiled into core TensorFlow; graph functions appear as ops too.
    core = set(dir(tf.raw_ops))
    return sorted(op for op in used if op not in core and op not in functions)


def export_model(model, tokenizer, label_names, config=None, *, out=None, name=None, sequence_length=None,
                 mode=None, model_spec=None, pairs=False, threshold=None):
    """Export ``model`` with its tokenizer and labels as a raw-string SavedModel.

    Args:
        model: a built zoo classifier (int32 ids → logits).
        tokenizer: the zoo tokenizer the model was trained with (cleaning included).
        label_names: class names in id order.
        config: the zoo config of the run (a config object or dict), stored for reproduction.
        out: destination; see :func:`zoo.export.versions.resolve_export_dir`.
        name: model name for ``saved_models/<name>/``; defaults to the model's name.
        sequence_length: longest id sequence fed to the model; defaults to the model's position range.
        mode: ``multiclass``, ``binary`` or ``multilabel``; read from the model's head by default.
        model_spec: how to rebuild the model (a run's ``model.json``: registry name and builder
            arguments); defaults to the model's Keras serialisation.
        pairs: the model classifies sentence pairs: ``serving_default`` takes ``text_a`` and ``text_b``.
        threshold: the decision threshold the export's ``label`` and ``label_id`` (``label_ids``) follow
            (``ServingGraph``);
            recorded in ``zoo_export.json``.

    Returns:
        An :class:`ExportResult`.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word_core", 100).fit(["a gripping film", "a dull film"])
        >>> model = zoo.build("transformer-tiny", vocab_size=tokenizer.vocab_size, sequence_length=16, num_classes=2)
        >>> result = export_model(model, tokenizer, ["negative", "positive"], name="demo")
        >>> result.path, result.metadata["custom_ops"]
        (PosixPath('saved_models/demo/1'), [])
    """
    graph = ServingGraph(model, tokenizer, label_names, sequence_length, mode=mode, pairs=pairs, threshold=threshold)
    return _save(graph, model, tokenizer, config, out, name, model_spec, {
        "task": "classification", "mode": graph.mode, "label_names": graph.label_names, "threshold": graph.threshold,
        "sequence_length": graph.sequence_length, "vocab_size": graph.vocab_size, "pad_id": graph.pad_id,
        "pairs": graph.pairs, "signatures": _signatures(graph)})


def export_generator(model, tokenizer, task, sequence_length, config=None, *, out=None, name=None,
                     max_new_tokens=None, model_spec=None):
    """Export an lm or seq2seq model as a SavedModel that generates text from raw strings, greedily.

    Its ``serving_default`` takes ``texts: tf.string [None]`` and returns ``generated: string [None]`` with the
    ``empty_input``, ``replaced_bytes``, ``truncated`` and ``context_full`` flags (``zoo.export.generative``).

    Args:
        model: a built zoo ``CausalLM`` or ``Seq2Seq``.
        tokenizer: the zoo tokenizer the model was trained with (cleaning included).
        task: ``"lm"`` or ``"seq2seq"``.
        sequence_length: the run's ``data.sequence_length``.
        config: the zoo config of the run, stored for reproduction.
        out: destination; see :func:`zoo.export.versions.resolve_export_dir`.
        name: model name for ``saved_models/<name>/``; defaults to the model's name.
        max_new_tokens: most tokens generated per text (default ``sequence_length``).
        model_spec: how to rebuild the model (a run's ``model.json``).

    Returns:
        An :class:`ExportResult`.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word_core", 100).fit(["a gripping film", "a dull film"])
        >>> lm = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=16)
        >>> result = export_generator(lm, tokenizer, "lm", 16, name="film-lm", max_new_tokens=8)
        >>> result.path, result.metadata["task"], result.metadata["max_new_tokens"]
        (PosixPath('saved_models/film-lm/1'), 'lm', 8)
    """
    from zoo.export.generative import OUTPUTS as GENERATED, GenerativeServingGraph

    graph = GenerativeServingGraph(model, tokenizer, task, sequence_length, max_new_tokens)
    signatures = {"serving_default": {"inputs": {"texts": "string [None]"}, "outputs": GENERATED,
                                      "alias_of": "serve_text"}}
    return _save(graph, model, tokenizer, config, out, name, model_spec, {
        "task": task, "method": "greedy", "max_new_tokens": graph.max_new_tokens, "label_names": [],
        "sequence_length": graph.sequence_length, "vocab_size": tokenizer.vocab_size, "pad_id": graph.pad_id,
        "pairs": False, "signatures": signatures})


def export_embedder(checkpoint, *, out=None, name=None, sequence_length=None):
    """Export a checkpoint folder as a SavedModel that embeds raw strings (``zoo export CHECKPOINT``).

    Its ``serving_default`` takes ``texts: tf.string [None]`` and returns ``embedding: float32 [None, d]``, pooled
    as the checkpoint's sentence-transformers files say, with the ``empty_input``, ``replaced_bytes`` and
    ``truncated`` flags (``zoo.export.embed``).

    Args:
        checkpoint: A BERT checkpoint folder (Hugging Face or keras-hub).
        out: destination; see :func:`zoo.export.versions.resolve_export_dir`.
        name: model name for ``saved_models/<name>/``; defaults to the folder's name.
        sequence_length: most tokens per text (default: the checkpoint's ``max_seq_length``).

    Returns:
        An :class:`ExportResult`.

    Example:
        >>> result = export_embedder("checkpoints/all-MiniLM-L6-v2")
        >>> result.path, result.metadata["task"], result.metadata["dimensions"]
        (PosixPath('saved_models/all-MiniLM-L6-v2/1'), 'embedding', 384)
    """
    from zoo.export.embed import OUTPUTS as EMBEDDED, TASK, embedding_graph

    path, _ = versions.resolve_export_dir(out, name=Path(checkpoint).resolve().name if name is None else name)
    graph = embedding_graph(checkpoint, sequence_length)
    pooling = graph.pooling
    signatures = {"serving_default": {"inputs": {"texts": "string [None]"}, "outputs": EMBEDDED,
                                      "alias_of": "serve_text"}}
    return _save(graph, graph.backbone, graph.tokenizer, None, path, None, None, {
        "task": TASK, "checkpoint": str(checkpoint), "dimensions": graph.dimensions,
        "pooling": {"mode": pooling.mode, "normalize": pooling.normalize}, "label_names": [],
        "sequence_length": graph.sequence_length, "vocab_size": graph.tokenizer.vocab_size,
        "pad_id": graph.tokenizer.pad_id, "pairs": False, "signatures": signatures})


def _save(graph, model, tokenizer, config, out, name, model_spec, fields):
    """Save ``graph``'s endpoints as a SavedModel with its ``assets.extra`` files; ``fields`` go into
    ``zoo_export.json`` after the name and version."""
    path, version = versions.resolve_export_dir(out, name=name or model.name)
    _check_like_newest(path, fields)

    # As Model Garden's serving modules: the signatures are the graph's concrete functions, traced once (Keras'
    # ExportArchive traced each endpoint twice), and a tf.Module tracks what they read: the tokenizer's tables and
    # the variables they capture. The model itself is not tracked: saving would trace each of its layers' calls
    # too, for nothing the signatures use.
    signatures = {name: fn.get_concrete_function() for name, fn in graph.endpoints().items()}
    module = tf.Module()
    module.tokenizer = tokenizer
    module.model_variables = list({v.ref(): v for fn in signatures.values() for v in fn.variables}.values())
    signatures["serving_default"] = next(iter(signatures.values()))

    # The partial export is a sibling of the version folder: an OSError anywhere in the model's folder is about out.
    with output_errors(path.parent, versions.EXPORT_FIX), versions.atomic_directory(path) as tmp:
        tf.saved_model.save(module, str(tmp), signatures=signatures)
        extra = tmp / EXTRA_DIR
        extra.mkdir()
        # As a run stores them: a name holding a line break or edge spaces would not read back from labels.txt.
        save_label_names(extra, fields["label_names"])
        config_dict = _config_dict(config)
        if config_dict is not None:
            (extra / CONFIG_FILE).write_text(json.dumps(config_dict, indent=2, default=str) + "\n", encoding="utf-8")
        tokenizer.save(extra / TOKENIZER_DIR)
        spec = model_spec if model_spec is not None else {"keras": keras.saving.serialize_keras_object(model)}
        (extra / MODEL_FILE).write_text(json.dumps(spec, indent=2, default=str) + "\n", encoding="utf-8")
        needed = custom_ops(tmp)
        metadata = {
            "format_version": FORMAT_VERSION,
            "name": path.parent.name,
            "version": version,
            "model_name": model.name,
            **fields,
            "custom_ops": needed,
            "requires_tensorflow_text": bool(needed),
            "tokenizer": type(tokenizer).__name__,
            "zoo_version": zoo.__version__,
            "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__,
        }
        (extra / META_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return ExportResult(path=path, version=version, metadata=metadata)


def served(metadata):
    """What clients of an export rely on, from its ``zoo_export.json``: its task, its ``serving_default``'s inputs
    and its label names.

    Example:
        >>> served(read_metadata("saved_models/reviews/1"))
        {'task': 'classification', 'inputs': ['texts'], 'label_names': ['negative', 'positive']}
    """
    inputs = metadata.get("signatures", {}).get("serving_default", {}).get("inputs", {})
    return {"task": metadata.get("task", "classification"), "inputs": list(inputs),
            "label_names": list(metadata.get("label_names", []))}


def _check_like_newest(path, fields):
    """Raise ``ExportPathError`` unless the new version ``path``, exported with ``fields``, serves what the newest
    version beside it serves (``served``): TF Serving would switch its clients to it without a word."""
    base = path.parent
    newest = next((base / str(v) for v in reversed(versions.versions(base))
                   if (base / str(v) / EXTRA_DIR / META_FILE).is_file()), None)
    if newest is None:
        return
    old, new = served(read_metadata(newest)), served(fields)
    changed = [f"{key} {new[key]} ({newest.name}: {old[key]})" for key in old if old[key] != new[key]]
    if changed:
        raise versions.ExportPathError(
            f"export destination {path} would serve another model than {newest}, the newest version of {base}: "
            f"{'; '.join(changed)}; TF Serving serves the newest version, so its clients would switch without a "
            f"word: set out (--out) or name (--name) to another model directory, or remove the old versions from "
            f"{base}")


def classifier_outputs(mode):
    """The outputs of a ``mode`` classifier's signatures, as ``zoo_export.json`` lists them.

    Example:
        >>> list(classifier_outputs("multilabel"))
        ['probabilities', 'label_ids', 'label', 'empty_input', 'replaced_bytes', 'truncated']
    """
    ids = label_id_output(mode)
    return {"probabilities": "float32 [None, C]", ids: ID_OUTPUTS[ids], "label": "string [None]",
            "empty_input": "bool [None]", "replaced_bytes": "bool [None]", "truncated": "bool [None]"}


def _signatures(graph):
    """The ``signatures`` entry of ``zoo_export.json``: each signature's inputs and outputs."""
    texts, ids = list(graph.endpoints())
    outputs = classifier_outputs(graph.mode)
    ids_inputs = {"token_ids": "int32 [None, None]"}
    if graph.pairs:
        text_inputs = {"text_a": "string [None]", "text_b": "string [None]"}
        ids_inputs["segment_ids"] = "int32 [None, None]"
    else:
        text_inputs = {"texts": "string [None]"}
    return {"serving_default": {"inputs": text_inputs, "outputs": outputs, "alias_of": texts},
            ids: {"inputs": ids_inputs, "outputs": outputs}}


def read_run_config(path):
    """Return the run ``Config`` an exported SavedModel was made from (its ``zoo_config.json``), or ``None`` for
    an export made without one (``export_model`` and ``export_generator`` called without ``config``).

    Example:
        >>> read_run_config("saved_models/reviews/1").model.name
        'transformer-tiny'
    """
    from zoo.config import Config

    saved = Path(path) / EXTRA_DIR / CONFIG_FILE
    return Config.from_dict(json.loads(saved.read_text(encoding="utf-8"))) if saved.is_file() else None


def read_metadata(path):
    """Return the ``zoo_export.json`` of an exported SavedModel.

    Args:
        path: a SavedModel version directory.

    Example:
        >>> meta = read_metadata("saved_models/reviews/1")
        >>> meta["label_names"], meta["requires_tensorflow_text"]
        (['negative', 'positive'], True)
    """
    meta = Path(path) / EXTRA_DIR / META_FILE
    if not meta.is_file():
        raise FileNotFoundError(f"{path} is not a zoo export: {meta} is missing")
    return json.loads(meta.read_text(encoding="utf-8"))


def export_run(run_dir, *, out=None, name=None, max_new_tokens=None, threshold=None, sequence_length=None):
    """Export a finished training run (``zoo export RUN_DIR``): a classifier, or an lm or seq2seq run that
    generates (``export_generator``); a pretrained checkpoint folder exports as a sentence embedder
    (``export_embedder``).

    Args:
        run_dir: a run directory written by ``zoo.train``.
        out: destination; see :func:`zoo.export.versions.resolve_export_dir`.
        name: model name for ``saved_models/<name>/``; defaults to the run directory's name.
        max_new_tokens: an lm or seq2seq run's most tokens generated per text (default its ``sequence_length``).
        threshold: a classifier's decision threshold (``export_model``): two classes, the second class's
            probability from which it is the label; multi-label, each label's.
        sequence_length: a checkpoint folder's most tokens per text (``export_embedder``); a run exports with
            its ``data.sequence_length``.

    Returns:
        An :class:`ExportResult`.

    Example:
        >>> export_run("runs/reviews").path
        PosixPath('saved_models/reviews/2')
    """
    from zoo.converters import is_checkpoint_folder
    from zoo.export.generative import GENERATIVE_TASKS
    from zoo.training.run import load_classifier_run, load_run, read_model_spec, run_task

    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    # The destination is resolved (and checked) before the model loads; the export functions then take it as
    # given. ``is None``, not ``or``: an empty --name is a mistake to report, not a request for the default name.
    path, _ = versions.resolve_export_dir(out, name=run_dir.resolve().name if name is None else name)
    if path.resolve().is_relative_to(run_dir.resolve()):
        # Its numbered folders would mix with the run's own files (and a checkpoint folder's), and be read as them.
        raise ValueError(f"export destination {path} is inside the run directory {run_dir}; set out (--out) to a "
                         "directory outside it (default: saved_models/NAME)")
    if is_checkpoint_folder(run_dir):
        if max_new_tokens is not None:
            raise ValueError(f"max_new_tokens (--max-new-tokens) applies to lm and seq2seq runs; {run_dir} is a "
                             "checkpoint folder, which exports as a sentence embedder")
        if threshold is not None:
            raise ValueError(f"threshold (--threshold) applies to classifier runs; {run_dir} is a checkpoint folder, "
                             "which exports as a sentence embedder")
        return export_embedder(run_dir, out=path, sequence_length=sequence_length)
    if sequence_length is not None:
        raise ValueError(f"sequence_length (--sequence-length) applies to checkpoint folders, which export as sentence "
                         f"embedders; {run_dir} is not one (a run exports with its data.sequence_length)")
    task = run_task(run_dir)
    generates = task in GENERATIVE_TASKS
    if task == "mlm":
        raise ValueError(f"{run_dir} is an mlm run (a masked-LM encoder): classifier, lm and seq2seq runs export; "
                         f"`zoo train --pretrained {run_dir}` trains a classifier from its encoder, and that run "
                         "exports")
    if max_new_tokens is not None and not generates:
        raise ValueError(f"max_new_tokens (--max-new-tokens) applies to lm and seq2seq runs; {run_dir} is a "
                         f"{task or 'classification'} run")
    if threshold is not None and generates:
        article = "an" if task == "lm" else "a"
        raise ValueError(f"threshold (--threshold) applies to classifier runs; {run_dir} is {article} {task} run")
    if generates:
        model, tokenizer, _, config = load_run(run_dir)
        return export_generator(model, tokenizer, task, config.data.sequence_length, config, out=path,
                                max_new_tokens=max_new_tokens, model_spec=read_model_spec(run_dir))
    model, tokenizer, label_names, config, pairs = load_classifier_run(run_dir, "be exported")
    return export_model(model, tokenizer, label_names, config, out=path, sequence_length=config.data.sequence_length,
                        model_spec=read_model_spec(run_dir), pairs=pairs, threshold=threshold)
