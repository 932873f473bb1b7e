"""Does DRPM-MTL allocate its neurons well? Learnt sizes vs frozen splits.

Trains DRPM-MTL with frozen subset sizes (`mtl_model.fixed_sizes`, only the
order of the neurons is learnt) for a grid of splits, and with learnt sizes
(the config as given, and without the log-Gamma regulariser), at each noise
ratio and seed, by `trainers.mtl.sweep.run_sweep`. Writes

* `<output_dir>/allocation.json`: every run and the per-setting means;
* `<output_dir>/allocation.md`: the table of mean accuracies, with the
  verdict per noise ratio: the DRPM allocates correctly for this data when
  its learnt left size lies within one grid step of the best frozen split;
* `<output_dir>/allocation.png`: mean accuracy against the left task's
  neurons, frozen splits as lines, learnt sizes as points.

    python -m trainers.mtl.allocation --gin_file gin/mtl/multi_fashion_quick.gin \\
        --output_dir runs/mtl_allocation --seeds 0,1,2
"""

import os

from absl import app
from absl import flags
import numpy as np

from trainers.core import cli
from trainers.core import run_directory
from trainers.core import run_files
from trainers.core import training
from trainers.mtl import sweep

__all__ = ["allocation_table", "run_allocation", "verdict"]

_LEARNT = {"learnt": [], "learnt_no_regulariser": ["mtl_model.regularization_weight = 0.0"]}


def _setting_dir(output_dir, setting):
    return os.path.join(output_dir, setting)


def run_allocation(output_dir, gin_files, gin_params=(), splits=((40, 10), (35, 15),
                   (25, 25), (15, 35), (10, 40)), noise_ratios=(0.0, 0.6), seeds=(0,)):
    """Trains every frozen split and both learnt settings; writes the outputs.

    Returns:
        The summary written to `allocation.json`: `{"settings": {name:
        {"fixed_sizes", "aggregate"}}, "verdicts": [...]}`.
    """
    os.makedirs(run_directory.output_path(output_dir), exist_ok=True)
    settings = {}
    for split in splits:
        name = f"fixed_{split[0]}_{split[1]}"
        params = list(gin_params) + [f"mtl_model.fixed_sizes = {tuple(split)}"]
        summary = sweep.run_sweep(_setting_dir(output_dir, name), gin_files, params,
                                      noise_ratios, seeds, methods=("drpm",))
        settings[name] = {"fixed_sizes": list(split),
                          "aggregate": summary["aggregate"]["drpm"]}
    for name, extra in _LEARNT.items():
        summary = sweep.run_sweep(_setting_dir(output_dir, name), gin_files,
                                      list(gin_params) + extra, noise_ratios, seeds,
                                      methods=("drpm",))
        settings[name] = {"fixed_sizes": None, "aggregate": summary["aggregate"]["drpm"]}
    verdicts = [verdict(settings, alpha, learnt) for alpha in noise_ratios
                for learnt in _LEARNT]
    result = {"settings": settings, "verdicts": verdicts, "seeds": list(seeds),
              "gin_files": list(gin_files), "gin_params": list(gin_params)}
    training.write_json(os.path.join(output_dir, "allocation.json"), result)
    run_files.write_text(os.path.join(output_dir, "allocation.md"),
                         allocation_table(settings, verdicts))
    plot_allocation(settings, os.path.join(output_dir, "allocation.png"))
    return result


def _row(setting, alpha):
    return next(r for r in setting["aggregate"] if abs(r["noise_ratio"] - alpha) < 1e-9)


def verdict(settings, alpha, learnt="learnt"):
    """Compares a learnt setting with the best frozen split at one alpha.

    Returns:
        A dict: `best_split` (by mean accuracy), `learnt_left_size`,
        `within_one_step` (the learnt left size lies between the grid
        neighbours of the best split), and both mean accuracies.
    """
    frozen = sorted(((s["fixed_sizes"], _row(s, alpha)) for s in settings.values()
                     if s["fixed_sizes"] is not None), key=lambda item: item[0][0])
    lefts = [split[0] for split, _ in frozen]
    best = max(range(len(frozen)), key=lambda i: frozen[i][1]["mean_accuracy_mean"])
    low = lefts[max(best - 1, 0)]
    high = lefts[min(best + 1, len(lefts) - 1)]
    row = _row(settings[learnt], alpha)
    left = row["left_size_mean"]
    return {
        "noise_ratio": alpha,
        "learnt_setting": learnt,
        "best_split": frozen[best][0],
        "best_mean_accuracy": frozen[best][1]["mean_accuracy_mean"],
        "learnt_left_size": left,
        "learnt_mean_accuracy": row["mean_accuracy_mean"],
        "within_one_step": bool(min(low, high) <= left <= max(low, high)),
    }


