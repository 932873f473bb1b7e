"""disentanglement_lib's deconvolutional decoder as a Keras 3 layer."""

import keras

__all__ = ["DeconvDecoder"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class DeconvDecoder(keras.layers.Layer):
    """Deconvolutional decoder returning Bernoulli logits of square images.

    The `deconv_decoder` of disentanglement_lib (Locatello et al., 2019): ReLU
    dense layers of 256 and 1024 units, a reshape to `[4, 4, 64]`, three ReLU
    transposed convolutions (64, 32, 32 filters of 4x4, stride 2) and a linear
    transposed convolution to `channels` maps, all with "same" padding. For
    other square sizes `s` (a multiple of 16) the second dense layer has
    `(s / 16)^2 * 64` units reshaped to `[s / 16, s / 16, 64]`, the rest
    unchanged; `s = 64` is disentanglement_lib's decoder.

    Args:
        observation_shape: `(s, s, channels)` with `s` a multiple of 16.
            Default `(64, 64, 3)`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Float tensor `[batch, d]` of latent codes.

    Returns:
        Logits `[batch, 64, 64, channels]` (apply a sigmoid for pixel means).

    Example:

    >>> DeconvDecoder((64, 64, 1))(np.zeros((2, 10))).shape
    TensorShape([2, 64, 64, 1])
    """

    def __init__(self, observation_shape=(64, 64, 3), **kwargs):
        super().__init__(**kwargs)
        observation_shape = tuple(int(s) for s in observation_shape)
        if (
            len(observation_shape) != 3
            or observation_shape[0] != observation_shape[1]
            or observation_shape[0] < 16
            or observation_shape[0] % 16
            or (observation_shape[2] < 1)
        ):
            raise ValueError(
                "Argument `observation_shape` must be (s, s, channels) with s a "
                f"multiple of 16. Received: observation_shape={observation_shape}"
            )
        base = observation_shape[0] // 16
        self._base_shape = (base, base, 64)
        self.observation_shape = observation_shape
        policy = self.dtype_policy
        deconv = {"kernel_size": 4, "strides": 2, "padding": "same", "dtype": policy}
        self._dense = [
            keras.layers.Dense(256, activation="relu", name="d1", dtype=policy),
            keras.layers.Dense(
                base * base * 64, activation="relu", name="d2", dtype=policy
            ),
        ]
        self._reshape = keras.layers.Reshape(self._base_shape, dtype=policy)
        self._deconvs = [
            keras.layers.Conv2DTranspose(64, activation="relu", name="d3", **deconv),
            keras.layers.Conv2DTranspose(32, activation="relu", name="d4", **deconv),
            keras.layers.Conv2DTranspose(32, activation="relu", name="d5", **deconv),
            keras.layers.Conv2DTranspose(observation_shape[2], name="d6", **deconv),
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._dense:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        shape = (shape[0],) + self._base_shape
        for layer in self._deconvs:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        hidden = inputs
        for layer in self._dense:
            hidden = layer(hidden)
        hidden = self._reshape(hidden)
        for layer in self._deconvs:
            hidden = layer(hidden)
        return hidden

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.observation_shape

    def get_config(self):
        return {**super().get_config(), "observation_shape": self.observation_shape}
