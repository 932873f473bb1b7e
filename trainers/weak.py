"""The weakly supervised family: Label-, Ada-, HG- and DRPM-VAE on image pairs.

Section 5.2 and appendix C.2 of Sutter et al. (2023): pairs of images share
exactly `n_s` of their generative factors; a `tf_drpm.weak_supervision.WeakVAE` with
one of four view aggregations learns which latent dimensions are shared. Each
(method, n_s, seed) is one run of the shared `trainers.training.train`
routine, evaluated by `tf_drpm.weak_supervision.weak_supervision_scores`:

    python -m trainers.weak --gin_file gin/weak/quick.gin --model_dir runs/weak_quick

Layout of `--model_dir` (disentanglement_lib's results conventions per run):

    <model_dir>/<method>/ns<n_s>_seed<seed>/
        config.gin, operative_config.gin, checkpoints/, epochs.jsonl,
        results.json, results.md                (the shared trainer)
        model/results/{gin/train.gin, json/train_config.json,
                       json/train_results.json, aggregate/train.json}
        metrics/weak_supervision/results/{gin/evaluation.gin,
                       json/evaluation_config.json,
                       json/evaluation_results.json,
                       aggregate/evaluation.json}
    <model_dir>/results.json   every run plus mean / std over seeds
    <model_dir>/results.md     the markdown table across methods and n_s

A finished run (its `results.json` exists) is reused, an interrupted one
resumes from its last epoch, so rerunning the command completes a sweep.
The table is printed at the end.
"""

import functools
import json
import os
import re
import time
import uuid

import gin
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.callbacks.exponential_temperature_schedule import (
    ExponentialTemperatureSchedule,
)
from tf_drpm.weak_supervision.adaptive_aggregation import AdaptiveAggregation
from tf_drpm.weak_supervision.disentanglement_lib_metrics import DEFAULT_METRICS
from tf_drpm.weak_supervision.disentanglement_lib_metrics import (
    disentanglement_lib_scores,
)
from tf_drpm.weak_supervision.disentanglement_lib_metrics import encoder_representation
from tf_drpm.weak_supervision.hypergeometric_aggregation import (
    HypergeometricAggregation,
)
from tf_drpm.weak_supervision.label_aggregation import LabelAggregation
from tf_drpm.weak_supervision.mpi3d_stand_in import MPI3DStandIn
from tf_drpm.weak_supervision.npz_ground_truth import NpzGroundTruthData
from tf_drpm.weak_supervision.partition_aggregation import PartitionAggregation
from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler
from tf_drpm.weak_supervision.weak_supervision_metrics import (
    shared_dimension_diagnostics,
)
from tf_drpm.weak_supervision.weak_supervision_metrics import (
    summarize_shared_dimension_diagnostics,
)
from tf_drpm.weak_supervision.weak_supervision_metrics import weak_supervision_scores
from tf_drpm.weak_supervision.weak_vae import WeakVAE
from trainers import cli
from trainers import training
from trainers import weak_plots

__all__ = [
    "METHOD_NAMES",
    "SharedDimensionDiagnostics",
    "format_weak_table",
    "ground_truth_dataset",
    "summarize_runs",
    "update_result_directory",
    "weak_callbacks",
    "weak_data",
    "weak_dlib_metrics",
    "weak_evaluate",
    "weak_experiment",
    "weak_model",
]

METHOD_NAMES = {
    "label": "Label-VAE",
    "adaptive": "Ada-VAE",
    "hg": "HG-VAE",
    "drpm": "DRPM-VAE",
}
_SCALAR_METRICS = ("num_shared_mse", "mean_num_shared", "shared_accuracy",
                   "independent_accuracy")
_DIAGNOSTIC_METRICS = ("num_low_kl_mean", "num_low_kl_active_mean",
                       "num_active_dims", "size_logit_gap_mean")
_TABLE_METRICS = ("num_shared_mse", "mean_num_shared", "num_low_kl_mean",
                  "shared_accuracy", "independent_accuracy")
# disentanglement_lib's headline scores: (results key, table column).
_DLIB_COLUMNS = (
    ("mig.discrete_mig", "MIG"),
    ("dci.disentanglement", "DCI D"),
    ("sap_score.SAP_score", "SAP"),
    ("modularity_explicitness.modularity_score", "Mod"),
    ("modularity_explicitness.explicitness_score_test", "Expl"),
    ("beta_vae_sklearn.eval_accuracy", "BetaVAE"),
    ("factor_vae_metric.eval_accuracy", "FactorVAE"),
    ("irs.IRS", "IRS"),
)


