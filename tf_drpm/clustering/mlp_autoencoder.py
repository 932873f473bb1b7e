"""The fully connected auto-encoder of the DRPM clustering experiments."""

import keras
import tensorflow as tf

from tf_drpm.clustering._serialization import images_of
from tf_drpm.models.loss_model import LossModel

__all__ = ["MLPAutoencoder"]


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


@keras.saving.register_keras_serializable(package="tf_drpm")
class MLPAutoencoder(LossModel):
    """MLP auto-encoder `784-500-500-2000-l` with Gaussian posterior heads.

    The encoder trunk maps flattened images to `trunk_units` (500, 500, 2000 by
    default, ReLU); two linear heads give the posterior mean and the log standard
    deviation of `q(z | x) = N(mean, diag(exp(log_scale)**2))`. The decoder
    mirrors the trunk (2000, 500, 500, ReLU) and ends in a linear layer that
    returns Bernoulli logits of the pixels (`sigmoid(logits)` is the image).
    This is the architecture of Sutter et al. (2023), appendix C.1.2.

    `fit` on this model alone is reconstruction pretraining (VaDE style): the mean
    squared error between the images and `sigmoid(decoder(mean(x)))`.

    Args:
      latent_dim: int, size `l` of the latent space (10 for MNIST, 20 for
        Fashion-MNIST in the paper).
      input_dim: int, number of pixels (784).
      trunk_units: tuple of ints, widths of the encoder trunk; the decoder uses
        them in reverse order.
      **kwargs: base `keras.Model` arguments (`name`, ...).

    Call arguments:
      inputs: float tensor `[batch, input_dim]` (or `[batch, 28, 28]`, flattened
        on the fly) with values in `[0, 1]`.

    Returns:
      The reconstruction `sigmoid(decoder(mean(inputs)))`, `[batch, input_dim]`.

    Example:

    >>> ae = MLPAutoencoder(latent_dim=20)
    >>> mean, log_scale = ae.encode(tf.zeros([8, 784]))  # [8, 20] each
    >>> logits = ae.decode_logits(mean)  # [8, 784]
    """

    def __init__(
        self, latent_dim=10, input_dim=784, trunk_units=(500, 500, 2000), **kwargs
    ):
        super().__init__(**kwargs)
        _check_positive_int("latent_dim", latent_dim)
        _check_positive_int("input_dim", input_dim)
        trunk_units = tuple(int(u) for u in trunk_units)
        if not trunk_units or any(u < 1 for u in trunk_units):
            raise ValueError(
                "`trunk_units` must be a non-empty sequence of positive "
                f"integers. Received: trunk_units={trunk_units!r}"
            )
        self.latent_dim = latent_dim
        self.input_dim = input_dim
        self.trunk_units = trunk_units
        self.trunk = keras.Sequential(
            [
                keras.layers.Dense(u, activation="relu", name=f"trunk_{i}")
                for i, u in enumerate(trunk_units)
            ],
            name="trunk",
        )
        self.mean_head = keras.layers.Dense(latent_dim, name="mean_head")
        self.log_scale_head = keras.layers.Dense(latent_dim, name="log_scale_head")
        self.decoder = keras.Sequential(
            [
                keras.layers.Dense(u, activation="relu", name=f"decoder_{i}")
                for i, u in enumerate(reversed(trunk_units))
            ]
            + [keras.layers.Dense(input_dim, name="decoder_logits")],
            name="decoder",
        )
        self.trackers = {"reconstruction": keras.metrics.Mean(name="reconstruction")}

    def build(self, input_shape=None):
        self.trunk.build((None, self.input_dim))
        self.mean_head.build((None, self.trunk_units[-1]))
        self.log_scale_head.build((None, self.trunk_units[-1]))
        self.decoder.build((None, self.latent_dim))
        self.built = True

    def flatten(self, images):
        """Flattens `[batch, ...]` images to `[batch, input_dim]` floats."""
        images = tf.convert_to_tensor(images)
        if not images.dtype.is_floating:
            images = tf.cast(images, self.compute_dtype) / 255.0
        return tf.reshape(images, [-1, self.input_dim])

    def features(self, images, training=False):
        """Trunk output `[batch, trunk_units[-1]]`."""
        return self.trunk(self.flatten(images), training=training)

    def encode(self, images, training=False):
        """Posterior parameters `(mean, log_scale)`, each `[batch, latent_dim]`."""
        hidden = self.features(images, training=training)
        return (
            self.mean_head(hidden, training=training),
            self.log_scale_head(hidden, training=training),
        )

    def decode_logits(self, latents, training=False):
        """Bernoulli logits of the pixels, `[batch, input_dim]`."""
        return self.decoder(latents, training=training)

    def call(self, inputs, training=False):
        mean, _ = self.encode(inputs, training=training)
        return tf.sigmoid(self.decode_logits(mean, training=training))

    def reset_log_scale_head(self, log_scale=-2.0):
        """Sets the log-scale head to the constant `log_scale` (zero kernel)."""
        if not self.built:
            self.build()
        kernel, bias = self.log_scale_head.kernel, self.log_scale_head.bias
        kernel.assign(tf.zeros_like(kernel))
        bias.assign(tf.fill(tf.shape(bias), tf.cast(log_scale, bias.dtype)))

    def compute_losses(self, data, seed=None, training=False):
        """The reconstruction loss: the mean squared error over pixels and the
        batch (the log-scale head gets no gradient; the train step skips it)."""
        del seed
        images = self.flatten(images_of(data))
        reconstruction = self(images, training=training)
        loss = tf.reduce_mean(tf.square(reconstruction - images))
        return {"loss": loss, "reconstruction": loss}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latent_dim": self.latent_dim,
                "input_dim": self.input_dim,
                "trunk_units": list(self.trunk_units),
            }
        )
        return config
