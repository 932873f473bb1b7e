"""Noise sweep of the multitask family: DRPM-MTL vs ULS over alpha and seeds.

Runs the multitask family (`trainers.mtl.driver`) once per (method, noise
ratio, seed) in this process, each in `<output_dir>/<method>/noise<alpha>_seed<seed>`
(a finished run is reused, so an interrupted sweep resumes), then writes

* `<output_dir>/sweep.json`: every run's best-epoch results plus, per method
  and noise ratio, the mean and standard deviation over seeds;
* `<output_dir>/sweep.png`: two panels as in figure 4 of Sutter et al. (2023):
  left/right task accuracy vs alpha for both methods, and DRPM-MTL's subset
  sizes n_left, n_right vs alpha;
* `<output_dir>/trajectories.json` and `trajectories.png`: per run and epoch,
  the subset sizes (train and test), the test mean accuracy and, when the run
  logged them (`mtl_callbacks.size_gradient_examples`), the size gradients;
  the picture shows per alpha the right task's subset size and both methods'
  test mean accuracy against the epoch.

    python -m trainers.mtl.sweep --gin_file gin/mtl/multi_fashion_quick.gin \\
        --output_dir runs/mtl_sweep_quick

Sweeps of one protocol run apart merge into one summary (no training):

    python -m trainers.mtl.sweep --merge runs/sweep_a,runs/sweep_b --output_dir runs/sweep
"""

import json
import os
import sys

from absl import app
from absl import flags
import numpy as np

from trainers.core import cli
from trainers.core import run_directory
from trainers.core import run_files
from trainers.core import training
from trainers.mtl import driver  # noqa: F401  (registers the family's configurables)

__all__ = ["aggregate", "merge_sweeps", "plot_sweep", "plot_trajectories", "read_trajectory",
           "run_sweep"]

_METRICS = ("left_accuracy", "right_accuracy", "mean_accuracy", "left_size", "right_size")


def _run_dir(output_dir, method, noise_ratio, seed):
    return os.path.join(output_dir, method, f"noise{noise_ratio:.2f}_seed{seed}")


def run_sweep(output_dir, gin_files, gin_params=(), noise_ratios=(0.0, 0.5),
              seeds=(0,), methods=("drpm", "uls"), allow_config_change=False,
              finished_only=False):
    """Trains every (method, noise ratio, seed) and writes JSON and PNG.

    Args:
        output_dir: Directory of the sweep (created).
        gin_files: Gin files of one run (e.g. `gin/mtl/multi_fashion_quick.gin`).
        gin_params: Extra gin bindings for every run.
        noise_ratios: Iterable of alpha values.
        seeds: Iterable of ints; each sets `train.seed` and `mtl_data.pairing_seed`.
        methods: Iterable of `'drpm'` / `'uls'`.
        allow_config_change: Resume unfinished runs even if their stored
            config differs (see `trainers.core.run_directory.check_config`).
        finished_only: Train nothing: summarise the finished runs among
            those named (e.g. while a long sweep is still going).

    Returns:
        The sweep summary written to `sweep.json`.
    """
    os.makedirs(run_directory.output_path(output_dir), exist_ok=True)
    runs = []
    for method in methods:
        for noise_ratio in noise_ratios:
            for seed in seeds:
                model_dir = _run_dir(output_dir, method, noise_ratio, seed)
                results_path = os.path.join(model_dir, "results.json")
                if os.path.exists(results_path):
                    with open(results_path) as f:
                        results = json.load(f)["results"]
                elif finished_only:
                    continue
                else:
                    bindings = list(gin_params) + [
                        f"mtl_model.method = '{method}'",
                        f"mtl_data.noise_ratio = {float(noise_ratio)}",
                        f"mtl_data.pairing_seed = {int(seed)}",
                        f"train.seed = {int(seed)}",
                    ]
                    results = cli.run_with_gin(
                        training.train, model_dir, gin_files, bindings,
                        allow_config_change=allow_config_change).results
                runs.append({"method": method, "noise_ratio": float(noise_ratio),
                             "seed": int(seed), "model_dir": model_dir,
                             "results": dict(results)})
    trajectories = [{**{k: run[k] for k in ("method", "noise_ratio", "seed")},
                     "epochs": read_trajectory(run["model_dir"])} for run in runs]
    return _write_summary(output_dir, runs, trajectories, gin_files, gin_params)


