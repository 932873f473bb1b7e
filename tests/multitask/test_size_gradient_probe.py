"""Tests for tf_drpm.multitask.size_gradient_probe."""

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.multitask.drpm_multitask import DRPMMultitask
from tf_drpm.multitask.size_gradient_probe import SizeGradientProbe
from tf_drpm.multitask.uniform_loss_scaling import UniformLossScaling


def _data(num=24, seed=0):
    rs = np.random.RandomState(seed)
    images = rs.normal(size=(num, 8)).astype(np.float32)
    labels = rs.randint(0, 3, size=(num, 2)).astype(np.int32)
    return images, labels


def _model(fixed_sizes=None):
    return DRPMMultitask(
        keras.layers.Dense(6, name="encoder"),
        [keras.layers.Dense(3, name="left_head"), keras.layers.Dense(3, name="right_head")],
        partition_encoder=keras.layers.Dense(5, name="partition_encoder"),
        task_names=["left", "right"], evaluation_temperature=0.5,
        fixed_sizes=fixed_sizes)


def _fit(images, labels, callbacks, epochs=2):
    keras.utils.set_random_seed(1)
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(images, labels, batch_size=8, epochs=epochs, shuffle=False,
                        callbacks=callbacks, verbose=0)
    return model, history


class SizeGradientProbeTest(tf.test.TestCase):

    def test_net_gradient_is_the_centred_task_loss_gradient(self):
        images, labels = _data()
        keras.utils.set_random_seed(0)
        model = _model()
        model(images[:2])
        model.partition.weights_bias.assign([0.7, -0.4])  # sizes away from 3 / 3
        probe = SizeGradientProbe(images, labels, batch_size=7)
        probe.set_model(model)
        grads = probe.size_gradients()
        # Independent path: the model's own objective on the whole probe set.
        with tf.GradientTape() as tape:
            task_loss = model.compute_losses((images, labels), training=False)["task_loss"]
        full = tape.gradient(task_loss, model.partition.weights_bias).numpy()
        self.assertAllClose(grads.mean(0), full - full.mean(), atol=1e-6)
        self.assertGreater(np.abs(grads).max(), 1e-6)  # the straight-through path is live
        self.assertAllClose(grads.sum(1), [0.0, 0.0], atol=1e-7)  # centred per loss

    def test_batch_size_does_not_change_the_result(self):
        images, labels = _data()
        keras.utils.set_random_seed(0)
        model = _model()
        model(images[:2])
        values = []
        for batch_size in (5, 24):
            probe = SizeGradientProbe(images, labels, batch_size=batch_size)
            probe.set_model(model)
            values.append(probe.size_gradients())
        self.assertAllClose(values[0], values[1], atol=1e-6)

    def test_logs_every_pair_and_leaves_training_unchanged(self):
        images, labels = _data()
        probe = SizeGradientProbe(images[:10], labels[:10])
        with_probe, history = _fit(images, labels, [probe])
        without, _ = _fit(images, labels, [])
        for key in ("size_gradient/left_loss/left", "size_gradient/left_loss/right",
                    "size_gradient/right_loss/left", "size_gradient/right_loss/right",
                    "size_gradient/net/left", "size_gradient/net/right"):
            self.assertLen(history.history[key], 2)
            self.assertTrue(np.all(np.isfinite(history.history[key])))
        for a, b in zip(with_probe.get_weights(), without.get_weights()):
            self.assertAllEqual(a, b)

    def test_errors(self):
        images, labels = _data()
        with self.assertRaisesRegex(ValueError, r"len\(images\)=24, len\(labels\)=3"):
            SizeGradientProbe(images, labels[:3])
        with self.assertRaisesRegex(ValueError, "Received: batch_size=0"):
            SizeGradientProbe(images, labels, batch_size=0)
        for model in (_model(fixed_sizes=(3, 3)),
                      UniformLossScaling(keras.layers.Dense(6),
                                         [keras.layers.Dense(3), keras.layers.Dense(3)])):
            model(images[:2])
            probe = SizeGradientProbe(images, labels)
            probe.set_model(model)
            with self.assertRaisesRegex(TypeError, "learnt subset sizes"):
                probe.size_gradients()


if __name__ == "__main__":
    tf.test.main()
