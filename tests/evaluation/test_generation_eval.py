"""Evaluating lm, mlm and seq2seq runs: perplexity against numpy, generations against an independent greedy decode."""
import argparse
import csv
import json
import logging
import re

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from tests.export.tiny import sentiment_texts, write_jsonl
from zoo.config import Config
from zoo.data import LEARNED_IDS, LabeledTexts
from zoo.evaluation.cli import add_evaluate_command
from zoo.evaluation.generation import evaluate_generation, generate_texts
from zoo.evaluation.runner import evaluate
from zoo.evaluation.text_metrics import generation_metrics
from zoo.training.data import split_texts

LETTERS = list("abcdefghijkl")
SEQUENCE_LENGTH = {"seq2seq": 12, "lm": 16, "mlm": 16}
# The runs learn their tokenizers, which put [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4; lm and seq2seq
# sequences are framed [CLS] ... [SEP].
FIRST_REGULAR_ID = 5
BEGIN_ID, END_ID = LEARNED_IDS.cls, LEARNED_IDS.sep


def _write_reversal(path, n, seed):
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("source\ttarget\n")
        for _ in range(n):
            letters = list(rng.choice(LETTERS, size=int(rng.integers(3, 9))))
            f.write(f"{' '.join(letters)}\t{' '.join(letters[::-1])}\n")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished zoo.train runs of tiny seq2seq (letter reversal), lm and mlm models (synthetic sentences)."""
    from zoo.training.run import train

    base = tmp_path_factory.mktemp("token_runs")
    texts, labels = sentiment_texts(240, seed=1)
    sentences = write_jsonl(base / "sentences.jsonl", texts, labels, ["negative", "positive"])
    sources = {"seq2seq": _write_reversal(base / "reverse.tsv", 240, seed=2), "lm": sentences, "mlm": sentences}
    out = {}
    for name, source in sources.items():
        out[name] = train({
            "data": {"source": str(source), "vocab_size": 200, "sequence_length": SEQUENCE_LENGTH[name],
                     "validation_split": 0.0, "test_split": 0.2},
            "model": {"name": name, "overrides": {"num_layers": 1, "d_model": 16, "num_heads": 2, "ff_dim": 32,
                                                  "dropout": 0.0}},
            "training": {"epochs": 1, "batch_size": 64, "seed": 3},
            "output": {"dir": str(base / name), "progress": "none", "tensorboard": False},
        })
    return out


@pytest.fixture(scope="module")
def lm_report(runs, tmp_path_factory):
    """The lm run's report on its test split, generating for the first 4 texts."""
    return evaluate_generation(runs["lm"].run_dir, out_dir=tmp_path_factory.mktemp("lm_eval"), limit=4,
                               progress=False)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _greedy(next_logits, steps):
    """Greedy ids from full forward passes (no cache): ``next_logits(generated)`` gives the next-token logits."""
    out = []
    for _ in range(steps):
        logits = np.array(next_logits(out), np.float64)
        logits[0] = -np.inf  # padding is never generated
        out.append(int(logits.argmax()))
        if out[-1] == END_ID:
            break
    return out


def _lm_greedy(model, prompt, steps):
    def next_logits(generated):
        return model(tf.constant([prompt + generated]), training=False).numpy()[0, -1]
    return _greedy(next_logits, steps)


def _seq2seq_greedy(model, source, steps):
    def next_logits(generated):
        inputs = {"encoder_ids": tf.constant([source]), "decoder_ids": tf.constant([[BEGIN_ID] + generated])}
        return model(inputs, training=False).numpy()[0, -1]
    return _greedy(next_logits, steps)


def _tokens(vocabulary, ids):
    return " ".join(vocabulary[i] for i in ids if i not in (0, BEGIN_ID, END_ID))


