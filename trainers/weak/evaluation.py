"""Evaluation of a weak run: our metrics, the diagnostics and disentanglement_lib's.

`weak_evaluate` and `weak_dlib_metrics` are evaluation-only configurables
(`run_directory.register_evaluation_configurables`): changing their bindings
re-evaluates finished runs instead of needing `--allow_config_change`. No
metric loses a trained run: `check_dlib_metric_settings` refuses, before any
training, sizes a disentanglement_lib metric cannot work with, and a metric
that still raises is recorded as failed (`<metric>.failed`: the exception's
type and message) while the others are scored. A score that is
disentanglement_lib's convention rather than a measurement (FactorVAE and IRS
are 0 without active dimensions, DCI is 0 when every code dimension is
constant, modularity counts a constant dimension as 0) gets a
`<metric>.note`.
"""

import os
import time

import gin
import numpy as np

from tf_drpm.weak_supervision import DISENTANGLEMENT_LIB_METRICS
from tf_drpm.weak_supervision import WeakPairSampler
from tf_drpm.weak_supervision import disentanglement_lib_scores
from tf_drpm.weak_supervision import encoder_representation
from tf_drpm.weak_supervision import linear_probe_score
from tf_drpm.weak_supervision import metric_requirement_errors
from tf_drpm.weak_supervision import shared_dimension_diagnostics
from tf_drpm.weak_supervision import summarize_shared_dimension_diagnostics
from tf_drpm.weak_supervision import weak_supervision_scores
from tf_drpm.weak_supervision.disentanglement_lib_metrics import DEFAULT_METRICS
from trainers.core import run_directory
from trainers.core.errors import CommandError
from trainers.core.errors import SettingError
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

__all__ = ["check_dlib_metric_settings", "factor_probe_scores", "failure_reason",
           "weak_dlib_metrics", "weak_evaluate"]

run_directory.register_evaluation_configurables("weak_evaluate", "weak_dlib_metrics")


@gin.configurable("weak_evaluate")
def weak_evaluate(model, model_dir, num_train=5000, num_test=2000, seed=12345,
                  batch_size=256, max_iter=500, num_diagnostic_pairs=1000,
                  diagnostics_threshold=0.05, plots=True, factor_probes=True):
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

    With `factor_probes`, `num_train` + `num_test` single observations (from
    `RandomState([seed, 2])`) are encoded to their posterior means and
    `factor_probe_scores` says how well a linear probe reads each factor from
    them (`factor_probe_accuracy`, their mean, and `factor_probe.<factor>`,
    printed): whether the encoder learnt the factors at all, whatever the
    view aggregation makes of them.

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
    if factor_probes:
        scores.update(_factor_probes(model, data, num_train, num_test, batch_size,
                                     max_iter, np.random.RandomState([seed, 2])))
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
    results.update({key: value for key, value in scores.items()
                    if key.startswith("factor_probe")
                    and not key.endswith("per_factor")})
    results.update(weak_dlib_metrics(model, model_dir))
    return results


def factor_probe_scores(codes, factors, num_train, max_iter=500, random_state=0):
    """Per-factor linear probes of a representation of single observations.

    For each generative factor `j`, a logistic regression on all of `codes`
    (standardised) is trained on the first `num_train` rows to predict
    `factors[:, j]` and scored on the rest with the adjusted balanced
    accuracy (0 at chance, 1 perfect; `linear_probe_score`). Unlike
    `partition_probe_scores` it ignores the shared / independent split: it
    asks whether the encoder learnt each factor.

    Args:
        codes: Float array `[N, d]`, e.g. the encoder's posterior means.
        factors: Int array `[N, F]`, the generative factors of the rows.
        num_train: Int in `[1, N - 1]`, the rows that train the probes.
        max_iter: Iterations of each logistic regression.
        random_state: Seed of the classifiers.

    Returns:
        A float array `[F]`, NaN for a factor with a single class in either
        set.

    Raises:
        ValueError: on mismatched shapes or an invalid `num_train`.

    Example:

    >>> factors = np.random.RandomState(0).randint(3, size=(300, 2))
    >>> factor_probe_scores(factors.astype(float), factors, 200)  # [1., 1.]
    """
    codes = np.asarray(codes, dtype=np.float64)
    factors = np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or len(codes) != len(factors):
        raise ValueError(
            "`codes` and `factors` must be 2-D with the same number of rows. "
            f"Received: codes.shape={codes.shape}, factors.shape={factors.shape}")
    if (isinstance(num_train, bool) or not isinstance(num_train, (int, np.integer))
            or not 1 <= num_train < len(codes)):
        raise ValueError(
            f"`num_train` must be an int in [1, {len(codes) - 1}]. "
            f"Received: num_train={num_train!r}")
    return np.array([
        linear_probe_score(codes[:num_train], factors[:num_train, j],
                           codes[num_train:], factors[num_train:, j],
                           max_iter=max_iter, random_state=random_state)
        for j in range(factors.shape[1])])