@gin.configurable("weak_dataset")
def ground_truth_dataset(name="mpi3d_stand_in", path=None, image_size=64):
    """The ground-truth data set of the weak family.

    Args:
        name: `"mpi3d_stand_in"` (procedural, offline; NOT the benchmark),
            `"mpi3d_toy"` or `"dsprites"` (`.npz` files at `path`), or
            `"dummy_data"` (disentanglement_lib's `DummyData`, needs the
            `disentanglement-lib` package).
        path: the `.npz` file for `"mpi3d_toy"` / `"dsprites"`.
        image_size: `"mpi3d_stand_in"` only: 64, or 32 for its low-resolution
            mode (2x2 block means; the quick CPU protocol).

    Returns:
        An object with disentanglement_lib's `GroundTruthData` interface.
    """
    if name == "mpi3d_stand_in":
        return MPI3DStandIn(image_size)
    if name in ("mpi3d_toy", "dsprites"):
        if not path:
            raise ValueError(
                f"`weak_dataset.path` must name the .npz file of {name}. Received: "
                f"path={path!r}")
        return _load_npz(name, path)
    if name == "dummy_data":
        # pylint: disable-next=g-import-not-at-top
        from disentanglement_lib.data.ground_truth import dummy_data
        return dummy_data.DummyData()
    raise ValueError(
        "`weak_dataset.name` must be one of 'mpi3d_stand_in', 'mpi3d_toy', 'dsprites', "
        f"'dummy_data'. Received: name={name!r}")


@functools.lru_cache(maxsize=1)
def _load_npz(name, path):
    """Loads an `.npz` data set once per process (model, data and evaluation)."""
    return getattr(NpzGroundTruthData, name)(path)


def _observation_shape(data):
    shape = [int(s) for s in data.observation_shape]
    return tuple(shape + [1]) if len(shape) == 2 else tuple(shape)


@gin.configurable("weak_model")
def weak_model(method="drpm", num_latent=10, beta=1.0, averaging="group",
               temperature=1.0, gamma=0.25, delta=0.01, hg_gamma=0.0,
               num_independent=1, seed=0, size_head_input="kl",
               size_head_stop_gradient=False, view_reduction="mean"):
    """A built `WeakVAE` with the view aggregation of `method`.

    Args:
        method: "label", "adaptive", "hg" or "drpm".
        num_latent: latent dimension `d`.
        beta: weight of the latent KL.
        averaging: "group" (GVAE) or "product" (ML-VAE).
        temperature: initial temperature of the HG and DRPM relaxations.
        gamma: weight of the DRPM's subset-size term, equation (64).
        delta: weight of the DRPM's permutation term, equation (65).
        hg_gamma: weight of HG-VAE's count prior term (0: none).
        num_independent: Label-VAE's known number of independent factors.
        seed: seed of the latent and partition sampling.
        size_head_input: HG and DRPM: `"kl"` (the paper's raw pairwise KLs)
            or `"saturating"` (`kl / (1 + kl)`), see `PartitionAggregation`.
        size_head_stop_gradient: HG and DRPM: no gradient from the size head
            into the encoder.
        view_reduction: `"mean"` (disentanglement_lib) or `"sum"` (the
            paper) of the two views' loss terms.
    """
    size_head = dict(size_head_input=size_head_input,
                     size_head_stop_gradient=size_head_stop_gradient)
    if method == "label":
        aggregation = LabelAggregation(num_independent, name="aggregation")
    elif method == "adaptive":
        aggregation = AdaptiveAggregation(name="aggregation")
    elif method == "hg":
        aggregation = HypergeometricAggregation(
            temperature=temperature, gamma=hg_gamma, seed=seed, name="aggregation",
            **size_head)
    elif method == "drpm":
        aggregation = PartitionAggregation(
            temperature=temperature, gamma=gamma, delta=delta, seed=seed,
            name="aggregation", **size_head)
    else:
        raise ValueError(
            f"`weak_model.method` must be one of {tuple(METHOD_NAMES)}. "
            f"Received: method={method!r}")
    model = WeakVAE(aggregation, num_latent=num_latent,
                    observation_shape=_observation_shape(ground_truth_dataset()),
                    beta=beta, averaging=averaging, seed=seed,
                    view_reduction=view_reduction)
    model.build()
    return model


