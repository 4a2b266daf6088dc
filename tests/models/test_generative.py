import itertools
import re

import keras
import numpy as np
import pytest

from tests import reference as ref
from tests.harness import assert_all_gradients_flow, to_numpy
from zoo.models import Backbone, build_transformer, generation
from zoo.models.generation import _DecoderStack, _length_penalty, _log_softmax, generate
from zoo.models.generative import build_lm, build_mlm
from zoo.models.seq2seq import Seq2Seq, build_seq2seq

SIZES = {"d_model": 32, "num_heads": 2, "ff_dim": 64, "dropout": 0.0}
RNG = np.random.default_rng(6)
# The tests feed [2, L] ids and [2, T] target ids at these lengths (a prefill of T tokens, then single tokens):
# under JAX every op compiles once per new shape, and tests that share their shapes share those compiles.
L, T = 8, 4


def _lm(**kw):
    keras.utils.set_random_seed(1)
    return build_lm(30, 24, **{**SIZES, **kw})


def _s2s(**kw):
    keras.utils.set_random_seed(2)
    return build_seq2seq(30, 24, **{**SIZES, **kw})


def test_lm_is_causal_and_ties_embeddings():
    lm = _lm()
    ids = RNG.integers(1, 30, (2, L)).astype("int32")
    changed = ids.copy()
    changed[:, T:] = RNG.integers(1, 30, (2, L - T))
    a, b = to_numpy(lm(ids)), to_numpy(lm(changed))
    np.testing.assert_allclose(a[:, :T], b[:, :T], atol=1e-5)
    table = to_numpy(lm.backbone.token_embedding.embeddings)
    hidden = lm.backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"]
    np.testing.assert_allclose(a, to_numpy(hidden) @ table.T, atol=1e-4)


@pytest.mark.parametrize("builder, inputs", [
    (build_lm, lambda ids: ids),
    (build_mlm, lambda ids: {"token_ids": ids, "mask_positions": np.array([[1, 5, 0], [7, 2, 3]], "int32")}),
    (build_seq2seq, lambda ids: {"encoder_ids": ids, "decoder_ids": ids[:, :T]}),
])
def test_generative_models_save_reload_and_train(builder, inputs, tmp_path):
    model = builder(30, 24, **SIZES)
    ids = RNG.integers(1, 30, (2, L)).astype("int32")
    before = to_numpy(model(inputs(ids)))
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(to_numpy(keras.saving.load_model(tmp_path / "m.keras")(inputs(ids))), before,
                               atol=1e-6)
    assert_all_gradients_flow(lambda: model(inputs(ids)), model.trainable_variables)


