"""The data of a run, from its config: splits, the tokenizer, and the id arrays every task trains on.

``split_texts(config)`` gives the train / validation / test texts exactly as ``zoo.train`` split them (so
``zoo evaluate`` scores the very examples a run held out); ``load_splits(config)`` adds the tokenizer and the
encoded arrays; ``model_arguments`` the builder arguments the data fixes. Per task (the model's, from
``zoo.models.task_of``):

- ``classification``: ``(ids [N, T], labels [N])``; splits are stratified. With a tokenizer that packs segments
  (a pretrained BERT checkpoint's), ids are ``{"token_ids", "segment_ids"}`` and sentence pairs are read too.
- ``lm``: ``(ids [N, T + 1], None)``, each text framed as ``[CLS] tokens [SEP]`` (begin, end: the tokenizer's
  ``cls_id`` and ``sep_id``; see ``frame_ids``); labels unused.
- ``mlm``: ``(ids [N, T], None)``; labels unused.
- ``seq2seq``: ``({"source": [N, T], "target": [N, T + 1]}, None)``: the text column is the source, the label
  column the target text (``load_options`` ``text_column`` / ``label_column``, by default ``source`` and
  ``target``); targets are framed like ``lm`` texts and share the source's tokenizer.

``lm`` and ``mlm`` may add the texts of ``data.extra_sources`` (labels ignored) to their training split, e.g.
pretraining on MR and SUBJ together.

``data.sequence_length: auto`` (the default) picks the length from the training texts once the tokenizer is
fitted (``auto_sequence_length``); ``load_splits`` returns the length used and how many training texts it
truncates.
"""
import contextlib
import inspect
import logging

import numpy as np
import tensorflow as tf

from zoo.config import ConfigError
from zoo.console import a_task
from zoo.layers.heads import DEFAULT_MODE

log = logging.getLogger(__name__)

SEQ2SEQ_COLUMNS = {"text_column": "source", "label_column": "target"}
# The load options that describe a file's layout rather than one file (see ``file_layout_options``).
FILE_LAYOUT_OPTIONS = ("text_column", "label_column", "header", "delimiter", "label_separator", "label_level")
# data.sequence_length: auto keeps this percentile of the training texts whole, in multiples of this size.
AUTO_LENGTH_PERCENTILE = 95
AUTO_LENGTH_MULTIPLE = 8
# The longest auto picks for a model built from scratch (its position table is sized to the length):
# BERT's position range; attention costs grow with the square of the length.
AUTO_MAX_LENGTH = 512


def task_of_config(config):
    """Return the task of the config's model (``classification``, ``lm``, ``mlm`` or ``seq2seq``)."""
    import zoo.models

    if config.model.name not in zoo.models.model_names():
        raise ConfigError(f"model.name: unknown model {config.model.name!r}; valid names: "
                          f"{', '.join(zoo.models.model_names())}")
    return zoo.models.task_of(config.model.name)


def classification_mode(config):
    """Return the output mode of the config's classifier (``zoo.layers.heads.MODES``), from its builder arguments.

    The one place training learns the mode: the objective, the data format (several labels per row for
    ``multilabel``) and the model all follow it.

    Example:
        >>> classification_mode(zoo.Config.from_dict({"model": {"overrides": {"mode": "multilabel"}}}))
        'multilabel'
    """
    import zoo.models

    return {**zoo.models.config_of(config.model.name), **config.model.overrides}.get("mode", DEFAULT_MODE)


