"""Generated-text metrics against BLEU, ROUGE and perplexity computed by hand."""
import math
from collections import Counter

import numpy as np
import pytest

from zoo.evaluation import text_metrics as tm
from zoo.evaluation.metrics import MetricsInputError
from zoo.evaluation.text_metrics import (
    TextMetricsInputError,
    bleu,
    exact_match,
    generation_metrics,
    perplexity,
    rouge,
)


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _bleu_statistics(hyps, refs, max_n=4):
    correct, total = np.zeros(max_n), np.zeros(max_n)
    for hyp, ref in zip(hyps, refs):
        h, r = hyp.split(), ref.split()
        for n in range(1, max_n + 1):
            hyp_counts, ref_counts = _ngrams(h, n), _ngrams(r, n)
            correct[n - 1] += sum(min(count, ref_counts[gram]) for gram, count in hyp_counts.items())
            total[n - 1] += max(len(h) - n + 1, 0)
    sys_len = sum(len(h.split()) for h in hyps)
    ref_len = sum(len(r.split()) for r in refs)
    return correct, total, sys_len, ref_len


def _numpy_bleu(hyps, refs):
    """Papineni et al.: clipped n-gram precisions, geometric mean, brevity penalty (no smoothing)."""
    correct, total, sys_len, ref_len = _bleu_statistics(hyps, refs)
    precisions = correct / total
    bp = 1.0 if sys_len >= ref_len else math.exp(1.0 - ref_len / sys_len)
    return 100.0 * bp * np.exp(np.mean(np.log(precisions))), 100.0 * precisions, bp, sys_len, ref_len


def _lcs(a, b):
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i, j] = table[i - 1, j - 1] + 1 if x == y else max(table[i - 1, j], table[i, j - 1])
    return int(table[-1, -1])


def _prf(overlap, hyp_count, ref_count):
    p = overlap / hyp_count if hyp_count else 0.0
    r = overlap / ref_count if ref_count else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _numpy_rouge(hyps, refs):
    rows = {"rouge1": [], "rouge2": [], "rougeL": []}
    for hyp, ref in zip(hyps, refs):
        h, r = hyp.split(), ref.split()
        for n in (1, 2):
            hc, rc = _ngrams(h, n), _ngrams(r, n)
            overlap = sum((hc & rc).values())
            rows[f"rouge{n}"].append(_prf(overlap, sum(hc.values()), sum(rc.values())))
        rows["rougeL"].append(_prf(_lcs(h, r), len(h), len(r)))
    return {kind: np.mean(np.array(values), axis=0) for kind, values in rows.items()}


# Lower-case words without punctuation: 13a tokenization is a whitespace split on these, and every
# n-gram order has a match, so sacrebleu's smoothing never applies.
SHORT_HYPS = ["the the cat sat on the mat", "a dog ran in the park"]
SHORT_REFS = ["the cat sat on the red mat today", "a dog ran in the big park"]
LONG_HYPS = ["we saw a small bird on the old wall yesterday", "it rained all day and all night long here"]
LONG_REFS = ["we saw a bird on the old wall", "it rained all day and night"]


def test_bleu_matches_hand_computation_with_clipping_and_brevity_penalty():
    correct, total, sys_len, ref_len = _bleu_statistics(SHORT_HYPS, SHORT_REFS)
    assert np.all(correct > 0) and sys_len < ref_len
    unclipped = sum(_ngrams(h.split(), 1)[("the",)] for h in SHORT_HYPS)
    assert unclipped > sum(_ngrams(r.split(), 1)[("the",)] for r in SHORT_REFS)  # clipping matters

    score, precisions, bp, sys_len, ref_len = _numpy_bleu(SHORT_HYPS, SHORT_REFS)
    got = bleu(SHORT_HYPS, SHORT_REFS)
    assert got["bleu"] == pytest.approx(score, abs=1e-6)
    np.testing.assert_allclose(got["precisions"], precisions, atol=1e-6)
    assert got["brevity_penalty"] == pytest.approx(bp, abs=1e-9)
    assert bp < 1.0
    assert (got["sys_len"], got["ref_len"]) == (sys_len, ref_len)