def test_lm_perplexity_is_exp_mean_nll_of_the_model_logits(runs, lm_report):
    run, report = runs["lm"], lm_report
    texts = split_texts(run.config)["test"].texts
    length = SEQUENCE_LENGTH["lm"]
    ids = run.tokenizer.encode(tf.constant(texts), length - 1).numpy()
    n = (ids != 0).sum(1)
    framed = np.zeros((len(texts), length + 1), np.int32)
    framed[:, 0] = BEGIN_ID
    framed[:, 1:length] = ids
    framed[np.arange(len(texts)), n + 1] = END_ID
    logits = run.model(tf.constant(framed[:, :-1]), training=False).numpy().astype(np.float64)
    targets = framed[:, 1:]
    nll = -np.take_along_axis(_log_softmax(logits), targets[..., None], -1)[..., 0]
    scored = targets != 0
    m = report["metrics"]
    assert m["tokens"] == scored.sum() == (n + 1).sum()
    assert m["loss"] == pytest.approx(nll[scored].mean(), rel=1e-5)
    assert m["perplexity"] == pytest.approx(np.exp(nll[scored].mean()), rel=1e-5)
    assert m["accuracy"] == pytest.approx((logits.argmax(-1) == targets)[scored].mean())
    assert report["info"]["examples"] == len(texts)
    assert report["info"]["generation"]["examples"] == len(report["examples"]) == 4