def allocation_table(settings, verdicts):
    """Markdown: one row per setting and alpha, then one verdict line per alpha."""
    lines = ["| setting | alpha | neurons left / right | left acc | right acc "
             "| mean acc ± std |", "|---|---:|---|---|---|---|"]
    for name, setting in settings.items():
        for row in setting["aggregate"]:
            lines.append(
                f"| {name} | {row['noise_ratio']:.1f} | "
                f"{row['left_size_mean']:.1f} / {row['right_size_mean']:.1f} | "
                f"{row['left_accuracy_mean']:.3f} | {row['right_accuracy_mean']:.3f} | "
                f"{row['mean_accuracy_mean']:.3f} ± {row['mean_accuracy_std']:.3f} |")
    lines.append("")
    for v in verdicts:
        split = "/".join(str(n) for n in v["best_split"])
        lines.append(
            f"- alpha {v['noise_ratio']:.1f}, {v['learnt_setting']}: best frozen split "
            f"{split} ({v['best_mean_accuracy']:.3f}); learnt left size "
            f"{v['learnt_left_size']:.1f} ({v['learnt_mean_accuracy']:.3f}): "
            + ("within one grid step" if v["within_one_step"]
               else "NOT within one grid step"))
    return "\n".join(lines) + "\n"


def plot_allocation(settings, path):
    """Mean accuracy vs left neurons per alpha; learnt sizes as markers."""
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

    frozen = sorted((s for s in settings.values() if s["fixed_sizes"] is not None),
                    key=lambda s: s["fixed_sizes"][0])
    alphas = [r["noise_ratio"] for r in frozen[0]["aggregate"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    markers = {"learnt": "*", "learnt_no_regulariser": "D"}
    for index, alpha in enumerate(alphas):
        color = f"C{index}"
        left = [s["fixed_sizes"][0] for s in frozen]
        mean = np.array([_row(s, alpha)["mean_accuracy_mean"] for s in frozen])
        std = np.array([_row(s, alpha)["mean_accuracy_std"] for s in frozen])
        ax.errorbar(left, mean, yerr=std, color=color, marker="o", capsize=3,
                    label=f"frozen sizes, alpha={alpha:.1f}")
        for name, marker in markers.items():
            if name in settings:
                row = _row(settings[name], alpha)
                ax.plot(row["left_size_mean"], row["mean_accuracy_mean"], marker,
                        color=color, markersize=11, markeredgecolor="k",
                        label=f"{name.replace('_', ' ')}, alpha={alpha:.1f}")
    ax.set_xlabel("neurons of the left (clean) task, of 50")
    ax.set_ylabel("mean test accuracy (best epoch)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=120)
    plt.close(fig)


def main(argv):
    cli.check_study_flags(argv)
    FLAGS = flags.FLAGS
    splits = [tuple(int(n) for n in s.split("/")) for s in FLAGS.splits]
    run_allocation(FLAGS.output_dir, FLAGS.gin_file, FLAGS.gin_param, splits=splits,
                   noise_ratios=[float(a) for a in FLAGS.noise_ratios],
                   seeds=[int(s) for s in FLAGS.seeds])


if __name__ == "__main__":
    flags.DEFINE_multi_string("gin_file", [], "Gin config file(s) of one run.")
    flags.DEFINE_multi_string("gin_param", [], "Gin bindings for every run.")
    flags.DEFINE_string("output_dir", None, "Output directory.")
    flags.DEFINE_list("splits", ["40/10", "35/15", "25/25", "15/35", "10/40"],
                      "Frozen splits left/right.")
    flags.DEFINE_list("noise_ratios", ["0.0", "0.6"], "Noise ratios alpha.")
    flags.DEFINE_list("seeds", ["0"], "Seeds.")
    app.run(main)
