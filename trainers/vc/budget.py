"""Longer budgets of the clustering family: DRPM-VC variants and VaDE per epoch.

Trains, one after the other in this process, each (variant, seed) of the quick
protocol with `--epochs` epochs of VaDE or DRPM-VC (everything else as the gin
files say; the pretraining cache is shared), each in
`<output_dir>/<variant><epochs>_s<seed>` (a finished run is reused, so an
interrupted sweep resumes). The variants:

* `vade`: VaDE;
* `a`: DRPM-VC as the gin files set it (the quick protocol: exact
  nearest-prior log-weights, noiseless subset sizes);
* `b`: DRPM-VC with the paper's `q(Y | X)`: `vc_model.partition_weights =
  'mean_responsibilities'`, `vc_model.noisy_counts = True`;
* `c`: no partition model, every image with its nearest prior
  (`vc_experiment.methods = ['nearest_prior']`);
* `d`: what the authors' code runs, between (a) and (b): the paper's
  log-weights of (b) with the noiseless subset sizes of (a)
  (`vc_model.partition_weights = 'mean_responsibilities'`).

Then it writes, in `<output_dir>`:

* `budget.json`: per run, the final test ACC / NMI / ARI, the wall time of
  its VaDE / DRPM-VC training (`training_s`, as the process that finished it
  measured it, evaluation included) and the trajectory
  (per epoch: test scores, the training means of `kl_partition`,
  `off_nearest_prior`, `size_error`, the temperature); per (variant, epochs),
  the mean and standard deviation of the final scores over seeds;
* `budget.md`: that table;
* `budget.png`: test ACC and NMI against the epoch, one colour per variant
  (thin lines: seeds; thick: their mean);
* `partition_diagnostics.png`: per epoch, the share of images whose sampled
  subset is not their nearest prior, the share the noiseless sizes misplace
  and the partition KL per image, for the DRPM variants.

    python -m trainers.vc.budget --gin_file gin/vc/fmnist_quick.gin \\
        --output_dir runs/vc_budget --variants a,b,vade --seeds 0,1,2 --epochs 64
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
from trainers.vc import driver

__all__ = ["VARIANTS", "aggregate", "format_budget_table", "plot_budget",
           "plot_partition_diagnostics", "read_trajectory", "run_budget"]

# variant: (method of vc_experiment, gin scope of its settings, extra bindings)
VARIANTS = {
    "vade": ("vade", "vade", ()),
    "a": ("drpm_vc", "drpm_vc", ()),
    "b": ("drpm_vc", "drpm_vc", ("vc_model.partition_weights = 'mean_responsibilities'",
                                 "vc_model.noisy_counts = True")),
    "c": ("nearest_prior", "drpm_vc", ()),
    "d": ("drpm_vc", "drpm_vc", ("vc_model.partition_weights = 'mean_responsibilities'",)),
}
VARIANT_NAMES = {
    "vade": "VaDE",
    "a": "(a) DRPM-VC, the protocol",
    "b": "(b) DRPM-VC, the paper's q(Y | X)",
    "c": "(c) nearest prior, no DRPM",
    "d": "(d) DRPM-VC, the authors' code",
}
_SCORES = ("acc", "nmi", "ari")
_TRAJECTORY_KEYS = ("test_acc", "test_nmi", "test_ari", "kl_partition",
                    "off_nearest_prior", "size_error", "temperature", "loss")


def run_dir(output_dir, variant, epochs, seed):
    """The run directory of one (variant, epochs, seed)."""
    return os.path.join(output_dir, f"{variant}{int(epochs)}_s{int(seed)}")


def run_budget(output_dir, gin_files, gin_params=(), variants=("a", "b", "vade"),
               seeds=(0,), epochs=(64,), allow_config_change=False, finished_only=False):
    """Trains every (variant, epochs, seed) and writes JSON, Markdown and PNG.

    Args:
        output_dir: Directory of the sweep (created).
        gin_files: Gin files of one run (e.g. `gin/vc/fmnist_quick.gin`).
        gin_params: Extra gin bindings for every run.
        variants: Iterable of keys of `VARIANTS`.
        seeds: Iterable of ints (`vc_experiment.seed`).
        epochs: Iterable of epoch budgets of VaDE / DRPM-VC.
        allow_config_change: Resume unfinished runs even if their stored
            config differs.
        finished_only: Train nothing: summarise the finished runs among those
            named (e.g. while a long sweep is still going).

    Returns:
        The summary written to `budget.json`.
    """
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise cli.CommandError(f"Unknown variants {unknown}: use some of {sorted(VARIANTS)}. "
                               f"Received: variants={list(variants)}")
    os.makedirs(run_directory.output_path(output_dir), exist_ok=True)
    runs = []
    for num_epochs in epochs:
        for variant in variants:
            method, scope, extra = VARIANTS[variant]
            for seed in seeds:
                model_dir = run_dir(output_dir, variant, num_epochs, seed)
                results_path = os.path.join(model_dir, "results.json")
                if not os.path.exists(results_path):
                    if finished_only:
                        continue
                    bindings = list(gin_params) + list(extra) + [
                        f"vc_experiment.seed = {int(seed)}",
                        f"vc_experiment.methods = ['{method}']",
                        f"{scope}/train.epochs = {int(num_epochs)}",
                    ]
                    cli.run_with_gin(driver.vc_experiment, model_dir, gin_files, bindings,
                                     allow_config_change=allow_config_change)
                with open(results_path) as f:
                    stored = json.load(f)
                runs.append({"variant": variant, "seed": int(seed), "epochs": int(num_epochs),
                             "model_dir": model_dir, "results": stored["results"][method],
                             "training_s": stored.get("timings", {}).get(f"{method}_s"),
                             "trajectory": read_trajectory(os.path.join(model_dir, method))})
    summary = {"runs": runs, "aggregate": aggregate(runs), "gin_files": list(gin_files),
               "gin_params": list(gin_params)}
    training.write_json(os.path.join(output_dir, "budget.json"), summary)
    run_files.write_text(os.path.join(output_dir, "budget.md"),
                         format_budget_table(summary["aggregate"]))
    plot_budget(runs, os.path.join(output_dir, "budget.png"))
    plot_partition_diagnostics(runs, os.path.join(output_dir, "partition_diagnostics.png"))
    return summary


def read_trajectory(method_dir):
    """Per-epoch test scores and partition diagnostics of one training run.

    Read from its committed history (`checkpoints/state.json`); each entry
    holds `epoch` (1-based) and those of `_TRAJECTORY_KEYS` the run logged.
    """
    state = training.read_checkpoint_state(method_dir)
    epochs = []
    for record in state["history"] if state else []:
        entry = {"epoch": int(record["epoch"])}
        entry.update({k: float(v) for k, v in record["logs"].items() if k in _TRAJECTORY_KEYS})
        epochs.append(entry)
    return epochs


def aggregate(runs):
    """Per (variant, epochs): seeds, and the mean and standard deviation
    (ddof 0) over them of the final ACC / NMI / ARI."""
    groups = {}
    for run in runs:
        groups.setdefault((run["variant"], run["epochs"]), []).append(run)
    out = []
    for (variant, epochs), group in groups.items():
        entry = {"variant": variant, "epochs": epochs,
                 "seeds": [run["seed"] for run in group]}
        for score in _SCORES:
            values = np.array([run["results"][score] for run in group], float)
            entry[score] = {"mean": float(values.mean()), "std": float(values.std()),
                            "per_seed": values.tolist()}
        out.append(entry)
    return out


def format_budget_table(aggregated):
    """Markdown: one row per (variant, epochs), ACC / NMI / ARI mean ± std."""
    lines = ["| variant | epochs | seeds | ACC | NMI | ARI |", "|---|---|---|---|---|---|"]
    for entry in sorted(aggregated, key=lambda e: (e["epochs"], list(VARIANTS).index(e["variant"]))):
        cells = [f"{entry[s]['mean']:.3f} ± {entry[s]['std']:.3f}" for s in _SCORES]
        seeds = ", ".join(str(s) for s in entry["seeds"])
        name = VARIANT_NAMES[entry["variant"]].replace("|", "\\|")
        lines.append(f"| {name} | {entry['epochs']} | {seeds} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pyplot():
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    return plt


_COLOURS = {"vade": "tab:gray", "a": "tab:blue", "b": "tab:red", "c": "tab:green",
            "d": "tab:orange"}


def _curves(runs, key):
    """`{(variant, epochs): [(epochs_axis, values), ...]}` of runs that logged `key`."""
    curves = {}
    for run in runs:
        points = [(e["epoch"], e[key]) for e in run["trajectory"] if key in e]
        if points:
            curves.setdefault((run["variant"], run["epochs"]), []).append(
                tuple(np.array(v, float) for v in zip(*points)))
    return curves


def _plot_curves(ax, curves):
    for (variant, epochs), seeds in sorted(curves.items(), key=lambda c: (c[0][1], c[0][0])):
        colour = _COLOURS.get(variant, "black")
        style = "-" if epochs == min(e for _, e in curves) else "--"
        for x, y in seeds:
            ax.plot(x, y, style, color=colour, lw=0.6, alpha=0.5)
        length = min(len(x) for x, _ in seeds)
        mean = np.mean([y[:length] for _, y in seeds], axis=0)
        ax.plot(seeds[0][0][:length], mean, style, color=colour, lw=2,
                label=f"{VARIANT_NAMES[variant]}, {epochs} epochs "
                      f"({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)


def plot_budget(runs, path):
    """Test ACC and NMI against the epoch for every variant (thin: seeds)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, label in zip(axes, ("test_acc", "test_nmi"), ("test ACC", "test NMI")):
        _plot_curves(ax, _curves(runs, key))
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("DRPM-VC variants and VaDE on Fashion-MNIST: test scores per epoch")
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_partition_diagnostics(runs, path):
    """Per epoch: how far the DRPM variants' partitions are from the
    nearest-prior assignment, and their partition KL."""
    plt = _pyplot()
    drpm_runs = [run for run in runs if run["variant"] in ("a", "b", "d")]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, key, label in zip(axes, ("off_nearest_prior", "size_error", "kl_partition"), (
            "images whose sampled subset is not their nearest prior",
            "images the noiseless sizes misplace", "partition KL per image (nats)")):
        curves = _curves(drpm_runs, key)
        if curves:
            _plot_curves(ax, curves)
        ax.set_title(label, fontsize=9)
    if any(ax.get_legend_handles_labels()[0] for ax in axes):
        axes[0].legend(fontsize=7)
    fig.suptitle("DRPM-VC: distance of q(Y | X) to the nearest-prior assignment "
                 "(training means per epoch)")
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def main(argv):
    cli.check_study_flags(argv)
    FLAGS = flags.FLAGS
    try:
        run_budget(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param,
                   variants=FLAGS.variants, seeds=[int(s) for s in FLAGS.seeds],
                   epochs=[int(e) for e in FLAGS.epochs],
                   allow_config_change=FLAGS.allow_config_change,
                   finished_only=FLAGS.finished_only)
    except run_directory.RunDirectoryError as e:
        sys.exit(f"ERROR: {e}")


if __name__ == "__main__":
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s) of one run.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings for every run.")
    flags.DEFINE_string("output_dir", None, "Sweep directory.")
    flags.DEFINE_list("variants", ["a", "b", "vade"], f"Variants: some of {sorted(VARIANTS)}.")
    flags.DEFINE_list("seeds", ["0"], "Seeds.")
    flags.DEFINE_list("epochs", ["64"], "Epoch budgets of VaDE / DRPM-VC.")
    flags.DEFINE_bool("allow_config_change", False,
                      "Resume unfinished runs even if their stored config.gin differs.")
    flags.DEFINE_bool("finished_only", False,
                      "Train nothing: summarise the finished runs among those named.")
    app.run(main)
