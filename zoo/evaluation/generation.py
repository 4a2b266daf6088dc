"""``zoo evaluate`` for lm, mlm and seq2seq runs: perplexity on a split, and generated text scored against references.

Hypotheses and references are both token strings of the run's tokenizer joined by single spaces: the
reference text goes through the same tokenizer (cleaning, lowercasing, word or sub-word split, truncation)
as the model's inputs, so BLEU, ROUGE and exact match compare like with like and a model that reproduces
the reference's tokens scores 100 BLEU, whatever the tokenizer normalised away.
"""
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo.decoding import DEFAULT_NUM_BEAMS, METHODS, SCORED_METHODS, check_sampling
from zoo.evaluation.reports import REPORT_DIR, read_history, write_generation_report
from zoo.evaluation.runner import check_count, warn_trained_on

DEFAULT_BATCH_SIZE = 256


def evaluate_generation(run_dir, data=None, *, split=None, out_dir=None, method="greedy", num_beams=None,
                        max_new_tokens=None, limit=None, batch_size=DEFAULT_BATCH_SIZE, progress=True,
                        **load_options):
    """Score an lm, mlm or seq2seq run: perplexity, and BLEU / ROUGE / exact match of its generations.

    Perplexity covers every example: next-token for ``lm``, target tokens given the source for ``seq2seq``,
    and for ``mlm`` the masked tokens only (15% chosen by BERT masking with the run's seed, fixed per
    ``batch_size``, so the default reproduces the test perplexity training reported). ``seq2seq`` decodes every
    source from the begin token, up to ``sequence_length`` tokens. ``lm`` is prompted with the begin token and
    the first half of each text's tokens (at least one) and its continuation is scored against the rest; a
    continuation stops at the end token or one token past the reference's length (a continuation has no
    natural length, and the extra token still tells a model that ran on from one that stopped); texts under 2
    tokens cannot be split so and are counted as skipped. Hypotheses and references are token strings of the
    run's tokenizer (see the module docstring).

    Args:
        run_dir: a run directory written by ``zoo.train`` for an lm, mlm or seq2seq model.
        data: ``None`` for the run's own ``split``; a ``zoo.data.load`` spec; or a ``LabeledTexts``. For seq2seq
            the text column is the source and the label column the target; lm and mlm use the texts only (the
            loader still needs a label column). Columns default to the run's ``data.load_options``, else
            ``source`` / ``target`` for seq2seq.
        split: the run's own ``test`` (the default) or ``validation`` split; with ``data``, an official split of
            it (``zoo.evaluation.runner.data_split``).
        out_dir: report directory; defaults to ``<run_dir>/evaluation``.
        method: ``greedy`` or ``beam``.
        num_beams: beam width for ``beam`` (default 4); only with ``beam``.
        max_new_tokens: most tokens to generate per example; by default the run's ``sequence_length`` for seq2seq
            and the reference's length + 1 for lm.
        limit: generate for the first ``limit`` examples only (perplexity always covers all).
        batch_size: examples per model call.
        progress: show a progress bar for generation (on a terminal).
        **load_options: options for ``zoo.data.load`` with ``data``.

    Returns:
        The report dict (also in ``report.json``): ``info``, ``metrics`` (``loss``, ``accuracy``,
        ``perplexity``, ``tokens``; plus ``bleu``, ``rouge1``, ``rouge2``, ``rougeL``, ``exact_match`` for lm and
        seq2seq), ``examples`` (every generated example: ``index``, ``input``, ``reference``, ``hypothesis``)
        and ``files``.

    Raises:
        ValueError: a bad option, a split the run does not have, a classification run, or data without
            examples.

    Example:
        >>> _ = zoo.train({"data": {"source": "reviews.jsonl"}, "model": {"name": "lm", "overrides": {"num_layers": 1}},
        ...                "training": {"epochs": 1}, "output": {"dir": "runs/lm", "progress": "none"}})
        >>> report = evaluate_generation("runs/lm", method="beam", limit=5, progress=False)
        >>> sorted(report["metrics"])
        ['accuracy', 'bleu', 'exact_match', 'loss', 'perplexity', 'rouge1', 'rouge2', 'rougeL', 'tokens']
        >>> report["examples"][0]["input"], report["examples"][0]["reference"]  # an lm continues the first half
        ('ending a with brilliant', 'acting the great .')
    """
    from zoo.models.generation import check_max_new_tokens
    from zoo.training import load_run
    from zoo.training.data import encode_split, task_of_config

    _check_options(method, num_beams, max_new_tokens, limit, batch_size)
    num_beams = DEFAULT_NUM_BEAMS if num_beams is None else num_beams
    run_dir = Path(run_dir)
    model, tokenizer, _, config = load_run(run_dir)
    task = task_of_config(config)
    if task == "classification":
        raise ValueError(f"run {run_dir} trains a classifier ({config.model.name}); evaluate it with "
                         "zoo.evaluate, not evaluate_generation")
    generates = task != "mlm"
    if not generates and (method != "greedy" or limit is not None or max_new_tokens is not None):
        raise ValueError(f"run {run_dir} is an mlm run, which is scored by masked-token perplexity only; "
                         "method, num_beams, limit and max_new_tokens apply to lm and seq2seq runs")
    if generates:
        check_max_new_tokens(model, max_new_tokens, f"run {run_dir}")
    examples, source = _examples(config, task, run_dir, data, split, load_options)
    if data is not None:  # as for a classifier: scores on texts the run trained on measure memory
        warn_trained_on(run_dir, config, examples, "sources" if task == "seq2seq" else "texts")
    features, _ = encode_split(task, tokenizer, examples, config.data.sequence_length)
    metrics = perplexity_metrics(model, task, tokenizer, features, seed=config.training.seed, batch_size=batch_size)
    info = {"run": str(run_dir), "data": source, "model": config.model.name, "task": task,
            "examples": len(examples.texts),
            "perplexity": _perplexity_scope(task, tokenizer.vocab_size, config.training.seed, batch_size)}
    rows = []
    if generates:
        steps = max_new_tokens or (config.data.sequence_length if task == "seq2seq" else None)
        rows, skipped = _generate_rows(model, task, tokenizer, features, limit, method=method, num_beams=num_beams,
                                       max_new_tokens=steps, batch_size=batch_size, progress=progress)
        from zoo.evaluation.text_metrics import generation_metrics

        scores = generation_metrics([r["hypothesis"] for r in rows], [r["reference"] for r in rows], tokenized=True)
        metrics.update({k: v for k, v in scores.items() if k != "examples"})
        info["generation"] = {"method": method, "num_beams": num_beams if method == "beam" else None,
                              "max_new_tokens": steps or "reference length + 1", "limit": limit,
                              "examples": len(rows), "skipped": skipped}
    return write_generation_report(out_dir or run_dir / REPORT_DIR, metrics, rows, info=info,
                                   history=read_history(run_dir))