def test_lm_continues_the_first_half_as_an_independent_greedy_decode_does(runs, lm_report):
    run, report = runs["lm"], lm_report
    texts = split_texts(run.config)["test"].texts
    vocabulary = run.tokenizer.vocabulary
    length = SEQUENCE_LENGTH["lm"]
    for row in report["examples"]:
        ids = run.tokenizer.encode(tf.constant([texts[row["index"]]]), length - 1).numpy()[0]
        body = ids[ids != 0].tolist()
        cut = max(1, len(body) // 2)
        assert row["input"] == _tokens(vocabulary, body[:cut])
        assert row["reference"] == _tokens(vocabulary, body[cut:])
        # a continuation stops at the end token or one token past the reference
        decoded = _lm_greedy(run.model, [BEGIN_ID] + body[:cut], len(body) - cut + 1)
        assert row["hypothesis"] == _tokens(vocabulary, decoded)
    assert report["info"]["generation"]["max_new_tokens"] == "reference length + 1"
    hits = np.mean([row["hypothesis"] == row["reference"] for row in report["examples"]])
    assert report["metrics"]["exact_match"] == pytest.approx(hits)


def test_bleu_counts_each_of_the_run_s_tokens_as_one_word(lm_report):
    # sacrebleu's 13a would split "[UNK]" into "[ UNK ]", so two texts sharing only unknown tokens matched bigrams
    hypothesis, reference = ["[UNK] film [UNK]"], ["[UNK] movie [UNK]"]
    assert generation_metrics(hypothesis, reference)["bleu"] > 40
    assert generation_metrics(hypothesis, reference, tokenized=True)["bleu"] == 0.0
    rows = lm_report["examples"]
    tokens_bleu = sacrebleu.corpus_bleu([row["hypothesis"] for row in rows], [[row["reference"] for row in rows]],
                                        tokenize="none").score
    assert lm_report["metrics"]["bleu"] == pytest.approx(tokens_bleu)


def test_lm_counts_the_texts_too_short_to_prompt(runs, tmp_path):
    texts = ["Great", "a dull film", "Boring", "The plot was gripping ."]
    data = write_jsonl(tmp_path / "short.jsonl", texts, [1, 0, 0, 1], ["negative", "positive"])
    report = evaluate(runs["lm"].run_dir, str(data), out_dir=tmp_path / "eval", progress=False)
    assert report["info"]["generation"]["skipped"] == 2
    assert [row["index"] for row in report["examples"]] == [1, 3]
    assert report["examples"][0]["input"] == "a" and report["examples"][0]["reference"] == "dull film"
    assert "**skipped**: 2" in (tmp_path / "eval" / "report.md").read_text()


# The reference decode's first step attends over one decoder position, which Keras warns about.
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")
def test_seq2seq_exact_match_of_a_model_whose_outputs_are_known(runs, tmp_path):
    run = runs["seq2seq"]
    test = split_texts(run.config)["test"]
    vocabulary = run.tokenizer.vocabulary
    steps = 5
    sources, targets = [], []
    for text in test.texts:
        source = run.tokenizer.tokenize(tf.constant(text)).numpy().tolist()
        decoded = _seq2seq_greedy(run.model, source, steps)
        if all(i >= FIRST_REGULAR_ID for i in decoded if i != END_ID):
            sources.append(text)
            # Every other target is the model's own greedy output, the rest that plus one more letter.
            targets.append(_tokens(vocabulary, decoded) + ("" if len(targets) % 2 == 0 else " a"))
        if len(targets) == 6:
            break
    assert len(targets) == 6, "the tiny model's greedy outputs should mostly be letters"
    names = sorted(set(targets))
    data = LabeledTexts(sources, [names.index(t) for t in targets], names, source="known outputs")
    report = evaluate_generation(run.run_dir, data, out_dir=tmp_path / "eval", max_new_tokens=steps, progress=False)
    assert [row["reference"] for row in report["examples"]] == [t.strip() for t in targets]
    assert [row["input"] for row in report["examples"]] == sources
    assert [row["hypothesis"] for row in report["examples"]] == [t.removesuffix(" a").strip() for t in targets]
    assert report["metrics"]["exact_match"] == pytest.approx(0.5)
    assert report["info"]["generation"]["max_new_tokens"] == steps


def test_seq2seq_report_on_the_test_split_and_its_files(runs, tmp_path):
    run = runs["seq2seq"]
    out = tmp_path / "eval"
    report = evaluate(run.run_dir, out_dir=out, method="beam", num_beams=2, limit=4, progress=False)
    test = split_texts(run.config)["test"]
    m = report["metrics"]
    # training scored the same test split with its own evaluation: the same perplexity
    assert m["perplexity"] == pytest.approx(run.metrics["test"]["perplexity"], rel=1e-6)
    targets = [test.label_names[label] for label in test.labels]
    # every target letter (at most sequence_length - 1 of them) and the end token
    assert m["tokens"] == sum(min(len(t.split()), SEQUENCE_LENGTH["seq2seq"] - 1) + 1 for t in targets)
    rows = report["examples"]
    assert [row["input"] for row in rows] == test.texts[:4]
    assert [row["reference"] for row in rows] == targets[:4]
    assert report["info"]["generation"] == {"method": "beam", "num_beams": 2, "max_new_tokens": 12, "limit": 4,
                                            "examples": 4, "skipped": 0}
    assert set(m) == {"loss", "accuracy", "perplexity", "tokens", "bleu", "rouge1", "rouge2", "rougeL", "exact_match"}
    assert json.loads((out / "report.json").read_text())["metrics"] == m
    markdown = (out / "report.md").read_text()
    assert f"**perplexity**: {m['perplexity']:.4f}" in markdown and f"**BLEU**: {m['bleu']:.2f}" in markdown
    assert f"| 0 | {rows[0]['input']} | {rows[0]['reference']} |" in markdown
    assert set(report["files"]) == {"json", "markdown", "training_curves"}


def test_mlm_scores_the_masked_tokens_only(runs, tmp_path):
    run = runs["mlm"]
    report = evaluate_generation(run.run_dir, out_dir=tmp_path / "eval", progress=False)
    m = report["metrics"]
    assert m["perplexity"] == pytest.approx(run.metrics["test"]["perplexity"], rel=1e-6)
    texts = split_texts(run.config)["test"].texts
    ids = run.tokenizer.encode(tf.constant(texts), SEQUENCE_LENGTH["mlm"]).numpy()
    eligible = (ids >= FIRST_REGULAR_ID).sum()
    assert 0.05 * eligible < m["tokens"] < 0.3 * eligible
    assert m["perplexity"] == pytest.approx(np.exp(m["loss"]))
    assert "bleu" not in m and report["examples"] == [] and "generation" not in report["info"]
    assert "masked tokens only" in (tmp_path / "eval" / "report.md").read_text()


def test_zoo_evaluate_cli_prints_the_perplexity_of_a_token_run(runs, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="zoo")
    add_evaluate_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli"
    args = parser.parse_args(["evaluate", str(runs["lm"].run_dir), "--out", str(out), "--limit", "2"])
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "report.json").read_text())["metrics"]
    assert f"perplexity {m['perplexity']:.4f}" in printed and f"BLEU {m['bleu']:.2f}" in printed
    assert "2 generated (greedy)" in printed

    args = parser.parse_args(["evaluate", str(runs["mlm"].run_dir), "--out", str(out), "--method", "beam"])
    assert args.handler(args) == 2
    assert "mlm run" in capsys.readouterr().err
    # it was accepted, and listed nothing
    args = parser.parse_args(["evaluate", str(runs["lm"].run_dir), "--out", str(out), "--mistakes", "5"])
    assert args.handler(args) == 2
    assert capsys.readouterr().err == (f"zoo evaluate: error: mistakes (--mistakes) lists a classifier's most "
                                       f"confident mistakes; {runs['lm'].run_dir} is an lm run: leave it out\n")