@gin.configurable("weak_data")
def weak_data(initial_epoch, epochs, seed, num_shared_factors=None,
              num_changed_factors=None, batch_size=64, steps_per_epoch=1000):
    """A finite pair stream covering exactly epochs `initial_epoch .. epochs - 1`.

    Epoch `e` draws its pairs from `np.random.RandomState([seed, e])`, so a
    resumed run sees the same batches as an uninterrupted one. Exactly one of
    `num_shared_factors` (pairs share exactly n_s factors) and
    `num_changed_factors` (disentanglement_lib's k changed factors) is set.
    """
    data = ground_truth_dataset()
    sampler = WeakPairSampler(data, num_shared_factors=num_shared_factors,
                              num_changed_factors=num_changed_factors)
    shape = [batch_size] + list(_observation_shape(data))

    def generator():
        for epoch in range(initial_epoch, epochs):
            random_state = np.random.RandomState([int(seed), epoch])
            for _ in range(steps_per_epoch):
                pairs = sampler.sample(batch_size, random_state)
                yield {
                    "x1": pairs["x1"].reshape(shape),
                    "x2": pairs["x2"].reshape(shape),
                    "label": pairs["label"].astype(np.int32),
                }

    signature = {
        "x1": tf.TensorSpec(shape, tf.float32),
        "x2": tf.TensorSpec(shape, tf.float32),
        "label": tf.TensorSpec([batch_size], tf.int32),
    }
    train = tf.data.Dataset.from_generator(generator, output_signature=signature)
    return training.TrainData(train=train.prefetch(2),
                              steps_per_epoch=steps_per_epoch)


def _bound(name, default):
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default


DIAGNOSTICS_FILE = "diagnostics.jsonl"


