"""PNG pictures of a trained DRPM-VC model (paper figures 2 and 14-15)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=g-import-not-at-top
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

__all__ = ["plot_partition_sample", "plot_prior_samples"]


def _image(row, side=28):
  return np.asarray(row).reshape(side, side)


def plot_partition_sample(model, path, seed=0, num_elements=100,
                          max_per_cluster=16):
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
  fig = plt.figure(figsize=(max_per_cluster * 0.6, 2.0 + num_clusters * 0.65))
  grid = fig.add_gridspec(num_clusters + 2, max_per_cluster + 1)
  ax = fig.add_subplot(grid[:2, :])
  ax.imshow(partition, aspect="auto", cmap="Greys", interpolation="nearest")
  ax.set_xlabel("element")
  ax.set_ylabel("cluster")
  ax.set_title(f"Sampled partition Y ~ p(Y), n = {num_elements}")
  for k in range(num_clusters):
    members = np.flatnonzero(clusters == k)
    label_ax = fig.add_subplot(grid[k + 2, 0])
    label_ax.axis("off")
    label_ax.text(0.5, 0.5, f"k={k}\nn={len(members)}", ha="center",
                  va="center", fontsize=7)
    for j in range(max_per_cluster):
      cell = fig.add_subplot(grid[k + 2, j + 1])
      cell.axis("off")
      if j < len(members):
        cell.imshow(_image(images[members[j]]), cmap="gray", vmin=0, vmax=1)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
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
  noise = tf.random.stateless_normal([len(clusters), latent_dim],
                                     seed=tf.constant([seed, 11], tf.int32))
  images = tf.sigmoid(model.autoencoder.decode_logits(means + scales * noise))
  images = images.numpy()
  fig, axes = plt.subplots(num_clusters, per_cluster,
                           figsize=(per_cluster * 0.6, num_clusters * 0.6))
  axes = np.asarray(axes).reshape(num_clusters, per_cluster)
  for index, ax in enumerate(axes.flat):
    ax.axis("off")
    ax.imshow(_image(images[index]), cmap="gray", vmin=0, vmax=1)
  fig.suptitle("Samples from each prior p(z | k)")
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return path
