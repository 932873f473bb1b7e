"""MultiLeNet encoder (Sener and Koltun, 2018) for two-digit images."""

import keras

from tf_drpm.layers.global_batch_spatial_dropout2d import GlobalBatchSpatialDropout2D

__all__ = ["MultiLeNet"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class MultiLeNet(keras.Model):
    """LeNet-5 style encoder shared by all tasks, ending in a ReLU layer.

    `conv 5x5 (10) -> max-pool 2 -> ReLU -> conv 5x5 (20) -> channel dropout
    -> max-pool 2 -> ReLU -> flatten (320) -> dense (latent_dim) -> ReLU`,
    the shared part of the MultiLeNet of Sener and Koltun (2018) used for
    MultiMNIST by Sutter et al. (2023). The `latent_dim` (50) output units are
    the neurons that DRPM-MTL partitions among the tasks.

    Differences from the PyTorch reference: the channel dropout is Keras'
    `SpatialDropout2D` (one mask per example, activations rescaled by
    `1 / (1 - rate)` during training) instead of one unscaled mask per batch;
    Keras' default initialisers. The dropout masks are indexed by the global
    example (`tf_drpm.layers.GlobalBatchSpatialDropout2D`), so a train step
    under `tf.distribute` draws the masks of one device.

    Args:
        latent_dim: Python int, units of the shared layer.
        dropout_rate: Float in [0, 1), channel dropout rate.
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        images: Float tensor `[batch, 28, 28, 1]`.
        training: Python bool or None.

    Returns:
        Float tensor `[batch, latent_dim]` (non-negative).

    Example:

    >>> encoder = MultiLeNet(latent_dim=50)
    >>> encoder(keras.ops.zeros((4, 28, 28, 1))).shape
    TensorShape([4, 50])
    """

    def __init__(self, latent_dim=50, dropout_rate=0.5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(
                f"`latent_dim` must be a positive int. Received: latent_dim={latent_dim}"
            )
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(
                f"`dropout_rate` must be in [0, 1). Received: dropout_rate={dropout_rate}"
            )
        self.latent_dim = latent_dim
        self.dropout_rate = float(dropout_rate)
        self.conv1 = keras.layers.Conv2D(10, 5, name="conv1")
        self.pool1 = keras.layers.MaxPooling2D(2, name="pool1")
        self.conv2 = keras.layers.Conv2D(20, 5, name="conv2")
        self.dropout = GlobalBatchSpatialDropout2D(self.dropout_rate, name="dropout")
        self.pool2 = keras.layers.MaxPooling2D(2, name="pool2")
        self.flatten = keras.layers.Flatten(name="flatten")
        self.dense = keras.layers.Dense(latent_dim, activation="relu", name="dense")

    def call(self, images, training=None):
        x = keras.ops.relu(self.pool1(self.conv1(images)))  # [B, 12, 12, 10]
        x = self.dropout(self.conv2(x), training=training)  # [B, 8, 8, 20]
        x = keras.ops.relu(self.pool2(x))  # [B, 4, 4, 20]
        return self.dense(self.flatten(x))  # [B, latent_dim]

    def get_config(self):
        base = super().get_config()
        return {
            **base,
            "latent_dim": self.latent_dim,
            "dropout_rate": self.dropout_rate,
        }