@pytest.mark.parametrize("task", ["lm", "mlm", "seq2seq"])
def test_evaluating_a_token_run_on_texts_it_trained_on_warns(runs, task, tmp_path, caplog):
    # zoo evaluate --data warned so for classifier runs only; a seq2seq run's sources are compared.
    run = runs[task]
    source = run.config.data.source
    trained = set(split_texts(run.config)["train"].inputs)
    sources = [line.split("\t")[0] if task == "seq2seq" else json.loads(line)["text"]
               for line in open(source, encoding="utf-8").read().splitlines()[task == "seq2seq":]]
    shared = sum(text in trained for text in sources)
    assert 0 < shared < len(sources)
    what = "sources" if task == "seq2seq" else "texts"
    limit = None if task == "mlm" else 2
    with caplog.at_level(logging.WARNING):
        evaluate(run.run_dir, source, out_dir=tmp_path / "own", limit=limit, progress=False)
    assert (f"warning: {shared} of the {len(sources)} {what} of {source} are {what} run {run.run_dir} trained on "
            "(first: ") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the run's own test split: nothing to warn about
        evaluate(run.run_dir, out_dir=tmp_path / "test", limit=limit, progress=False)
    assert "trained on" not in caplog.text


def test_bad_options_and_data_give_the_documented_errors(runs, tmp_path):
    seq2seq = runs["seq2seq"].run_dir
    with pytest.raises(ValueError, match=r"split \(--split\) must be 'test' or 'validation'"):
        evaluate_generation(seq2seq, split="train")
    with pytest.raises(ValueError, match="method must be one of greedy, beam"):
        evaluate_generation(seq2seq, method="sample")
    with pytest.raises(ValueError, match=r"^limit \(--limit\) must be a positive integer, got 0$"):
        evaluate(seq2seq, limit=0)
    # The command line's own flags, not Python's None: "max_new_tokens must be a positive integer or None".
    with pytest.raises(ValueError, match=r"^max_new_tokens \(--max-new-tokens\) must be a positive integer, got 0$"):
        generate_texts(seq2seq, ["a b"], max_new_tokens=0)
    with pytest.raises(ValueError, match=r"^batch_size \(--batch-size\) must be a positive integer, got 0$"):
        generate_texts(seq2seq, ["a b"], batch_size=0)
    with pytest.raises(ValueError, match="validation split"):
        evaluate(seq2seq, split="validation")
    bad = tmp_path / "pairs.tsv"
    bad.write_text("source\tother\na b\tb a\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.tsv, line 1, column 'target'"):
        evaluate(seq2seq, str(bad), out_dir=tmp_path / "eval")

    classifier = tmp_path / "classifier"
    Config().save(classifier / "config.yaml")
    with pytest.raises(ValueError, match="classification run: method, num_beams, max_new_tokens and limit"):
        evaluate(classifier, limit=5)
    # a beam width was ignored without a word by a classification run and by greedy decoding
    with pytest.raises(ValueError, match="classification run: method, num_beams, max_new_tokens and limit"):
        evaluate(classifier, num_beams=8)
    with pytest.raises(ValueError, match=r"^num_beams \(--num-beams\) applies to beam search; set method='beam' "
                                         r"\(--method beam\) with it, or leave it out for greedy decoding$"):
        evaluate(seq2seq, num_beams=8)
    with pytest.raises(FileNotFoundError, match="not a finished zoo run directory"):
        evaluate(classifier)


