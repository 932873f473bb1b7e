"""PNG pictures of a trained weakly supervised VAE and of its diagnostics.

`trainers.weak.evaluation` draws them at the end of a run;
`python -m trainers.weak.plots <run dir> ...` redraws them from a finished run.
"""

import json
import os

import gin
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tf_drpm.weak_supervision import WeakPairSampler
from trainers.core import cli
from trainers.core import run_files
from trainers.core import training
from trainers.weak.dataset import ground_truth_dataset
from trainers.weak.diagnostics import DIAGNOSTICS_FILE
from trainers.weak.results import METHOD_NAMES

__all__ = ["plot_diagnostics", "plot_reconstructions", "plot_run", "plot_shared_estimates",
           "plot_traversal", "shared_estimate_curves"]


def _image_grid(ax, rows, labels):
    """Shows rows of [H, W, C] images in [0, 1] as one mosaic with row labels."""
    side, pad = rows[0][0].shape[0], 2
    num_cols = max(len(r) for r in rows)
    channels = rows[0][0].shape[-1]
    mosaic = np.ones((len(rows) * (side + pad) + pad,
                      num_cols * (side + pad) + pad, 3))
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            image = np.clip(np.asarray(image), 0.0, 1.0)
            if channels == 1:
                image = np.repeat(image, 3, axis=-1)
            top, left = pad + i * (side + pad), pad + j * (side + pad)
            mosaic[top:top + side, left:left + side] = image
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([pad + i * (side + pad) + side / 2 for i in range(len(rows))])
    ax.set_yticklabels(labels, fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_reconstructions(model, pairs, path, num_pairs=8):
    """Paired inputs and their reconstructions from the aggregated posterior means.

    Rows: view 1, its reconstruction, view 2, its reconstruction; one column
    per pair, titled with the number of dims the model shares for it.
    """
    x1, x2 = pairs["x1"][:num_pairs], pairs["x2"][:num_pairs]
    outputs = model({"x1": x1, "x2": x2}, training=False, sample_latents=False)
    sigmoid = lambda logits: 1.0 / (1.0 + np.exp(-np.asarray(logits)))  # noqa: E731
    rows = [list(x1), list(sigmoid(outputs["logits1"])), list(x2),
            list(sigmoid(outputs["logits2"]))]
    fig, ax = plt.subplots(figsize=(1.1 * num_pairs + 1.2, 5))
    _image_grid(ax, rows, ["view 1", "reconstruction 1", "view 2", "reconstruction 2"])
    shared = np.asarray(outputs["num_shared"])
    ax.set_title("pairs and reconstructions; dims shared per pair: "
                 + " ".join(f"{s:.0f}" for s in shared), fontsize=9)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_traversal(model, pairs, path, values=np.linspace(-2.5, 2.5, 9), index=0):
    """Latent traversal of one pair's view 1, shared dims first.

    Each row changes one latent dim of the aggregated posterior mean over
    `values` and decodes; rows are labelled shared (S) or independent (I) by
    the model's deterministic partition of this pair, with the dim's
    pairwise KL between the views.
    """
    x1, x2 = pairs["x1"][index:index + 1], pairs["x2"][index:index + 1]
    outputs = model({"x1": x1, "x2": x2}, training=False, sample_latents=False)
    mean = np.asarray(outputs["mean1"])[0]
    shared = np.round(np.asarray(outputs["shared_mask"])[0]).astype(bool)
    kl = np.asarray(outputs["kl_divergence"])[0]
    order = sorted(range(len(mean)), key=lambda j: (not shared[j], kl[j]))
    codes = np.repeat(mean[np.newaxis], len(order) * len(values), axis=0)
    for r, j in enumerate(order):
        codes[r * len(values):(r + 1) * len(values), j] = values
    images = 1.0 / (1.0 + np.exp(-np.asarray(model.decoder(codes.astype(np.float32)))))
    rows = [[x1[0]] + list(images[r * len(values):(r + 1) * len(values)])
            for r in range(len(order))]
    labels = [f"z{j} {'S' if shared[j] else 'I'} KL={kl[j]:.2f}" for j in order]
    fig, ax = plt.subplots(figsize=(0.9 * (len(values) + 1) + 1.8, 0.9 * len(order) + 0.6))
    _image_grid(ax, rows, labels)
    ax.set_title("traversal of view 1 (first column: input), z from "
                 f"{values[0]:.1f} to {values[-1]:.1f}", fontsize=9)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_diagnostics(diagnostics_path, path, num_shared_factors=None):
    """Three panels from `diagnostics.jsonl`: the size head's logit gap, the
    estimated n_s beside the dims the views share, and the n_s histogram."""
    with open(diagnostics_path) as f:
        records = [json.loads(line) for line in f]
    steps = np.array([r["step"] for r in records])
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    if "size_logit_gap_mean" in records[0]:
        gap = np.array([r["size_logit_gap_mean"] for r in records])
        std = np.array([r["size_logit_gap_std"] for r in records])
        axes[0].plot(steps, gap, color="C0")
        axes[0].fill_between(steps, gap - std, gap + std, color="C0", alpha=0.2)
        axes[0].axhline(0.0, color="grey", lw=0.5)
    axes[0].set(xlabel="step", ylabel="log w_indep - log w_shared",
                title="size head logit gap (mean ± sd)")
    for key, label in (("num_shared_mean", "estimated n_s (noiseless)"),
                       ("num_low_kl_mean", "dims with KL_pw < threshold"),
                       ("num_low_kl_active_mean", "... of them active")):
        axes[1].plot(steps, [r[key] for r in records], label=label)
    if num_shared_factors is not None:
        axes[1].axhline(num_shared_factors, color="k", ls="--", lw=0.8, label="true n_s")
    axes[1].set(xlabel="step", ylabel="dims", title="shared dims per pair")
    axes[1].legend(fontsize=7)
    histogram = np.array([r["num_shared_histogram"] for r in records]).T
    image = axes[2].imshow(histogram, aspect="auto", origin="lower", cmap="viridis",
                           extent=[steps[0], steps[-1], -0.5, histogram.shape[0] - 0.5],
                           vmin=0.0, vmax=1.0)
    axes[2].set(xlabel="step", ylabel="estimated n_s",
                title="histogram of estimated n_s over pairs")
    fig.colorbar(image, ax=axes[2], fraction=0.046)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def shared_estimate_curves(summary):
    """Per method, the n_s estimates over seeds: the data of the Figure 3 analogue.

    Args:
        summary: Rows of `trainers.weak.results.summarize_runs` (its mean and
            standard deviation over seeds of `num_shared_mse` and
            `mean_num_shared` per method and n_s).

    Returns:
        `{method: {"num_shared": [n_s...], "mse": [...], "mse_std": [...],
        "estimate": [...], "estimate_std": [...], "seeds": [[...]...]}}`,
        n_s sorted, rows without both scores left out.
    """
    curves = {}
    for method in METHOD_NAMES:
        rows = sorted((r for r in summary if r["method"] == method
                       and r.get("num_shared_mse") is not None
                       and r.get("mean_num_shared") is not None),
                      key=lambda r: r["num_shared_factors"])
        if rows:
            curves[method] = {
                "num_shared": [r["num_shared_factors"] for r in rows],
                "mse": [r["num_shared_mse"] for r in rows],
                "mse_std": [r["num_shared_mse_std"] for r in rows],
                "estimate": [r["mean_num_shared"] for r in rows],
                "estimate_std": [r["mean_num_shared_std"] for r in rows],
                "seeds": [r["seeds"] for r in rows],
            }
    return curves


def plot_shared_estimates(summary, path, title=None):
    """The Figure 3 analogue: MSE(n_s_hat, n_s) per method and n_s (bars: mean
    over seeds, whiskers: standard deviation; log scale) and the mean estimate
    against the true n_s. `summary` as in `shared_estimate_curves`."""
    curves = shared_estimate_curves(summary)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    all_num_shared = sorted({n for c in curves.values() for n in c["num_shared"]})
    width = 0.8 / max(len(curves), 1)
    for i, (method, curve) in enumerate(curves.items()):
        positions = [all_num_shared.index(n) + (i - (len(curves) - 1) / 2) * width
                     for n in curve["num_shared"]]
        axes[0].bar(positions, np.maximum(curve["mse"], 1e-3), width, yerr=curve["mse_std"],
                    capsize=2, color=f"C{i}", label=METHOD_NAMES[method])
        axes[1].errorbar(curve["num_shared"], curve["estimate"], yerr=curve["estimate_std"],
                         marker="o", capsize=3, color=f"C{i}", label=METHOD_NAMES[method])
    axes[0].set_yscale("log")
    axes[0].set_xticks(range(len(all_num_shared)), [str(n) for n in all_num_shared])
    axes[0].set(xlabel="true n_s", ylabel="MSE(n_s_hat, n_s) (at least 1e-3)",
                title="estimation error of the shared factors")
    if all_num_shared:
        axes[1].plot([0, max(all_num_shared)], [0, max(all_num_shared)], color="grey",
                     ls="--", lw=0.8, label="n_s_hat = n_s")
    axes[1].set(xlabel="true n_s", ylabel="mean n_s_hat", title="estimate against truth")
    axes[1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def plot_run(run_dir, model_fn):
    """Rebuilds a finished weak run from its operative config and newest
    checkpoint and writes its three pictures into `run_dir`.

    Args:
        run_dir: a finished run's directory (`<model_dir>/<method>/ns<n>_seed<s>`).
        model_fn: the model builder, `trainers.weak.driver.weak_model` (it is
            called under the run's operative config, whose configurables it
            registers).

    Returns:
        The paths of the pictures written.
    """
    try:
        cli.parse_gin([os.path.join(run_dir, "operative_config.gin")], finalize=False)
        model = model_fn()
        state = training.read_checkpoint_state(run_dir)
        model.load_weights(os.path.join(run_dir, training.CHECKPOINT_SUBDIR,
                                        state["weights"]))
        num_shared = gin.query_parameter("weak_data.num_shared_factors")
        data = ground_truth_dataset()
        pairs = WeakPairSampler(data, num_shared_factors=num_shared).sample(
            16, np.random.RandomState(2))
        shape = [-1] + list(model.observation_shape)
        pairs = {k: pairs[k].reshape(shape) for k in ("x1", "x2")}
        paths = [plot_reconstructions(model, pairs,
                                      os.path.join(run_dir, "reconstructions.png")),
                 plot_traversal(model, pairs, os.path.join(run_dir, "traversal.png"))]
        diagnostics = os.path.join(run_dir, DIAGNOSTICS_FILE)
        if os.path.exists(diagnostics):
            paths.append(plot_diagnostics(
                diagnostics, os.path.join(run_dir, "diagnostics.png"), num_shared))
        return paths
    finally:
        gin.clear_config()


if __name__ == "__main__":
    # `python -m trainers.weak.plots <run dir> ...`. The script, not the module,
    # needs the driver (its `weak_model` and the family's configurables); the
    # driver imports this module through `trainers.weak.evaluation`.
    import sys  # pylint: disable=g-import-not-at-top

    from trainers.weak import driver  # pylint: disable=g-import-not-at-top

    for run_dir in sys.argv[1:]:
        print("\n".join(plot_run(run_dir, driver.weak_model)))
