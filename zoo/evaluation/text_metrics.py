"""Scores for generated text: corpus BLEU (sacrebleu), ROUGE (rouge-score), exact match and perplexity."""
import math
import re

import sacrebleu
from rouge_score import rouge_scorer

from zoo.evaluation.metrics import MetricsInputError
from zoo.training import objectives

DEFAULT_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_ROUGE_TYPE_RE = re.compile(r"rouge[1-9]|rougeL|rougeLsum")


class TextMetricsInputError(MetricsInputError):
    """Texts or counts given to a generated-text metric are malformed."""


class WhitespaceTokenizer:
    """Split text on whitespace, keeping every token as written.

    rouge-score's default tokenizer lowercases and deletes every character outside ``[a-z0-9]``, so
    punctuation, symbol and non-ASCII tokens (``"+"``, ``"é"``, ``"<unk>"`` -> ``"unk"``) vanish and
    ``"3 + 4"`` scores as a perfect match for ``"3 - 4"``. zoo's hypotheses are its own tokens joined
    with spaces, so a whitespace split recovers exactly those tokens, with the case the model produced
    (as BLEU and exact match see it).

    Example:
        >>> WhitespaceTokenizer().tokenize("3 + 4 = 7")
        ['3', '+', '4', '=', '7']
    """

    def tokenize(self, text):
        """Return the whitespace-separated tokens of ``text``.

        Args:
            text: the string to split.

        Example:
            >>> WhitespaceTokenizer().tokenize(" a  b\\n")
            ['a', 'b']
        """
        return text.split()


def _check_texts(name, texts):
    if isinstance(texts, (str, bytes)):
        raise TextMetricsInputError(f"{name} must be a list of strings, got a single {type(texts).__name__}")
    try:
        items = list(texts)
    except TypeError:
        raise TextMetricsInputError(
            f"{name} must be a list of strings, got {type(texts).__name__}"
        ) from None
    if not items:
        raise TextMetricsInputError(f"{name} is empty: need at least one example")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            hint = " (decode bytes to str first)" if isinstance(item, bytes) else ""
            raise TextMetricsInputError(
                f"{name}[{index}] is {type(item).__name__}, not str{hint}"
            )
    return items


def _check_pairs(hypotheses, references):
    hyps = _check_texts("hypotheses", hypotheses)
    refs = _check_texts("references", references)
    if len(hyps) != len(refs):
        longer = "hypotheses" if len(hyps) > len(refs) else "references"
        raise TextMetricsInputError(
            f"got {len(hyps)} hypotheses but {len(refs)} references (one reference per hypothesis): "
            f"{longer}[{min(len(hyps), len(refs))}] has no counterpart"
        )
    return hyps, refs


def _check_tokenized(tokenized):
    if not isinstance(tokenized, bool):
        raise TextMetricsInputError(f"tokenized must be True or False, got {tokenized!r}")
    # 13a splits punctuation off inside a token ("[UNK]" -> "[ UNK ]", "##ing" -> "# # ing"), which would
    # count matches a tokenizer's own tokens never made.
    return "none" if tokenized else "13a"


def bleu(hypotheses, references, tokenized=False):
    """Return corpus BLEU (0-100) of ``hypotheses`` against one reference each, with its components.

    Uses sacrebleu's defaults (13a tokenization, exp smoothing, case-sensitive) so scores are
    comparable with published sacreBLEU numbers.

    Args:
        hypotheses: generated strings.
        references: one reference string per hypothesis, in the same order.
        tokenized: ``True`` for texts that are already tokens joined by spaces (``zoo evaluate``'s): each
            token then counts as one word, as ROUGE counts it, rather than being split again by 13a.

    Returns:
        ``{"bleu", "precisions", "brevity_penalty", "sys_len", "ref_len"}``: the score, the four
        n-gram precisions (0-100, as sacrebleu reports them: smoothed for an order with no match),
        the brevity penalty and the total hypothesis and reference lengths in tokens.

    Example:
        >>> round(bleu(["the cat sat on the mat"], ["the cat sat on the mat"])["bleu"], 6)
        100.0
    """
    hyps, refs = _check_pairs(hypotheses, references)
    result = sacrebleu.corpus_bleu(hyps, [refs], tokenize=_check_tokenized(tokenized))
    return {
        "bleu": float(result.score),
        "precisions": [float(p) for p in result.precisions],
        "brevity_penalty": float(result.bp),
        "sys_len": int(result.sys_len),
        "ref_len": int(result.ref_len),
    }


