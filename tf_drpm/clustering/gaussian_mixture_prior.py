"""A trainable diagonal Gaussian mixture prior with a GMM refit."""

import math

import keras
import numpy as np
import tensorflow as tf

__all__ = ["GaussianMixturePrior"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class GaussianMixturePrior(keras.layers.Layer):
    """K diagonal Gaussian priors `p(z | k) = N(means[k], diag(exp(log_scales[k])**2))`.

    Holds the cluster priors of variational clustering models (DRPM-VC, VaDE):
    `means` `[K, l]`, `log_scales` `[K, l]` (log standard deviations) and
    `log_weights` `[K]` (unnormalised log mixture weights), all trainable.
    `refit` fits a diagonal GMM (scikit-learn, k-means++ initialisation) to
    embeddings and ASSIGNS the result to the existing variables, so an optimizer
    that already tracks them keeps training the refitted priors (the reference
    implementation replaced the parameters and silently froze them).

    Args:
      num_components: int, number of clusters K.
      latent_dim: int, latent size l.
      **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
      inputs: latent points `[batch, l]`.

    Returns:
      Per-component log densities `log N(inputs | means[k], scales[k])`,
      `[batch, K]` (mixture weights not included).

    Example:

    >>> prior = GaussianMixturePrior(num_components=10, latent_dim=20)
    >>> log_density = prior(tf.zeros([4, 20]))  # [4, 10]
    >>> kl = prior.kl_divergence(tf.zeros([4, 20]), tf.zeros([4, 20]))  # [4, 10]
    """

    def __init__(self, num_components=10, latent_dim=10, **kwargs):
        super().__init__(**kwargs)
        for name, value in (
            ("num_components", num_components),
            ("latent_dim", latent_dim),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"`{name}` must be a positive integer. Received: {name}={value!r}"
                )
        self.num_components = num_components
        self.latent_dim = latent_dim

    def build(self, input_shape=None):
        k, l = self.num_components, self.latent_dim
        self.means = self.add_weight(
            name="means",
            shape=(k, l),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.log_scales = self.add_weight(
            name="log_scales", shape=(k, l), initializer="zeros"
        )
        self.log_weights = self.add_weight(
            name="log_weights", shape=(k,), initializer="zeros"
        )
        self.built = True

    def call(self, inputs):
        return self.log_prob_components(inputs)

    def log_prob_components(self, latents):
        """`sum_d log N(latents_d | means[k, d], scales[k, d])`, `[batch, K]`."""
        latents = tf.convert_to_tensor(latents)[..., tf.newaxis, :]  # [B, 1, l]
        means = tf.cast(self.means, latents.dtype)
        log_scales = tf.cast(self.log_scales, latents.dtype)
        standardized = (latents - means) * tf.exp(-log_scales)  # [B, K, l]
        return tf.reduce_sum(
            -0.5 * tf.square(standardized) - log_scales - 0.5 * math.log(2.0 * math.pi),
            axis=-1,
        )

    def kl_divergence(self, mean, log_scale):
        """`sum_d KL(N(mean, exp(log_scale)) || N(means[k], scales[k]))`, `[batch, K]`."""
        mean = tf.convert_to_tensor(mean)[..., tf.newaxis, :]  # [B, 1, l]
        log_scale = tf.convert_to_tensor(log_scale)[..., tf.newaxis, :]
        prior_means = tf.cast(self.means, mean.dtype)
        prior_log_scales = tf.cast(self.log_scales, mean.dtype)
        ratio = tf.exp(2.0 * (log_scale - prior_log_scales))
        diff = (mean - prior_means) * tf.exp(-prior_log_scales)
        return tf.reduce_sum(
            prior_log_scales - log_scale + 0.5 * (ratio + tf.square(diff)) - 0.5,
            axis=-1,
        )

    def predict_components(self, latents, use_weights=False):
        """Most likely component per point, `[batch]` int32."""
        scores = self.log_prob_components(latents)
        if use_weights:
            scores += tf.nn.log_softmax(tf.cast(self.log_weights, scores.dtype))
        return tf.argmax(scores, axis=-1, output_type=tf.int32)

    def assign_parameters(self, log_weights, means, log_scales):
        """Assigns new values to the existing prior variables."""
        if not self.built:
            self.build()
        self.log_weights.assign(np.asarray(log_weights, dtype=np.float32))
        self.means.assign(np.asarray(means, dtype=np.float32))
        self.log_scales.assign(np.asarray(log_scales, dtype=np.float32))

    def refit(
        self,
        embeddings,
        seed=0,
        n_init=1,
        reg_covar=1e-4,
        max_iter=100,
        max_points=None,
    ):
        """Fits a diagonal GMM to `embeddings` `[N, l]` and assigns it.

        Args:
          embeddings: array `[N, latent_dim]`.
          seed: int, random state of scikit-learn.
          n_init: int, number of k-means++ restarts.
          reg_covar: float, added to the variances.
          max_iter: int, EM iterations.
          max_points: optional int; fit on a seeded random subset of this size.

        Returns:
          The fitted `sklearn.mixture.GaussianMixture`.
        """
        from sklearn import mixture  # pylint: disable=g-import-not-at-top

        embeddings = np.asarray(embeddings, dtype=np.float64)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.latent_dim:
            raise ValueError(
                "`embeddings` must have shape [N, latent_dim="
                f"{self.latent_dim}]. Received: embeddings.shape="
                f"{embeddings.shape}"
            )
        if not np.all(np.isfinite(embeddings)):
            raise ValueError(
                "`embeddings` must be finite. Received: embeddings with "
                f"{np.sum(~np.isfinite(embeddings))} non-finite values"
            )
        if max_points is not None and embeddings.shape[0] > max_points:
            rng = np.random.RandomState(seed)
            embeddings = embeddings[
                rng.choice(embeddings.shape[0], max_points, replace=False)
            ]
        gmm = mixture.GaussianMixture(
            n_components=self.num_components,
            covariance_type="diag",
            init_params="k-means++",
            n_init=n_init,
            reg_covar=reg_covar,
            max_iter=max_iter,
            random_state=seed,
        )
        gmm.fit(embeddings)
        self.assign_parameters(
            np.log(gmm.weights_), gmm.means_, 0.5 * np.log(gmm.covariances_)
        )
        return gmm

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_components": self.num_components, "latent_dim": self.latent_dim}
        )
        return config