def load_options(config, task):
    """The ``zoo.data.load`` options a run of ``task`` reads its data with: ``data.load_options`` checked, plus the
    task's columns (seq2seq) and label separator (multi-label), so evaluation and cv read files as training does.

    Example:
        >>> load_options(zoo.config.Config(), "classification")
        {}
    """
    import zoo.data

    options = dict(config.data.load_options)
    allowed = settable_load_options()
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"data.load_options: unknown option(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    if task == "seq2seq":
        options = {**SEQ2SEQ_COLUMNS, **options}
    if task in ("lm", "mlm"):  # they learn from the texts alone: a corpus needs no label column
        options.setdefault("label_column", False)
    multilabel = task == "classification" and classification_mode(config) == "multilabel"
    if multilabel:
        options.setdefault("label_separator", zoo.data.LABEL_SEPARATOR)
    elif options.get("label_separator") is not None:
        raise ConfigError("data.load_options.label_separator reads several labels per row, which only a "
                          "multi-label classifier learns: set model.overrides.mode: multilabel")
    return options


def settable_load_options():
    """The ``zoo.data.load`` options a config's ``data.load_options`` may set (the run sets the others)."""
    import zoo.data

    return set(inspect.signature(zoo.data.load).parameters) - {"spec", "split", "label_names"}


# The load options a data.extra_sources entry may set: its texts' file layout (its labels are ignored).
EXTRA_SOURCE_OPTIONS = ("encoding", "text_column", "format", "header", "delimiter", "on_bad_rows", "split",
                        "data_dir")


@contextlib.contextmanager
def naming_config_keys(extra_source=None, given_split=None):
    """Add to a ``zoo.data`` error read under a run config a note naming the config keys of the load options
    its fix sets (``pass encoding=`` is ``data.load_options.encoding``; a bad row is skipped with
    ``data.load_options.on_bad_rows``); ``zoo.console.error`` prints notes.

    Args:
        extra_source: ``(index, source)`` of the ``data.extra_sources`` entry being read, whose own options
            the note names instead.
        given_split: ``"validation"`` or ``"test"`` while reading ``data.<split>_source``, whose encoding is its
            own (``load_given_split``): the note says how it is read instead of naming the training data's.
    """
    import zoo.data

    try:
        yield
    except (zoo.data.DataError, zoo.data.DataFileNotFoundError) as err:
        # An error raised even under on_bad_rows='skip' says so: skipping would not help.
        skippable = isinstance(err, zoo.data.BadRowError) and "on_bad_rows" not in str(err)
        if extra_source is None:
            names = [name for name in err.options if name in settable_load_options()]
            if given_split is not None and "encoding" in names:
                names.remove("encoding")
                err.add_note(f"data.{given_split}_source is read as UTF-8 (or UTF-16/UTF-32 by its byte-order mark), "
                             "else in data.load_options.encoding, the training data's: save it in one of these, e.g. "
                             "iconv -f latin-1 -t utf-8 OLD > NEW")
            keys = [f"data.load_options.{name}" for name in names]
            if keys:
                err.add_note(f"in a run config, these are {' and '.join(keys)} (--set {keys[0]}=...)")
            if skippable:
                err.add_note("fix or remove that row, or --set data.load_options.on_bad_rows=skip to leave out such "
                             "rows (a warning counts them)")
        else:
            index, source = extra_source
            names = [name for name in err.options if name in EXTRA_SOURCE_OPTIONS]
            if skippable:
                names.append("on_bad_rows")
            if names:
                entry = ", ".join([f"source: {source}", *(f"{name}: {'skip' if name == 'on_bad_rows' else '...'}"
                                                          for name in names)])
                err.add_note(f"in a run config, these are options of data.extra_sources[{index}]: write the entry as "
                             f"{{{entry}}}")
        raise


