"""PNG pictures of a trained DRPM-VC model (paper figures 2 and 14-15)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from trainers.core import run_files

__all__ = ["plot_partition_sample", "plot_prior_samples"]


def _mosaic(rows, side=28, pad=2):
    """Tiles a list of rows of flat images into one array (blank cells = NaN)."""
    num_rows, num_cols = len(rows), max(1, max(len(r) for r in rows))
    out = np.full(
        (num_rows * (side + pad) + pad, num_cols * (side + pad) + pad), np.nan
    )
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            top, left = pad + i * (side + pad), pad + j * (side + pad)
            out[top : top + side, left : left + side] = np.asarray(image).reshape(
                side, side
            )
    return out


def _show_mosaic(ax, rows, labels, side=28, pad=2):
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
    ax.imshow(
        _mosaic(rows, side, pad), cmap=cmap, vmin=0, vmax=1, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([pad + i * (side + pad) + side / 2 for i in range(len(rows))])
    ax.set_yticklabels(labels, fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_partition_sample(model, path, seed=0, num_elements=100, max_per_cluster=16):
    """A partition sampled from the prior and generated images per cluster.

    Top: the sampled partition matrix `Y` (`[K, n]`, one row per cluster, one
    column per element). Bottom: for every cluster k, images generated from
    `z ~ N(means[k], scales[k])` for the elements the partition put in k (at
    most `max_per_cluster` shown; the row label gives the subset size).

    Args:
      model: a trained `DRPMVC`.
      path: output PNG path.
      seed: int seed.
      num_elements: int, n of the sampled set.
      max_per_cluster: int, images shown per cluster.

    Returns:
      `path`.
    """
    out = model.generate(num_elements, seed=tf.constant([seed, 7], tf.int32))
    partition = out["partition"].numpy()
    clusters = out["clusters"].numpy()
    images = out["images"].numpy()
    num_clusters = partition.shape[0]
    rows, labels = [], []
    for k in range(num_clusters):
        members = np.flatnonzero(clusters == k)
        rows.append([images[i] for i in members[:max_per_cluster]])
        labels.append(f"k={k} (n={len(members)})")
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(6.0, 0.42 * max_per_cluster + 1.5), 1.6 + 0.45 * num_clusters),
        gridspec_kw={"height_ratios": [1.2, 0.45 * num_clusters]},
    )
    top.imshow(partition, aspect="auto", cmap="Greys", interpolation="nearest")
    top.set_xlabel("element", fontsize=8)
    top.set_ylabel("cluster", fontsize=8)
    top.set_title(f"Sampled partition Y ~ p(Y), n = {num_elements}", fontsize=9)
    _show_mosaic(bottom, rows, labels)
    bottom.set_title("Generated images per cluster", fontsize=9)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=100)
    plt.close(fig)
    return path


def plot_prior_samples(model, path, seed=0, per_cluster=10):
    """Images decoded from `z ~ N(means[k], scales[k])`, one row per cluster.

    Args:
      model: a trained `DRPMVC` (or any model with `prior` and `autoencoder`).
      path: output PNG path.
      seed: int seed.
      per_cluster: images per cluster.

    Returns:
      `path`.
    """
    prior = model.prior
    num_clusters, latent_dim = prior.means.shape
    clusters = np.repeat(np.arange(num_clusters), per_cluster)
    means = tf.gather(prior.means, clusters)
    scales = tf.exp(tf.gather(prior.log_scales, clusters))
    noise = tf.random.stateless_normal(
        [len(clusters), latent_dim], seed=tf.constant([seed, 11], tf.int32)
    )
    images = tf.sigmoid(model.autoencoder.decode_logits(means + scales * noise))
    images = images.numpy().reshape(num_clusters, per_cluster, -1)
    fig, ax = plt.subplots(
        figsize=(0.42 * per_cluster + 1.2, 0.45 * num_clusters + 0.5)
    )
    _show_mosaic(ax, [list(r) for r in images], [f"k={k}" for k in range(num_clusters)])
    ax.set_title("Samples from each prior p(z | k)", fontsize=9)
    fig.tight_layout()
    run_files.save_figure(fig, path, dpi=100)
    plt.close(fig)
    return path
