"""Tests of GlobalBatchDropout, GlobalBatchSpatialDropout2D and GlobalBatchNormalization."""

import keras
import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tf_drpm.layers import GlobalBatchDropout
from tf_drpm.layers import GlobalBatchNormalization
from tf_drpm.layers import GlobalBatchSpatialDropout2D
from tf_drpm.layers.global_batch_dropout import global_batch_dropout

# One device (the default strategy, CPU:0) vs 2 mirrored logical CPUs, in a
# fresh process: the layers' training outputs (and BN's moving statistics and
# gradients) on a global batch of 4, and Keras' Dropout for contrast.
_MIRRORED_SCRIPT = """
import json
from trainers.core import strategy as strategy_lib
devices = strategy_lib.create_logical_cpu_devices(2)
import keras, numpy as np, tensorflow as tf
from tf_drpm.layers import GlobalBatchDropout, GlobalBatchNormalization
from tf_drpm.layers import GlobalBatchSpatialDropout2D

x = np.random.RandomState(0).normal(size=(4, 3, 3, 5)).astype(np.float32)

def run(strategy):
    with strategy.scope():
        layers = [GlobalBatchDropout(0.5, seed=3), GlobalBatchSpatialDropout2D(0.5, seed=4),
                  keras.layers.Dropout(0.5, seed=3), GlobalBatchNormalization()]
        for layer in layers:
            layer.build(x.shape)
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(4))

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            outputs = [layer(batch, training=True) for layer in layers]
            loss = tf.reduce_sum(outputs[3] ** 3) / 4.0
        grad = tape.gradient(loss, batch)
        context = tf.distribute.get_replica_context()
        if context.num_replicas_in_sync > 1:
            outputs = [context.all_gather(o, axis=0) for o in outputs]
            grad = context.all_gather(grad, axis=0)
        return outputs, grad

    outputs, grad = strategy.run(step, args=(next(iter(dataset)),))
    outputs, grad = tf.nest.map_structure(
        lambda v: strategy.experimental_local_results(v)[0], (outputs, grad))
    return {"outputs": [np.asarray(o).tolist() for o in outputs],
            "grad": np.asarray(grad).tolist(),
            "moving_mean": layers[3].moving_mean.numpy().tolist(),
            "moving_variance": layers[3].moving_variance.numpy().tolist()}

print("RESULT" + json.dumps({
    "default": run(tf.distribute.get_strategy()),
    "mirrored": run(tf.distribute.MirroredStrategy(devices))}))
"""


class GlobalBatchDropoutTest(tf.test.TestCase):

    def test_one_device_is_keras_dropout(self):
        x = np.random.RandomState(0).normal(size=(6, 4, 4, 3)).astype(np.float32)
        for ours, theirs in ((GlobalBatchDropout(0.3, seed=1), keras.layers.Dropout(0.3, seed=1)),
                             (GlobalBatchSpatialDropout2D(0.4, seed=2),
                              keras.layers.SpatialDropout2D(0.4, seed=2))):
            for _ in range(2):  # the seed generators advance alike
                self.assertAllEqual(ours(x, training=True), theirs(x, training=True))
            self.assertAllEqual(ours(x, training=False), x)

    def test_shared_mask_and_noise_shape(self):
        x = tf.ones([3, 8])
        out = global_batch_dropout(x, 0.5, (1, None), tf.constant([1, 2]))
        self.assertAllEqual(out[0], out[1])  # one mask for every row
        self.assertAllEqual(global_batch_dropout(x, 0.0, None, tf.constant([1, 2])), x)

    def test_invalid_rate(self):
        with self.assertRaisesRegex(ValueError, r"`rate` must be a float in \[0, 1\). "
                                    r"Received: rate=1.0"):
            global_batch_dropout(tf.ones([2, 2]), 1.0, None, tf.constant([1, 2]))


class GlobalBatchNormalizationTest(tf.test.TestCase):

    def test_one_device_is_keras_batch_normalization(self):
        x = np.random.RandomState(1).normal(size=(5, 3, 3, 4)).astype(np.float32)
        ours, theirs = GlobalBatchNormalization(), keras.layers.BatchNormalization()
        self.assertAllEqual(ours(x, training=True), theirs(x, training=True))
        self.assertAllEqual(ours.moving_variance, theirs.moving_variance)

    def test_mirrored_two_cpus_match_one_device(self):
        out = subprocess_result.run_result_script(self, _MIRRORED_SCRIPT)
        default, mirrored = out["default"], out["mirrored"]
        for index in (0, 1, 3):  # the global-batch layers
            self.assertAllClose(mirrored["outputs"][index], default["outputs"][index],
                                rtol=1e-5, atol=1e-5)
        self.assertAllClose(mirrored["grad"], default["grad"], rtol=1e-5, atol=1e-5)
        for name in ("moving_mean", "moving_variance"):
            self.assertAllClose(mirrored[name], default[name], rtol=1e-5, atol=1e-6)
        # Keras' Dropout: replica 1 repeats replica 0's masks, unlike one device.
        keras_mirrored = np.asarray(mirrored["outputs"][2])
        self.assertAllEqual(keras_mirrored[2:] == 0, keras_mirrored[:2] == 0)
        self.assertNotAllClose(keras_mirrored, default["outputs"][2])


if __name__ == "__main__":
    tf.test.main()