def test_bleu_without_brevity_penalty_when_hypotheses_are_longer():
    correct, _, sys_len, ref_len = _bleu_statistics(LONG_HYPS, LONG_REFS)
    assert np.all(correct > 0) and sys_len > ref_len
    score, precisions, _, _, _ = _numpy_bleu(LONG_HYPS, LONG_REFS)
    got = bleu(LONG_HYPS, LONG_REFS)
    assert got["brevity_penalty"] == 1.0
    assert got["bleu"] == pytest.approx(score, abs=1e-6)
    np.testing.assert_allclose(got["precisions"], precisions, atol=1e-6)


def test_bleu_splits_punctuation_as_13a_does():
    # sacrebleu's default 13a tokenization splits "mat." into "mat ." (and "4," into "4 ,"); a whitespace-only
    # tokenization would leave "mat." unmatched and score these hypotheses below their spaced-out equivalents.
    hyps = ["the cat sat on the mat.", "it rained, then it stopped (at 4, we left)."]
    spaced = ["the cat sat on the mat .", "it rained , then it stopped ( at 4 , we left ) ."]
    refs = ["the cat sat on the red mat .", "it rained , then it stopped ( at 4 , they left ) ."]
    assert bleu(hyps, refs)["bleu"] == pytest.approx(_numpy_bleu(spaced, refs)[0], abs=1e-6)


def test_bleu_smooths_an_order_without_matches_exponentially():
    # sacrebleu's default "exp" smoothing (Chen and Cherry's method 3): the k-th order without a match counts
    # as 1 / 2**k of its n-grams, here the single 4-gram; "floor" or no smoothing would give another score.
    got = bleu(["a b c x"], ["a b c y"])
    assert got["precisions"] == pytest.approx([100 * 3 / 4, 100 * 2 / 3, 100 * 1 / 2, 100 * 1 / 2])
    assert got["bleu"] == pytest.approx(100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25)


def test_perfect_and_disjoint_generations():
    texts = ["the cat sat on the mat", "x = 3 + 4 ;"]
    assert bleu(texts, texts)["bleu"] == pytest.approx(100.0)
    for scores in rouge(texts, texts, types=("rouge1", "rouge2", "rougeL", "rougeLsum")).values():
        assert scores == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0})
    assert exact_match(texts, texts) == 1.0

    other = ["a b c d e", "f g h i j"]
    assert bleu(texts, other)["bleu"] == 0.0
    for scores in rouge(texts, other).values():
        assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert exact_match(texts, other) == 0.0


def test_rouge_matches_hand_overlap_and_lcs():
    hyps = ["a b c d e", "the cat sat on the mat", "one two three"]
    refs = ["b a c e d f", "the cat was on the mat today", "three two one four five"]
    expected = _numpy_rouge(hyps, refs)
    got = rouge(hyps, refs)
    assert set(got) == {"rouge1", "rouge2", "rougeL"}
    for kind, (p, r, f) in expected.items():
        assert got[kind]["precision"] == pytest.approx(p, abs=1e-12)
        assert got[kind]["recall"] == pytest.approx(r, abs=1e-12)
        assert got[kind]["f1"] == pytest.approx(f, abs=1e-12)
    # precision is over the hypothesis and recall over the reference, not the other way round
    assert got["rouge1"]["precision"] != pytest.approx(got["rouge1"]["recall"])


def test_rouge_keeps_digit_punctuation_and_non_ascii_tokens():
    hyps = ["3 + 4 = 7 ;", "café <unk> é"]
    refs = ["3 - 4 = 7 ,", "café <unk> ü"]
    got = rouge(hyps, refs, types=("rouge1", "rougeL"))
    expected = _numpy_rouge(hyps, refs)
    assert got["rouge1"]["f1"] == pytest.approx(expected["rouge1"][2], abs=1e-12)
    assert got["rouge1"]["f1"] == pytest.approx(np.mean([4 / 6, 2 / 3]))
    assert got["rougeL"]["f1"] < 1.0


def test_rouge_and_bleu_are_case_sensitive():
    assert rouge(["The cat"], ["the cat"], types=("rouge1",))["rouge1"]["f1"] == pytest.approx(0.5)
    assert bleu(["The cat sat on the mat"], ["the cat sat on the mat"])["bleu"] < 100.0


def test_exact_match_strips_surrounding_whitespace_only():
    hyps = [" a b ", "a  b", "c\n", "d"]
    refs = ["a b", "a b", "c", "e"]
    assert exact_match(hyps, refs) == pytest.approx(2 / 4)