def generate_texts(run_dir, texts, *, method="greedy", num_beams=None, max_new_tokens=None, temperature=None,
                   top_k=None, top_p=None, seed=None, batch_size=DEFAULT_BATCH_SIZE, progress=False):
    """Generate with an lm or seq2seq run from new texts: a seq2seq run's output for each source text, an lm
    run's continuation of each prompt (``zoo generate RUN_DIR "text" ...``). An export of such a run
    (``saved_models/NAME[/N]``) generates too, greedily up to the ``max_new_tokens`` it was exported with.

    Each text is cleaned and tokenized as training did: a seq2seq source is its tokens (cut at the run's
    ``sequence_length``), an lm prompt the begin token and its tokens (at most ``sequence_length - 1``).
    Generation stops at the end token, after ``max_new_tokens``, or where the run's ``sequence_length`` ends.

    Args:
        run_dir: a run directory written by ``zoo.train`` for an lm or seq2seq model, or its export.
        texts: the source texts (seq2seq) or prompts (lm), a list of strings.
        method: ``greedy``, ``beam`` or ``sample``.
        num_beams: beam width for ``beam`` (default 4); only with ``beam``.
        max_new_tokens: most tokens to generate per text (default: as many as the run's ``sequence_length``
            allows).
        temperature: softmax temperature for ``sample`` (default 1).
        top_k: ``sample`` among the ``k`` most likely tokens only.
        top_p: nucleus sampling: ``sample`` within the smallest set of tokens whose probability reaches ``p``.
        seed: seed of ``sample`` (``None``: another draw each call). Each text draws from its own seed, derived
            from ``seed`` and its place in ``texts``, so its sample does not change with ``batch_size`` or with
            the texts after it.
        batch_size: texts per model call.
        progress: show a progress bar (on a terminal).

    Returns:
        One dict per text, in order: ``text``; ``generated``, the generated tokens as text (the tokenizer's
        ``detokenize``: cleaned as training cleaned, e.g. lowercased); ``empty_input``, true for a seq2seq
        source with no token left after cleaning, from which nothing is generated; ``replaced_bytes``, true for a
        text holding bytes that are not UTF-8 (generated from it with U+FFFD in their place, as ``text`` shows
        it); ``truncated``, true for a text with more tokens than the run reads, generated from what fits (an
        lm prompt's last tokens). No texts give no rows.

    Raises:
        ValueError: not an lm or seq2seq run, a text that is not a string, or a bad option.

    Example:
        >>> _ = zoo.train({"data": {"source": "reviews.jsonl"}, "model": {"name": "lm", "overrides": {"num_layers": 1}},
        ...                "training": {"epochs": 1}, "output": {"dir": "runs/lm", "progress": "none"}})
        >>> rows = generate_texts("runs/lm", ["a gripping", "the plot"], max_new_tokens=4)
        >>> sorted(rows[0])
        ['context_full', 'empty_input', 'generated', 'replaced_bytes', 'text', 'truncated']
        >>> [row["text"] for row in rows]
        ['a gripping', 'the plot']
    """
    from zoo.config import check_seed
    from zoo.export.predict import find_saved_model, generate_with_export, predicted_bytes, shown_text
    from zoo.export.serving import valid_utf8
    from zoo.models.generation import check_max_new_tokens, generation_room
    from zoo.training import load_run
    from zoo.training.data import frame_ids
    from zoo.training.run import run_task

    _check_options(method, num_beams, max_new_tokens, None, batch_size, methods=METHODS)
    if seed is not None:
        check_seed(seed, "seed (--seed)")
    sampling = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}
    given = [name for name, value in sampling.items() if value is not None]
    if given and method != "sample":  # they would be ignored without a word
        named = " and ".join(f"{name} (--{name.replace('_', '-')})" for name in given)
        verb, them = ("applies", "it") if len(given) == 1 else ("apply", "them")
        raise ValueError(f"{named} {verb} to sampling; set method='sample' (--method sample) with {them}, or leave "
                         f"{them} out for {method} decoding")
    check_sampling(temperature, top_k, top_p, flags=True)
    if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
        raise ValueError(f"texts must be a list of strings, got {texts!r:.80}")
    if not texts:  # as zoo.predict and zoo.embed: no texts, no results
        return []
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"model directory not found: {run_dir}")
    exported = find_saved_model(run_dir) if run_dir.is_dir() else None
    if exported is not None:
        asked = [f"{name} (--{name.replace('_', '-')})" for name, value in (
            ("method", method != "greedy"), ("num_beams", num_beams is not None),
            ("max_new_tokens", max_new_tokens is not None)) if value]
        if asked:
            raise ValueError(f"{run_dir} is an export, which generates greedily up to the max_new_tokens it was "
                             f"exported with; {' and '.join(asked)} need{'s' if len(asked) == 1 else ''} the run "
                             "directory it was exported from")
        return generate_with_export(exported, list(texts), batch_size=batch_size)
    task = run_task(run_dir)
    if task is not None and task not in ("lm", "seq2seq"):
        fix = "zoo predict gives its labels" if task == "classification" else "zoo evaluate scores it"
        raise ValueError(f"{run_dir} is not an lm or seq2seq run (its model's task is {task}): only those generate "
                         f"text; {fix}")
    model, tokenizer, _, config = load_run(run_dir)
    check_max_new_tokens(model, max_new_tokens, f"run {run_dir}")
    length = config.data.sequence_length
    begin, _ = frame_ids(tokenizer)
    fits = length if task == "seq2seq" else length - 1  # an lm prompt starts with the begin token
    # Bytes that are not UTF-8 are replaced and flagged, as the export and zoo predict do (they stopped the run).
    valid, replaced = valid_utf8(tf.constant([predicted_bytes(text) for text in texts], tf.string))
    whole = tokenizer.tokenize(valid).to_list()
    # A seq2seq source is cut as training's encode cut it; an lm prompt keeps its end, which the continuation
    # follows (its first tokens continued the middle of a long prompt).
    tokens = [ids[:fits] if task == "seq2seq" else ids[-fits:] for ids in whole]
    inputs = tokens if task == "seq2seq" else [[begin] + ids for ids in tokens]
    kept = [i for i, ids in enumerate(inputs) if ids]
    if method == "sample":
        # A seed per text rather than per model call: which texts share a call depends on batch_size and on the
        # other texts' lengths, which would otherwise change a text's sample.
        seeds = [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(len(texts))]
        sampling = {**sampling, "seed": [seeds[i] for i in kept]}
    generated = _generate(model, [inputs[i] for i in kept], [max_new_tokens or length] * len(kept), tokenizer,
                          is_seq2seq=task == "seq2seq", method=method, num_beams=num_beams, batch_size=batch_size,
                          progress=progress, sampling=sampling if method == "sample" else None)
    outputs = dict(zip(kept, generated))
    rows = tf.ragged.constant([outputs.get(i, []) for i in range(len(texts))], dtype=tf.int32, ragged_rank=1)
    generated_texts = [text.decode("utf-8") for text in tokenizer.detokenize_batch(rows).numpy()]
    # As the export's context_full: a text stopped where the model's positions end, short of the end token and of
    # max_new_tokens.
    cap, end = max_new_tokens or length, frame_ids(tokenizer)[1]
    room = {i: generation_room(model, 1 if task == "seq2seq" else len(inputs[i])) for i in kept}
    full = {i: room[i] < cap and len(ids) >= room[i] and end not in ids for i, ids in outputs.items()}
    return [{"text": shown_text(text), "generated": generated_texts[i], "empty_input": i not in outputs,
             "replaced_bytes": bool(replaced[i]), "truncated": len(whole[i]) > fits,
             "context_full": full.get(i, False)} for i, text in enumerate(texts)]


