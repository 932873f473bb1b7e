"""Uniform loss scaling (ULS): the multitask baseline of DRPM-MTL."""

import keras
import tensorflow as tf

from tf_drpm.multitask._multitask_model import _MultitaskModel

__all__ = ["UniformLossScaling"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class UniformLossScaling(_MultitaskModel):
    """Shared encoder, every head sees the whole representation `z`.

    The loss is the task cross-entropies with equal weights,
    `(1 / T) sum_t CE_t` (w_L = w_R = 0.5 for two tasks, Sutter et al., 2023,
    appendix C.3.2), plus an optional L1 penalty `l1_weight * mean |z|` (the
    reference code turns it on with 0.015 by default; the paper does not
    mention it, so it is off here by default).

    Args:
        encoder: Keras model/layer mapping images to `z` `[batch, d]`.
        heads: List of `T` Keras models/layers mapping `[batch, d]` to logits.
        task_names: Optional list of `T` unique names used in metric names
            (default `task0`, `task1`, ...).
        l1_weight: Non-negative float, weight of the L1 penalty on `z`.
        **kwargs: Base `keras.Model` arguments.

    Call arguments:
        images: Input batch.
        training: Python bool or None.

    Returns:
        A dict with `logits` (list of `T` tensors `[batch, num_classes_t]`) and
        `features` (`z`, `[batch, d]`).

    Metrics (`fit`/`evaluate`): `loss`, `task_loss`, `<task>_accuracy`,
    `mean_accuracy` and, when `l1_weight > 0`, `l1_penalty`.

    Example:

    >>> model = UniformLossScaling(
    ...     MultiLeNet(), [MultiLeNetHead(), MultiLeNetHead()],
    ...     task_names=["left", "right"])
    >>> model.compile(optimizer=keras.optimizers.Adam(5e-4))
    >>> # model.fit(dataset_of_images_and_int_labels_[B, 2], epochs=...)
    """

    def __init__(self, encoder, heads, task_names=None, l1_weight=0.0, **kwargs):
        if not l1_weight >= 0:
            raise ValueError(
                f"`l1_weight` must be non-negative. Received: l1_weight={l1_weight}"
            )
        self.l1_weight = float(l1_weight)
        super().__init__(encoder, heads, task_names=task_names, **kwargs)

    def _extra_metric_names(self):
        return ["l1_penalty"] if self.l1_weight > 0 else []

    def _extra_losses(self, outputs):
        if self.l1_weight == 0:
            return {}
        features = tf.cast(outputs["features"], tf.float32)
        return {"l1_penalty": self.l1_weight * tf.reduce_mean(tf.abs(features))}

    def call(self, images, training=None):
        features = self.encoder(images, training=training)  # [B, d]
        logits = [head(features, training=training) for head in self.heads]
        return {"logits": logits, "features": features}

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight}