def _factor_probes(model, data, num_train, num_test, batch_size, max_iter,
                   random_state):
    """`factor_probe_scores` of the posterior means of fresh observations."""
    factors = data.sample_factors(num_train + num_test, random_state)
    representation = encoder_representation(model, observation_shape(data))
    codes = np.concatenate([
        representation(data.sample_observations_from_factors(
            factors[start:start + batch_size], random_state))
        for start in range(0, len(factors), batch_size)])
    per_factor = factor_probe_scores(codes, factors, num_train, max_iter=max_iter)
    names = getattr(data, "factor_names", None) or [
        str(j) for j in range(len(per_factor))]
    print("Linear probe of each factor from the posterior means (adjusted balanced "
          "accuracy): " + ", ".join(
              f"{name} {score:.3f}" for name, score in zip(names, per_factor)),
          flush=True)
    scores = {f"factor_probe.{name}": float(score)
              for name, score in zip(names, per_factor)}
    finite = per_factor[np.isfinite(per_factor)]
    scores["factor_probe_accuracy"] = float(finite.mean()) if finite.size else float(
        "nan")
    scores["factor_probe_accuracy_per_factor"] = per_factor.tolist()
    return scores


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
    if isinstance(metrics, str):
        metrics = (metrics,)
    _check_metric_names(metrics)
    data = ground_truth_dataset()
    representation = encoder_representation(model, observation_shape(data))
    results = {}
    for metric in metrics:
        codes = _CodeRange(representation)
        try:
            scores = disentanglement_lib_scores(
                data, codes, (metric,), random_seed=random_seed, num_train=num_train,
                num_test=num_test)[metric]
        except Exception as e:  # pylint: disable=broad-except
            # The trained run stays; the table shows the metric as failed.
            results[f"{metric}.failed"] = failure_reason(e)
            print(f"WARNING: disentanglement_lib's {metric} failed in {model_dir}: "
                  f"{results[f'{metric}.failed']}", flush=True)
            continue
        update_result_directory(
            os.path.join(model_dir, "metrics", metric, "results"), "evaluation", scores)
        results.update({
            f"{metric}.{key}": value for key, value in scores.items()
            if key != "elapsed_time" and isinstance(value, (int, float))
            and not isinstance(value, bool)})
        note = _convention_note(metric, scores, codes)
        if note:
            results[f"{metric}.note"] = note
    return results


def failure_reason(error):
    """`"<type>: <first line of the message>"`, at most 300 characters."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


class _CodeRange:
    """A representation function that records which code dimensions vary
    across the observations it is called on (a metric's own points)."""

    def __init__(self, representation):
        self.representation = representation
        self.low = self.high = None

    def __call__(self, observations):
        codes = self.representation(observations)
        low, high = codes.min(axis=0), codes.max(axis=0)
        self.low = low if self.low is None else np.minimum(self.low, low)
        self.high = high if self.high is None else np.maximum(self.high, high)
        return codes

    def num_dims(self):
        return 0 if self.low is None else len(self.low)

    def num_varying(self):
        return 0 if self.low is None else int(np.sum(self.high > self.low))


def _convention_note(metric, scores, codes):
    """Why a score is disentanglement_lib's convention rather than a measurement
    (None if it is a measurement)."""
    varying, dims = codes.num_varying(), codes.num_dims()
    if metric == "factor_vae_metric" and scores.get("num_active_dims") == 0:
        return ("0 by disentanglement_lib's convention: no active dimension (every "
                "code's standard deviation below prune_dims.threshold = 0.05)")
    if metric == "irs" and varying == 0:
        return "0 by disentanglement_lib's convention: every code dimension is constant"
    if metric == "dci" and varying == 0:
        return ("disentanglement and completeness 0 by disentanglement_lib's "
                "convention: every code dimension is constant (all importances 0)")
    if metric == "modularity_explicitness" and varying < dims:
        return (f"{dims - varying} of {dims} code dimensions are constant; "
                "disentanglement_lib counts their modularity as 0")
    return None


def _check_metric_names(metrics):
    unknown = [m for m in metrics if m not in DISENTANGLEMENT_LIB_METRICS]
    if unknown:
        raise SettingError(
            f"`weak_dlib_metrics.metrics` must name metrics of "
            f"{tuple(DISENTANGLEMENT_LIB_METRICS)}. Received: metrics={tuple(metrics)!r}")


def check_dlib_metric_settings():
    """Raises `CommandError` if a bound `weak_dlib_metrics` metric cannot work
    with the bound data set and sizes (`metric_requirement_errors`): before
    training, so that no trained run is lost to a metric."""
    metrics = bound_parameter("weak_dlib_metrics.metrics", DEFAULT_METRICS)
    if not metrics:
        return
    if isinstance(metrics, str):
        metrics = (metrics,)
    _check_metric_names(metrics)
    errors = metric_requirement_errors(
        ground_truth_dataset(), metrics,
        random_seed=bound_parameter("weak_dlib_metrics.random_seed", 0),
        num_train=bound_parameter("weak_dlib_metrics.num_train", None),
        num_test=bound_parameter("weak_dlib_metrics.num_test", None))
    if errors:
        raise CommandError(
            "disentanglement_lib's metrics cannot work with these weak_dlib_metrics "
            "settings (checked before training): " + " ".join(errors)
            + " Bind the size (e.g. --gin_param 'weak_dlib_metrics.num_test = <n>'; "
            "sizes are weak_dlib_metrics.num_train / num_test), or drop the metric "
            "from weak_dlib_metrics.metrics.")
