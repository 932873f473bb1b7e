"""Evaluation of a weak run: our metrics, the diagnostics and disentanglement_lib's."""

import os
import time

import gin
import numpy as np

from tf_drpm.weak_supervision import WeakPairSampler
from tf_drpm.weak_supervision import disentanglement_lib_scores
from tf_drpm.weak_supervision import encoder_representation
from tf_drpm.weak_supervision import shared_dimension_diagnostics
from tf_drpm.weak_supervision import summarize_shared_dimension_diagnostics
from tf_drpm.weak_supervision import weak_supervision_scores
from tf_drpm.weak_supervision.disentanglement_lib_metrics import DEFAULT_METRICS
from trainers.weak.dataset import bound_parameter
from trainers.weak.dataset import ground_truth_dataset
from trainers.weak.dataset import observation_shape
from trainers.weak.diagnostics import DIAGNOSTICS_FILE
from trainers.weak.plots import plot_diagnostics
from trainers.weak.plots import plot_reconstructions
from trainers.weak.plots import plot_traversal
from trainers.weak.results import DIAGNOSTIC_METRICS
from trainers.weak.results import SCALAR_METRICS
from trainers.weak.results import update_result_directory

__all__ = ["weak_dlib_metrics", "weak_evaluate"]


@gin.configurable("weak_evaluate")
def weak_evaluate(model, model_dir, num_train=5000, num_test=2000, seed=12345,
                  batch_size=256, max_iter=500, num_diagnostic_pairs=1000,
                  diagnostics_threshold=0.05, plots=True):
    """Scores a trained model on fresh pairs and writes disentanglement_lib results.

    The pairs share `weak_data.num_shared_factors` factors (with the
    `num_changed_factors` mode, the MSE is taken against each pair's true
    count and the probes against its true shared factors, as always).

    `num_diagnostic_pairs` further pairs (from `RandomState([seed, 1])`) give
    the `shared_dimension_diagnostics`: the mean number of dims whose pairwise
    KL is below `diagnostics_threshold` (`num_low_kl_mean`, and among active
    dims `num_low_kl_active_mean`), the active dims and the size head's mean
    logit gap, to read beside the estimate `mean_num_shared`. With `plots`,
    `reconstructions.png`, `traversal.png` and (from `diagnostics.jsonl`)
    `diagnostics.png` go to `model_dir`.

    Then `weak_dlib_metrics` adds disentanglement_lib's own metrics of the
    encoder's posterior means (MIG, DCI, SAP, ... as gin binds it).

    Returns:
        The scalar metrics (`num_shared_mse`, `mean_num_shared`,
        `shared_accuracy`, `independent_accuracy`, the diagnostics, then
        `weak_dlib_metrics`'s `<metric>.<score>` keys); the per-factor scores
        and the diagnostic histograms go to
        `metrics/weak_supervision/results/json/evaluation_results.json`.
    """
    start = time.time()
    num_shared = bound_parameter("weak_data.num_shared_factors", None)
    if num_shared is None:
        raise ValueError(
            "`weak_evaluate` needs `weak_data.num_shared_factors`. Received: "
            "num_shared_factors=None")
    data = ground_truth_dataset()
    scores = weak_supervision_scores(
        model, data, num_shared, np.random.RandomState(seed),
        num_train=num_train, num_test=num_test, batch_size=batch_size,
        max_iter=max_iter)
    pairs = WeakPairSampler(data, num_shared_factors=num_shared).sample(
        num_diagnostic_pairs, np.random.RandomState([seed, 1]))
    shape = [-1] + list(observation_shape(data))
    diagnostics = summarize_shared_dimension_diagnostics(
        shared_dimension_diagnostics(model, pairs["x1"].reshape(shape),
                                     pairs["x2"].reshape(shape),
                                     diagnostics_threshold))
    scores.update({key: diagnostics[key] for key in DIAGNOSTIC_METRICS
                   if key in diagnostics})
    scores["diagnostics"] = diagnostics
    if plots:
        x = {k: pairs[k].reshape(shape) for k in ("x1", "x2")}
        plot_reconstructions(
            model, x, os.path.join(model_dir, "reconstructions.png"))
        plot_traversal(model, x, os.path.join(model_dir, "traversal.png"))
        diagnostics_path = os.path.join(model_dir, DIAGNOSTICS_FILE)
        if os.path.exists(diagnostics_path):
            plot_diagnostics(
                diagnostics_path, os.path.join(model_dir, "diagnostics.png"),
                num_shared)
    scores["elapsed_time"] = time.time() - start
    update_result_directory(
        os.path.join(model_dir, "metrics", "weak_supervision", "results"),
        "evaluation", scores)
    results = {key: scores[key]
               for key in SCALAR_METRICS + DIAGNOSTIC_METRICS
               if key in scores}
    results.update(weak_dlib_metrics(model, model_dir))
    return results


@gin.configurable("weak_dlib_metrics")
def weak_dlib_metrics(model, model_dir, metrics=DEFAULT_METRICS, num_train=None,
                      num_test=None, random_seed=0):
    """disentanglement_lib's own metrics of the encoder, in its results layout.

    `tf_drpm.weak_supervision.disentanglement_lib_scores` runs disentanglement_lib's
    `compute_*` functions with its gin settings (sizes 10,000 / 5,000, 20
    histogram bins, `evaluation.random_seed = 0`) on `model.encode`, the
    posterior means of single observations of `weak_dataset`. Each metric
    `<m>` is written as disentanglement_lib's `evaluate` writes it:
    `<model_dir>/metrics/<m>/results/{gin/evaluation.gin,
    json/evaluation_config.json, json/evaluation_results.json,
    aggregate/evaluation.json}`, so its `aggregate_results` reads them (the
    operative config there holds the bindings of every metric of the step).

    Args:
        model: the trained `WeakVAE`.
        model_dir: the run directory.
        metrics: names of `tf_drpm.weak_supervision.DISENTANGLEMENT_LIB_METRICS`,
            by default MIG, DCI, SAP and modularity/explicitness; `()` skips
            the step (disentanglement-lib is then not needed).
        num_train: overrides disentanglement_lib's 10,000 training points.
        num_test: overrides its 5,000 test points.
        random_seed: seed of each metric's `np.random.RandomState`.

    Returns:
        `{"<m>.<score>": value}` for every numeric score, e.g.
        `{"mig.discrete_mig": 0.12, "sap_score.SAP_score": 0.03}`.

    Example (gin):

        weak_dlib_metrics.metrics = ('mig', 'sap_score', 'factor_vae_metric')
        weak_dlib_metrics.num_train = 4000
    """
    if not metrics:
        return {}
    data = ground_truth_dataset()
    scores = disentanglement_lib_scores(
        data, encoder_representation(model, observation_shape(data)), metrics,
        random_seed=random_seed, num_train=num_train, num_test=num_test)
    results = {}
    for metric, metric_scores in scores.items():
        update_result_directory(
            os.path.join(model_dir, "metrics", metric, "results"), "evaluation",
            metric_scores)
        results.update({
            f"{metric}.{key}": value for key, value in metric_scores.items()
            if key != "elapsed_time" and isinstance(value, (int, float))
            and not isinstance(value, bool)})
    return results
