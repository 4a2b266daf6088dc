"""Attention maps and attention rollout for one text, as arrays (for notebooks) and PNG heat-maps."""
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from zoo.evaluation import plots
from zoo.evaluation.reports import OUT_DIR_FIX, earlier_output
from zoo.paths import check_output, output_errors

EXPLANATION_JSON = "explanation.json"
EXPLANATIONS_DIR = "explanations"  # a run's explanations go to <run_dir>/explanations/<text's folder> by default
LAYER_PNG = "attention_layer_{layer}.png"


@dataclasses.dataclass
class Explanation:
    """What a classifier attended to for one text.

    Attributes:
        text: the input text (the first of a sentence pair), as predicted: bytes that are not UTF-8 shown as U+FFFD.
        tokens: the ``n`` (sub)word tokens the model saw (padding excluded).
        token_ids: ``[n]`` their ids.
        attention: ``[layers, heads, n, n]`` attention probabilities (rows: queries, columns: keys).
        rollout: ``[n, n]`` attention rollout through all layers.
        importance: ``[n]`` per-token importance from the rollout (sums to 1).
        probabilities: ``[C]`` class probabilities.
        label: the predicted label.
        label_names: the class names.
        words: the ``w`` words: ``tokens`` with WordPiece continuations (``##ping``) merged into their word; a word
            or character tokenizer's ``[UNK]`` shown as the text's own word (or character) it stands for.
        word_attention: ``[layers, heads, w, w]`` attention between words (see :func:`merge_word_pieces`).
        word_importance: ``[w]`` per-word importance (sums to 1).
        text_pair: the second text of a sentence pair, or ``None``.
        truncated: the text (or pair) had more tokens than the model reads: ``tokens`` are those it read.
        marker_words: ``[w]`` which words are the tokenizer's ``[CLS]`` / ``[SEP]`` markers, not text.
        unknown_words: ``[w]`` which words the vocabulary lacks: the model read them as ``[UNK]``.
        predicted: the ids of the predicted labels: one, or for a multi-label model each in ``label`` (maybe none).
    """

    text: str
    tokens: list
    token_ids: np.ndarray
    attention: np.ndarray
    rollout: np.ndarray
    importance: np.ndarray
    probabilities: np.ndarray
    label: str
    label_names: list
    words: list
    word_attention: np.ndarray
    word_importance: np.ndarray
    text_pair: str = None
    truncated: bool = False
    marker_words: tuple = ()
    unknown_words: tuple = ()
    predicted: tuple = ()

    def most_attended(self, k=5):
        """Return the ``k`` words of the text with the most importance, ``[(word, importance)]``, highest first.

        The ``[CLS]`` / ``[SEP]`` markers are left out: BERT-style models send much of their attention there (a
        fine-tuned MiniLM gave them 0.83 of a sentence's importance), which says nothing about the text.

        Example:
            >>> e = Explanation("a film", ["[CLS]", "a", "film"], np.array([2, 5, 6]), np.zeros((1, 1, 3, 3)),
            ...                 np.eye(3), np.array([0.6, 0.1, 0.3]), np.array([0.2, 0.8]), "pos", ["neg", "pos"],
            ...                 ["[CLS]", "a", "film"], np.zeros((1, 1, 3, 3)), np.array([0.6, 0.1, 0.3]),
            ...                 marker_words=(True, False, False))
            >>> e.most_attended(2)
            [('film', 0.3), ('a', 0.1)]
        """
        markers = list(self.marker_words) or [False] * len(self.words)
        ranked = sorted(((float(w), word) for w, word, marker in zip(self.word_importance, self.words, markers)
                         if not marker), reverse=True)
        return [(word, weight) for weight, word in ranked[:k]]

    def to_dict(self):
        """Return the explanation as JSON-ready lists."""
        return {
            "text": self.text,
            "text_pair": self.text_pair,
            "truncated": self.truncated,
            "words": list(self.words),
            "marker_words": [bool(m) for m in self.marker_words],
            "unknown_words": [bool(u) for u in self.unknown_words],
            "word_importance": self.word_importance.tolist(),
            "word_attention": self.word_attention.tolist(),
            "tokens": list(self.tokens),
            "token_ids": self.token_ids.tolist(),
            "label": self.label,
            "probabilities": dict(zip(self.label_names, map(float, self.probabilities))),
            "importance": self.importance.tolist(),
            "rollout": self.rollout.tolist(),
            "attention": self.attention.tolist(),
        }