@pytest.mark.parametrize("make, argument", [
    (lambda: build_seq2seq(30, 16, target_length=0), "target_length"),
    (lambda: build_seq2seq(30, 16, num_decoder_layers=0), "num_decoder_layers"),
    (lambda: Seq2Seq(Backbone(30, 16), target_length=0), "target_length"),
    (lambda: Seq2Seq(Backbone(30, 16), num_decoder_layers=0), "num_decoder_layers"),
])
def test_seq2seq_refuses_zero_lengths_rather_than_defaulting(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be a positive integer, got 0"):
        make()


def test_seq2seq_separate_vocabularies_and_untied_head():
    model = build_seq2seq(30, 24, target_vocab_size=12, tie_embeddings=False, **SIZES)
    out = model({"encoder_ids": RNG.integers(1, 30, (2, L)), "decoder_ids": RNG.integers(1, 12, (2, T))})
    assert out.shape == (2, T, 12)
    assert model.backbone.token_embedding.vocab_size == 30 and model.vocab_size == 30
    assert model.decoder_token_embedding.vocab_size == 12 and model.lm_head is not None
    shared = _s2s()
    assert shared.decoder_token_embedding is shared.backbone.token_embedding and shared.lm_head is None


def test_seq2seq_ignores_padded_source_tokens():
    model = _s2s()
    source = RNG.integers(1, 30, (2, T)).astype("int32")
    padded = np.pad(source, ((0, 0), (0, L - T)))
    target = RNG.integers(1, 30, (2, T)).astype("int32")
    a = to_numpy(model({"encoder_ids": source, "decoder_ids": target}))
    b = to_numpy(model({"encoder_ids": padded, "decoder_ids": target}))
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_seq2seq_logits_are_the_tied_projection_of_the_normed_decoder_output():
    model = _s2s()
    source, target = RNG.integers(1, 30, (2, L)).astype("int32"), RNG.integers(1, 30, (2, T)).astype("int32")
    memory, memory_mask = model.encode(source)
    x = model.decoder_token_embedding(target) + model.decoder_position_embedding(target)
    for block in model.decoder_blocks:
        x = block(x, encoder_outputs=memory, mask=target != 0, encoder_mask=memory_mask)
    # Pre-LN: the decoder's final norm, then the transposed (shared) token table.
    expected = ref.layer_norm(to_numpy(x).astype(np.float64), model.decoder_norm) @ ref.w(
        model.decoder_token_embedding.embeddings).T
    np.testing.assert_allclose(to_numpy(model({"encoder_ids": source, "decoder_ids": target})), expected, atol=1e-4)


def test_seq2seq_encode_and_decode_take_numpy_ids():
    model = _s2s()
    source = np.array([[4, 5, 6, 0, 0, 0, 0, 0], [9, 10, 11, 12, 13, 14, 15, 16]], "int32")
    target = np.array([[1, 7, 8, 9], [1, 2, 3, 4]], "int32")
    # encode(numpy ids) failed: "In a nested call() argument, you cannot mix tensors and non-tensors".
    memory, mask = model.encode(source)
    np.testing.assert_array_equal(to_numpy(mask), source != 0)
    np.testing.assert_allclose(to_numpy(model.decode(target, memory, mask)),
                               to_numpy(model({"encoder_ids": source, "decoder_ids": target})), atol=1e-5)


def test_cached_step_logits_equal_full_recompute():
    for model, memory_src in ((_lm(), None), (_s2s(), RNG.integers(1, 30, (2, L)))):
        stack = _DecoderStack(model)
        memory = mask = None
        if memory_src is not None:
            memory, mask = stack.encode(memory_src)
        ids = RNG.integers(1, 30, (2, L)).astype("int32")
        full = stack.logits(ids, memory, mask)
        caches = stack.init_caches(2)
        head, caches = stack.logits(ids[:, :T], memory, mask, caches, 0)
        steps = [head]
        for i in range(T, L):
            logits, caches = stack.logits(ids[:, i:i + 1], memory, mask, caches, i)
            steps.append(logits)
        np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-4)


@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_cached_generation_produces_the_same_tokens_as_recomputing(method):
    for model, kw in ((_lm(), {}), (_s2s(), {"start_id": 1})):
        prompts = [[3, 4, 5], [7, 8], [9, 10, 11], [12]]
        own = {"greedy": {}, "beam": {"num_beams": 3}, "sample": {"seed": 3, "top_k": 6}}[method]
        args = dict(max_new_tokens=8, method=method, **own, **kw)
        assert generate(model, prompts, **args) == generate(model, prompts, use_cache=False, **args)


def _sequence_logprob(model, prompt, continuation):
    stack = _DecoderStack(model)
    ids = np.array([prompt + continuation], "int32")
    logp = _log_softmax(stack.logits(ids).astype("float64"))[0]
    return sum(logp[len(prompt) - 1 + i, tok] for i, tok in enumerate(continuation))


def test_wide_beam_search_finds_the_most_likely_sequence():
    model = build_lm(5, 8, **SIZES)  # ids 1..4 can be generated
    prompt = [1, 2]
    best = max(itertools.product(range(1, 5), repeat=3), key=lambda c: _sequence_logprob(model, prompt, list(c)))
    found = generate(model, [prompt], max_new_tokens=3, method="beam", num_beams=16, length_penalty=0.0)[0]
    assert found == list(best)


