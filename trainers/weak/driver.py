"""The weakly supervised family: Label-, Ada-, HG- and DRPM-VAE on image pairs.

Section 5.2 and appendix C.2 of Sutter et al. (2023): pairs of images share
exactly `n_s` of their generative factors; a `tf_drpm.weak_supervision.WeakVAE` with
one of four view aggregations learns which latent dimensions are shared. Each
(method, n_s, seed) is one run of the shared `trainers.core.training.train`
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
    <model_dir>/shared_factor_estimates.png
                               MSE(n_s_hat, n_s) and the mean estimate per
                               method and n_s (the paper's Figure 3 analogue)

A finished run (its `results.json` exists) is reused, an interrupted one
resumes from its last epoch, so rerunning the command completes a sweep. A
finished run is evaluated again (restored, not retrained) when a metric of it
failed or when the evaluation settings (`weak_evaluate.*`,
`weak_dlib_metrics.*`, which may change without `--allow_config_change`)
differ from those of its results (`evaluation_config.json`). The sizes of
disentanglement_lib's metrics are checked against the data set before any
training (`evaluation.check_dlib_metric_settings`). The table is printed at
the end; a failed metric shows as `failed` and a score that is a convention
of disentanglement_lib gets a footnote.

Here: the builders `weak_model`, `weak_data`, `weak_callbacks` and the driver
`weak_experiment` (importing this module registers the family's gin
configurables, the evaluation builders' included). The data set is
`trainers.weak.dataset`, the evaluation builders (`weak_evaluate`,
`weak_dlib_metrics`) `trainers.weak.evaluation`, the diagnostics callback
`trainers.weak.diagnostics`, the result files and the table
`trainers.weak.results`.
"""

import json
import os
import time

import gin
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.callbacks import ExponentialTemperatureSchedule
from tf_drpm.weak_supervision import AdaptiveAggregation
from tf_drpm.weak_supervision import HypergeometricAggregation
from tf_drpm.weak_supervision import LabelAggregation
from tf_drpm.weak_supervision import PartitionAggregation
from tf_drpm.weak_supervision import WeakPairSampler
from tf_drpm.weak_supervision import WeakVAE
from trainers.core import run_directory
from trainers.core import run_files
from trainers.core import training
from trainers.core.errors import SettingError
from trainers.weak import evaluation  # registers weak_evaluate, weak_dlib_metrics
from trainers.weak import plots
from trainers.weak.dataset import bound_parameter
from trainers.weak.dataset import ground_truth_dataset
from trainers.weak.dataset import observation_shape
from trainers.weak.diagnostics import SharedDimensionDiagnostics
from trainers.weak.results import METHOD_NAMES
from trainers.weak.results import format_paper_tables
from trainers.weak.results import format_weak_table
from trainers.weak.results import summarize_runs
from trainers.weak.results import update_result_directory

__all__ = [
    "ground_truth_dataset",
    "merge_sweeps",
    "weak_callbacks",
    "weak_data",
    "weak_experiment",
    "weak_model",
    "write_sweep_summary",
]


