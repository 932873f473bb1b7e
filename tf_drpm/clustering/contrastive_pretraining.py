"""Contrastive pretraining of the clustering auto-encoder (TCL style)."""

import math

import keras
import tensorflow as tf

from tf_drpm.clustering._serialization import from_config_with_autoencoder
from tf_drpm.clustering._serialization import images_of
from tf_drpm.internal import distribute_util
from tf_drpm.models.loss_model import LossModel

__all__ = ["ContrastivePretraining"]


def _augment(
    images,
    seed,
    crop_scale=(0.2, 1.0),
    flip=True,
    blur_sigma=(0.1, 2.0),
    crop_ratio=(3.0 / 4.0, 4.0 / 3.0),
):
    """Fashion-MNIST augmentations of the paper's pretraining, per example.

    Random resized crop (area fraction U(crop_scale), aspect ratio log-uniform in
    [3/4, 4/3], bilinear back to the input size), horizontal flip with
    probability 1/2 and a Gaussian blur with standard deviation U(blur_sigma)
    pixels (zero padding, renormalised kernel). Under `tf.distribute` the draws
    of an image depend on `seed` and its index in the global batch only.

    Args:
      images: float `[batch, height, width]` in `[0, 1]`.
      seed: int tensor `[2]`.
      crop_scale: (min, max) area fraction of the crop.
      flip: bool, random horizontal flips.
      blur_sigma: (min, max) blur standard deviation in pixels, or None.
      crop_ratio: (min, max) aspect ratio (width / height) of the crop.

    Returns:
      Augmented images, same shape and dtype.
    """
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    batch = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    seeds = tf.random.experimental.stateless_split(seed, num=6)
    rows = distribute_util.global_batch(batch)

    def _stateless_uniform(seed, shape, minval, maxval):
        return rows.uniform(shape, seed, minval, maxval)

    # Random resized crop.
    area = _stateless_uniform(seeds[0], [batch], crop_scale[0], crop_scale[1])
    log_ratio = _stateless_uniform(
        seeds[1], [batch], math.log(crop_ratio[0]), math.log(crop_ratio[1])
    )
    ratio = tf.exp(log_ratio)
    crop_w = tf.minimum(tf.sqrt(area * ratio), 1.0)
    crop_h = tf.minimum(tf.sqrt(area / ratio), 1.0)
    top = _stateless_uniform(seeds[2], [batch], 0.0, 1.0) * (1.0 - crop_h)
    left = _stateless_uniform(seeds[3], [batch], 0.0, 1.0) * (1.0 - crop_w)
    boxes = tf.stack([top, left, top + crop_h, left + crop_w], axis=-1)
    # crop_and_resize samples at (y1 + i (y2 - y1) / (h - 1)) * (H - 1).
    out = tf.image.crop_and_resize(
        tf.cast(images[..., tf.newaxis], tf.float32),
        boxes,
        tf.range(batch),
        [height, width],
        method="bilinear",
    )[..., 0]
    if flip:
        do_flip = _stateless_uniform(seeds[4], [batch], 0.0, 1.0) < 0.5
        out = tf.where(
            do_flip[:, tf.newaxis, tf.newaxis], tf.reverse(out, axis=[2]), out
        )
    if blur_sigma is not None:
        sigma = _stateless_uniform(seeds[5], [batch], blur_sigma[0], blur_sigma[1])

        def blur_matrix(size):
            pos = tf.range(size, dtype=tf.float32)
            dist2 = tf.square(pos[:, tf.newaxis] - pos[tf.newaxis, :])  # [s, s]
            kernel = tf.exp(
                -dist2[tf.newaxis] / (2.0 * tf.square(sigma)[:, tf.newaxis, tf.newaxis])
            )
            kernel *= tf.cast(dist2 <= 16.0, tf.float32)  # radius 4 pixels
            return kernel / tf.reduce_sum(kernel, axis=-1, keepdims=True)

        rows, cols = blur_matrix(height), blur_matrix(width)  # [B, s, s]
        out = tf.matmul(tf.matmul(rows, out), cols, transpose_b=True)
    return tf.cast(tf.clip_by_value(out, 0.0, 1.0), dtype)


def _nt_xent(first, second, temperature):
    """Symmetric normalised-temperature cross entropy (SimCLR), mean over rows."""
    features = tf.math.l2_normalize(tf.concat([first, second], axis=0), axis=-1)
    count = tf.shape(first)[0]
    logits = tf.matmul(features, features, transpose_b=True) / temperature
    logits -= 1e9 * tf.eye(2 * count, dtype=logits.dtype)  # no self-pairs
    labels = tf.concat([tf.range(count, 2 * count), tf.range(count)], axis=0)
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


