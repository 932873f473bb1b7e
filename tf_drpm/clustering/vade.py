"""Variational Deep Embedding (VaDE), the i.i.d. clustering baseline."""

import keras
import tensorflow as tf

from tf_drpm.clustering._serialization import from_config_with_autoencoder
from tf_drpm.clustering._serialization import images_of
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.internal import distribute_util
from tf_drpm.models.loss_model import LossModel

__all__ = ["VaDE"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class VaDE(LossModel):
    """Variational Deep Embedding (Jiang et al., 2017) on an `MLPAutoencoder`.

    Generative model: `c ~ Cat(softmax(prior.log_weights))`,
    `z | c ~ N(means[c], scales[c])`, `x | z ~ Bernoulli(decoder(z))`, with
    i.i.d. cluster assignments (the contrast to DRPM-VC). Per image the loss is
    the negative ELBO with one reparameterised sample `z ~ q(z | x)`:

      loss(x) = BCE_sum(x, decoder(z))
              + sum_k gamma_k KL(q(z | x) || N(means[k], scales[k]))
              + sum_k gamma_k (log gamma_k - log pi_k),
      gamma = softmax_k(log pi_k + log N(z | means[k], scales[k])),

    averaged over the global batch (the train step of `tf_drpm.models.LossModel`,
    seeded per step). Cluster predictions use `argmax_k gamma_k` at `z = mean(x)`.

    Args:
      autoencoder: `MLPAutoencoder` (usually with pretrained weights).
      num_clusters: int, K.
      freeze_trunk: bool; True freezes the three encoder trunk layers (the
        paper's appendix C.1.5 ablation), False trains everything (VaDE).
      seed: int, seed of the reparameterisation noise.
      **kwargs: base `keras.Model` arguments.

    Call arguments:
      inputs: images `[batch, 28, 28]` or `[batch, 784]`.

    Returns:
      Cluster responsibilities `gamma`, `[batch, K]`, at `z = mean(x)`.
    """

    def __init__(
        self, autoencoder, num_clusters=10, freeze_trunk=False, seed=0, **kwargs
    ):
        super().__init__(**kwargs)
        self.autoencoder = autoencoder
        self.num_clusters = int(num_clusters)
        self.freeze_trunk = bool(freeze_trunk)
        self.seed = int(seed)
        self.prior = GaussianMixturePrior(
            self.num_clusters, autoencoder.latent_dim, name="prior"
        )
        if self.freeze_trunk:
            self.autoencoder.trunk.trainable = False
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "reconstruction", "kl_z", "kl_c")
        }
        self.add_step_counter()

    def build(self, input_shape=None):
        if not self.autoencoder.built:
            self.autoencoder.build()
        self.prior.build()
        self.built = True

    def responsibilities(self, latents):
        """`gamma = softmax_k(log pi_k + log N(latents | k))`, `[batch, K]`."""
        log_pi = tf.nn.log_softmax(self.prior.log_weights)
        return tf.nn.softmax(log_pi + self.prior.log_prob_components(latents))

    def call(self, inputs, training=False):
        mean, _ = self.autoencoder.encode(inputs, training=training)
        return self.responsibilities(mean)

    def predict_clusters(self, images):
        """Cluster index per image, `[batch]` int32."""
        return tf.argmax(self(images), axis=-1, output_type=tf.int32)

    def compute_losses(self, data, seed=None, training=False):
        """Per-batch means of the loss terms; returns a dict of scalars."""
        images = self.autoencoder.flatten(images_of(data))
        mean, log_scale = self.autoencoder.encode(images, training=training)
        # Noise of the global batch's rows: a function of (seed, global index).
        noise = distribute_util.global_batch(tf.shape(mean)[0]).normal(
            tf.shape(mean), seed, dtype=mean.dtype)
        latents = mean + tf.exp(log_scale) * noise
        logits = self.autoencoder.decode_logits(latents, training=training)
        reconstruction = tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits),
            axis=-1,
        )
        log_pi = tf.nn.log_softmax(self.prior.log_weights)
        log_joint = log_pi + self.prior.log_prob_components(latents)  # [B, K]
        gamma = tf.nn.softmax(log_joint)
        log_gamma = tf.nn.log_softmax(log_joint)
        kl_z = tf.reduce_sum(gamma * self.prior.kl_divergence(mean, log_scale), -1)
        kl_c = tf.reduce_sum(gamma * (log_gamma - log_pi), axis=-1)
        terms = {"reconstruction": reconstruction, "kl_z": kl_z, "kl_c": kl_c}
        terms = {k: tf.reduce_mean(v) for k, v in terms.items()}
        terms["loss"] = terms["reconstruction"] + terms["kl_z"] + terms["kl_c"]
        return terms

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "autoencoder": keras.saving.serialize_keras_object(self.autoencoder),
                "num_clusters": self.num_clusters,
                "freeze_trunk": self.freeze_trunk,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return from_config_with_autoencoder(cls, config)