def perplexity_metrics(model, task, tokenizer, features, *, seed=0, batch_size=DEFAULT_BATCH_SIZE):
    """Return ``{"loss", "accuracy", "perplexity", "tokens"}`` of a token model over encoded features.

    ``loss`` is the mean negative log-likelihood per predicted token (natural log), ``accuracy`` the
    fraction of those tokens predicted by the arg-max, ``tokens`` how many were predicted.

    Args:
        model: an lm, mlm or seq2seq Keras model.
        task: ``lm``, ``mlm`` or ``seq2seq``.
        tokenizer: the run's tokenizer (its vocabulary size and special ids).
        features: the split's features from ``zoo.training.data.encode_split``.
        seed: seed of the mlm masking.
        batch_size: examples per model call (mlm masks depend on it).

    Example:
        >>> from zoo.training.data import frame
        >>> tok = zoo.data.build_tokenizer("word", 100).fit(["a good film", "a dull film"])
        >>> lm = zoo.models.build("lm", vocab_size=tok.vocab_size, sequence_length=16)
        >>> perplexity_metrics(lm, "lm", tok, frame(tok, ["a good film"], 16))  # 3 words and the end token
        {'loss': ..., 'accuracy': ..., 'perplexity': ..., 'tokens': 4}
    """
    from zoo.training.loop import Evaluator
    from zoo.training.objectives import objective_for

    objective = objective_for(task, vocab_size=tokenizer.vocab_size, special_ids=tokenizer.special_ids)
    return Evaluator(model, objective, seed=seed)(features, None, batch_size=batch_size)


