"""disentanglement_lib's convolutional Gaussian encoder as a Keras 3 layer."""

import keras

__all__ = ["ConvGaussianEncoder"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class ConvGaussianEncoder(keras.layers.Layer):
    """Convolutional encoder of a diagonal Gaussian posterior.

    The `conv_encoder` of disentanglement_lib (Locatello et al., 2019), row 3 of
    table 1 of the beta-VAE paper (Higgins et al., 2017): four ReLU convolutions
    (32 4x4, 32 4x4, 64 2x2, 64 2x2 filters, stride 2, "same" padding), a
    256-unit ReLU dense layer, then two linear heads for the means and the log
    variances.

    Args:
        num_latent: Positive int, latent dimension `d`. Default `10`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Float tensor `[batch, 64, 64, channels]` with values in [0, 1].

    Returns:
        A tuple `(mean, log_var)`, each `[batch, num_latent]`.

    Example:

    >>> mean, log_var = ConvGaussianEncoder(10)(np.zeros((2, 64, 64, 3)))
    >>> mean.shape
    TensorShape([2, 10])
    """

    def __init__(self, num_latent=10, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(num_latent, bool)
            or not isinstance(num_latent, int)
            or num_latent < 1
        ):
            raise ValueError(
                "Argument `num_latent` must be a positive int. "
                f"Received: num_latent={num_latent}"
            )
        self.num_latent = num_latent
        conv = {
            "strides": 2,
            "activation": "relu",
            "padding": "same",
            "dtype": self.dtype_policy,
        }
        self._convs = [
            keras.layers.Conv2D(32, 4, name="e1", **conv),
            keras.layers.Conv2D(32, 4, name="e2", **conv),
            keras.layers.Conv2D(64, 2, name="e3", **conv),
            keras.layers.Conv2D(64, 2, name="e4", **conv),
        ]
        self._flatten = keras.layers.Flatten(dtype=self.dtype_policy)
        self._hidden = keras.layers.Dense(
            256, activation="relu", name="e5", dtype=self.dtype_policy
        )
        self._mean = keras.layers.Dense(
            num_latent, name="means", dtype=self.dtype_policy
        )
        self._log_var = keras.layers.Dense(
            num_latent, name="log_var", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._convs:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self._flatten.build(shape)
        shape = self._flatten.compute_output_shape(shape)
        self._hidden.build(shape)
        shape = self._hidden.compute_output_shape(shape)
        self._mean.build(shape)
        self._log_var.build(shape)

    def call(self, inputs):
        hidden = inputs
        for layer in self._convs:
            hidden = layer(hidden)
        hidden = self._hidden(self._flatten(hidden))
        return self._mean(hidden), self._log_var(hidden)

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], self.num_latent)
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "num_latent": self.num_latent}
