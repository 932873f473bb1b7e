"""The clustering family's result files: the four-method table, its summary, the pictures."""

import os

import gin

from trainers.core import run_files
from trainers.core import training
from trainers.vc.plots import plot_partition_sample
from trainers.vc.plots import plot_prior_samples

__all__ = ["METHODS", "METHOD_NAMES", "PAPER", "format_table", "write_vc_results"]

METHODS = ("gmm", "latent_gmm", "vade", "drpm_vc", "nearest_prior")
METHOD_NAMES = {
    "gmm": "GMM (pixels)",
    "latent_gmm": "Latent GMM",
    "vade": "VaDE",
    "drpm_vc": "DRPM-VC",
    "nearest_prior": "(c) nearest prior, no DRPM",
}
# Sutter et al. (2023), Table 1 (5 seeds): NMI / ARI / ACC.
PAPER = {
    "fashion_mnist": {
        "gmm": (0.49, 0.33, 0.44),
        "latent_gmm": (0.60, 0.47, 0.62),
        "vade": (0.56, 0.40, 0.56),
        "drpm_vc": (0.64, 0.51, 0.65),
    },
    "mnist": {
        "gmm": (0.32, 0.22, 0.41),
        "latent_gmm": (0.86, 0.83, 0.88),
        "vade": (0.84, 0.76, 0.82),
        "drpm_vc": (0.89, 0.88, 0.94),
    },
}


def format_table(results, paper=None):
    """Markdown table `method | ACC | NMI | ARI` (with the paper's row if given)."""
    lines = [
        "| method | ACC | NMI | ARI |" + (" paper ACC / NMI / ARI |" if paper else ""),
        "|---|---|---|---|" + ("---|" if paper else ""),
    ]
    for method in METHODS:
        if method not in results:
            continue
        row = results[method]
        line = (
            f"| {METHOD_NAMES[method]} | {row['acc']:.3f} | {row['nmi']:.3f} | "
            f"{row['ari']:.3f} |"
        )
        if paper and method in paper:
            nmi, ari, acc = paper[method]
            line += f" {acc:.2f} / {nmi:.2f} / {ari:.2f} |"
        elif paper:
            line += " - |"
        lines.append(line)
    if "nearest_prior" in results and "drpm_vc" in results:
        lines.append("")
        lines.append("(c) is DRPM-VC without its partition model (every image with its nearest "
                     "prior): the gap between the DRPM-VC and (c) rows is what the DRPM adds.")
    return "\n".join(lines) + "\n"


def write_vc_results(model_dir, results, summary, dataset, drpm_model=None, plots=True):
    """Writes the table, the pictures and the summary of a run; prints the table.

    Files: `results.md` (the table, with the paper's numbers for Fashion-MNIST
    and MNIST), `results.json` (`summary` plus `results`, the `pictures` and
    the operative config), `partition_sample.png` and `prior_samples.png`
    (figures 2 and 14-15 of the paper; with `plots` and a DRPM-VC model) and
    `operative_config.gin`.

    Returns:
      The table (a string).
    """
    table = format_table(results, PAPER.get(dataset))
    pictures = {}
    if plots and drpm_model is not None:
        seed = summary["seed"]
        pictures["partition_sample"] = plot_partition_sample(
            drpm_model, os.path.join(model_dir, "partition_sample.png"), seed=seed)
        pictures["prior_samples"] = plot_prior_samples(
            drpm_model, os.path.join(model_dir, "prior_samples.png"), seed=seed)
    training.write_json(os.path.join(model_dir, "results.json"),
                        dict(summary, results=results, pictures=pictures))
    run_files.write_text(os.path.join(model_dir, "results.md"), table)
    run_files.write_text(os.path.join(model_dir, "operative_config.gin"),
                         gin.operative_config_str())
    return table
