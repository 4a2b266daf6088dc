"""Text generation from zoo language and seq2seq models: greedy, beam search and sampling, with a KV cache."""
import numbers

import numpy as np
from keras import ops

from zoo.decoding import (
    DEFAULT_LENGTH_PENALTY,
    DEFAULT_NUM_BEAMS,
    DEFAULT_TEMPERATURE,
    METHOD_OPTIONS,
    METHODS,
    check_sampling,
)
from zoo.layers import _validation as check
from zoo.models.generative import CausalLM
from zoo.models.seq2seq import Seq2Seq


def most_new_tokens(model):
    """The most tokens ``generate`` can add to a prompt of the begin token alone: the positions the model decodes
    into (an lm's ``sequence_length``, a seq2seq model's ``target_length``).

    Example:
        >>> most_new_tokens(zoo.models.build_lm(vocab_size=100, sequence_length=16, num_layers=1))
        16
    """
    return _DecoderStack(model).max_length


def generation_room(model, prefix_length):
    """The most tokens ``generate`` can add after a decoder prefix of ``prefix_length`` tokens (an int, or a tensor
    of them): an lm's prompt with its begin token, a seq2seq model's start token (1). The prefix and the new tokens
    share the model's positions, and the last token chosen is not fed back, so it is ``most_new_tokens(model) -
    prefix_length + 1``.

    Example:
        >>> generation_room(zoo.models.build_lm(vocab_size=100, sequence_length=16, num_layers=1), 5)
        12
    """
    return most_new_tokens(model) - prefix_length + 1


def check_max_new_tokens(model, max_new_tokens, owner):
    """Raise a ValueError naming ``owner`` (the run or export) when ``max_new_tokens`` exceeds ``most_new_tokens``:
    the rest would never be generated, without a word."""
    most = most_new_tokens(model)
    if max_new_tokens is not None and max_new_tokens > most:
        length = "target_length" if isinstance(model, Seq2Seq) else "sequence_length"
        raise ValueError(f"max_new_tokens (--max-new-tokens) is {max_new_tokens}, but {owner} generates at most "
                         f"{most} tokens (its model's {length}): give at most {most}")


class _DecoderStack:
    """A ``CausalLM`` or ``Seq2Seq`` seen as one interface: logits of ids, with or without a KV cache."""

    def __init__(self, model):
        if not isinstance(model, (CausalLM, Seq2Seq)):
            raise ValueError(f"model {model.name!r} cannot generate: build it with build_lm or build_seq2seq")
        self.model = model
        self.is_seq2seq = isinstance(model, Seq2Seq)
        self.pad_id = model.pad_id
        self.max_length = model.target_length if self.is_seq2seq else model.sequence_length
        # The ids inputs are read with, and the ids generated (a seq2seq model's target vocabulary).
        self.input_vocab = model.vocab_size
        self.output_vocab = model.decoder_token_embedding.vocab_size if self.is_seq2seq else model.vocab_size

    def check_ids(self, inputs, start_id, end_id):
        """Raise a ValueError naming the first id that generation cannot use as given."""
        for i, seq in enumerate(inputs):
            outside = [t for t in seq if not 0 <= t < self.input_vocab]
            if outside:
                raise ValueError(f"inputs[{i}] holds id {outside[0]}, outside the model's vocabulary "
                                 f"[0, {self.input_vocab})")
            if self.is_seq2seq and all(t == self.pad_id for t in seq):
                raise ValueError(f"inputs[{i}] is all padding (the model's pad_id {self.pad_id}): a source needs "
                                 "at least one token")
            if not self.is_seq2seq and self.pad_id in seq:
                # The uncached model masks padding and the key/value cache does not, so a padded prompt would
                # continue differently with and without the cache, and neither as the unpadded prompt does.
                raise ValueError(f"inputs[{i}] holds the model's pad_id {self.pad_id} at position "
                                 f"{seq.index(self.pad_id)}: pass prompts without padding (ragged lists are fine)")
        for name, value, as_padding in (
                ("start_id", start_id, "masked out as padding: pass the tokenizer's begin id"),
                ("end_id", end_id, "never generated, so no sequence would end: pass the tokenizer's end id")):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not 0 <= value < self.output_vocab:
                raise ValueError(f"`{name}` must be a token id in [0, {self.output_vocab}), got {value!r}")
            if value == self.pad_id:
                raise ValueError(f"`{name}`={value} is the model's pad_id, which is {as_padding}")

    def encode(self, source_ids):
        return self.model.encode(source_ids)

    def init_caches(self, batch):
        return self.model.init_cache(batch)

    def logits(self, ids, memory=None, memory_mask=None, caches=None, index=0):
        """Logits ``[batch, T, vocab]`` for ``ids`` placed at ``index``; with caches also the updated caches."""
        ids = ops.convert_to_tensor(ids, "int32")
        context = (memory, memory_mask) if self.is_seq2seq else ()
        if caches is not None:
            logits, caches = self.model.call_with_cache(ids, caches, index, *context)
        elif self.is_seq2seq:
            logits = self.model.decode(ids, *context)
        else:
            logits = self.model(ids)
        logits = ops.convert_to_numpy(ops.cast(logits, "float32"))
        return logits if caches is None else (logits, caches)