def attention_rollout(attention, *, residual=True):
    """Combine per-layer attention into token-to-token flow through the whole stack (Abnar & Zuidema, 2020).

    Heads are averaged; with ``residual`` the identity is mixed in (the skip connection carries as much
    as attention) and rows are renormalised; the layers' matrices are then multiplied, first layer last.

    Args:
        attention: ``[layers, heads, n, n]`` attention probabilities.
        residual: account for the residual connections.

    Returns:
        ``[n, n]`` row-stochastic matrix: how much each output position draws on each input token.

    Example:
        >>> attention_rollout(np.full((2, 4, 3, 3), 1 / 3))[0]
        array([0.5 , 0.25, 0.25])
    """
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 4 or attention.shape[2] != attention.shape[3]:
        raise ValueError(f"attention must be [layers, heads, n, n], got {list(attention.shape)}")
    n = attention.shape[-1]
    rollout = np.eye(n)
    for layer in attention:
        flow = layer.mean(axis=0)
        if residual:
            flow = 0.5 * flow + 0.5 * np.eye(n)
            flow = flow / flow.sum(axis=-1, keepdims=True)
        rollout = flow @ rollout
    return rollout


def token_importance(rollout, *, pooling="mean"):
    """Reduce a rollout matrix to one importance score per input token, summing to 1.

    Args:
        rollout: ``[n, n]`` from :func:`attention_rollout`.
        pooling: the classifier's pooling: ``cls`` and ``pooled`` (BERT's pooler, which reads the first
            position) read the first position's row; ``mean``, ``max`` and ``attention`` pooling average the rows
            of every position.

    Example:
        >>> token_importance(np.eye(2))
        array([0.5, 0.5])
    """
    from zoo.layers.heads import POOLING

    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {', '.join(POOLING)}, got {pooling!r}")
    rollout = np.asarray(rollout, dtype=np.float64)
    scores = rollout[0] if pooling in ("cls", "pooled") else rollout.mean(axis=0)
    return scores / scores.sum()


def word_spans(tokens, suffix="##"):
    """``[(start, end)]`` token ranges of the words: a token that starts with ``suffix`` continues the word before.

    Example:
        >>> word_spans(["[CLS]", "grip", "##ping", "film"])
        [(0, 1), (1, 3), (3, 4)]
    """
    spans = []
    for i, token in enumerate(tokens):
        if spans and token.startswith(suffix) and len(token) > len(suffix):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def merge_word_pieces(tokens, attention, importance, suffix="##"):
    """Merge WordPiece pieces back into words: word strings, word-to-word attention, word importance.

    As in Clark et al. (2019), "What Does BERT Look At?": attention to a word is the sum of the attention to
    its pieces and attention from a word the mean over its pieces, so every row still sums to 1; a word's
    importance is the sum of its pieces'.

    Args:
        tokens: the ``n`` token strings.
        attention: ``[..., n, n]`` attention probabilities (e.g. ``[layers, heads, n, n]``).
        importance: ``[..., n]`` per-token importance (or any per-token values a word sums over its pieces).
        suffix: the continuation marker (``##``); ``None`` leaves every token a word.

    Returns:
        ``(words, attention [..., w, w], importance [..., w])``.

    Example:
        >>> words, _, weights = merge_word_pieces(["grip", "##ping", "film"], np.full((3, 3), 1 / 3), np.ones(3) / 3)
        >>> words, weights.round(2)
        (['gripping', 'film'], array([0.67, 0.33]))
    """
    spans = word_spans(tokens, suffix) if suffix else [(i, i + 1) for i in range(len(tokens))]
    cut = len(suffix) if suffix else 0
    words = [tokens[start] + "".join(t[cut:] for t in tokens[start + 1:end]) for start, end in spans]
    to_words = np.zeros((len(tokens), len(spans)))
    for k, (start, end) in enumerate(spans):
        to_words[start:end, k] = 1.0
    from_words = to_words.T / to_words.sum(axis=0)[:, None]
    merged = from_words @ np.asarray(attention, dtype=np.float64) @ to_words
    return words, merged, np.asarray(importance, dtype=np.float64) @ to_words