def load_given_split(spec, options, label_names):
    """Load a run's ``data.validation_source`` or ``data.test_source`` with the training data's ``options``, but in
    its own encoding: another file may be encoded otherwise (a UTF-8 test file read as latin-1 gives "cafÃ©",
    silently). It is read as UTF-8 (or UTF-16/UTF-32 by its byte-order mark); only a file that is not, with
    ``data.load_options.encoding`` given, is read in that one (a strict UTF-8 decode fails on latin-1 text, so a
    file like the training data's is still read as it was).

    Args:
        spec: The ``zoo.data.load`` spec of the file.
        options: The run's ``load_options``.
        label_names: The training data's classes, or ``None``.
    """
    import zoo.data

    own = {key: value for key, value in options.items() if key != "encoding"}
    try:
        return zoo.data.load(spec, label_names=label_names, inherited=list(own), **own)
    except zoo.data.EncodingError as err:
        if options.get("encoding") is None:
            raise
        try:
            data = zoo.data.load(spec, label_names=label_names, inherited=list(options), **options)
        except zoo.data.EncodingError:
            raise err from None
    log.info("%s is not UTF-8: read in data.load_options.encoding %r", spec, options["encoding"])
    return data


def _extra_sources(config):
    """Load ``data.extra_sources``, each with its entry's own load options and without labels."""
    import zoo.data

    loaded = []
    for index, entry in enumerate(config.data.extra_sources):
        source, options = (entry, {}) if isinstance(entry, str) else (
            entry["source"], {key: value for key, value in entry.items() if key != "source"})
        unknown = sorted(set(options) - set(EXTRA_SOURCE_OPTIONS))
        if unknown:
            raise ConfigError(f"data.extra_sources[{index}].{unknown[0]}: not an option of an extra source (its "
                              f"labels are ignored); its options: {', '.join(EXTRA_SOURCE_OPTIONS)}")
        with naming_config_keys((index, source)):
            loaded.append(zoo.data.load(source, label_column=False, **options))
    return loaded


def file_layout_options(config, task):
    """The ``load_options`` of a run that describe its files' layout, so that other files like them (``zoo
    evaluate --data``) are read as training read its own: columns, header, delimiter, label separator and level.

    The encoding and ``on_bad_rows`` are left out: another file may be encoded otherwise, and skipping its bad
    rows must be asked for.

    Example:
        >>> file_layout_options(zoo.Config.from_dict({"data": {"load_options": {"header": False,
        ...     "text_column": 1, "label_column": 0, "encoding": "latin-1"}}}), "classification")
        {'header': False, 'text_column': 1, 'label_column': 0}
    """
    return {key: value for key, value in load_options(config, task).items()
            if key in FILE_LAYOUT_OPTIONS and value is not None}


def options_like_run(config, task, given):
    """The ``zoo.data.load`` options that read other data as a run read its own (``zoo evaluate --data``): the
    run's ``file_layout_options`` under the ``given`` ones, the run's marked ``inherited`` so that a layout that
    does not read one (a JSONL file, the run's CSV ``header``) leaves it out instead of refusing it.

    Example:
        >>> options_like_run(zoo.Config.from_dict({"data": {"load_options": {"header": False}}}), "classification",
        ...                  {"text_column": "review"})
        {'header': False, 'text_column': 'review', 'inherited': ['header']}
    """
    layout = file_layout_options(config, task)
    return {**layout, **given, "inherited": [key for key in layout if key not in given]}


def _check_classes(data, options):
    """Raise ``TooFewClassesError`` unless ``data`` has examples of at least 2 classes, naming source and column."""
    import zoo.data

    present = [name for name, count in data.class_counts().items() if count]
    if len(present) < 2:
        found = f"only the class {present[0]!r}" if present else "no class at all"
        raise zoo.data.TooFewClassesError(
            f"{len(data):,} examples with {found} in label column {options.get('label_column') or 'label'!r}: a "
            "classifier needs examples of at least 2 classes; check data.source and "
            "data.load_options.label_column", path=data.source)


def _check_multilabel_names(data):
    """Raise ``DataError`` for a multi-label name the export cannot serve (``joined_label_problem``), with where."""
    import zoo.data

    if not data.multilabel:
        return
    for c, name in enumerate(data.label_names):
        problem = zoo.data.joined_label_problem([name])
        if problem:
            examples = np.flatnonzero(data.labels[:, c])
            where = data.where(int(examples[0])) if examples.size else {"path": data.source}
            raise zoo.data.DataError(problem, **where)