def _id_list(index, seq):
    """``inputs[index]`` as a list of Python ints; a ValueError unless it is a flat sequence of integers."""
    ids = np.asarray(seq)
    if ids.ndim != 1:
        raise ValueError(f"inputs[{index}] must be a sequence of token ids, got {seq!r}: `inputs` is a list of id "
                         "lists, e.g. [[2, 15, 7]]")
    # int() would cut 15.7 to 15 and read "15" as 15: ids that are not integers are a mistake upstream.
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"inputs[{index}] holds {ids.dtype} values, not integer token ids: {seq!r}")
    return ids.tolist()


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _length_penalty(length, alpha):
    # GNMT (Wu et al. 2016): ((5 + |Y|) / 6) ** alpha.
    return ((5.0 + length) / 6.0) ** alpha


class _Session:
    """The growing token matrix of one batch, fed to the model with or without a cache."""

    def __init__(self, stack, prefix, memory, memory_mask, use_cache):
        self.stack, self.memory, self.memory_mask, self.use_cache = stack, memory, memory_mask, use_cache
        self.tokens = np.asarray(prefix, dtype="int32")
        self.caches = stack.init_caches(len(self.tokens)) if use_cache else None
        if use_cache:
            logits, self.caches = stack.logits(self.tokens, memory, memory_mask, self.caches, 0)
        else:
            logits = stack.logits(self.tokens, memory, memory_mask)
        self.next_logits = logits[:, -1]

    def append(self, new_tokens):
        index = self.tokens.shape[1]
        self.tokens = np.concatenate([self.tokens, np.asarray(new_tokens, "int32")[:, None]], axis=1)
        if self.use_cache:
            logits, self.caches = self.stack.logits(
                self.tokens[:, -1:], self.memory, self.memory_mask, self.caches, index)
        else:
            logits = self.stack.logits(self.tokens, self.memory, self.memory_mask)
        self.next_logits = logits[:, -1]

    def reorder(self, rows):
        self.tokens = self.tokens[rows]
        self.next_logits = self.next_logits[rows]
        if self.memory is not None:
            self.memory = ops.take(self.memory, rows, axis=0)
            self.memory_mask = ops.take(self.memory_mask, rows, axis=0)
        if self.caches is not None:
            self.caches = [ops.take(cache, rows, axis=0) for cache in self.caches]


def _filter_logits(logits, top_k, top_p):
    if top_k is not None:
        # A k above the vocabulary size keeps every token, as in Hugging Face's top-k filter.
        kth = np.sort(logits, -1)[:, -min(top_k, logits.shape[-1])][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-logits, -1)
        sorted_logits = np.take_along_axis(logits, order, -1)
        probs = np.exp(_log_softmax(sorted_logits))
        # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
        drop_sorted = np.cumsum(probs, -1) - probs >= top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, -1)
        logits = np.where(drop, -np.inf, logits)
    return logits


def _greedy_or_sample(session, steps, method, end_id, temperature, top_k, top_p, rngs):
    """``rngs``: one generator per row (the same one repeated when the rows share a seed)."""
    batch = len(session.tokens)
    out = np.zeros((batch, 0), "int32")
    finished = np.zeros(batch, bool)
    pad = session.stack.pad_id
    for step in range(steps):
        logits = session.next_logits.copy()
        logits[:, pad] = -np.inf  # never emit padding
        if method == "greedy":
            chosen = logits.argmax(-1)
        else:
            logits = _filter_logits(logits / temperature, top_k, top_p)
            probs = np.exp(_log_softmax(logits))
            chosen = np.array([rng.choice(len(p), p=p) for rng, p in zip(rngs, probs)])
        chosen = np.where(finished, pad, chosen).astype("int32")
        out = np.concatenate([out, chosen[:, None]], 1)
        if end_id is not None:
            finished |= chosen == end_id
        if finished.all() or step == steps - 1:
            break
        session.append(chosen)
    return [list(row) for row in out]