def _perplexity_scope(task, vocab_size, seed, batch_size):
    if task == "mlm":
        from zoo.training.objectives import objective_for

        rate = objective_for(task, vocab_size=vocab_size).mask_rate
        return (f"masked tokens only: {rate:.0%} of the tokens chosen by BERT masking (seed {seed}, batches of "
                f"{batch_size})")
    if task == "lm":
        return "every next token of each text, its end token included"
    return "every target token given the source, the end token included"


def _check_options(method, num_beams, max_new_tokens, limit, batch_size, methods=SCORED_METHODS):
    if method not in methods:
        raise ValueError(f"method must be one of {', '.join(methods)}, got {method!r}")
    check_count("batch_size", batch_size, 1)
    # A beam width given with greedy decoding would be ignored without a word.
    if num_beams is not None and method != "beam":
        raise ValueError(f"num_beams (--num-beams) applies to beam search; set method='beam' (--method beam) with it, "
                         f"or leave it out for {method} decoding")
    for name, value in (("num_beams", num_beams), ("max_new_tokens", max_new_tokens), ("limit", limit)):
        if value is not None:
            check_count(name, value, 1)


def _examples(config, task, run_dir, data, split, load_options):
    """The ``LabeledTexts`` to score and a description of where they came from."""
    from zoo.evaluation.runner import data_split, run_split
    from zoo.training.data import options_like_run

    if data is None:
        return run_split(run_dir, config, split or "test", load_options)
    return data_split(data, split, options_like_run(config, task, load_options))