def lowercases(config):
    """Whether the run's tokenizer lower-cases its texts: a ``model.init_from`` checkpoint's own tokenizer decides
    (a cased BERT's does not), else ``data.cleaning.lowercase`` (a pretrained zoo run's is the same, as
    ``transfer.pretrained_run`` checks). Texts that differ only in case are then copies to ``data.deduplicate``.

    Example:
        >>> lowercases(zoo.Config.from_dict({"data": {"cleaning": {"lowercase": False}}}))
        False
    """
    import zoo.data
    from zoo.training import transfer

    if transfer.from_checkpoint(config):
        from zoo.converters import load_tokenizer

        return load_tokenizer(config.model.init_from).lowercase
    return zoo.data.CleaningConfig.from_dict(config.data.cleaning).lowercase


def _warn_of_separator(data, options):
    """Warn when a multi-label run's labels look joined by another separator than the one it reads them with
    (``zoo.data.labeled.likely_label_separator``): each combination would be learnt as one class."""
    from zoo.data.labeled import likely_label_separator

    found = likely_label_separator(data)
    if found is None:
        return
    separator, c = found
    example = int(np.flatnonzero(data.labels[:, c])[0])
    # The value is read as YAML, where a bare "|" is an empty block scalar: it is quoted for YAML and the shell.
    assignment = f"\"data.load_options.label_separator='{separator}'\""
    log.warning("warning: %s: no example has more than one label (separated by %r), yet label names hold %r, e.g. "
                "%r (%s), so each combination is learnt as one class (%d classes): if %r separates the labels, "
                "pass --set %s", data.source, options.get("label_separator"), separator, data.label_names[c],
                data.location(example), data.num_classes, separator, assignment)


def _without_duplicates(config, full, given, task, lowercase):
    """``data.deduplicate``: drop repeated examples before splitting, and report given texts that occur in training.

    A text in two splits makes the held-out score partly a memory test; ``zoo.data.deduplicate`` logs how
    many copies it removed (for ``seq2seq``, repeated (source, target) pairs: a source's several targets are
    references, which the split keeps together). Texts are copies when the model reads them alike
    (``zoo.data.splits.text_key``: whitespace, and case where the tokenizer lower-cases). A given validation or
    test set (official, ``data.validation_source`` or ``data.test_source``) is kept as it is; its texts that also
    occur in the training data are only reported.
    """
    import zoo.data

    if not config.data.deduplicate:
        return full
    full = zoo.data.deduplicate(full, task=task, lowercase=lowercase)
    for name, held_out in given.items():
        shared = zoo.data.shared_texts(full, held_out, lowercase=lowercase) if held_out is not None else []
        if shared:
            log.warning("warning: %d of the %d texts of %s also occur in the training data %s (first: %s); "
                        "%s scores on them measure memory, not generalisation: remove them from one side",
                        len(shared), len(held_out), held_out.source, full.source, held_out.location(shared[0]), name)
    return full


def _without_held_out(extra, held_out, lowercase):
    """``extra`` (a ``data.extra_sources`` entry's texts) without the texts of the ``held_out`` splits, reported:
    an extra source that holds the main one (``mr`` + ``subj`` of a larger crawl) would train on them."""
    import zoo.data

    shared = sorted({i for split in held_out if split is not None and len(split)
                     for i in zoo.data.shared_texts(split, extra, lowercase=lowercase)})
    if not shared:
        return extra
    log.warning("warning: data.extra_sources: left out %d texts of %s that are held out as validation or test "
                "texts (held-out scores on them would measure memory)", len(shared), extra.source)
    return extra.subset(sorted(set(range(len(extra))) - set(shared)))


