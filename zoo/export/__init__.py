"""Export trained classifiers as raw-string SavedModels (TF Serving layout) and predict with them.

    import zoo
    result = zoo.export_run("runs/reviews")                        # saved_models/reviews/<next version>
    zoo.predict(result.path, ["a gripping, funny film"])[0]["label"]  # 'positive'

Exported models need only TensorFlow (plus ``import tensorflow_text`` when ``assets.extra/zoo_export.json``
says ``requires_tensorflow_text``) to load: zoo is not needed at serving time.
"""
from zoo._lazy import lazy_exports

_LAZY = {
    "export_model": "zoo.export.saved_model",
    "export_generator": "zoo.export.saved_model",
    "GenerativeServingGraph": "zoo.export.generative",
    "generate_with_export": "zoo.export.predict",
    "export_run": "zoo.export.saved_model",
    "ExportResult": "zoo.export.saved_model",
    "read_metadata": "zoo.export.saved_model",
    "custom_ops": "zoo.export.saved_model",
    "ExportPathError": "zoo.export.versions",
    "ServingGraph": "zoo.export.serving",
    "predict": "zoo.export.predict",
    "predict_file": "zoo.export.predict",
    "load_predictor": "zoo.export.predict",
    "read_texts": "zoo.export.predict",
    "InMemoryPredictor": "zoo.export.predict",
    "SavedModelPredictor": "zoo.export.predict",
    "Predictions": "zoo.export.predict",
    "PredictInputError": "zoo.export.predict",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
