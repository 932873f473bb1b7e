"""Dropout whose masks depend on the global example index under `tf.distribute`.

Keras' dropout layers draw their mask from the layer's seed generator for the
batch they see. Under a `tf.distribute` strategy every replica holds the same
seed, so replica 1 repeats replica 0's masks row by row and the global batch
gets other masks than on one device. These layers draw the mask of the
global batch with the same stateless seed on every replica and keep this
replica's rows (`tf_drpm.internal.distribute_util.GlobalBatch.uniform`), so the
mask of an example depends on (seed, step, global example index) only, and a
train step on 1, 2 or 8 replicas is the same computation. On one device they
are exactly Keras' layers (the same ops and the same masks).
"""

import keras
import tensorflow as tf

from tf_drpm.internal import distribute_util

__all__ = [
    "GlobalBatchDropout",
    "global_batch_dropout",
    "seed_from",
]


def global_batch_dropout(inputs, rate, noise_shape, seed):
    """`tf.nn.experimental.stateless_dropout` with the mask indexed globally.

    Args:
        inputs: Float tensor `[batch, ...]`, this replica's rows.
        rate: Python float in [0, 1), the drop probability.
        noise_shape: Shape of the mask, broadcastable to `inputs`, or `None`
            (the input's shape). Entries `None` take the input's size. A
            first entry of the Python int 1 shares one mask across the batch
            (every replica draws the same one); any other first entry
            (`None`, the batch size) gives one mask per example, indexed
            globally.
        seed: Stateless seed, a shape-[2] integer tensor (the same on every
            replica).

    Returns:
        `inputs` with dropped entries set to 0 and kept ones scaled by
        `1 / (1 - rate)`.

    Raises:
        ValueError: if `rate` is not in [0, 1).
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(f"Argument `rate` must be a float in [0, 1). Received: rate={rate!r}")
    inputs = tf.convert_to_tensor(inputs)
    if rate == 0.0:
        return inputs
    dtype = inputs.dtype
    shape = tf.shape(inputs)
    if noise_shape is None:
        noise_shape = [None] * inputs.shape.rank
    shared = isinstance(noise_shape[0], int) and noise_shape[0] == 1
    noise_shape = tf.stack([shape[i] if n is None else tf.cast(n, tf.int32)
                            for i, n in enumerate(noise_shape)])
    if shared:  # one mask for every row: nothing to index
        noise = tf.random.stateless_uniform(noise_shape, seed=seed, dtype=dtype)
    else:
        noise = distribute_util.global_batch(shape[0]).uniform(noise_shape, seed, dtype=dtype)
    # The ops of `stateless_dropout`: scale, then zero the dropped entries.
    scaled = inputs * tf.constant(1.0 / (1.0 - rate), dtype)
    return tf.where(noise >= tf.cast(rate, dtype), scaled, tf.zeros([], dtype))


def seed_from(seed_generator):
    """The next stateless seed of a `keras.random.SeedGenerator`, as an int32 `[2]`.

    Cast as Keras' TensorFlow backend casts it for its own dropout, so the
    layers here draw Keras' masks on one device.
    """
    return tf.cast(tf.math.floormod(seed_generator.next(), tf.int32.max - 1), tf.int32)


@keras.saving.register_keras_serializable(package="tf_drpm")
class GlobalBatchDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` whose masks are indexed by the global example.

    Same arguments, config and single-device behaviour as
    `keras.layers.Dropout`; under a `tf.distribute` strategy with several
    replicas the mask of the global batch is drawn with the shared seed and
    each replica keeps its rows (see the module docstring). A `noise_shape`
    whose batch entry is 1 shares one mask across the batch; any other
    batch entry gives one mask per example.
    """

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return global_batch_dropout(inputs, self.rate, self.noise_shape,
                                        seed_from(self.seed_generator))
        return inputs
