"""Evaluate trained classifiers: scikit-learn metrics, reports with plots, cross-validation, attention maps.

    import zoo
    report = zoo.evaluate("runs/mr-transformer-small")             # runs/.../evaluation/report.{json,md}
    cv = zoo.cross_validate({"data": {"source": "mr"}}, folds=10)   # mean ± std over folds
    e = zoo.explain(model, tokenizer, ["neg", "pos"], "a gripping, funny film")   # arrays for notebooks
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "classification_metrics": "zoo.evaluation.metrics",
    "confident_mistakes": "zoo.evaluation.metrics",
    "MetricsInputError": "zoo.evaluation.metrics",
    "write_report": "zoo.evaluation.reports",
    "evaluate": "zoo.evaluation.runner",
    "evaluate_model": "zoo.evaluation.runner",
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
