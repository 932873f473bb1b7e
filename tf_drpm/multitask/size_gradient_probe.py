"""Keras callback logging which task's loss pushes DRPM-MTL's subset sizes."""

import keras
import numpy as np
import tensorflow as tf

__all__ = ["SizeGradientProbe"]


class SizeGradientProbe(keras.callbacks.Callback):
    """Logs each task loss's gradient on the size logits of `DRPMMultitask`.

    DRPM-MTL's subset sizes `n ~ MVHG(d, log_weights)` reach the task losses
    through straight-through counts, and `log_weights = e W + b` is the size
    map of its `TaskPartition` (`e` the partition encoding). At the end of
    every epoch this callback evaluates the model on a fixed probe set and
    computes, for every task loss `CE_t` and every subset `j`,

    ```
    g[t, j] = d CE_t / d b_j  -  mean_k d CE_t / d b_k
            = mean over the probe set of the centred gradient of CE_t
              with respect to the log-weight of subset j.
    ```

    A common shift of the log-weights leaves the MVHG unchanged, hence the
    centring. Gradient descent moves `b_j` by `-learning_rate * sum_t g[t, j]
    / T`: a negative `g[t, j]` means task `t`'s loss asks for a larger subset
    `j`. The values are added to the epoch's logs as
    `size_gradient/<task t>_loss/<task j>` (and printed by Keras' progress
    bar), with `size_gradient/net/<task j>` the sum over tasks divided by `T`
    (the objective's weighting).

    The probe runs the deterministic evaluation path (`training=False`: no
    dropout, the partition at its evaluation temperature) and draws no random
    numbers, so it does not change the training run it observes.

    Args:
        images: Probe images (NumPy array or tensor, `[N, ...]`).
        labels: Integer labels `[N, T]`.
        batch_size: Positive int; the probe set is processed in batches of
            this size and the gradients averaged with weights by batch size.

    Raises:
        ValueError: if `images` and `labels` differ in length, either is
            empty, or `batch_size` is not a positive int.
        TypeError: (at the first epoch end) if the model has no learnt size
            map (`fixed_sizes` set, or not a `DRPMMultitask`).

    Example:

    >>> probe = SizeGradientProbe(test_images[:1024], test_labels[:1024])
    >>> # model.fit(train, epochs=..., callbacks=[probe])
    >>> # history.history["size_gradient/right_loss/right"]
    """

    def __init__(self, images, labels, batch_size=256):
        super().__init__()
        images = np.asarray(images)
        labels = np.asarray(labels)
        if len(images) == 0 or len(images) != len(labels):
            raise ValueError(
                "`images` and `labels` must be non-empty and of the same length. "
                f"Received: len(images)={len(images)}, len(labels)={len(labels)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
                or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")
        self.images = images
        self.labels = labels.astype(np.int32)
        self.batch_size = batch_size
        self._gradients_fn = None

    def _bias(self):
        partition = getattr(self.model, "partition", None)
        bias = getattr(partition, "weights_bias", None)
        if bias is None:
            raise TypeError(
                "SizeGradientProbe needs a DRPMMultitask with learnt subset sizes "
                "(a TaskPartition with a size map, i.e. fixed_sizes=None). "
                f"Received: model={type(self.model).__name__}")
        return bias

    def _build_gradients_fn(self):
        bias = self._bias()
        model = self.model

        @tf.function
        def gradients(images, labels):
            with tf.GradientTape(persistent=True) as tape:
                outputs = model(images, training=False)
                losses = [
                    tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                        labels[:, t], tf.cast(logits, tf.float32)))
                    for t, logits in enumerate(outputs["logits"])
                ]
            rows = [tf.cast(tape.gradient(loss, bias), tf.float32) for loss in losses]
            del tape
            return tf.stack(rows)  # [T (loss), T (subset)]

        return gradients

    def size_gradients(self):
        """The centred gradients `g[t, j]` on the probe set, a `[T, T]` array."""
        if self._gradients_fn is None:
            self._gradients_fn = self._build_gradients_fn()
        total, count = 0.0, 0
        for start in range(0, len(self.images), self.batch_size):
            images = self.images[start:start + self.batch_size]
            labels = self.labels[start:start + self.batch_size]
            total = total + len(images) * self._gradients_fn(
                tf.convert_to_tensor(images), tf.convert_to_tensor(labels)).numpy()
            count += len(images)
        grads = total / count
        return grads - grads.mean(axis=1, keepdims=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        grads = self.size_gradients()
        names = list(self.model.task_names)
        for t, loss_name in enumerate(names):
            for j, subset_name in enumerate(names):
                logs[f"size_gradient/{loss_name}_loss/{subset_name}"] = float(grads[t, j])
        net = grads.mean(axis=0)
        for j, subset_name in enumerate(names):
            logs[f"size_gradient/net/{subset_name}"] = float(net[j])
