"""Evaluate trained models: classifier and generated-text metrics, reports, cross-validation, attention maps.

    import zoo
    report = zoo.evaluate("runs/mr-transformer-small")             # runs/.../evaluation/report.{json,md}
    zoo.evaluate("runs/reverse-seq2seq", method="beam")["metrics"]  # perplexity, BLEU, ROUGE, exact match
    zoo.generate_texts("runs/reverse-seq2seq", ["a b c"])        # [{"text", "generated", "empty_input"}]
    cv = zoo.cross_validate({"data": {"source": "mr"}}, folds=10)   # mean ± std over folds
    e = zoo.explain(model, tokenizer, ["neg", "pos"], "a gripping, funny film")   # arrays for notebooks
    from zoo.evaluation import generation_metrics
    generation_metrics(generated, references)   # {"bleu", "rouge1", "rouge2", "rougeL", "exact_match", "examples"}
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "classification_metrics": "zoo.evaluation.metrics",
    "confident_mistakes": "zoo.evaluation.metrics",
    "MetricsInputError": "zoo.evaluation.metrics",
    "bleu": "zoo.evaluation.text_metrics",
    "rouge": "zoo.evaluation.text_metrics",
    "exact_match": "zoo.evaluation.text_metrics",
    "perplexity": "zoo.evaluation.text_metrics",
    "generation_metrics": "zoo.evaluation.text_metrics",
    "TextMetricsInputError": "zoo.evaluation.text_metrics",
    "write_report": "zoo.evaluation.reports",
    "evaluate": "zoo.evaluation.runner",
    "evaluate_model": "zoo.evaluation.runner",
    "evaluate_generation": "zoo.evaluation.generation",
    "generate_texts": "zoo.evaluation.generation",
    "run_splits": "zoo.evaluation.runner",
    "summarize_folds": "zoo.evaluation.runner",
    "cross_validate": "zoo.evaluation.cross_validation",
    "Explanation": "zoo.evaluation.attention",
    "explain": "zoo.evaluation.attention",
    "explain_run": "zoo.evaluation.attention",
    "attention_rollout": "zoo.evaluation.attention",
    "token_importance": "zoo.evaluation.attention",
    "save_explanation": "zoo.evaluation.attention",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
