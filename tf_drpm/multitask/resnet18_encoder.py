"""ResNet-18-style encoder for 64x64 CelebA images (Sener and Koltun, 2018)."""

import keras

from tf_drpm.layers.global_batch_normalization import GlobalBatchNormalization
from tf_drpm.layers.global_batch_spatial_dropout2d import GlobalBatchSpatialDropout2D

__all__ = ["ResNet18Encoder"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class _BasicBlock(keras.layers.Layer):
    """`conv3x3-BN-ReLU-dropout-conv3x3-BN-dropout + shortcut -> ReLU`."""

    def __init__(self, filters, strides=1, dropout_rate=0.5, **kwargs):
        kwargs.setdefault("name", "basic_block")
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides
        self.dropout_rate = dropout_rate
        conv = {"padding": "same", "use_bias": False}
        # Symmetric zero padding of 1 (as PyTorch's padding=1): with stride 2,
        # "same" padding would pad only bottom/right and shift the taps.
        self.pad1 = keras.layers.ZeroPadding2D(1)
        self.conv1 = keras.layers.Conv2D(filters, 3, strides=strides, use_bias=False)
        self.bn1 = GlobalBatchNormalization(momentum=0.9, epsilon=1e-5)
        self.drop1 = GlobalBatchSpatialDropout2D(dropout_rate)
        self.conv2 = keras.layers.Conv2D(filters, 3, **conv)
        self.bn2 = GlobalBatchNormalization(momentum=0.9, epsilon=1e-5)
        self.drop2 = GlobalBatchSpatialDropout2D(dropout_rate)
        self.shortcut_conv = None
        self.shortcut_bn = None

    def build(self, input_shape):
        if self.strides != 1 or input_shape[-1] != self.filters:
            # A 1x1 convolution with stride s equals subsampling every s-th
            # pixel followed by a stride-1 1x1 convolution. The subsampling is
            # done explicitly in `call` because TF 2.21's oneDNN CPU kernel
            # for the filter gradient of strided 1x1 convolutions corrupts
            # the heap (crash) for 64x64 inputs.
            self.shortcut_conv = keras.layers.Conv2D(self.filters, 1, use_bias=False)
            self.shortcut_bn = GlobalBatchNormalization(momentum=0.9, epsilon=1e-5)

    def call(self, x, training=None):
        out = keras.ops.relu(self.bn1(self.conv1(self.pad1(x)), training=training))
        out = self.drop1(out, training=training)
        out = self.bn2(self.conv2(out), training=training)
        out = self.drop2(out, training=training)
        shortcut = x
        if self.shortcut_conv is not None:
            if self.strides != 1:
                shortcut = shortcut[:, :: self.strides, :: self.strides, :]
            shortcut = self.shortcut_bn(self.shortcut_conv(shortcut), training=training)
        return keras.ops.relu(out + shortcut)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
            "dropout_rate": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="tf_drpm")
class ResNet18Encoder(keras.Model):
    """ResNet-18 layout mapping a 64x64 image to a `latent_dim` representation.

    The CelebA encoder of the multitask pipeline of Sener and Koltun (2018) as
    used by Sutter et al. (2023, appendix C.3.4): 3x3 stem (stride 1, no
    max-pool) with batch norm and ReLU, four stages of two basic blocks with
    `width * (1, 2, 4, 8)` filters and strides (1, 2, 2, 2), channel dropout
    after each convolution of a block, 4x4 average pooling, flatten and a
    linear layer to `latent_dim` (no final activation). For 64x64 inputs the
    pooled map is 2x2 so the linear layer sees `4 * 8 * width` features
    (2048 for `width=64`).

    Differences from the PyTorch reference: Keras' `SpatialDropout2D`
    (rescaled by `1 / (1 - rate)`), Keras initialisers, BN momentum 0.9 and
    epsilon 1e-5 as in PyTorch's defaults. Under `tf.distribute` the dropout
    masks are indexed by the global example and the batch norms use the
    statistics of the global batch (`tf_drpm.layers.GlobalBatchSpatialDropout2D`,
    `tf_drpm.layers.GlobalBatchNormalization`), so a train step on several
    replicas is that of one device.

    Args:
        latent_dim: Python int, output dimension (64 in the paper).
        width: Python int, filters of the first stage (64 for ResNet-18; use a
            small value for tests).
        dropout_rate: Float in [0, 1), channel dropout rate (0.5).
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        images: Float tensor `[batch, 64, 64, 3]`.
        training: Python bool or None.

    Returns:
        Float tensor `[batch, latent_dim]`.

    Example:

    >>> encoder = ResNet18Encoder(latent_dim=64, width=8)
    >>> encoder(keras.ops.zeros((2, 64, 64, 3))).shape
    TensorShape([2, 64])
    """

    def __init__(self, latent_dim=64, width=64, dropout_rate=0.5, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("latent_dim", latent_dim), ("width", width)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{arg}` must be a positive int. Received: {arg}={value}")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(
                f"`dropout_rate` must be in [0, 1). Received: dropout_rate={dropout_rate}"
            )
        self.latent_dim = latent_dim
        self.width = width
        self.dropout_rate = float(dropout_rate)
        self.stem_conv = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)
        self.stem_bn = GlobalBatchNormalization(momentum=0.9, epsilon=1e-5)
        self.blocks = []
        for stage, (multiplier, strides) in enumerate(((1, 1), (2, 2), (4, 2), (8, 2))):
            for index in range(2):
                self.blocks.append(
                    _BasicBlock(
                        width * multiplier,
                        strides=strides if index == 0 else 1,
                        dropout_rate=self.dropout_rate,
                        name=f"stage{stage + 1}_block{index + 1}",
                    )
                )
        self.pool = keras.layers.AveragePooling2D(4)
        self.flatten = keras.layers.Flatten()
        self.linear = keras.layers.Dense(latent_dim)

    def call(self, images, training=None):
        x = keras.ops.relu(self.stem_bn(self.stem_conv(images), training=training))
        for block in self.blocks:
            x = block(x, training=training)  # [B, 8, 8, 8 * width] after stage 4
        x = self.flatten(self.pool(x))  # [B, 2 * 2 * 8 * width]
        return self.linear(x)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "width": self.width,
            "dropout_rate": self.dropout_rate,
        }