class _ScriptedLM:
    """Stands in for ``_DecoderStack``: next-token probabilities looked up by prefix (0 pad, 1 end, 2 and 3)."""

    is_seq2seq, pad_id, max_length, end_id, input_vocab, output_vocab = False, 0, 16, 1, 4, 4
    check_ids = _DecoderStack.check_ids

    def __init__(self, table):
        self.table = table

    def logits(self, ids, memory=None, memory_mask=None):
        uniform = (0.0, 1 / 3, 1 / 3, 1 / 3)
        with np.errstate(divide="ignore"):  # log(0) = -inf: padding is never likely
            return np.log([[self.table.get(tuple(row[:t + 1]), uniform) for t in range(len(row))] for row in ids])


def _scripted_beam(monkeypatch, table, prompt, steps, num_beams, alpha):
    """What beam search returns for the scripted LM, and the best sequence an exhaustive search finds."""
    lm = _ScriptedLM(table)
    monkeypatch.setattr(generation, "_DecoderStack", lambda model: lm)
    found = generate(None, [prompt], max_new_tokens=steps, method="beam", num_beams=num_beams, end_id=lm.end_id,
                     length_penalty=alpha, use_cache=False)[0]

    def score(seq):
        logp = lm.logits([prompt + list(seq)])[0, len(prompt) - 1:]
        return sum(logp[i, t] for i, t in enumerate(seq)) / _length_penalty(len(seq), alpha)

    # Every sequence beam search can return: ended by the end token, or cut at `steps` tokens.
    candidates = [seq for n in range(1, steps + 1) for seq in itertools.product((1, 2, 3), repeat=n)
                  if (seq[-1] == lm.end_id or n == steps) and lm.end_id not in seq[:-1]]
    return found, list(max(candidates, key=score))


def test_beam_search_keeps_a_better_hypothesis_finished_after_its_list_filled(monkeypatch):
    # Two beams: [1] (p .25) and [2, 1] (p .12) finish first and fill the list; [2, 2, 1] (p .336) ends later
    # and is the best sequence, so it must take the place of [2, 1].
    table = {(3,): (0, .25, .6, .15), (3, 2): (0, .2, .7, .1), (3, 2, 2): (0, .8, .1, .1)}
    found, best = _scripted_beam(monkeypatch, table, [3], steps=3, num_beams=2, alpha=0.0)
    assert best == [2, 2, 1]
    assert found == best


def test_beam_search_runs_on_while_a_longer_hypothesis_can_still_win(monkeypatch):
    # With length penalty 2, [1] (p .5) scores -0.69 and the live beam [2] (p .45) already scores less, but
    # [2, 1] (p .449) divides its log-probability by 1.36 and scores -0.59: search must not stop at [1].
    table = {(3,): (0, .5, .45, .05), (3, 2): (0, .998, .001, .001)}
    found, best = _scripted_beam(monkeypatch, table, [3], steps=3, num_beams=1, alpha=2.0)
    assert best == [2, 1]
    assert found == best


@pytest.mark.parametrize("temperature, top_p", [(2.0, None), (0.5, 0.9)])
def test_sampling_follows_the_tempered_nucleus_distribution(monkeypatch, temperature, top_p):
    """Next-token frequencies of many seeded samples against softmax(log p / temperature), cut to the smallest
    set of most likely tokens whose tempered mass reaches top_p."""
    probs = np.array([0.0, 0.1, 0.3, 0.6])  # token 0 is padding, never sampled
    lm = _ScriptedLM({(3,): tuple(probs)})
    monkeypatch.setattr(generation, "_DecoderStack", lambda model: lm)
    n = 4000
    tokens = generate(None, [[3]] * n, max_new_tokens=1, method="sample", temperature=temperature, top_p=top_p,
                      seed=0, use_cache=False)
    frequencies = np.bincount([seq[0] for seq in tokens], minlength=4) / n
    expected = probs ** (1 / temperature)
    expected /= expected.sum()
    if top_p is not None:
        mass = 0.0
        for token in np.argsort(-expected):
            if mass >= top_p:
                expected[token] = 0.0
            mass += expected[token]
        expected /= expected.sum()
    assert np.all(frequencies[expected == 0] == 0)
    np.testing.assert_allclose(frequencies, expected, atol=0.03)