def _best_reachable(score, length, steps, alpha):
    """The best normalised score a live beam of ``length`` tokens and raw ``score`` can still end with."""
    # Log-probabilities only lower a raw score (<= 0), and the length penalty is monotonic in the length, so
    # the best ending is at one end of the lengths still ahead: the next step or the last.
    return max(score / _length_penalty(length + 1, alpha), score / _length_penalty(steps, alpha))


def _beam(session, steps, num_beams, end_id, length_penalty, batch):
    vocab = session.next_logits.shape[-1]
    rows = np.repeat(np.arange(batch), num_beams)
    session.reorder(rows)
    scores = np.tile(np.r_[0.0, np.full(num_beams - 1, -np.inf)], batch)
    generated = np.zeros((batch * num_beams, 0), "int32")
    done = [[] for _ in range(batch)]  # (normalised score, tokens)
    pad = session.stack.pad_id
    for step in range(steps):
        logp = _log_softmax(session.next_logits.astype("float64"))
        logp[:, pad] = -np.inf
        candidates = (scores[:, None] + logp).reshape(batch, num_beams * vocab)
        order = np.argsort(-candidates, -1)[:, : 2 * num_beams]
        next_rows, next_tokens, next_scores = [], [], []
        for b in range(batch):
            kept = 0
            for flat in order[b]:
                beam, token = divmod(int(flat), vocab)
                score = candidates[b, flat]
                row = b * num_beams + beam
                if end_id is not None and token == end_id:
                    hyp = list(generated[row]) + [token]
                    finished = (score / _length_penalty(len(hyp), length_penalty), hyp)
                    if len(done[b]) < num_beams:
                        done[b].append(finished)
                    else:  # full: a better hypothesis takes the place of the worst kept (as Hugging Face's)
                        worst = min(range(num_beams), key=lambda i: done[b][i][0])
                        if finished[0] > done[b][worst][0]:
                            done[b][worst] = finished
                    continue
                next_rows.append(row)
                next_tokens.append(token)
                next_scores.append(score)
                kept += 1
                if kept == num_beams:
                    break
            while kept < num_beams:  # everything left ended: pad with dead beams
                next_rows.append(b * num_beams)
                next_tokens.append(pad)
                next_scores.append(-np.inf)
                kept += 1
        rows = np.asarray(next_rows)
        generated = np.concatenate([generated[rows], np.asarray(next_tokens, "int32")[:, None]], 1)
        scores = np.asarray(next_scores)
        # Stop once no live beam can still beat the worst kept hypothesis of its input.
        finished_all = all(
            len(done[b]) >= num_beams
            and _best_reachable(max(scores[b * num_beams:(b + 1) * num_beams]), step + 1, steps, length_penalty)
            <= min(s for s, _ in done[b])
            for b in range(batch)
        )
        if finished_all or step == steps - 1:
            break
        session.reorder(rows)
        session.append(np.asarray(next_tokens, "int32"))
    results = []
    for b in range(batch):
        pool = list(done[b])
        for k in range(num_beams):
            row = b * num_beams + k
            if np.isfinite(scores[row]):
                pool.append((scores[row] / _length_penalty(generated.shape[1], length_penalty), list(generated[row])))
        results.append(max(pool, key=lambda item: item[0])[1] if pool else [])
    return results