class SharedDimensionDiagnostics(keras.callbacks.Callback):
    """Logs why a weak VAE estimates the n_s it does, every `every_steps` steps.

    On a fixed set of pairs (sharing `weak_data.num_shared_factors` factors)
    it computes `shared_dimension_diagnostics` (the size head's logit gap,
    the histogram of the estimated n_s, the number of dims whose pairwise KL
    is below `threshold`, the active dims) and appends one JSON line per
    measurement to `<model_dir>/diagnostics.jsonl`; at each epoch end the
    scalars also go into the epoch logs (`diag_*`). Nothing random is drawn,
    so training is unchanged. A resumed run drops the lines past its restored
    step before appending.
    """

    def __init__(self, pairs, model_dir, every_steps=25, threshold=0.05):
        super().__init__()
        self.pairs = pairs
        self.path = os.path.join(model_dir, DIAGNOSTICS_FILE) if model_dir else None
        self.every_steps = max(1, int(every_steps))
        self.threshold = threshold
        self._last = None

    def _step(self):
        return int(self.model.optimizer.iterations.numpy())

    def _measure(self):
        diagnostics = shared_dimension_diagnostics(
            self.model, self.pairs["x1"], self.pairs["x2"], self.threshold)
        record = {"step": self._step(),
                  "temperature": _temperature(self.model),
                  **summarize_shared_dimension_diagnostics(diagnostics)}
        self._last = record
        if self.path:
            with open(self.path, "a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        return record

    def on_train_begin(self, logs=None):
        step = self._step()
        if self.path and os.path.exists(self.path):
            with open(self.path) as f:
                kept = [line for line in f if json.loads(line)["step"] <= step]
            with open(self.path, "w") as f:
                f.writelines(kept)
        if step == 0:
            self._measure()

    def on_train_batch_end(self, batch, logs=None):
        if self._step() % self.every_steps == 0:
            self._measure()

    def on_epoch_end(self, epoch, logs=None):
        record = self._last if (self._last and self._last["step"] == self._step()
                                ) else self._measure()
        if logs is not None:
            for key in ("size_logit_gap_mean", "num_shared_mean", "num_low_kl_mean",
                        "num_low_kl_active_mean", "num_active_dims"):
                if key in record:
                    logs["diag_" + key] = record[key]


def _temperature(model):
    temperature = getattr(model.aggregation, "temperature", None)
    return None if temperature is None else float(temperature.numpy())


@gin.configurable("weak_callbacks")
def weak_callbacks(model, model_dir=None, initial_temperature=1.0,
                   final_temperature=0.5, decay_steps=None,
                   diagnostics_every_steps=25, diagnostics_pairs=256,
                   diagnostics_threshold=0.05):
    """Anneals HG's and DRPM's temperature (appendix C.2: 1.0 to 0.5) and logs
    `SharedDimensionDiagnostics`.

    `decay_steps=None` reaches the final temperature at the last step
    (`train.epochs * weak_data.steps_per_epoch`). `diagnostics_every_steps=0`
    turns the diagnostics off; they use `diagnostics_pairs` pairs drawn from
    `RandomState(1)`.
    """
    callbacks = []
    temperature = getattr(model.aggregation, "temperature", None)
    if temperature is not None:
        if decay_steps is None:
            decay_steps = int(_bound("train.epochs", 1)) * int(
                _bound("weak_data.steps_per_epoch", 1000))
        callbacks.append(ExponentialTemperatureSchedule(
            initial_temperature, final_temperature, decay_steps=max(1, decay_steps),
            variables=[temperature]))
    num_shared = _bound("weak_data.num_shared_factors", None)
    if diagnostics_every_steps and num_shared is not None:
        data = ground_truth_dataset()
        pairs = WeakPairSampler(data, num_shared_factors=num_shared).sample(
            diagnostics_pairs, np.random.RandomState(1))
        shape = [-1] + list(_observation_shape(data))
        pairs = {k: pairs[k].reshape(shape) for k in ("x1", "x2")}
        callbacks.append(SharedDimensionDiagnostics(
            pairs, model_dir, every_steps=diagnostics_every_steps,
            threshold=diagnostics_threshold))
    return callbacks


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
    num_shared = _bound("weak_data.num_shared_factors", None)
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
    shape = [-1] + list(_observation_shape(data))
    diagnostics = summarize_shared_dimension_diagnostics(
        shared_dimension_diagnostics(model, pairs["x1"].reshape(shape),
                                     pairs["x2"].reshape(shape),
                                     diagnostics_threshold))
    scores.update({key: diagnostics[key] for key in _DIAGNOSTIC_METRICS
                   if key in diagnostics})
    scores["diagnostics"] = diagnostics
    if plots:
        x = {k: pairs[k].reshape(shape) for k in ("x1", "x2")}
        weak_plots.plot_reconstructions(
            model, x, os.path.join(model_dir, "reconstructions.png"))
        weak_plots.plot_traversal(model, x, os.path.join(model_dir, "traversal.png"))
        diagnostics_path = os.path.join(model_dir, DIAGNOSTICS_FILE)
        if os.path.exists(diagnostics_path):
            weak_plots.plot_diagnostics(
                diagnostics_path, os.path.join(model_dir, "diagnostics.png"),
                num_shared)
    scores["elapsed_time"] = time.time() - start
    update_result_directory(
        os.path.join(model_dir, "metrics", "weak_supervision", "results"),
        "evaluation", scores)
    results = {key: scores[key] for key in _SCALAR_METRICS + _DIAGNOSTIC_METRICS
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
        data, encoder_representation(model, _observation_shape(data)), metrics,
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


def _gin_dict():
    """The operative gin bindings as `{"scope/name.param": "value"}` strings."""
    result = {}
    for line in gin.operative_config_str().splitlines():
        match = re.match(r"^([\w./]+)\s*=\s*(.*)$", line.strip())
        if match:
            result[match.group(1)] = match.group(2)
    return result


def update_result_directory(result_directory, step_name, results_dict):
    """Writes a step's results the way disentanglement_lib's `results.py` does.

    Files: `gin/<step>.gin` (operative config), `json/<step>_config.json`
    (its bindings), `json/<step>_results.json` (the results plus a `uuid`)
    and `aggregate/<step>.json` (every `json/*.json` merged, keys prefixed by
    the file name: `train_results.loss`, `evaluation_config.weak_dataset.name`).
    """
    results = dict(results_dict, uuid=str(uuid.uuid4()))
    for sub in ("gin", "json", "aggregate"):
        os.makedirs(os.path.join(result_directory, sub), exist_ok=True)
    with open(os.path.join(result_directory, "gin", f"{step_name}.gin"), "w") as f:
        f.write(gin.operative_config_str())
    json_dir = os.path.join(result_directory, "json")
    training.write_json(os.path.join(json_dir, f"{step_name}_config.json"),
                        _gin_dict())
    training.write_json(os.path.join(json_dir, f"{step_name}_results.json"), results)
    aggregate = {}
    for name in sorted(os.listdir(json_dir)):
        if name.endswith(".json"):
            with open(os.path.join(json_dir, name)) as f:
                for key, value in json.load(f).items():
                    aggregate[f"{name[:-len('.json')]}.{key}"] = value
    training.write_json(
        os.path.join(result_directory, "aggregate", f"{step_name}.json"), aggregate)


def _stats(values):
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None
    return float(values.mean()), float(values.std())


def summarize_runs(runs):
    """Mean and standard deviation over seeds per (method, n_s).

    The keys are our `_TABLE_METRICS` and the disentanglement_lib headline
    scores (`mig.discrete_mig`, ...) that some run has.
    """
    keys = list(_TABLE_METRICS) + [
        key for key, _ in _DLIB_COLUMNS
        if any(key in run["results"] for run in runs)]
    groups = {}
    for run in runs:
        groups.setdefault((run["method"], run["num_shared_factors"]), []).append(run)
    summary = []
    for (method, num_shared), group in groups.items():
        row = {"method": method, "num_shared_factors": num_shared,
               "seeds": [r["seed"] for r in group]}
        for key in keys:
            row[key], row[key + "_std"] = _stats(
                [_number(r["results"].get(key)) for r in group])
        summary.append(row)
    return summary


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def format_weak_table(summary):
    """Markdown table: one row per method; per n_s the MSE of n_s, n_s_hat, the
    dims whose pairwise KL is below the diagnostics threshold, S and I.

    Then, per n_s, the disentanglement_lib scores of `_DLIB_COLUMNS` that the
    summary holds (MIG, DCI D = DCI disentanglement, SAP, Mod / Expl =
    modularity / test explicitness, BetaVAE, FactorVAE, IRS).
    """
    num_shared_values = sorted({row["num_shared_factors"] for row in summary})
    methods = [m for m in METHOD_NAMES if any(r["method"] == m for r in summary)]
    dlib_columns = [(key, name) for key, name in _DLIB_COLUMNS
                    if any(row.get(key) is not None for row in summary)]
    keys = list(_TABLE_METRICS) + [key for key, _ in dlib_columns]
    header = ["method"]
    for n in num_shared_values:
        header += [f"MSE(n_s) n_s={n}", f"mean n_s_hat n_s={n}",
                   f"dims KL<0.05 n_s={n}", f"S acc n_s={n}", f"I acc n_s={n}"]
        header += [f"{name} n_s={n}" for _, name in dlib_columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] * len(header)) + "|"]

    def cell(row, key):
        mean, std = row.get(key), row.get(key + "_std")
        if mean is None:
            return "n/a"
        if len(row["seeds"]) > 1:
            return f"{mean:.3f} ± {std:.3f}"
        return f"{mean:.3f}"

    for method in methods:
        cells = [METHOD_NAMES[method]]
        for n in num_shared_values:
            row = next((r for r in summary if r["method"] == method
                        and r["num_shared_factors"] == n), None)
            if row is None:
                cells += [""] * len(keys)
            else:
                cells += [cell(row, k) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@gin.configurable("weak_experiment", denylist=["model_dir"])
def weak_experiment(model_dir, methods=("label", "adaptive", "hg", "drpm"),
                    num_shared_factors=(3,), seeds=(0,)):
    """Trains and evaluates every (n_s, method, seed), writes and prints the table.

    Each run binds `weak_model.method`, `weak_data.num_shared_factors`,
    `weak_model.seed` and `train.seed`, then calls `trainers.training.train`
    in `<model_dir>/<method>/ns<n_s>_seed<seed>`.

    Returns:
        The summary written to `<model_dir>/results.json`.
    """
    os.makedirs(model_dir, exist_ok=True)
    start = time.time()
    runs = []
    for num_shared in num_shared_factors:
        for method in methods:
            for seed in seeds:
                run_dir = os.path.join(model_dir, method, f"ns{num_shared}_seed{seed}")
                results_path = os.path.join(run_dir, "results.json")
                with gin.unlock_config():
                    gin.bind_parameter("weak_model.method", method)
                    gin.bind_parameter("weak_model.seed", int(seed))
                    gin.bind_parameter("weak_data.num_shared_factors", int(num_shared))
                    gin.bind_parameter("train.seed", int(seed))
                if os.path.exists(results_path):
                    with open(results_path) as f:
                        summary = json.load(f)
                else:
                    run_start = time.time()
                    result = training.train(run_dir)
                    keras.backend.clear_session()
                    with open(results_path) as f:
                        summary = json.load(f)
                    update_result_directory(
                        os.path.join(run_dir, "model", "results"), "train",
                        dict(summary["final_logs"], steps=summary["step"],
                             elapsed_time=time.time() - run_start))
                    del result
                runs.append({"method": method, "num_shared_factors": int(num_shared),
                             "seed": int(seed), "model_dir": run_dir,
                             "wall_time_s": summary.get("wall_time_s"),
                             "results": summary["results"]})
    aggregate = summarize_runs(runs)
    table = format_weak_table(aggregate)
    training.write_json(os.path.join(model_dir, "results.json"), {
        "runs": runs, "aggregate": aggregate, "wall_time_s": time.time() - start})
    with open(os.path.join(model_dir, "results.md"), "w") as f:
        f.write(table)
    print(table, flush=True)
    return {"runs": runs, "aggregate": aggregate, "table": table}


if __name__ == "__main__":
    cli.run(weak_experiment)