def explain(model, tokenizer, label_names, text, *, text_pair=None, sequence_length=None, mode=None):
    """Run one text (or sentence pair) through the classifier and collect its attention maps and rollout.

    Args:
        model: a zoo Transformer classifier.
        tokenizer: its zoo tokenizer (cleaning and tokenisation exactly as served).
        label_names: class names in id order.
        text: the text to explain (the first text of a pair).
        text_pair: the second text, for a sentence-pair classifier.
        sequence_length: longest id sequence; defaults to the model's position range.
        mode: output mode; read from the model's head by default.

    Returns:
        An :class:`Explanation`.

    Example:
        >>> model, tokenizer, labels, _ = zoo.training.load_run("runs/reviews")
        >>> e = explain(model, tokenizer, labels, "a gripping and funny film")
        >>> e.label, e.tokens
        ('positive', ['a', 'gripping', 'and', 'funny', 'film'])
    """
    from zoo.export.predict import InMemoryPredictor, predicted_bytes
    from zoo.models import attention_maps

    # The first text is always explained (None reached TensorFlow as a tensor it could not convert); the second
    # only for a pair.
    for value in (text, *([] if text_pair is None else [text_pair])):
        if not isinstance(value, str):
            raise ValueError(f"text to explain must be a string, got {type(value).__name__}")
    pairs = text_pair is not None
    # Bytes that are not UTF-8 (a latin-1 command line, held as surrogates) go in as zoo predict sends them: the
    # graph replaces them by U+FFFD and flags them, and the explanation shows the text so replaced.
    first, second = (None if t is None else predicted_bytes(t) for t in (text, text_pair))
    predictor = InMemoryPredictor(model, tokenizer, label_names, sequence_length, mode=mode, pairs=pairs)
    ids, segment_ids = (np.asarray(x)[0] for x in predictor.graph.inputs_of([first], [second] if pairs else None))
    real = ids != tokenizer.pad_id
    ids, segment_ids = ids[real], segment_ids[real]
    markers = np.isin(ids, [tokenizer.special_ids.cls, tokenizer.special_ids.sep])
    if markers.all():  # [CLS] [SEP] of an empty text
        raise ValueError(f"text {text!r}{'' if text_pair is None else f' / {text_pair!r}'} has no tokens after "
                         "cleaning and tokenisation: nothing to explain; pass a text with words in it")
    segments = segment_ids[None, :] if model.num_segments else None
    attention = np.stack([m[0] for m in attention_maps(model, ids[None, :].astype(np.int32), segments)])
    rollout = attention_rollout(attention)
    importance = token_importance(rollout, pooling=model.head.pooling)
    predictions = predictor.predict([(first, second)] if pairs else [first])
    tokens = token_strings(tokenizer, ids)
    unknown = ids == tokenizer.unk_id
    # Merged as importance is (summed over a word's pieces): no piece continues a marker, so a word is one when
    # its first piece is; a word is unknown when any of its pieces is.
    shown = _shown_tokens(tokenizer, first.decode("utf-8", "replace"), tokens, unknown)
    words, word_attention, (word_importance, word_markers, word_unknown) = merge_word_pieces(
        shown, attention, np.stack([importance, markers, unknown]), getattr(tokenizer, "SUFFIX", None))
    return Explanation(
        text=first.decode("utf-8", "replace"),
        tokens=tokens,
        token_ids=ids,
        attention=attention,
        rollout=rollout,
        importance=importance,
        probabilities=predictions.probabilities[0],
        label=predictions.labels[0],
        label_names=list(predictor.label_names),
        words=words,
        word_attention=word_attention,
        word_importance=word_importance,
        text_pair=second.decode("utf-8", "replace") if pairs else None,
        truncated=bool(predictions.truncated[0]),
        marker_words=tuple(bool(m) for m in word_markers > 0),
        unknown_words=tuple(bool(u) for u in word_unknown > 0),
        predicted=tuple(int(i) for i in (np.flatnonzero(predictions.label_ids[0]) if predictions.mode == "multilabel"
                                         else predictions.label_ids[:1])),
    )


def _shown_tokens(tokenizer, text, tokens, unknown):
    """``tokens`` with each ``[UNK]`` of a word (or character) tokenizer replaced by the text's word it stands for.

    Such a tokenizer looks each string it splits the cleaned text into up, one id per string (after ``[CLS]``),
    so the strings line up with the ids the model read, cut where those end. Others (WordPiece) split a word
    into pieces the vocabulary has, and keep ``[UNK]``.
    """
    if not unknown.any() or not hasattr(tokenizer, "looked_up"):
        return tokens
    split = tokenizer.looked_up([text])[0].numpy()
    first = 1 if tokenizer.add_cls else 0
    return tokens[:first] + [piece.decode("utf-8", "replace") if unk else token
                             for token, piece, unk in zip(tokens[first:], split, unknown[first:])]


