"""Spatial dropout whose masks depend on the global example index under `tf.distribute`."""

import keras

from tf_drpm.layers.global_batch_dropout import global_batch_dropout
from tf_drpm.layers.global_batch_dropout import seed_from

__all__ = ["GlobalBatchSpatialDropout2D"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class GlobalBatchSpatialDropout2D(keras.layers.SpatialDropout2D):
    """`keras.layers.SpatialDropout2D` whose masks are indexed by the global
    example (one mask per example and channel, as Keras; see
    `GlobalBatchDropout`)."""

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            # Keras' shape with the batch entry `None`: one mask per example
            # even when a replica holds a single row.
            noise_shape = (None,) + tuple(self._get_noise_shape(inputs))[1:]
            return global_batch_dropout(inputs, self.rate, noise_shape,
                                        seed_from(self.seed_generator))
        return inputs