def rouge(hypotheses, references, types=DEFAULT_ROUGE_TYPES):
    """Return the mean ROUGE precision, recall and F1 over examples for each of ``types``.

    Texts are split on whitespace (see ``WhitespaceTokenizer``) and compared case-sensitively,
    without stemming.

    Args:
        hypotheses: generated strings.
        references: one reference string per hypothesis, in the same order.
        types: ROUGE variants: ``"rouge1"`` ... ``"rouge9"`` (n-gram overlap), ``"rougeL"`` (longest
            common subsequence) or ``"rougeLsum"`` (LCS over newline-separated sentences).

    Returns:
        ``{type: {"precision", "recall", "f1"}}`` with values in [0, 1].

    Example:
        >>> round(rouge(["a b c"], ["a b d"], types=("rouge1",))["rouge1"]["f1"], 3)
        0.667
    """
    hyps, refs = _check_pairs(hypotheses, references)
    if isinstance(types, str):
        raise TextMetricsInputError(f"types must be a sequence of ROUGE types, got the single string {types!r}")
    types = tuple(types)
    if not types:
        raise TextMetricsInputError("types is empty: name at least one ROUGE type, e.g. ('rouge1',)")
    for index, kind in enumerate(types):
        if not isinstance(kind, str) or not _ROUGE_TYPE_RE.fullmatch(kind):
            raise TextMetricsInputError(
                f"types[{index}] is {kind!r}; expected 'rouge1'...'rouge9', 'rougeL' or 'rougeLsum'"
            )
    scorer = rouge_scorer.RougeScorer(list(types), tokenizer=WhitespaceTokenizer())
    totals = {kind: [0.0, 0.0, 0.0] for kind in types}
    for hyp, ref in zip(hyps, refs):
        scores = scorer.score(ref, hyp)
        for kind in types:
            score = scores[kind]
            sums = totals[kind]
            sums[0] += score.precision
            sums[1] += score.recall
            sums[2] += score.fmeasure
    n = len(hyps)
    return {
        kind: {"precision": p / n, "recall": r / n, "f1": f / n} for kind, (p, r, f) in totals.items()
    }


def exact_match(hypotheses, references):
    """Return the fraction of hypotheses equal to their reference after stripping surrounding whitespace.

    Args:
        hypotheses: generated strings.
        references: one reference string per hypothesis, in the same order.

    Example:
        >>> exact_match(["a b ", "c"], ["a b", "d"])
        0.5
    """
    hyps, refs = _check_pairs(hypotheses, references)
    return sum(h.strip() == r.strip() for h, r in zip(hyps, refs)) / len(hyps)


def _finite_number(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TextMetricsInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise TextMetricsInputError(f"{name} must be finite, got {number}")
    return number


def perplexity(total_negative_log_likelihood, token_count):
    """Return ``exp(total_negative_log_likelihood / token_count)``, the per-token perplexity.

    Args:
        total_negative_log_likelihood: the summed natural-log negative log-likelihood of the scored
            tokens (>= 0).
        token_count: how many tokens were scored (> 0; padding excluded).

    Returns:
        The perplexity as a float; ``inf`` when the mean NLL is too large for a float64 exponential.

    Example:
        >>> round(perplexity(10 * math.log(50), 10), 6)
        50.0
    """
    nll = _finite_number("total_negative_log_likelihood", total_negative_log_likelihood)
    count = _finite_number("token_count", token_count)
    if count <= 0:
        raise TextMetricsInputError(f"token_count must be > 0, got {count:g}")
    if nll < 0:
        raise TextMetricsInputError(
            f"total_negative_log_likelihood must be >= 0, got {nll:g} (pass the negated log-likelihood)"
        )
    return objectives.perplexity(nll / count)


def generation_metrics(hypotheses, references, tokenized=False):
    """Return corpus BLEU, mean ROUGE-1/2/L F1 and exact match of ``hypotheses`` in one flat dict.

    Args:
        hypotheses: generated strings.
        references: one reference string per hypothesis, in the same order.
        tokenized: ``True`` for texts that are already tokens joined by spaces (see ``bleu``).

    Returns:
        ``{"bleu", "rouge1", "rouge2", "rougeL", "exact_match", "examples"}``: BLEU on sacrebleu's
        0-100 scale, ROUGE F1 and exact match in [0, 1], and the number of examples. ``bleu()`` and
        ``rouge()`` give the components.

    Example:
        >>> generation_metrics(["a b c d"], ["a b c d"])["rougeL"]
        1.0
    """
    hyps, refs = _check_pairs(hypotheses, references)
    rouge_scores = rouge(hyps, refs, DEFAULT_ROUGE_TYPES)
    return {
        "bleu": bleu(hyps, refs, tokenized)["bleu"],
        **{kind: rouge_scores[kind]["f1"] for kind in DEFAULT_ROUGE_TYPES},
        "exact_match": exact_match(hyps, refs),
        "examples": len(hyps),
    }
