"""Batch normalization with the statistics of the global batch under `tf.distribute`."""

import keras
import tensorflow as tf

from tf_drpm.internal import distribute_util

__all__ = ["GlobalBatchNormalization", "global_moments"]


def global_moments(x, axes):
    """Mean and variance of `x` over `axes`, with the batch axis the global batch.

    Under a `tf.distribute` strategy with several replicas the sums run over
    every replica's rows (all-reduced), in two passes as `tf.nn.moments`
    computes them (the mean, then the mean squared deviation from it), so the
    statistics are those of one device holding the global batch, up to the
    order of the summation. Gradients flow back to every replica's rows (the
    gradient of an all-reduced sum is all-reduced). With one replica it is
    `tf.nn.moments(x, axes)`.

    Args:
        x: Float tensor whose axis 0 is the batch.
        axes: List of Python ints, the reduced axes (including 0).

    Returns:
        `(mean, variance)`, each of the shape of `x` without `axes`.

    Raises:
        ValueError: if `axes` does not include the batch axis 0.
    """
    axes = [int(a) % x.shape.rank for a in axes]
    if 0 not in axes:
        raise ValueError(
            "`axes` must include the batch axis 0 (statistics over the global batch). "
            f"Received: axes={axes}")
    context = distribute_util.replica_context()
    if context is None:
        return tf.nn.moments(x, axes)
    x = tf.identity(x)  # an op of this replica, for the collectives
    shape = tf.shape(x)
    count = tf.cast(tf.reduce_prod(tf.gather(shape, axes)), x.dtype)
    count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    mean = context.all_reduce(
        tf.distribute.ReduceOp.SUM, tf.reduce_sum(x, axes, keepdims=True)) / count
    squared = tf.math.squared_difference(x, tf.stop_gradient(mean))
    variance = context.all_reduce(
        tf.distribute.ReduceOp.SUM, tf.reduce_sum(squared, axes, keepdims=True)) / count
    return tf.squeeze(mean, axes), tf.squeeze(variance, axes)


@keras.saving.register_keras_serializable(package="tf_drpm")
class GlobalBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` normalising by the global batch.

    In training, under a `tf.distribute` strategy with several replicas, the
    batch mean and variance (and so the moving statistics) are those of the
    global batch (`global_moments`), not of the replica's part: a train step
    on 1 or several replicas is the same computation. On one device (or with
    a `mask`, or `synchronized=True`) it is Keras' layer unchanged. Same
    arguments and config as `keras.layers.BatchNormalization`.

    Keras' own `synchronized=True` also all-reduces, but computes the variance
    as `E[x^2] - E[x]^2`, which is not one device's two-pass `tf.nn.moments`
    and loses precision in float32 when the mean is large against the spread.
    """

    def _moments(self, inputs, mask):
        if (mask is None and not self.synchronized
                and distribute_util.replica_context() is not None):
            return global_moments(inputs, self._reduction_axes)
        return super()._moments(inputs, mask)