def _write_summary(output_dir, runs, trajectories, gin_files, gin_params):
    summary = {"runs": runs, "aggregate": aggregate(runs),
               "gin_files": list(gin_files), "gin_params": list(gin_params)}
    training.write_json(os.path.join(output_dir, "sweep.json"), summary)
    plot_sweep(summary["aggregate"], os.path.join(output_dir, "sweep.png"))
    training.write_json(os.path.join(output_dir, "trajectories.json"), trajectories)
    plot_trajectories(trajectories, os.path.join(output_dir, "trajectories.png"))
    return summary


def merge_sweeps(sweep_dirs, output_dir):
    """Merges finished sweeps of one protocol (e.g. noise ratios run on
    different days or machines) into one summary in `output_dir`.

    Writes `sweep.json`, `sweep.png`, `trajectories.json` and
    `trajectories.png` over every run of `sweep_dirs`, as `run_sweep` over
    all of them would (runs sorted by method, noise ratio and seed).

    Args:
        sweep_dirs: directories holding `sweep.json` and `trajectories.json`
            (written by `run_sweep` or by this function).
        output_dir: directory of the merged summary (created).

    Returns:
        The merged summary written to `sweep.json`.

    Raises:
        ValueError: if a directory lacks those files, the sweeps' gin files or
            bindings differ, or two sweeps hold the same (method, alpha, seed).
    """
    sweeps = run_files.read_sweeps(sweep_dirs, ("sweep.json", "trajectories.json"))
    protocol = None
    for sweep_dir, (sweep, _) in sweeps:
        this_protocol = (sweep["gin_files"], sweep["gin_params"])
        if protocol is not None and this_protocol != protocol:
            raise ValueError(
                f"Sweeps of different protocols do not merge: {sweep_dir!r} has gin files "
                f"and bindings {this_protocol}, an earlier sweep {protocol}.")
        protocol = this_protocol
    keys = ("method", "noise_ratio", "seed")
    runs = run_files.merge_sweep_runs(
        [(sweep_dir, sweep["runs"]) for sweep_dir, (sweep, _) in sweeps], keys)
    trajectories = {tuple(t[k] for k in keys): t
                    for _, (_, sweep_trajectories) in sweeps for t in sweep_trajectories}
    runs.sort(key=lambda r: tuple(r[k] for k in keys))
    ordered = [trajectories[tuple(r[k] for k in keys)] for r in runs]
    os.makedirs(run_directory.output_path(output_dir), exist_ok=True)
    return _write_summary(output_dir, runs, ordered, *protocol)


_TRAJECTORY_KEYS = ("left_size", "right_size", "val_left_size", "val_right_size",
                    "mean_accuracy", "val_mean_accuracy", "val_left_accuracy",
                    "val_right_accuracy", "temperature")


def read_trajectory(model_dir):
    """Per-epoch sizes, accuracies and size gradients of a run, oldest first.

    Read from the run's committed history (`checkpoints/state.json`, the
    records of `epochs.jsonl`); each entry holds `epoch` and
    those of `left_size`, `right_size`, `val_*` sizes and accuracies,
    `mean_accuracy`, `temperature` and `size_gradient/*` the run logged.
    """
    state = training.read_checkpoint_state(model_dir)
    epochs = []
    for record in state["history"] if state else []:
        entry = {"epoch": int(record["epoch"])}
        entry.update({k: float(v) for k, v in record["logs"].items()
                      if k in _TRAJECTORY_KEYS or k.startswith("size_gradient/")})
        epochs.append(entry)
    return epochs


def plot_trajectories(trajectories, path, task="right"):
    """Per noise ratio: DRPM-MTL's subset size of `task` and every run's test
    mean accuracy against the epoch (one column per alpha).

    Args:
        trajectories: List of `{"method", "noise_ratio", "seed", "epochs"}`
            (`epochs` from `read_trajectory`).
        path: Output PNG path.
        task: The task whose subset size is drawn (default the noisy one).
    """
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

    alphas = sorted({t["noise_ratio"] for t in trajectories})
    fig, axes = plt.subplots(2, len(alphas), figsize=(4 * len(alphas), 6), sharex=True,
                             sharey="row", squeeze=False)
    for column, alpha in enumerate(alphas):
        top, bottom = axes[0, column], axes[1, column]
        for index, run in enumerate(sorted(
                (t for t in trajectories if t["noise_ratio"] == alpha),
                key=lambda t: (t["method"], t["seed"]))):
            epochs = [e["epoch"] for e in run["epochs"]]
            color = f"C{index}"
            label = f"{run['method'].upper()} seed {run['seed']}"
            for key, style, split in ((f"{task}_size", "-", "train"),
                                      (f"val_{task}_size", "--", "test")):
                values = [e.get(key, np.nan) for e in run["epochs"]]
                if not np.all(np.isnan(values)):
                    top.plot(epochs, values, style, color=color, lw=1,
                             label=f"{label} ({split})")
            bottom.plot(epochs, [e.get("val_mean_accuracy", np.nan) for e in run["epochs"]],
                        color=color, lw=1, label=label)
        top.set_title(f"alpha = {alpha:g}")
        top.set_ylabel(f"n_{task} (subset size)")
        bottom.set_ylabel("test mean accuracy")
        bottom.set_xlabel("epoch")
        if top.get_legend_handles_labels()[0]:
            top.legend(fontsize=7)
        bottom.legend(fontsize=7)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=120)
    plt.close(fig)