def origin_of_split(config, split):
    """Where a run's ``split`` (``"validation"`` or ``"test"``) comes from: ``"<split>_source"``
    (``data.validation_source`` / ``data.test_source``), ``"official"`` (the source's own: TREC's 500 test
    questions, a folder's ``validation.csv``) or ``"seeded"`` (``data.<split>_split`` of the source, drawn with
    ``training.seed``).

    Example:
        >>> config = zoo.Config.from_dict({"data": {"source": "trec"}})
        >>> origin_of_split(config, "test"), origin_of_split(config, "validation")
        ('official', 'seeded')
    """
    import zoo.data

    if getattr(config.data, f"{split}_source") is not None:
        return f"{split}_source"
    official = zoo.data.official_splits(config.data.source, data_dir=config.data.load_options.get("data_dir"))
    return "official" if split in official else "seeded"


def split_texts(config):
    """Load and split the config's texts: ``{"train", "validation", "test"}`` ``LabeledTexts`` (or ``None``).

    Each of the test and validation splits is ``data.test_source`` / ``data.validation_source``, else the source's
    official one (TREC's 500 test questions, a folder's ``validation.csv``), else a seeded ``data.test_split`` /
    ``data.validation_split`` fraction (``origin_of_split``). Only classification splits are stratified (generated
    texts and unlabelled texts have no classes to balance); a seq2seq source's several targets stay in one split.
    ``data.extra_sources`` join the training split.

    Example:
        >>> split_texts(zoo.Config.from_dict({"data": {"source": "mr"}}))["test"].summary()
        'mr [test]: 1,066 examples (neg 533, pos 533)'
    """
    import zoo.data

    task = task_of_config(config)
    c = config.data
    options = load_options(config, task)
    classification = task == "classification"
    if c.extra_sources and task not in ("lm", "mlm"):
        raise ConfigError(f"data.extra_sources adds unlabelled text, which only lm and mlm models use; model "
                          f"{config.model.name!r} is {a_task(task)} model")
    fixed = (lambda data: data.label_names) if classification else (lambda data: None)
    with naming_config_keys():
        for split in ("validation", "test"):
            key, value = f"{split}_split", getattr(c, f"{split}_split")
            if origin_of_split(config, split) == "official" and value != getattr(type(c), key):
                raise ConfigError(f"data.{key}: {value} would be ignored: {c.source} has an official {split} "
                                  f"split, which is the run's; remove data.{key}")
        test = None
        if origin_of_split(config, "test") == "official":
            full = zoo.data.load(c.source, split="train", **options)
            test = zoo.data.load(c.source, split="test", label_names=fixed(full), **options)
            test_size = 0
        else:
            full = zoo.data.load(c.source, **options)
            test_size = 0 if c.test_source else c.test_split
        validation_origin = origin_of_split(config, "validation")
        given = (zoo.data.load(c.source, split="validation", label_names=fixed(full), **options)
                 if validation_origin == "official" else None)
    if c.test_source:
        with naming_config_keys(given_split="test"):
            test = load_given_split(c.test_source, options, fixed(full))
    if validation_origin == "validation_source":
        with naming_config_keys(given_split="validation"):
            given = load_given_split(c.validation_source, options, fixed(full))
    if classification:
        _check_classes(full, options)
        _check_multilabel_names(full)
        _warn_of_separator(full, options)
    # Read once: for a checkpoint run it loads the checkpoint's tokenizer.
    lowercase = lowercases(config) if c.deduplicate else None
    full = _without_duplicates(config, full, {"validation": given, "test": test}, task, lowercase)
    # A seq2seq source with several targets (references) goes whole to one split: in two, it would be tested on
    # after training on it. The split fractions then count sources.
    train, validation, held_out = zoo.data.train_val_test_split(
        full, val_size=0 if given is not None else c.validation_split, test_size=test_size,
        seed=config.training.seed, stratify=classification and not full.multilabel,
        group_by_input=task == "seq2seq")
    if given is not None:
        validation = given
    if test is None and len(held_out):
        test = held_out
    if c.extra_sources:
        extra = _extra_sources(config)
        if c.deduplicate:
            extra = [_without_held_out(part, [validation, test], lowercase) for part in extra]
        train = zoo.data.LabeledTexts(train.texts + [t for part in extra for t in part.texts],
                                      np.zeros(len(train) + sum(map(len, extra)), np.int32), [zoo.data.UNLABELLED],
                                      source=" + ".join([train.source, *(part.source for part in extra)]))
        if c.deduplicate:
            train = zoo.data.deduplicate(train, task=task, lowercase=lowercase)
    return {"train": train, "validation": validation if len(validation) else None,
            "test": test if test is not None and len(test) else None}