def test_generation_metrics_combines_hand_computed_scores():
    hyps = SHORT_HYPS + ["exactly this"]
    refs = SHORT_REFS + ["exactly this"]
    got = generation_metrics(hyps, refs)
    assert set(got) == {"bleu", "rouge1", "rouge2", "rougeL", "exact_match", "examples"}
    assert got["bleu"] == pytest.approx(_numpy_bleu(hyps, refs)[0], abs=1e-6)
    expected = _numpy_rouge(hyps, refs)
    for kind in ("rouge1", "rouge2", "rougeL"):
        assert got[kind] == pytest.approx(expected[kind][2], abs=1e-12)
    assert got["exact_match"] == pytest.approx(1 / 3)
    assert got["examples"] == 3


def test_perplexity_is_exp_of_mean_nll():
    nll = np.random.default_rng(0).exponential(2.0, size=37)
    assert perplexity(nll.sum(), nll.size) == pytest.approx(np.exp(nll.mean()), rel=1e-12)
    assert perplexity(np.float32(nll.sum()), np.int64(nll.size)) == pytest.approx(np.exp(nll.mean()), rel=1e-6)


@pytest.mark.parametrize("vocab", [2, 50, 32000])
def test_perplexity_of_uniform_model_is_vocab_size(vocab):
    tokens = 123
    assert perplexity(tokens * math.log(vocab), tokens) == pytest.approx(vocab, rel=1e-12)


def test_perplexity_overflow_is_inf():
    assert perplexity(1e6, 1) == math.inf


@pytest.mark.parametrize(
    "nll, count, message",
    [
        (1.0, 0, "token_count must be > 0"),
        (1.0, -3, "token_count must be > 0"),
        (1.0, float("nan"), "token_count must be finite"),
        (float("inf"), 10, "total_negative_log_likelihood must be finite"),
        (float("nan"), 10, "total_negative_log_likelihood must be finite"),
        (-1.0, 10, "total_negative_log_likelihood must be >= 0"),
        ("abc", 10, "total_negative_log_likelihood must be a number"),
        (1.0, None, "token_count must be a number"),
    ],
)
def test_perplexity_rejects_bad_input(nll, count, message):
    with pytest.raises(TextMetricsInputError, match=message):
        perplexity(nll, count)


ALL_PAIR_METRICS = [bleu, rouge, exact_match, generation_metrics]


@pytest.mark.parametrize("metric", ALL_PAIR_METRICS)
@pytest.mark.parametrize(
    "hyps, refs, message",
    [
        (["a", "b", "c"], ["a", "b"], r"3 hypotheses but 2 references.*hypotheses\[2\]"),
        (["a"], ["a", "b"], r"1 hypotheses but 2 references.*references\[1\]"),
        ([], ["a"], "hypotheses is empty"),
        (["a"], [], "references is empty"),
        (["a", b"b"], ["a", "b"], r"hypotheses\[1\] is bytes, not str \(decode"),
        (["a", "b", "c"], ["a", "b", None], r"references\[2\] is NoneType, not str"),
        ("a b", ["a b"], "hypotheses must be a list of strings, got a single str"),
        (["a"], 7, "references must be a list of strings, got int"),
    ],
)
def test_text_metrics_reject_bad_input(metric, hyps, refs, message):
    with pytest.raises(TextMetricsInputError, match=message):
        metric(hyps, refs)


@pytest.mark.parametrize(
    "types, message",
    [
        ("rouge1", "single string 'rouge1'"),
        ((), "types is empty"),
        (("rouge1", "rougeX"), r"types\[1\] is 'rougeX'"),
        (("rouge0",), r"types\[0\] is 'rouge0'"),
    ],
)
def test_rouge_rejects_bad_types(types, message):
    with pytest.raises(TextMetricsInputError, match=message):
        rouge(["a"], ["a"], types=types)


def test_input_error_is_a_metrics_value_error():
    assert issubclass(TextMetricsInputError, MetricsInputError)
    assert issubclass(TextMetricsInputError, ValueError)


def test_whitespace_tokenizer_keeps_tokens_as_written():
    assert tm.WhitespaceTokenizer().tokenize(" 3 + é\t<unk>\nX ") == ["3", "+", "é", "<unk>", "X"]