def token_strings(tokenizer, ids):
    """Return the vocabulary strings of ``ids``.

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word", 100).fit(["a good film", "a dull film"])
        >>> token_strings(tokenizer, [2, 5, 99])
        ['[CLS]', 'a', '<99>']
    """
    vocabulary = tokenizer.vocabulary
    return [vocabulary[i] if 0 <= i < len(vocabulary) else f"<{i}>" for i in np.asarray(ids).tolist()]


def _remove_earlier_heat_maps(out):
    """Remove the per-layer heat-maps of an earlier explanation in ``out``, as many as its ``explanation.json`` has
    layers: a deeper model's ``attention_layer_3.png`` would otherwise stay beside a shallower one's explanation."""
    layers = earlier_output(out / EXPLANATION_JSON).get("attention")
    for layer in range(len(layers) if isinstance(layers, list) else 0):
        (out / LAYER_PNG.format(layer=layer)).unlink(missing_ok=True)


def save_explanation(explanation, out_dir):
    """Write heat-maps per layer (one panel per head), the importance chart and ``explanation.json``.

    Args:
        explanation: from :func:`explain`.
        out_dir: directory to write into; an earlier explanation's heat-maps in it are replaced.

    Returns:
        ``{name: path}`` of the written files.

    Example:
        >>> model, tokenizer, labels, _ = zoo.training.load_run("runs/reviews")
        >>> save_explanation(explain(model, tokenizer, labels, "a moving film"), "explain")
        {'layer_0': PosixPath('explain/attention_layer_0.png'), 'importance': PosixPath('explain/importance.png'),
         'json': PosixPath('explain/explanation.json')}
    """
    out = Path(out_dir)
    files = {}
    with output_errors(out, OUT_DIR_FIX):
        out.mkdir(parents=True, exist_ok=True)
        _remove_earlier_heat_maps(out)
        with plots.undrawn_labels_reported(f"in the PNGs of {out}; {EXPLANATION_JSON} has them as written"):
            for layer, weights in enumerate(explanation.word_attention):
                files[f"layer_{layer}"] = plots.plot_attention_heads(
                    weights, explanation.words, out / LAYER_PNG.format(layer=layer),
                    title=f"Layer {layer} attention — predicted {explanation.label}",
                )
            files["importance"] = plots.plot_token_importance(
                explanation.words, explanation.word_importance, out / "importance.png",
                markers=explanation.marker_words or None)
        files["json"] = out / EXPLANATION_JSON
        files["json"].write_text(json.dumps(explanation.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
    return files


def explanation_dir(run_dir, text, text_pair=None):
    """The default folder of a text's explanation: ``<run_dir>/explanations/<its first words>-<hash>``, so that
    each text explained keeps its own heat-maps beside the run they explain.

    Example:
        >>> explanation_dir("runs/reviews", "A gripping, funny film!")
        PosixPath('runs/reviews/explanations/a-gripping-funny-film-9a15446c')
    """
    words = re.findall(r"\w+", text.lower())[:6]
    stem = "-".join(words)[:60].strip("-")
    key = text if text_pair is None else f"{text}\0{text_pair}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return Path(run_dir) / EXPLANATIONS_DIR / (f"{stem}-{digest}" if stem else digest)


def explain_run(run_dir, text, *, text_pair=None, out_dir=None):
    """Explain one prediction of a finished training run (``zoo explain RUN_DIR "text"``).

    Args:
        run_dir: a run directory written by ``zoo.train``.
        text: the text to explain (the first text of a pair).
        text_pair: the second text, required for (and only for) a sentence-pair run.
        out_dir: where to write the heat-maps (over words) and ``explanation.json``; ``None`` writes nothing.

    Returns:
        An :class:`Explanation`.

    Example:
        >>> explain_run("runs/reviews", "a gripping and funny film", out_dir="explain").label
        'positive'
    """
    from zoo.training.run import load_classifier_run

    if out_dir is not None:
        check_output(out_dir, OUT_DIR_FIX)  # before the model loads
    # Loading checks first that run_dir is a finished classification run: a typo gets that error, not a missing file's.
    model, tokenizer, label_names, config, pairs = load_classifier_run(run_dir, "be explained")
    if pairs != (text_pair is not None):
        wanted = "sentence pairs: give two texts" if pairs else "single texts: give one text"
        raise ValueError(f"run {run_dir} classifies {wanted}")
    explanation = explain(model, tokenizer, label_names, text, text_pair=text_pair,
                          sequence_length=config.data.sequence_length)
    if out_dir is not None:
        save_explanation(explanation, out_dir)
    return explanation