def aggregate(runs):
    """Mean and standard deviation over seeds per method and noise ratio.

    Args:
        runs: List of `{"method", "noise_ratio", "seed", "results"}`.

    Returns:
        `{method: [{"noise_ratio", "num_seeds", "<metric>_mean", "<metric>_std"}]}`
        sorted by noise ratio; metrics a method does not report are left out.
    """
    table = {}
    for method in sorted({r["method"] for r in runs}):
        rows = []
        for noise_ratio in sorted({r["noise_ratio"] for r in runs if r["method"] == method}):
            group = [r["results"] for r in runs
                     if r["method"] == method and r["noise_ratio"] == noise_ratio]
            row = {"noise_ratio": noise_ratio, "num_seeds": len(group)}
            for metric in _METRICS:
                values = [g[metric] for g in group if metric in g]
                if values:
                    row[f"{metric}_mean"] = float(np.mean(values))
                    row[f"{metric}_std"] = float(np.std(values))
            rows.append(row)
        table[method] = rows
    return table


def plot_sweep(table, path):
    """Two panels: task accuracies vs alpha, DRPM-MTL subset sizes vs alpha."""
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
    styles = {"left": "-", "right": "--"}
    for index, (method, rows) in enumerate(sorted(table.items())):
        color = f"C{index}"
        alphas = [r["noise_ratio"] for r in rows]
        for task, style in styles.items():
            for axis, metric, name in ((top, "accuracy", task), (bottom, "size", f"n_{task}")):
                key = f"{task}_{metric}"
                if all(f"{key}_mean" in r for r in rows):
                    mean = np.array([r[f"{key}_mean"] for r in rows])
                    std = np.array([r[f"{key}_std"] for r in rows])
                    axis.plot(alphas, mean, style, color=color, marker="o",
                              label=f"{method.upper()} {name}")
                    axis.fill_between(alphas, mean - std, mean + std, color=color, alpha=0.2)
    top.set_ylabel("task accuracy")
    top.legend(fontsize=8)
    bottom.set_ylabel("subset size n_t")
    bottom.set_xlabel("noise ratio alpha (right image)")
    if bottom.get_legend_handles_labels()[0]:
        bottom.legend(fontsize=8)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=120)
    plt.close(fig)


def main(argv):
    FLAGS = flags.FLAGS
    if FLAGS.merge:
        if len(argv) > 1 or FLAGS.gin_file or FLAGS.gin_param or not FLAGS.output_dir:
            raise app.UsageError("--merge takes an --output_dir and no gin files, "
                                 f"bindings or arguments. Received: {argv[1:]}, "
                                 f"--output_dir={FLAGS.output_dir}")
        merge_sweeps(FLAGS.merge, FLAGS.output_dir)
        return
    cli.check_study_flags(argv)
    try:
        run_sweep(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param,
                  noise_ratios=[float(a) for a in FLAGS.noise_ratios],
                  seeds=[int(s) for s in FLAGS.seeds], methods=FLAGS.methods,
                  allow_config_change=FLAGS.allow_config_change,
                  finished_only=FLAGS.finished_only)
    except run_directory.RunDirectoryError as e:
        sys.exit(f"ERROR: {e}")


if __name__ == "__main__":
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s) of one run.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings for every run.")
    flags.DEFINE_string("output_dir", None, "Sweep directory.")
    flags.DEFINE_list("noise_ratios", [f"{a / 10:.1f}" for a in range(10)],
                      "Noise ratios alpha.")
    flags.DEFINE_list("seeds", ["0"], "Seeds.")
    flags.DEFINE_list("methods", ["drpm", "uls"], "Methods.")
    flags.DEFINE_bool("allow_config_change", False,
                      "Resume unfinished runs even if their stored config.gin differs.")
    flags.DEFINE_bool("finished_only", False,
                      "Train nothing: summarise the finished runs among those named.")
    flags.DEFINE_list("merge", [],
                      "Train nothing: merge these finished sweep directories into --output_dir.")
    app.run(main)