def generate(model, inputs, *, max_new_tokens=32, method="greedy", num_beams=None, length_penalty=None,
             temperature=None, top_k=None, top_p=None, seed=None, end_id=None, start_id=None, use_cache=True):
    """Generate token ids from a ``build_lm`` or ``build_seq2seq`` model.

    Args:
        model: A language model (``inputs`` are prompts) or seq2seq model (``inputs`` are source sequences and
            decoding starts from ``start_id``).
        inputs: A list of id lists (ragged is fine: prompts are grouped by length, sources are padded with the
            model's ``pad_id``, which is never generated). Prompts hold no ``pad_id``; a source may.
        max_new_tokens: Most tokens to generate per input, a positive integer (also capped by the model's
            ``sequence_length``).
        method: ``greedy``, ``beam`` or ``sample``.
        num_beams: Beam width for ``beam`` (default 4): it keeps the ``num_beams`` best finished hypotheses and
            stops early only once no live beam can still end better than the worst of them.
        length_penalty: GNMT length-penalty exponent for ``beam`` (default 0.6; 0 compares raw
            log-probabilities).
        temperature: Softmax temperature for ``sample`` (default 1).
        top_k: Sample only among the ``k`` most likely tokens (an integer >= 1; one above the vocabulary size
            keeps every token); ``None`` for no limit.
        top_p: Nucleus sampling: sample within the smallest set of tokens whose probability reaches ``p``.
        seed: Seed of the sampler: an int, drawn from in turn by every input, or a list of one per input, each
            input then drawing from its own seed alone (its tokens do not depend on the other inputs).
        end_id: Token that ends a sequence (kept as its last token), not ``pad_id``; ``None`` runs to
            ``max_new_tokens``.
        start_id: First decoder token for seq2seq models, not ``pad_id``.
        use_cache: Decode incrementally with the key/value cache (``False`` recomputes the whole sequence each
            step; both give the same tokens).

    Returns:
        One list of generated ids per input (prompts excluded), in input order.

    Example:
        >>> lm = zoo.build_lm(vocab_size=100, sequence_length=16, num_layers=1, d_model=32, num_heads=2, ff_dim=64)
        >>> generate(lm, [[5, 8, 2]], max_new_tokens=5, method="sample", top_p=0.9, seed=0)
        [[61, 24, 3, 2, 76]]
    """
    check.positive_int("max_new_tokens", max_new_tokens)
    check_sampling(temperature, top_k, top_p)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {list(METHODS)}, got {method!r}")
    given = {"num_beams": num_beams, "length_penalty": length_penalty, "temperature": temperature, "top_k": top_k,
             "top_p": top_p, "seed": seed}
    for other, names in METHOD_OPTIONS.items():
        ignored = [name for name in names if given[name] is not None]
        if other != method and ignored:
            raise ValueError(f"`{ignored[0]}` applies to method={other!r}; set method={other!r} with it, or leave it "
                             f"out for {method} decoding")
    num_beams = DEFAULT_NUM_BEAMS if num_beams is None else num_beams
    length_penalty = DEFAULT_LENGTH_PENALTY if length_penalty is None else length_penalty
    temperature = DEFAULT_TEMPERATURE if temperature is None else temperature
    if method == "beam":
        check.positive_int("num_beams", num_beams)
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real):
            raise ValueError(f"`length_penalty` must be a number (0 compares raw log-probabilities), got "
                             f"{length_penalty!r}")
    stack = _DecoderStack(model)
    inputs = [_id_list(i, seq) for i, seq in enumerate(inputs)]
    if not inputs or any(not seq for seq in inputs):
        raise ValueError("`inputs` must be a non-empty list of non-empty id sequences")
    stack.check_ids(inputs, start_id, end_id)
    if isinstance(seed, (list, tuple)):
        if len(seed) != len(inputs):
            raise ValueError(f"`seed` holds {len(seed)} seeds for {len(inputs)} inputs: give one seed per input, "
                             "or a single int for them all")
        rngs = [np.random.default_rng(one) for one in seed]
    else:
        rngs = [np.random.default_rng(seed)] * len(inputs)
    results = [None] * len(inputs)

    if stack.is_seq2seq:
        if start_id is None:
            raise ValueError("seq2seq generation needs `start_id`, the first decoder token")
        width = max(map(len, inputs))
        source = np.array([seq + [stack.pad_id] * (width - len(seq)) for seq in inputs], "int32")
        memory, memory_mask = stack.encode(source)
        groups = [(list(range(len(inputs))), np.full((len(inputs), 1), start_id, "int32"), memory, memory_mask)]
    else:
        by_length = {}
        for i, seq in enumerate(inputs):
            by_length.setdefault(len(seq), []).append(i)
        groups = [(idx, np.array([inputs[i] for i in idx], "int32"), None, None) for idx in by_length.values()]

    for idx, prefix, memory, memory_mask in groups:
        steps = min(max_new_tokens, generation_room(model, prefix.shape[1]))
        if steps < 1:
            raise ValueError(f"prompts of {prefix.shape[1]} tokens leave no room below the model's "
                             f"sequence_length {stack.max_length}")
        session = _Session(stack, prefix, memory, memory_mask, use_cache)
        if method == "beam":
            outs = _beam(session, steps, num_beams, end_id, length_penalty, len(idx))
        else:
            outs = _greedy_or_sample(session, steps, method, end_id, temperature, top_k, top_p, [rngs[i] for i in idx])
        for i, out in zip(idx, outs):
            trimmed = [int(t) for t in out]
            if end_id is not None and end_id in trimmed:
                trimmed = trimmed[: trimmed.index(end_id) + 1]
            results[i] = [t for t in trimmed if t != stack.pad_id] if method != "beam" else trimmed
    return results
