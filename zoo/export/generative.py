"""The serving graph of an lm or seq2seq run: raw strings → clean → tokenize → greedy decoding → text.

It decodes as ``zoo generate`` does greedily (``zoo.evaluation.generation.generate_texts``), inside one graph:
a seq2seq source is its tokens cut to ``sequence_length``, an lm prompt the begin token and its last tokens (at
most ``sequence_length - 1``: the continuation follows the prompt's end); each step takes the likeliest token but
padding, and a text stops at the end token, after ``max_new_tokens``, or where the model's positions end. Each
step recomputes the whole sequence (no key/value cache: the tokens are those of the cached decoding, and the graph
stays one ``tf.while_loop``).

Outputs per text: ``generated`` (the new tokens as text, the tokenizer's ``detokenize_batch``), ``empty_input``
(a seq2seq source with no token left after cleaning: nothing is generated), ``replaced_bytes`` and
``truncated``, as a classifier's export flags them (``zoo.export.serving``), and ``context_full``: the text stopped
because the model's positions were full (an lm's prompt and continuation, a seq2seq's output), before the end token
and before ``max_new_tokens``.
"""
import tensorflow as tf

from zoo.evaluation.runner import check_count
from zoo.export.serving import TextEndpoint, check_tokenizer
from zoo.models.generation import check_max_new_tokens, generation_room, most_new_tokens

GENERATIVE_TASKS = ("lm", "seq2seq")
OUTPUTS = {"generated": "string [None]", "empty_input": "bool [None]", "replaced_bytes": "bool [None]",
           "truncated": "bool [None]", "context_full": "bool [None]"}