def test_beam_search_weighs_a_sequence_cut_at_the_step_limit_with_the_length_penalty(monkeypatch):
    # With length penalty 1, [1] (p .4) scores -0.92 and [2, 2], cut at 2 steps (p .37), -0.99 / (7 / 6) = -0.85:
    # the unfinished sequence wins only when its score is normalised as a finished one's is.
    table = {(3,): (0, .4, .5, .1), (3, 2): (0, .06, .74, .2)}
    found, best = _scripted_beam(monkeypatch, table, [3], steps=2, num_beams=2, alpha=1.0)
    assert best == [2, 2]
    assert found == best


def test_greedy_equals_beam_of_one_and_top_k_of_one():
    model = _lm()
    prompts = [[3, 4, 5], [6]]
    greedy = generate(model, prompts, max_new_tokens=6)
    assert generate(model, prompts, max_new_tokens=6, method="beam", num_beams=1, length_penalty=0.0) == greedy
    assert generate(model, prompts, max_new_tokens=6, method="sample", top_k=1, seed=0) == greedy
    assert generate(model, prompts, max_new_tokens=6, method="sample", top_p=1e-6, seed=5) == greedy


def test_sampling_is_seeded_and_stops_at_the_end_token():
    model = _lm()
    a = generate(model, [[3, 4]] * 4, max_new_tokens=10, method="sample", seed=11, temperature=2.0)
    assert a == generate(model, [[3, 4]] * 4, max_new_tokens=10, method="sample", seed=11, temperature=2.0)
    assert len({tuple(x) for x in a}) > 1
    end = generate(model, [[3, 4]], max_new_tokens=10)[0][2]
    stopped = generate(model, [[3, 4]], max_new_tokens=10, end_id=end)[0]
    assert stopped[-1] == end and end not in stopped[:-1] and len(stopped) <= 3


def test_a_seed_per_input_makes_each_sample_independent_of_the_other_inputs():
    model = _lm()
    args = dict(max_new_tokens=8, method="sample", temperature=2.0)
    both = generate(model, [[3, 4], [5, 6, 7]], seed=[11, 12], **args)
    assert both == [generate(model, [[3, 4]], seed=[11], **args)[0], generate(model, [[5, 6, 7]], seed=[12], **args)[0]]
    with pytest.raises(ValueError, match=r"^`seed` holds 1 seeds for 2 inputs: give one seed per input, or a single "
                                         "int for them all$"):
        generate(model, [[3, 4], [5]], seed=[11], **args)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "nucleus"}, "method"),
    ({"method": "sample", "temperature": 0}, "temperature"),
    ({"method": "beam", "num_beams": 0}, "num_beams"),
    ({"method": "sample", "top_p": 1.5}, "top_p"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": -2}, "max_new_tokens"),
    ({"method": "sample", "top_k": 0}, "top_k"),
    ({"method": "sample", "top_k": 2.5}, "top_k"),
    ({"method": "sample", "temperature": "1"}, "`temperature` must be a positive number"),  # was a TypeError
    ({"method": "beam", "length_penalty": "0.6"}, "`length_penalty` must be a number"),  # was a TypeError
])
def test_bad_generation_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(_lm(), [[1, 2]], **kwargs)


