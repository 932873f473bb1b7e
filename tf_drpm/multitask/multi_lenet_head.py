"""Task head of the MultiLeNet (Sener and Koltun, 2018)."""

import keras

from tf_drpm.layers.global_batch_dropout import GlobalBatchDropout

__all__ = ["MultiLeNetHead"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class MultiLeNetHead(keras.Model):
    """Task-specific classifier: `dense (hidden) -> ReLU -> dropout -> dense`.

    Returns unnormalised logits (the reference applies `log_softmax`; use a
    cross-entropy `from_logits=True`). Differences from the PyTorch
    reference: Keras `Dropout` rescales by `1 / (1 - rate)` in training. Its
    masks are indexed by the global example (`tf_drpm.layers.GlobalBatchDropout`),
    so a train step under `tf.distribute` draws the masks of one device.

    Args:
        num_classes: Python int, number of classes of the task.
        hidden_units: Python int, width of the hidden layer (50).
        dropout_rate: Float in [0, 1).
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        features: Float tensor `[batch, d]`.
        training: Python bool or None.

    Returns:
        Logits `[batch, num_classes]`.

    Example:

    >>> head = MultiLeNetHead(num_classes=10)
    >>> head(keras.ops.zeros((4, 50))).shape
    TensorShape([4, 10])
    """

    def __init__(self, num_classes=10, hidden_units=50, dropout_rate=0.5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"`num_classes` must be an int >= 2. Received: num_classes={num_classes}"
            )
        if not isinstance(hidden_units, int) or hidden_units < 1:
            raise ValueError(
                "`hidden_units` must be a positive int. "
                f"Received: hidden_units={hidden_units}"
            )
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(
                f"`dropout_rate` must be in [0, 1). Received: dropout_rate={dropout_rate}"
            )
        self.num_classes = num_classes
        self.hidden_units = hidden_units
        self.dropout_rate = float(dropout_rate)
        self.hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")
        self.dropout = GlobalBatchDropout(self.dropout_rate, name="dropout")
        self.logits = keras.layers.Dense(num_classes, name="logits")

    def call(self, features, training=None):
        x = self.dropout(self.hidden(features), training=training)
        return self.logits(x)

    def get_config(self):
        base = super().get_config()
        return {
            **base,
            "num_classes": self.num_classes,
            "hidden_units": self.hidden_units,
            "dropout_rate": self.dropout_rate,
        }