def _generate_rows(model, task, tokenizer, features, limit, *, method, num_beams, max_new_tokens, batch_size,
                   progress):
    """Generate for the first ``limit`` examples; return the example rows and how many were skipped.

    ``max_new_tokens=None`` caps each lm continuation at its reference's length + 1.
    """
    if task == "seq2seq":
        inputs, references = _seq2seq_pairs(features, limit, tokenizer)
    else:
        inputs, references = _lm_pairs(features, limit, tokenizer)
    kept = [i for i, ids in enumerate(inputs) if ids is not None]
    caps = [max_new_tokens or len(references[i]) + 1 for i in kept]
    tokens = _TokenStrings(tokenizer)
    hypotheses = _generate(model, [inputs[i] for i in kept], caps, tokenizer, is_seq2seq=task == "seq2seq",
                           method=method, num_beams=num_beams, batch_size=batch_size, progress=progress)
    rows = [{"index": i, "input": tokens(inputs[i]), "reference": tokens(references[i]), "hypothesis": tokens(h)}
            for i, h in zip(kept, hypotheses)]
    if not rows:
        reason = ("no source has a token" if task == "seq2seq" else
                  f"every one of the {len(inputs)} texts has fewer than 2 tokens (one for the prompt, one to predict)")
        raise ValueError(f"nothing to generate from: {reason}")
    return rows, len(inputs) - len(kept)


def _seq2seq_pairs(features, limit, tokenizer):
    """Source ids (``None`` for an empty source) and reference ids of the first ``limit`` examples."""
    sources, targets = features["source"][:limit], features["target"][:limit]
    return ([row[row != tokenizer.pad_id].tolist() or None for row in sources],
            [_between_begin_and_end(row, tokenizer) for row in targets])


def _lm_pairs(features, limit, tokenizer):
    """Prompts ``[begin] + first half`` (``None`` for texts under 2 tokens) and the rest as references."""
    from zoo.training.data import frame_ids

    begin, _ = frame_ids(tokenizer)
    prompts, references = [], []
    for row in features[:limit]:
        body = _between_begin_and_end(row, tokenizer)
        cut = max(1, len(body) // 2)
        prompts.append([begin] + body[:cut] if len(body) >= 2 else None)
        references.append(body[cut:])
    return prompts, references


def _between_begin_and_end(framed, tokenizer):
    """The text's ids of a framed ``[begin] ids [end] [PAD]...`` row."""
    return framed[1:(framed != tokenizer.pad_id).sum() - 1].tolist()


def _generate(model, inputs, caps, tokenizer, *, is_seq2seq, method, num_beams, batch_size, progress, sampling=None):
    """Generated ids per input (at most ``caps[i]`` new tokens), in input order.

    Inputs are batched in length order, so a batch pads little and splits into few length groups, and each
    ``generate`` call covers inputs with one cap. ``sampling``: ``generate``'s ``temperature``, ``top_k`` and
    ``top_p`` (``None`` values: its defaults), and ``seed``, one per input.
    """
    from tqdm.auto import tqdm

    from zoo.models.generation import generate
    from zoo.training.data import frame_ids
    from zoo.training.progress import shows_bar

    begin, end = frame_ids(tokenizer)
    # Each method is given only its own options (generate refuses another's); None leaves generate's default.
    options = {key: value for key, value in (sampling or {}).items() if value is not None and key != "seed"}
    if method == "beam" and num_beams is not None:
        options["num_beams"] = num_beams
    order = sorted(range(len(inputs)), key=lambda i: (len(inputs[i]), caps[i]))
    out = [None] * len(inputs)
    with tqdm(total=len(inputs), unit="example", desc="generating",
              disable=not (progress and shows_bar(sys.stderr))) as bar:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            for cap in sorted({caps[i] for i in chunk}):
                group = [i for i in chunk if caps[i] == cap]
                if method == "sample":
                    options["seed"] = [sampling["seed"][i] for i in group]
                generated = generate(model, [inputs[i] for i in group], method=method, max_new_tokens=cap,
                                     end_id=end, start_id=begin if is_seq2seq else None, **options)
                for i, ids in zip(group, generated):
                    out[i] = ids
            bar.update(len(chunk))
    return out


class _TokenStrings:
    """Ids -> the tokenizer's tokens joined by single spaces, without begin, end and padding."""

    def __init__(self, tokenizer):
        from zoo.training.data import frame_ids

        ids = tf.range(tokenizer.vocab_size)
        self.vocabulary = [t.decode("utf-8") for t in tokenizer.id_to_token(ids).numpy()]
        self.dropped = {tokenizer.pad_id, *frame_ids(tokenizer)}

    def __call__(self, ids):
        return " ".join(self.vocabulary[i] for i in ids if i not in self.dropped)

