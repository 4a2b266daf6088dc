"""The layer and model tests again under the JAX backend, in a subprocess (a backend is fixed per process).

Every layer test runs, and every model test except those in ``SKIPPED_UNDER_JAX``: JAX compiles each eager op
for each new shape, so tests that decode token by token cost minutes there. The skipped tests still run under
TensorFlow, and the backend-dependent code they exercise is covered under JAX by the tests named beside them.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATIVE = "tests/models/test_generative.py::"
MODELS = "tests/models/test_models.py::"
BACKBONE = "tests/models/test_backbone.py::"
SKIPPED_UNDER_JAX = [
    # The decoding loop is numpy over the model's logits; recomputing them for every new length compiles each op
    # again (~100 s). Under JAX the KV cache is checked against recomputation by
    # test_cached_step_logits_equal_full_recompute, and greedy, beam and sampled generate() by
    # test_greedy_equals_beam_of_one_and_top_k_of_one.
    *(GENERATIVE + f"test_cached_generation_produces_the_same_tokens_as_recomputing[{method}]"
      for method in ("greedy", "beam", "sample")),
    GENERATIVE + "test_wide_beam_search_finds_the_most_likely_sequence",
    GENERATIVE + "test_sampling_is_seeded_and_stops_at_the_end_token",
    # model.fit under JAX: the Transformer case; the LSTM and CNN forward passes and gradients are checked by the
    # registry tests.
    MODELS + "test_models_learn_a_token_presence_task[build_lstm_classifier]",
    MODELS + "test_models_learn_a_token_presence_task[build_cnn_classifier]",
    # Gradients of the generative builders: test_generative_models_save_reload_and_train checks them too.
    MODELS + "test_gradients_reach_every_weight[lm]",
    MODELS + "test_gradients_reach_every_weight[mlm]",
    MODELS + "test_gradients_reach_every_weight[seq2seq]",
    # Registry metadata: building every registry model is covered by the save/reload test.
    MODELS + "test_list_models_reports_names_descriptions_and_parameter_counts",
    MODELS + "test_list_models_counts_parameters_once_per_process",
    # The backbone's cache is checked by test_cached_step_logits_equal_full_recompute (through CausalLM), padding
    # with rotary pre-LN blocks by the rotary padding tests, segment embeddings by the BERT-layout test, and the
    # decoding loop's pad handling and the classifiers' attributes are backend-neutral Python.
    BACKBONE + "test_causal_backbone_is_causal_and_its_cache_matches",
    BACKBONE + "test_padding_changes_no_real_position[kw1]",
    BACKBONE + "test_classifier_over_segments_takes_token_and_segment_ids",
    BACKBONE + "test_every_classifier_says_what_serving_needs[lstm-True]",
    GENERATIVE + "test_generation_pads_with_the_models_pad_id_and_never_emits_it",
]
# Padding invariance under JAX for every pooling and every positional encoding: 4 of the 12 combinations.
PADDING_KEPT = {"learned-cls", "sinusoidal-mean", "rotary-max", "rotary-attention"}
SKIPPED_UNDER_JAX += [MODELS + f"test_padding_changes_neither_logits_nor_encoder_outputs[{positional}-{pooling}]"
                      for positional in ("learned", "sinusoidal", "rotary")
                      for pooling in ("cls", "mean", "max", "attention")
                      if f"{positional}-{pooling}" not in PADDING_KEPT]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="this test starts the JAX run from the TensorFlow run")
def test_layers_and_models_pass_under_jax():
    pytest.importorskip("jax", reason="jax is in the dev extras: pip install -e '.[dev]'")
    # Most of this run is XLA compiling small eager ops, once per shape. Without LLVM's optimisation passes they
    # compile ~30% faster (the whole run ~15%), and XLA's CPU code generator without its newer MLIR fusion
    # emitters (the LLVM IR emitters it used before them) another ~35% (test_decoder.py: 30 s of CPU down to
    # 19.5 s): that changes how fast the code compiles and runs on CPU, not what it computes (the tests' numpy
    # references hold at the same tolerances).
    xla_flags = " ".join(filter(None, [os.environ.get("XLA_FLAGS"), "--xla_backend_optimization_level=0",
                                       "--xla_cpu_use_fusion_emitters=false"]))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "XLA_FLAGS": xla_flags}
    deselect = [arg for node in SKIPPED_UNDER_JAX for arg in ("--deselect", node)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:cacheprovider", "tests/layers", "tests/models", *deselect],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    # Every skipped id names a collected test, so a renamed test cannot leave a stale entry behind.
    assert f"{len(SKIPPED_UNDER_JAX)} deselected" in result.stdout, result.stdout[-2000:]
    assert " passed" in result.stdout