def _tokenizer_keys(error):
    """The config keys behind a ``zoo.data.build_tokenizer`` or ``fit`` error: those of the options it names
    (``DataError.options``), else every key that configures the tokenizer."""
    keys = [("data." if name == "vocab_size" else "data.tokenizer_options.") + name
            for name in getattr(error, "options", ())]
    return " / ".join(keys or ["data.tokenizer", "data.tokenizer_options", "data.cleaning"])


EXAMPLE_WORDS = 12


def example_input(splits, task):
    """A short real input for the commands ``zoo train`` prints next: the first held-out example of at most
    ``EXAMPLE_WORDS`` words (both texts of a pair), else the first example's first ``EXAMPLE_WORDS`` words; for an
    lm, the first four words of a text, which it continues.

    Args:
        splits: What ``split_texts`` returns.
        task: The run's task (``task_of_config``).

    Returns:
        A tuple of one text (two for a sentence pair), or ``()`` when no split has a text.

    Example:
        >>> example_input({"train": zoo.data.load("reviews.jsonl"), "validation": None, "test": None}, "lm")
        ('Ending a with brilliant',)
    """
    texts = next((part for name in ("test", "validation", "train") if (part := splits.get(name)) is not None
                  and len(part)), None)
    if texts is None:
        return ()
    examples = [example if texts.is_pairs else (example,) for example in texts.inputs]
    if task == "lm":
        return (" ".join(examples[0][0].split()[:4]),)
    short = [example for example in examples if all(len(text.split()) <= EXAMPLE_WORDS for text in example)]
    if short:
        return short[0]
    return tuple(" ".join(text.split()[:EXAMPLE_WORDS]) for text in examples[0])


def targets_of(texts):
    """Return the target strings of seq2seq ``LabeledTexts`` (its label column, kept as label names)."""
    return [texts.label_names[i] for i in texts.labels]


def load_splits(config, tokenizer=None):
    """Split, fit the tokenizer on the training texts (unless given one) and encode every split.

    Args:
        config: A ``zoo.config.Config``.
        tokenizer: A fitted tokenizer to use instead of fitting one (``model.init_from`` passes the
            pretrained run's).

    Returns:
        ``{"task", "tokenizer", "label_names", "sources", "texts", "train", "validation", "test"}``: each split
        ``(features, labels)`` as the module docstring describes, or ``None``; ``texts`` the split
        ``LabeledTexts``; ``label_names`` the classes (empty for token tasks); ``sequence_length`` the
        length used (``auto`` resolved), ``length_chosen`` how ``auto`` chose it (``None`` for a length set) and
        ``truncated`` how many training examples it cuts short.

    Example:
        >>> data = load_splits(zoo.Config.from_dict({"data": {"source": "reviews.jsonl", "sequence_length": 32}}))
        >>> data["train"][0].shape, data["label_names"]
        ((320, 32), ['negative', 'positive'])
    """
    import zoo.data

    task = task_of_config(config)
    c = config.data
    splits = split_texts(config)
    train = splits["train"]
    if tokenizer is None:
        try:
            tokenizer = zoo.data.build_tokenizer(c.tokenizer, c.vocab_size, cleaning=c.cleaning or None,
                                                 **c.tokenizer_options)
        except ValueError as err:
            raise ConfigError(f"{_tokenizer_keys(err)}: {err}") from None
        try:
            tokenizer.fit(train.texts + (targets_of(train) if task == "seq2seq" else []))
        except zoo.data.VocabularyError as err:  # a vocab_size or min_count that these texts cannot meet
            raise ConfigError(f"{_tokenizer_keys(err)}: {err}") from None
    needed = positions_needed(task, tokenizer, train)
    length, chosen = (c.sequence_length, None) if c.sequence_length != "auto" else _auto_length(config, needed)
    out = {"task": task, "tokenizer": tokenizer, "sources": {}, "texts": splits, "length_chosen": chosen,
           "label_names": list(train.label_names) if task == "classification" else [],
           "sequence_length": length, "truncated": int((needed > length).sum())}
    for name, part in splits.items():
        if part is None:
            out[name] = None
            continue
        if name != "train" and task == "classification":
            zoo.data.check_labels_seen(train, part, name)
        try:
            out[name] = encode_split(task, tokenizer, part, length)
        except zoo.data.VocabularyError as err:  # the tokenizer is fitted: a length too short for its markers
            raise ConfigError(f"data.sequence_length: {err}") from None
        out["sources"][name] = part.source
    return out