def test_an_mlm_run_is_evaluated_but_not_exported_predicted_or_explained(runs, tmp_path, capsys):
    from zoo.cli import main

    run_dir = runs["mlm"].run_dir
    assert main(["evaluate", str(run_dir), "--out", str(tmp_path / "eval")]) == 0
    assert "perplexity" in capsys.readouterr().out
    refusal = (f"{run_dir} is not a classification run (its model's task is mlm): only a classifier can {{}}; "
               f"`zoo evaluate {run_dir}` scores it, and `zoo train --pretrained {run_dir}` trains a classifier "
               "from its encoder\n")
    assert main(["export", str(run_dir), "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == (
        f"zoo export: error: {run_dir} is an mlm run (a masked-LM encoder): classifier, lm and seq2seq runs export; "
        f"`zoo train --pretrained {run_dir}` trains a classifier from its encoder, and that run exports\n")
    for argv, action in ((["predict", str(run_dir), "a text"], "predict labels"),
                         (["explain", str(run_dir), "a text", "--out", str(tmp_path / "ex")], "be explained")):
        assert main(argv) == 2
        assert capsys.readouterr().err == f"zoo {argv[0]}: error: " + refusal.format(action)
    assert not (tmp_path / "m").exists() and not (tmp_path / "ex").exists()


# The reference decode's first step attends over one decoder position, which Keras warns about.
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")
def test_zoo_generate_gives_a_seq2seq_run_s_greedy_output_as_text(runs, tmp_path, capsys):
    from zoo.cli import main

    run = runs["seq2seq"]
    vocabulary = run.tokenizer.vocabulary
    sources = ["a b c d", "l k j", "  ", " ".join(LETTERS * 2)]  # the last has 24 tokens, the run reads 12
    (tmp_path / "sources.txt").write_text("\n".join(sources) + "\n", encoding="utf-8")
    # a trained seq2seq model could only be scored (zoo evaluate) or called through Keras on ids
    assert main(["generate", str(run.run_dir), "--input", str(tmp_path / "sources.txt")]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["text"] for row in rows] == sources
    assert [row["empty_input"] for row in rows] == [False, False, True, False] and rows[2]["generated"] == ""
    assert [row["truncated"] for row in rows] == [False, False, False, True]
    assert err.splitlines() == [
        "warning: 1 of 4 texts had no token left after cleaning: nothing was generated from them; flagged empty_input",
        "warning: 1 of 4 texts had more tokens than the run reads: each was generated from what fits; flagged "
        "truncated"]
    for row in rows[:2] + rows[3:]:
        source = run.tokenizer.tokenize(tf.constant(row["text"])).numpy().tolist()[:SEQUENCE_LENGTH["seq2seq"]]
        # the whole room the run's sequence_length leaves, or up to the end token
        assert row["generated"] == _tokens(vocabulary, _seq2seq_greedy(run.model, source, SEQUENCE_LENGTH["seq2seq"]))
    # An input row's other columns come along, as zoo predict carries them; a seq2seq run reads the source
    # column, as its training file names it.
    (tmp_path / "sources.jsonl").write_text(json.dumps({"id": "q7", "source": sources[0]}) + "\n", encoding="utf-8")
    assert main(["generate", str(run.run_dir), "--input", str(tmp_path / "sources.jsonl")]) == 0
    carried = json.loads(capsys.readouterr().out)
    assert list(carried)[:2] == ["id", "text"] and carried["id"] == "q7"
    assert carried["generated"] == rows[0]["generated"]
    # --output writes them as zoo predict writes predictions (zoo generate could only print them).
    for name in ("out.jsonl", "out.csv"):
        assert main(["generate", str(run.run_dir), "--input", str(tmp_path / "sources.txt"), "--output",
                     str(tmp_path / name)]) == 0
    assert [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()] == rows
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        assert [row["generated"] for row in csv.DictReader(f)] == [row["generated"] for row in rows]
    assert "wrote 4 generated texts to" in capsys.readouterr().err
    assert main(["generate", str(run.run_dir), "--input", str(tmp_path / "sources.jsonl"), "--output",
                 str(tmp_path / "sources.jsonl")]) == 2
    assert "the output is the input file" in capsys.readouterr().err
    beam = generate_texts(run.run_dir, sources[:1], method="beam", num_beams=1)
    assert beam[0]["generated"] == rows[0]["generated"]  # a beam of 1 is greedy


def test_generate_texts_continues_an_lm_prompt_as_an_independent_greedy_decode_does(runs):
    run = runs["lm"]
    prompts = ["The plot was", "a"]
    rows = generate_texts(run.run_dir, prompts, max_new_tokens=3)
    for row in rows:
        ids = run.tokenizer.tokenize(tf.constant(row["text"])).numpy().tolist()
        assert row["generated"] == _tokens(run.tokenizer.vocabulary, _lm_greedy(run.model, [BEGIN_ID] + ids, 3))
        assert not row["empty_input"]


def test_a_run_generates_from_bytes_that_are_not_utf8_flags_them_and_warns(runs, tmp_path, capsys):
    from zoo.cli import main

    # It stopped with "Error converting unicode string while converting Python sequence to Tensor."
    run_dir = runs["lm"].run_dir
    rows = generate_texts(run_dir, ["caf\udce9 the", "the"], max_new_tokens=2)
    assert [row["replaced_bytes"] for row in rows] == [True, False] and rows[0]["text"] == "caf\ufffd the"
    assert rows[0]["generated"] == generate_texts(run_dir, ["caf\ufffd the"], max_new_tokens=2)[0]["generated"]
    assert generate_texts(run_dir, []) == []  # as zoo.predict and zoo.embed
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9 the\nthe\n")
    assert main(["generate", str(run_dir), "--input", str(tmp_path / "bad.txt"), "--max-new-tokens", "2"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["replaced_bytes"] for line in out.splitlines()] == [True, False]
    assert ("warning: 1 of 2 texts held bytes that are not UTF-8, replaced by U+FFFD before generating (pass "
            "--encoding if the input is not UTF-8); flagged replaced_bytes\n") in err


def test_generate_refuses_other_runs_and_bad_texts_naming_the_fix(runs, trained_run, exported, capsys):
    from zoo.cli import main

    with pytest.raises(ValueError, match=r"\(its model's task is mlm\): only those generate text; zoo evaluate scores "
                                         "it$"):
        generate_texts(runs["mlm"].run_dir, ["a text"])
    with pytest.raises(ValueError, match="only those generate text; zoo predict gives its labels$"):
        generate_texts(trained_run.run_dir, ["a text"])
    # a mistyped path was "config.yaml not found: ... is not a finished zoo run directory"
    with pytest.raises(FileNotFoundError, match="^model directory not found: nothere$"):
        generate_texts("nothere", ["a text"])
    # an export: "config.yaml not found: ... is not a finished zoo run directory"
    for command in (["explain", str(exported.path.parent), "a text"], ["export", str(exported.path.parent)]):
        assert main(command) == 2
        assert capsys.readouterr().err == (f"zoo {command[0]}: error: {command[1]} is an exported model (a SavedModel), "
                                           "not a run directory: zoo predict and zoo evaluate --data (a classifier's) "
                                           "or zoo generate (an lm's or seq2seq's) read it; the other commands take "
                                           "the run directory it was exported from\n")
    assert main(["evaluate", str(exported.path)]) == 2
    assert capsys.readouterr().err.startswith(f"zoo evaluate: error: {exported.path} is an export, which holds no "
                                              "data: pass data= (--data)")
    assert main(["generate", str(exported.path.parent), "a text"]) == 2
    assert capsys.readouterr().err == (f"zoo generate: error: {exported.path} is the export of a classifier: it gives "
                                       f"labels; `zoo predict {exported.path} TEXT ...` reads it\n")
    with pytest.raises(ValueError, match="texts must be a list of strings, got 'a b'"):
        generate_texts(runs["seq2seq"].run_dir, "a b")
    with pytest.raises(ValueError, match="num_beams .* applies to beam search"):
        generate_texts(runs["seq2seq"].run_dir, ["a b"], num_beams=2)
    # zoo predict, export and explain point a seq2seq or lm run at zoo generate
    run_dir = runs["seq2seq"].run_dir
    assert main(["predict", str(run_dir), "a b"]) == 2
    assert capsys.readouterr().err.endswith(f"`zoo evaluate {run_dir}` scores it, and `zoo generate {run_dir} "
                                            "TEXT ...` generates with it\n")


# The reference decode's first step attends over one decoder position, which Keras warns about.
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")
@pytest.mark.parametrize("task", ["seq2seq", "lm"])
def test_an_lm_or_seq2seq_export_generates_from_raw_strings_as_its_run_does(runs, task, tmp_path, capsys,
                                                                             monkeypatch):
    # `zoo export` refused them ("only a classifier can be exported"): a trained generator could not be deployed.
    from zoo.cli import main

    run = runs[task]
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run.run_dir), "--name", task]) == 0
    assert capsys.readouterr().out.startswith(
        f"exported {run.run_dir} to saved_models/{task}/1 (version 1, {task}: generates greedily, up to "
        f"{SEQUENCE_LENGTH[task]} tokens per text; zoo generate reads it)")
    # The last lm prompt is longer than the model reads: its end differs from its beginning.
    texts = ["a b c d", "l k j", "  ", " ".join(LETTERS * 2)] if task == "seq2seq" else [
        "The plot was", "", "a", " ".join(["film"] * 30), " ".join(["The plot was"] * 6 + ["a"])]
    loaded = tf.saved_model.load(f"saved_models/{task}/1").signatures["serving_default"]
    out = {key: value.numpy() for key, value in loaded(texts=tf.constant(texts + [b"caf\xe9"])).items()}
    assert out["replaced_bytes"].tolist() == [False] * len(texts) + [True]
    fits = SEQUENCE_LENGTH[task] - (task == "lm")
    for i, text in enumerate(texts):
        ids = run.tokenizer.tokenize(tf.constant(text)).numpy().tolist()
        assert out["truncated"][i] == (len(ids) > fits)
        if task == "seq2seq":
            expected = _seq2seq_greedy(run.model, ids[:fits], SEQUENCE_LENGTH[task]) if ids else []
        else:  # an lm keeps a prompt's last tokens; n of them and the begin token leave sequence_length - n
            room = min(SEQUENCE_LENGTH[task], fits + 1 - len(ids[-fits:]))
            expected = _lm_greedy(run.model, [BEGIN_ID] + ids[-fits:], room)
        assert out["empty_input"][i] == (task == "seq2seq" and not ids)
        assert out["generated"][i].decode() == _tokens(run.tokenizer.vocabulary, expected), (text, expected)
    # zoo generate reads the export as it reads the run (greedy); other decoding needs the run.
    assert main(["generate", f"saved_models/{task}", *texts]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == generate_texts(run.run_dir, texts)
    with pytest.raises(ValueError, match=r"is an export, which generates greedily up to the max_new_tokens it was "
                                         r"exported with; method \(--method\) and num_beams \(--num-beams\) need the "
                                         r"run directory it was exported from"):
        generate_texts(f"saved_models/{task}", texts, method="beam", num_beams=2)
    assert main(["predict", f"saved_models/{task}", "a b"]) == 2
    assert capsys.readouterr().err == (f"zoo predict: error: saved_models/{task}/1 is the export of "
                                       f"{'an' if task == 'lm' else 'a'} {task} run: it generates text; "
                                       f"`zoo generate saved_models/{task}/1 TEXT ...` reads it\n")
    # --max-new-tokens caps what the export generates, as it caps the run's generation.
    assert main(["export", str(run.run_dir), "--name", task, "--max-new-tokens", "2"]) == 0
    capsys.readouterr()
    assert generate_texts(f"saved_models/{task}/2", texts) == generate_texts(run.run_dir, texts, max_new_tokens=2)
    assert main(["export", str(run.run_dir), "--name", task, "--max-new-tokens", "0"]) == 2
    assert capsys.readouterr().err == ("zoo export: error: max_new_tokens (--max-new-tokens) must be a positive "
                                       "integer, got 0\n")
    # More than the model's positions hold was accepted and reported, and generation stopped short of it.
    from zoo.models.generation import most_new_tokens

    most = most_new_tokens(run.model)
    length = "target_length" if task == "seq2seq" else "sequence_length"
    assert main(["export", str(run.run_dir), "--name", task, "--max-new-tokens", str(most + 1)]) == 2
    assert capsys.readouterr().err == (f"zoo export: error: max_new_tokens (--max-new-tokens) is {most + 1}, but "
                                       f"this {task} model generates at most {most} tokens (its model's {length}): "
                                       f"give at most {most}\n")
    with pytest.raises(ValueError, match=rf"^max_new_tokens \(--max-new-tokens\) is {most + 1}, but run "
                                         rf"{re.escape(str(run.run_dir))} generates at most {most} tokens"):
        generate_texts(run.run_dir, texts, max_new_tokens=most + 1)


def test_generate_texts_samples_reproducibly_with_a_seed_and_refuses_sampling_options_otherwise(runs):
    run_dir = runs["lm"].run_dir
    prompts = ["The plot was", "a", "The plot was gripping and"]
    first = generate_texts(run_dir, prompts, method="sample", seed=5, temperature=1.5, max_new_tokens=6)
    assert generate_texts(run_dir, prompts, method="sample", seed=5, temperature=1.5, max_new_tokens=6) == first
    draws = {tuple(row["generated"] for row in generate_texts(run_dir, prompts, method="sample", seed=seed,
                                                              temperature=1.5, max_new_tokens=6))
             for seed in range(4)}
    assert len(draws) > 1, "every seed drew the same texts"
    # top_k=1 keeps only the likeliest token: sampling is then greedy decoding
    assert (generate_texts(run_dir, prompts, method="sample", top_k=1, max_new_tokens=6)
            == generate_texts(run_dir, prompts, max_new_tokens=6))
    with pytest.raises(ValueError, match=r"^temperature \(--temperature\) and seed \(--seed\) apply to sampling; set "
                                         r"method='sample' \(--method sample\) with them, or leave them out for beam "
                                         "decoding$"):
        generate_texts(run_dir, prompts, method="beam", temperature=0.7, seed=1)
    with pytest.raises(ValueError, match=r"^top_p \(--top-p\) applies to sampling; set method='sample' \(--method "
                                         r"sample\) with it, or leave it out for greedy decoding$"):
        generate_texts(run_dir, prompts, top_p=0.9)
    with pytest.raises(ValueError, match=r"seed \(--seed\) must be an integer in \[0, 2147483647\], got -1"):
        generate_texts(run_dir, prompts, method="sample", seed=-1)
    with pytest.raises(ValueError, match="method must be one of greedy, beam, sample, got 'nucleus'"):
        generate_texts(run_dir, prompts, method="nucleus")


@pytest.mark.parametrize("task", ["lm", "seq2seq"])
def test_a_seeded_sample_of_a_text_does_not_depend_on_batch_size_or_the_texts_after_it(runs, task):
    # Prompts of different lengths fall into different model calls; one call per text must sample each alike.
    texts = ["The plot was", "a", "The plot was gripping and", "a"] if task == "lm" else ["a b c", "d", "e f g h"]
    options = {"method": "sample", "seed": 5, "temperature": 2.0, "max_new_tokens": 6}
    rows = generate_texts(runs[task].run_dir, texts, **options)
    assert generate_texts(runs[task].run_dir, texts, batch_size=1, **options) == rows
    assert generate_texts(runs[task].run_dir, texts[:1], **options) == rows[:1]