@pytest.mark.parametrize("make, inputs, kwargs, match", [
    # A padded prompt continued differently with the cache (which does not mask padding) than without it.
    (_lm, [[3, 4], [7, 0, 8]], {}, r"inputs\[1\] holds the model's pad_id 0 at position 1"),
    (_lm, [[3, 30]], {}, r"inputs\[0\] holds id 30, outside the model's vocabulary \[0, 30\)"),
    (_lm, [[3, -1]], {}, "holds id -1"),  # a negative id read the table's last row
    (_lm, [[3, 4]], {"end_id": 0}, "`end_id`=0 is the model's pad_id"),  # never emitted: ran to the end
    (_lm, [[3, 4]], {"end_id": 30}, r"`end_id` must be a token id in \[0, 30\)"),
    (_s2s, [[3, 4]], {"start_id": 0}, "`start_id`=0 is the model's pad_id"),
    (_s2s, [[3, 4]], {"start_id": 30}, r"`start_id` must be a token id in \[0, 30\)"),
    (_s2s, [[3, 4], [0, 0]], {"start_id": 1}, r"inputs\[1\] is all padding"),
    (_lm, [3, 4], {}, r"inputs\[0\] must be a sequence of token ids, got 3"),  # was "'int' object is not iterable"
    (_lm, [[3, 4.7]], {}, r"inputs\[0\] holds float64 values"),  # was read as [3, 4]
])
def test_ids_generation_cannot_use_are_refused(make, inputs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(make(), inputs, max_new_tokens=2, **kwargs)


@pytest.mark.parametrize("method, kwargs, message", [
    ("greedy", {"temperature": 0.5}, "`temperature` applies to method='sample'; set method='sample' with it, or leave "
                                     "it out for greedy decoding"),
    ("beam", {"seed": 3}, "`seed` applies to method='sample'"),
    ("sample", {"num_beams": 2}, "`num_beams` applies to method='beam'; set method='beam' with it, or leave it out "
                                 "for sample decoding"),
    ("greedy", {"length_penalty": 0.0}, "`length_penalty` applies to method='beam'"),
])
def test_an_option_of_another_decoding_method_is_refused(method, kwargs, message):
    # Each was ignored without a word: greedy decoding at temperature 0.5 is greedy decoding.
    with pytest.raises(ValueError, match=re.escape(message)):
        generate(_lm(), [[3, 4]], max_new_tokens=2, method=method, **kwargs)


def test_top_k_above_the_vocabulary_keeps_every_token():
    model = _lm()
    args = dict(max_new_tokens=6, method="sample", seed=4, temperature=3.0)
    # The greedy test's first prompt: under JAX its shapes are compiled already.
    assert generate(model, [[3, 4, 5]], top_k=50, **args) == generate(model, [[3, 4, 5]], **args)


def test_seq2seq_needs_a_start_token_and_classifiers_cannot_generate():
    with pytest.raises(ValueError, match="start_id"):
        generate(_s2s(), [[1, 2]])
    with pytest.raises(ValueError, match="build_lm"):
        generate(build_transformer(30, 8, 2, d_model=16, num_heads=2), [[1, 2]])


def test_mlm_logits_at_mask_positions_are_the_tied_projection_of_those_states():
    mlm = build_mlm(30, 24, **SIZES)
    ids = RNG.integers(1, 30, (2, L)).astype("int32")
    positions = np.array([[6, 0, 3], [2, 2, 7]], "int32")
    logits = to_numpy(mlm({"token_ids": ids, "mask_positions": positions}))
    sequence = mlm.backbone({"token_ids": ids, "padding_mask": ids != 0})["sequence_output"]
    states = to_numpy(mlm.mlm_norm(mlm.mlm_dense(sequence)))
    table = to_numpy(mlm.backbone.token_embedding.embeddings)
    expected = np.take_along_axis(states, positions[..., None], axis=1) @ table.T
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_generation_pads_with_the_models_pad_id_and_never_emits_it():
    keras.utils.set_random_seed(7)
    lm = build_lm(30, 24, pad_id=5, **SIZES)
    sampled = generate(lm, [[3, 4]] * 4, max_new_tokens=8, method="sample", seed=0, temperature=5.0)
    assert all(5 not in row and len(row) == 8 for row in sampled)
    keras.utils.set_random_seed(8)
    s2s = build_seq2seq(30, 24, pad_id=5, **SIZES)
    sources = [[7, 8, 9, 10, 11], [12, 13]]  # the second is padded with 5s in a batch
    together = generate(s2s, sources, max_new_tokens=4, start_id=1)
    assert together == [generate(s2s, [source], max_new_tokens=4, start_id=1)[0] for source in sources]