@gin.configurable("weak_model")
def weak_model(method="drpm", num_latent=10, beta=1.0, averaging="group",
               temperature=1.0, gamma=0.25, delta=0.01, hg_gamma=0.0,
               num_independent=1, seed=0, size_head_input="kl",
               size_head_stop_gradient=False, view_reduction="mean",
               size_warmup_steps=0, warmup_num_shared=None,
               prior_log_weights=(0.0, 0.0)):
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
        size_warmup_steps: HG and DRPM: hold the sizes at
            `warmup_num_shared` shared dims (default `num_latent // 2`) for
            this many steps, then learn them (0: the paper). Ignored by the
            Label and Ada aggregations, which have no learnt sizes.
        warmup_num_shared: see `size_warmup_steps`.
        prior_log_weights: HG and DRPM: the log-weights (independent, shared)
            of the size prior that `gamma` (DRPM) or `hg_gamma` (HG) weighs;
            equal weights (the default) centre the shared count at
            `num_latent / 2`, a larger shared weight favours sharing.
    """
    size_head = dict(size_head_input=size_head_input,
                     size_head_stop_gradient=size_head_stop_gradient,
                     prior_log_weights=prior_log_weights)
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
        raise SettingError(
            f"`weak_model.method` must be one of {tuple(METHOD_NAMES)}. "
            f"Received: method={method!r}")
    model = WeakVAE(aggregation, num_latent=num_latent,
                    observation_shape=observation_shape(ground_truth_dataset()),
                    beta=beta, averaging=averaging, seed=seed,
                    view_reduction=view_reduction,
                    size_warmup_steps=size_warmup_steps if method in ("hg", "drpm") else 0,
                    warmup_num_shared=warmup_num_shared)
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
    shape = [batch_size] + list(observation_shape(data))

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
            decay_steps = int(bound_parameter("train.epochs", 1)) * int(
                bound_parameter("weak_data.steps_per_epoch", 1000))
        callbacks.append(ExponentialTemperatureSchedule(
            initial_temperature, final_temperature, decay_steps=max(1, decay_steps),
            variables=[temperature]))
    num_shared = bound_parameter("weak_data.num_shared_factors", None)
    if diagnostics_every_steps and num_shared is not None:
        data = ground_truth_dataset()
        pairs = WeakPairSampler(data, num_shared_factors=num_shared).sample(
            diagnostics_pairs, np.random.RandomState(1))
        shape = [-1] + list(observation_shape(data))
        pairs = {k: pairs[k].reshape(shape) for k in ("x1", "x2")}
        callbacks.append(SharedDimensionDiagnostics(
            pairs, model_dir, every_steps=diagnostics_every_steps,
            threshold=diagnostics_threshold))
    return callbacks


_EVALUATION_CONFIG_FILE = "evaluation_config.json"


def _finished_summary(run_dir, evaluation_config):
    """The `results.json` of a finished run to reuse, or None: not finished, a
    metric failed, or other evaluation settings (then `train` restores the
    finished run and evaluates it again, without training)."""
    results_path = os.path.join(run_dir, "results.json")
    if not os.path.exists(results_path):
        return None
    with open(results_path) as f:
        summary = json.load(f)
    if any(key.endswith(".failed") for key in summary.get("results", {})):
        return None
    stored_path = os.path.join(run_dir, _EVALUATION_CONFIG_FILE)
    stored = None
    if os.path.exists(stored_path):
        with open(stored_path) as f:
            stored = json.load(f)
    if stored is not None and stored != evaluation_config:
        return None
    return summary


@gin.configurable("weak_experiment", denylist=["model_dir"])
def weak_experiment(model_dir, methods=("label", "adaptive", "hg", "drpm"),
                    num_shared_factors=(3,), seeds=(0,)):
    """Trains and evaluates every (n_s, method, seed), writes and prints the table.

    Each run binds `weak_model.method`, `weak_data.num_shared_factors`,
    `weak_model.seed` and `train.seed`, then calls `trainers.core.training.train`
    in `<model_dir>/<method>/ns<n_s>_seed<seed>`.

    Returns:
        The summary written to `<model_dir>/results.json`.
    """
    if bound_parameter("train.evaluate_fn", None) is not None:
        evaluation.check_dlib_metric_settings()
    os.makedirs(run_directory.output_path(model_dir), exist_ok=True)
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
                evaluation_config = run_directory.evaluation_bindings(gin.config_str())
                summary = _finished_summary(run_dir, evaluation_config)
                if summary is None:
                    run_start = time.time()
                    result = training.train(run_dir)
                    keras.backend.clear_session()
                    # This process's own copy (a non-chief worker's is not in run_dir).
                    with open(run_directory.output_path(results_path)) as f:
                        summary = json.load(f)
                    training.write_json(os.path.join(run_dir, _EVALUATION_CONFIG_FILE),
                                        evaluation_config)
                    if result.initial_epoch < summary["epochs"]:  # trained now
                        update_result_directory(
                            os.path.join(run_dir, "model", "results"), "train",
                            dict(summary["final_logs"], steps=summary["step"],
                                 elapsed_time=time.time() - run_start))
                    del result
                runs.append({"method": method, "num_shared_factors": int(num_shared),
                             "seed": int(seed), "model_dir": run_dir,
                             "wall_time_s": summary.get("wall_time_s"),
                             "results": summary["results"]})
    summary = write_sweep_summary(model_dir, runs, time.time() - start)
    print(summary["table"], flush=True)
    return summary


def write_sweep_summary(model_dir, runs, wall_time_s):
    """Writes a sweep's `results.json`, `results.md` and
    `shared_factor_estimates.png` into `model_dir` (created) from its runs.

    Args:
        model_dir: the sweep's directory.
        runs: list of `{"method", "num_shared_factors", "seed", "model_dir",
            "wall_time_s", "results"}`, one per run.
        wall_time_s: the sweep's wall time in seconds.

    Returns:
        `{"runs", "aggregate", "table"}`.
    """
    os.makedirs(run_directory.output_path(model_dir), exist_ok=True)
    aggregate = summarize_runs(runs)
    table = format_weak_table(aggregate)
    training.write_json(os.path.join(model_dir, "results.json"), {
        "runs": runs, "aggregate": aggregate, "wall_time_s": wall_time_s})
    run_files.write_text(os.path.join(model_dir, "results.md"),
                         table + "\n" + format_paper_tables(aggregate))
    plots.plot_shared_estimates(aggregate, os.path.join(model_dir, "shared_factor_estimates.png"))
    return {"runs": runs, "aggregate": aggregate, "table": table}


def merge_sweeps(sweep_dirs, model_dir):
    """Merges finished sweeps (e.g. seeds run on different machines or days)
    into one summary in `model_dir`, as if one sweep had made every run.

    Args:
        sweep_dirs: directories holding a `results.json` written by
            `weak_experiment` (or by this function).
        model_dir: where the merged files go (created).

    Returns:
        The merged summary, as `write_sweep_summary` returns it.

    Raises:
        ValueError: if a sweep has no `results.json` or two sweeps hold the
            same (method, n_s, seed).
    """
    sweeps = run_files.read_sweeps(sweep_dirs, ("results.json",))
    runs = run_files.merge_sweep_runs(
        [(sweep_dir, sweep["runs"]) for sweep_dir, (sweep,) in sweeps],
        ("method", "num_shared_factors", "seed"))
    wall_time_s = sum(float(sweep.get("wall_time_s") or 0.0) for _, (sweep,) in sweeps)
    order = {method: i for i, method in enumerate(METHOD_NAMES)}
    runs.sort(key=lambda r: (r["num_shared_factors"], order.get(r["method"], len(order)),
                             r["seed"]))
    return write_sweep_summary(model_dir, runs, wall_time_s)