class GenerativeServingGraph(TextEndpoint):
    """Holds an lm or seq2seq model with its tokenizer, and the ``tf.function`` that generates from raw strings.

    Args:
        model: a built zoo ``CausalLM`` (``task="lm"``) or ``Seq2Seq`` (``task="seq2seq"``).
        tokenizer: the run's tokenizer (cleaning included); its ``[CLS]`` and ``[SEP]`` begin and end sequences.
        task: ``"lm"`` or ``"seq2seq"``.
        sequence_length: the run's ``data.sequence_length``: longest source, or longest lm prompt plus one.
        max_new_tokens: most tokens generated per text (default ``sequence_length``, as ``zoo generate``'s).

    Example:
        >>> tokenizer = zoo.data.build_tokenizer("word", 100).fit(["a gripping film", "a dull film"])
        >>> lm = zoo.build("lm", vocab_size=tokenizer.vocab_size, sequence_length=16)
        >>> graph = GenerativeServingGraph(lm, tokenizer, "lm", sequence_length=16, max_new_tokens=4)
        >>> out = graph.serve_text(tf.constant(["a gripping", ""]))
        >>> sorted(out), out["generated"].shape, out["empty_input"].numpy()
        (['context_full', 'empty_input', 'generated', 'replaced_bytes', 'truncated'], TensorShape([2]),
         array([False, False]))
    """

    def __init__(self, model, tokenizer, task, sequence_length, max_new_tokens=None):
        from zoo.training.data import frame_ids

        if task not in GENERATIVE_TASKS:
            raise ValueError(f"task must be one of {', '.join(GENERATIVE_TASKS)}, got {task!r}")
        check_tokenizer(tokenizer)
        if tokenizer.pad_id != model.pad_id:
            raise ValueError(f"the tokenizer pads with id {tokenizer.pad_id} but model {model.name!r} masks id "
                             f"{model.pad_id}")
        self.model, self.tokenizer, self.task = model, tokenizer, task
        if max_new_tokens is not None:
            # As zoo generate and zoo evaluate check it; a Python int for the export's metadata (JSON).
            max_new_tokens = int(check_count("max_new_tokens", max_new_tokens, 1))
        self.sequence_length = int(sequence_length)
        # The positions a sequence may fill: an lm's prompt and continuation, a seq2seq's decoder input.
        self.positions = most_new_tokens(model)
        # By default as many as the positions take: a seq2seq model's target_length may be below sequence_length.
        self.max_new_tokens = min(self.sequence_length, self.positions) if max_new_tokens is None else max_new_tokens
        self.pad_id = model.pad_id
        self.begin_id, self.end_id = frame_ids(tokenizer)
        check_max_new_tokens(model, max_new_tokens, f"this {task} model")
        # What fits of a text: a seq2seq source whole, an lm prompt after its begin token.
        self.fits = self.sequence_length if task == "seq2seq" else self.sequence_length - 1
        super().__init__()

    def _outputs(self, valid):
        ragged = tf.cast(self.tokenizer.tokenize(valid), tf.int32)
        truncated = ragged.row_lengths() > self.fits
        # A seq2seq source is cut as training cut it; an lm prompt keeps its end, which the continuation follows.
        tokens = ragged[:, : self.fits] if self.task == "seq2seq" else ragged[:, -self.fits:]
        if self.task == "seq2seq":
            empty = tf.equal(tokens.row_lengths(), 0)
            generated, full = self._translate(tokens)
        else:  # an lm prompt always holds its begin token
            empty = tf.zeros_like(truncated)
            begin = tf.fill([tokens.nrows(), 1], self.begin_id)
            generated, full = self._continue(tf.concat([tf.RaggedTensor.from_tensor(begin), tokens], axis=1))
        text = tf.where(empty, tf.constant(""), self.tokenizer.detokenize_batch(generated))
        return {"generated": text, "empty_input": empty, "truncated": truncated, "context_full": full & ~empty}

    def _choose(self, logits):
        """The likeliest token of each row of ``[B, V]`` logits, never padding."""
        logits = tf.cast(logits, tf.float32)
        is_pad = tf.equal(tf.range(tf.shape(logits)[-1]), self.pad_id)
        return tf.argmax(tf.where(is_pad, tf.constant(-float("inf")), logits), axis=-1, output_type=tf.int32)

    def _decode(self, buffer, lengths, steps, next_logits):
        """Greedy decoding: row ``i`` of ``buffer`` ``[B, positions]`` holds ``lengths[i]`` tokens; each step
        appends the choice from ``next_logits(buffer, t)`` ``[B, V]`` until the end token or ``steps[i]`` tokens.

        Returns the generated ids ``[B, max_new_tokens]``, padding after a row's last, and ``[B]`` whether a row
        stopped at its ``steps`` (where the positions end) short of ``max_new_tokens`` and of the end token."""
        batch = tf.shape(buffer)[0]
        rows = tf.range(batch)
        out = tf.fill([batch, self.max_new_tokens], self.pad_id)

        def body(t, buffer, out, finished):
            chosen = tf.where(finished, self.pad_id, self._choose(next_logits(buffer, t)))
            out = tf.tensor_scatter_nd_update(out, tf.stack([rows, tf.fill([batch], t)], 1), chosen)
            finished = finished | tf.equal(chosen, self.end_id) | (t + 1 >= steps)
            # The choice is the next step's input where the row goes on (no row goes on past the positions).
            at = tf.stack([rows, tf.minimum(lengths + t, self.positions - 1)], 1)
            buffer = tf.tensor_scatter_nd_update(buffer, at, tf.where(finished, tf.gather_nd(buffer, at), chosen))
            return t + 1, buffer, out, finished

        _, _, out, _ = tf.while_loop(
            lambda t, buffer, out, finished: (t < self.max_new_tokens) & ~tf.reduce_all(finished), body,
            [tf.constant(0), buffer, out, steps < 1])
        made = tf.reduce_sum(tf.cast(tf.not_equal(out, self.pad_id), tf.int32), axis=1)
        ended = tf.reduce_any(tf.equal(out, self.end_id), axis=1)
        return out, (made >= steps) & (steps < self.max_new_tokens) & ~ended

    def _continue(self, prompts):
        """An lm's continuation of each prompt ``[B, None]`` (begin token first), as ``_decode`` returns it."""
        lengths = tf.cast(prompts.row_lengths(), tf.int32)
        steps = tf.minimum(self.max_new_tokens, generation_room(self.model, lengths))
        buffer = prompts.to_tensor(default_value=self.pad_id, shape=[None, self.positions])

        def next_logits(buffer, t):
            # Causal attention: a row's padding after its last token does not change that token's logits.
            width = tf.minimum(tf.reduce_max(lengths) + t, self.positions)
            logits = self.model(buffer[:, :width], training=False)
            return tf.gather(logits, tf.minimum(lengths + t, width) - 1, batch_dims=1)

        return self._decode(buffer, lengths, steps, next_logits)

    def _translate(self, sources):
        """A seq2seq model's output for each source ``[B, None]``, as ``_decode`` returns it (rows without a token
        give garbage, replaced by the caller)."""
        source = sources.to_tensor(default_value=self.pad_id)
        source = tf.pad(source, [[0, 0], [0, tf.maximum(1 - tf.shape(source)[1], 0)]], constant_values=self.pad_id)
        memory, memory_mask = self.model.encode(source)
        batch = tf.shape(source)[0]
        lengths = tf.ones([batch], tf.int32)  # the begin token
        steps = tf.fill([batch], min(self.max_new_tokens, generation_room(self.model, 1)))
        buffer = tf.concat([tf.fill([batch, 1], self.begin_id), tf.fill([batch, self.positions - 1], self.pad_id)], 1)

        def next_logits(buffer, t):
            return self.model.decode(buffer[:, : t + 1], memory, memory_mask)[:, t]

        return self._decode(buffer, lengths, steps, next_logits)