@keras.saving.register_keras_serializable(package="tf_drpm")
class ContrastivePretraining(LossModel):
    """Instance + cluster contrastive pretraining with reconstruction (TCL style).

    Wraps an `MLPAutoencoder`. Each batch gives two views: the plain images and
    an augmented copy (random resized crop with area 0.2-1, horizontal flip,
    Gaussian blur; computed in TensorFlow from stateless seeds). On the trunk
    features it adds an instance head `hidden -> GELU -> projection_dim` and a
    cluster head `hidden -> GELU -> K -> softmax` and minimises

      loss = InfoNCE(instance_1, instance_2; instance_temperature)
           + InfoNCE(clusters_1^T, clusters_2^T; cluster_temperature)
           + sum_views (log K - H(mean cluster assignment))
           + reconstruction_weight * mean_batch sum_pixels
               0.5 * [(x_1 - dec(mean(x_1)))^2 + (x_2 - dec(mean(x_2)))^2]

    as in the authors' `pretrain_tcl` (Li et al., 2022, adapted by Sutter et
    al., 2023, appendix C.1.3).

    Args:
      autoencoder: the `MLPAutoencoder` to pretrain (its weights are updated).
      num_clusters: int, K of the cluster head.
      head_units: int, hidden width of both heads (2000 in the paper); 0 makes
        the instance head the identity (the instance loss then acts on the
        heads' input directly) and the cluster head linear.
      projection_dim: int, output size of the instance head (defaults to the
        auto-encoder's latent size, as in the reference code).
      instance_temperature: float, 0.5 in the paper.
      cluster_temperature: float, 1.0 in the paper.
      reconstruction_weight: float.
      augment_both_views: bool; False (reference) keeps the first view plain.
      heads_input: "features" (the reference: both heads read the 2000-unit
        trunk output) or "latent" (they read the posterior mean, which then
        carries the contrastive structure the priors are fitted to).
      global_negatives: bool; under `tf.distribute` with several replicas the
        two contrastive losses and the cluster marginals use the whole global
        batch (each replica all-gathers both views' head outputs; gradients
        flow back through the gather), so a step is the one-device step. False:
        each replica contrasts its own examples only (a smaller batch of
        negatives, another model on every replica count).
      seed: int, base seed of the augmentations.
      **kwargs: base `keras.Model` arguments.

    Call arguments:
      inputs: images `[batch, 28, 28]` (uint8 or float in `[0, 1]`) or
        `[batch, 784]`.

    Returns:
      Cluster-head probabilities `[batch, K]`.
    """

    def __init__(
        self,
        autoencoder,
        num_clusters=10,
        head_units=2000,
        projection_dim=None,
        instance_temperature=0.5,
        cluster_temperature=1.0,
        reconstruction_weight=1.0,
        augment_both_views=False,
        heads_input="features",
        image_shape=(28, 28),
        global_negatives=True,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("instance_temperature", instance_temperature),
            ("cluster_temperature", cluster_temperature),
        ):
            if not value > 0:
                raise ValueError(f"`{name}` must be positive. Received: {name}={value}")
        if (
            isinstance(head_units, bool)
            or not isinstance(head_units, int)
            or head_units < 0
        ):
            raise ValueError(
                "`head_units` must be a non-negative integer. "
                f"Received: head_units={head_units!r}"
            )
        if heads_input not in ("features", "latent"):
            raise ValueError(
                "`heads_input` must be 'features' or 'latent'. "
                f"Received: heads_input={heads_input!r}"
            )
        if reconstruction_weight < 0:
            raise ValueError(
                "`reconstruction_weight` must be non-negative. Received: "
                f"reconstruction_weight={reconstruction_weight}"
            )
        self.autoencoder = autoencoder
        self.num_clusters = int(num_clusters)
        self.head_units = int(head_units)
        self.projection_dim = int(projection_dim or autoencoder.latent_dim)
        self.instance_temperature = float(instance_temperature)
        self.cluster_temperature = float(cluster_temperature)
        self.reconstruction_weight = float(reconstruction_weight)
        self.augment_both_views = bool(augment_both_views)
        self.heads_input = heads_input
        self.image_shape = tuple(image_shape)
        if not isinstance(global_negatives, bool):
            raise ValueError("`global_negatives` must be a bool. "
                             f"Received: global_negatives={global_negatives!r}")
        self.global_negatives = global_negatives
        self.seed = int(seed)
        if self.head_units > 0:
            self.instance_head = keras.Sequential(
                [
                    keras.layers.Dense(self.head_units, activation="gelu"),
                    keras.layers.Dense(self.projection_dim),
                ],
                name="instance_head",
            )
            self.cluster_head = keras.Sequential(
                [
                    keras.layers.Dense(self.head_units, activation="gelu"),
                    keras.layers.Dense(self.num_clusters, activation="softmax"),
                ],
                name="cluster_head",
            )
        else:  # Instance loss on the heads' input itself, linear cluster head.
            self.instance_head = keras.Sequential(
                [keras.layers.Identity()], name="instance_head"
            )
            self.cluster_head = keras.Sequential(
                [keras.layers.Dense(self.num_clusters, activation="softmax")],
                name="cluster_head",
            )
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "instance", "cluster", "reconstruction")
        }
        # Counts optimisation steps; with `seed` it gives the augmentation seeds.
        self.add_step_counter()

    def build(self, input_shape=None):
        if not self.autoencoder.built:
            self.autoencoder.build()
        width = (
            self.autoencoder.trunk_units[-1]
            if self.heads_input == "features"
            else self.autoencoder.latent_dim
        )
        self.instance_head.build((None, width))
        self.cluster_head.build((None, width))
        self.built = True

    def augment(self, images, seed):
        """Augments `[batch, ...]` images; returns `[batch, 784]` floats."""
        images = self.autoencoder.flatten(images)
        images = tf.reshape(images, (-1,) + self.image_shape)
        return tf.reshape(_augment(images, seed), [-1, self.autoencoder.input_dim])

    def call(self, inputs, training=False):
        hidden = self.autoencoder.features(inputs, training)
        if self.heads_input == "latent":
            hidden = self.autoencoder.mean_head(hidden, training=training)
        return self.cluster_head(hidden, training=training)

    def compute_losses(self, data, seed=None, training=False):
        """Loss terms for one batch; returns a dict of scalars.

        The log-scale head gets no gradient in pretraining (the train step
        skips it)."""
        images = self.autoencoder.flatten(images_of(data))
        seeds = tf.random.experimental.stateless_split(seed, num=2)
        second = self.augment(images, seeds[1])
        first = self.augment(images, seeds[0]) if self.augment_both_views else images
        both = tf.concat([first, second], axis=0)
        hidden = self.autoencoder.trunk(both, training=training)
        count = tf.shape(images)[0]
        mean = self.autoencoder.mean_head(hidden, training=training)
        heads_input = hidden if self.heads_input == "features" else mean
        instance = self.instance_head(heads_input, training=training)
        clusters = self.cluster_head(heads_input, training=training)  # [2B, K]
        instance_1, instance_2 = instance[:count], instance[count:]
        clusters_1, clusters_2 = clusters[:count], clusters[count:]
        if self.global_negatives:  # the global batch's rows, in global order
            rows = distribute_util.global_batch(count, images.shape[0])
            instance_1, instance_2, clusters_1, clusters_2 = (
                rows.gather(value) for value in (instance_1, instance_2, clusters_1, clusters_2))
        instance_loss = _nt_xent(instance_1, instance_2, self.instance_temperature)
        cluster_loss = _nt_xent(
            tf.transpose(clusters_1), tf.transpose(clusters_2), self.cluster_temperature
        )
        for view in (clusters_1, clusters_2):
            marginal = tf.reduce_mean(view, axis=0)
            cluster_loss += math.log(self.num_clusters) + tf.reduce_sum(
                marginal * tf.math.log(marginal + 1e-12)
            )
        reconstruction = tf.sigmoid(
            self.autoencoder.decode_logits(mean, training=training)
        )
        reconstruction_loss = (
            0.5
            * tf.reduce_sum(tf.square(reconstruction - both))
            / tf.cast(count, both.dtype)
        )
        total = (
            instance_loss
            + cluster_loss
            + self.reconstruction_weight * reconstruction_loss
        )
        return {
            "loss": total,
            "instance": instance_loss,
            "cluster": cluster_loss,
            "reconstruction": reconstruction_loss,
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "autoencoder": keras.saving.serialize_keras_object(self.autoencoder),
                "num_clusters": self.num_clusters,
                "head_units": self.head_units,
                "projection_dim": self.projection_dim,
                "instance_temperature": self.instance_temperature,
                "cluster_temperature": self.cluster_temperature,
                "reconstruction_weight": self.reconstruction_weight,
                "augment_both_views": self.augment_both_views,
                "heads_input": self.heads_input,
                "image_shape": list(self.image_shape),
                "global_negatives": self.global_negatives,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return from_config_with_autoencoder(cls, config)