def token_counts(tokenizer, texts, chunk=2048):
    """Tokens in each text, untruncated (numpy int64)."""
    return np.concatenate([tokenizer.tokenize(tf.constant(texts[i:i + chunk])).row_lengths().numpy()
                           for i in range(0, len(texts), chunk)] or [np.zeros(0, np.int64)])


def positions_needed(task, tokenizer, texts):
    """Positions each example needs to be kept whole: its tokens, plus the begin token of framed texts
    (``lm`` texts, ``seq2seq`` targets; see ``frame``)."""
    if task == "lm":
        return token_counts(tokenizer, texts.texts) + 1
    if texts.is_pairs:  # [CLS] a [SEP] b [SEP]; a pair tokenizer (BERT's) gives [CLS] text [SEP] for each text
        return token_counts(tokenizer, texts.texts) + token_counts(tokenizer, texts.text_pairs) - 1
    if task == "seq2seq":
        return np.maximum(token_counts(tokenizer, texts.texts), token_counts(tokenizer, targets_of(texts)) + 1)
    return token_counts(tokenizer, texts.texts)


def auto_sequence_length(needed, limit):
    """``data.sequence_length: auto``: the 95th percentile of ``needed`` rounded up to a multiple of 8, at most ``limit``.

    Example:
        >>> auto_sequence_length(np.arange(1, 101), 512)
        96
    """
    length = max(int(np.ceil(np.percentile(needed, AUTO_LENGTH_PERCENTILE))), 1)
    return min(-(-length // AUTO_LENGTH_MULTIPLE) * AUTO_LENGTH_MULTIPLE, limit)


def _auto_length(config, needed):
    """``(length, how auto chose it)`` for the config's model: a checkpoint's backbone caps it at its positions;
    a zoo pretraining run's encoder has a position table of exactly its run's length, which is then the length."""
    from zoo.training import transfer

    if config.model.init_from and not transfer.from_checkpoint(config):
        return (transfer.run_sequence_length(config.model.init_from),
                f"auto: the length of {config.model.init_from}'s encoder")
    limit = transfer.checkpoint_positions(config.model.init_from) if config.model.init_from else AUTO_MAX_LENGTH
    length = auto_sequence_length(needed, limit)
    capped = f", capped at {limit}" if length == limit and auto_sequence_length(needed, np.inf) > limit else ""
    return length, f"auto: 95th percentile of training token counts{capped}"


def encode_split(task, tokenizer, texts, sequence_length):
    """Return the ``(features, labels)`` of ``LabeledTexts`` for ``task`` (see the module docstring)."""
    if task == "classification" and packs_segments(tokenizer):
        return pack(tokenizer, texts, sequence_length), np.asarray(texts.labels, np.int32)
    if texts.is_pairs:
        raise ConfigError(f"data.source: {texts.source} holds sentence pairs (text_a, text_b), which only a "
                          "classifier started from a pretrained BERT checkpoint (model.init_from) can read")
    if task == "classification":
        return encode(tokenizer, texts.texts, sequence_length), np.asarray(texts.labels, np.int32)
    if task == "mlm":
        return encode(tokenizer, texts.texts, sequence_length), None
    if task == "lm":
        return frame(tokenizer, texts.texts, sequence_length), None
    return {"source": encode(tokenizer, texts.texts, sequence_length),
            "target": frame(tokenizer, targets_of(texts), sequence_length)}, None


def frame_ids(tokenizer):
    """``(begin, end)``: the ids that frame lm and seq2seq-target sequences, the tokenizer's ``[CLS]`` and ``[SEP]``."""
    return tokenizer.cls_id, tokenizer.sep_id


def encode(tokenizer, texts, sequence_length, chunk=2048):
    """Token ids ``[n, sequence_length]`` (int32, ``tokenizer.pad_id``-padded): tokenized once, reused every epoch."""
    parts = [tokenizer.encode(tf.constant(texts[i:i + chunk]), sequence_length).numpy()
             for i in range(0, len(texts), chunk)]
    return np.concatenate(parts).astype(np.int32)


def packs_segments(tokenizer):
    """Whether ``tokenizer`` packs texts and pairs with segment ids (``BertTokenizer.pack``) for a model with segments."""
    return callable(getattr(tokenizer, "pack", None))


def pack(tokenizer, texts, sequence_length, chunk=2048):
    """``{"token_ids", "segment_ids"}`` int32 ``[n, sequence_length]`` of ``LabeledTexts`` (``tokenizer.pack``).

    Single texts become ``[CLS] A [SEP]``, sentence pairs ``[CLS] A [SEP] B [SEP]`` with segment ids 0 for the
    first part and 1 for the second; too long pairs are truncated longest first.
    """
    keys = ("token_ids", "segment_ids")
    parts = []
    for i in range(0, len(texts), chunk):
        second = tf.constant(texts.text_pairs[i:i + chunk]) if texts.is_pairs else None
        packed = tokenizer.pack(tf.constant(texts.texts[i:i + chunk]), second, sequence_length=sequence_length)
        parts.append([packed[key].numpy().astype(np.int32) for key in keys])
    return {key: np.concatenate([part[k] for part in parts]) for k, key in enumerate(keys)}


def frame(tokenizer, texts, sequence_length):
    """``[n, sequence_length + 1]`` ids ``[CLS] tokens [SEP]``: at most ``sequence_length - 1`` tokens per text.

    A model reading ``ids[:, :-1]`` (at most ``sequence_length`` positions) learns to predict every token and
    the end from the begin token on.
    """
    begin, end = frame_ids(tokenizer)
    ids = encode(tokenizer, texts, sequence_length - 1)
    lengths = (ids != tokenizer.pad_id).sum(axis=1)
    framed = np.full((len(ids), sequence_length + 1), tokenizer.pad_id, np.int32)
    framed[:, 0] = begin
    framed[:, 1:sequence_length] = ids
    framed[np.arange(len(ids)), lengths + 1] = end
    return framed


def model_arguments(config, data):
    """Return the full builder arguments of the config's model for the loaded ``data`` (``load_splits``)."""
    import zoo.models

    args = dict(zoo.models.config_of(config.model.name))
    args.update(config.model.overrides)
    args.update(vocab_size=data["tokenizer"].vocab_size, sequence_length=data["sequence_length"],
                pad_id=data["tokenizer"].pad_id)
    if data["task"] == "classification":
        args.update(num_classes=len(data["label_names"]), mode=classification_mode(config))
    return args
