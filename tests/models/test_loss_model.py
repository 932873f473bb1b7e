"""Tests of the one train step (`LossModel`) and the one loss-scaling helper."""

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.models import LossModel
from tf_drpm.models import loss_model
from tf_drpm.models import scale_loss


class Regression(LossModel):

    def __init__(self, per_example=True, seeded=False, **kwargs):
        super().__init__(**kwargs)
        self.per_example = per_example
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
        self.unused = keras.layers.Dense(1)  # no gradient: skipped
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "error")}
        self.seen_seeds = []
        if seeded:
            self.seed = 7
            self.add_step_counter()

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.unused.build(input_shape)
        self.built = True

    def call(self, x):
        return self.dense(x)[:, 0]

    def compute_losses(self, data, seed=None, training=False):
        self.seen_seeds.append(seed)
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        errors = tf.square(self(x) - y)  # [batch]
        loss = errors if self.per_example else tf.reduce_mean(errors)
        return {"loss": loss, "error": errors}


class LossModelTest(tf.test.TestCase):

    def test_scale_loss_of_per_example_losses_and_of_a_mean(self):
        per_example = tf.constant([1., 2., 3., 6.])
        self.assertAllClose(scale_loss(per_example), 3.)
        self.assertAllClose(scale_loss(tf.reduce_mean(per_example)), 3.)

    def test_train_step_follows_the_gradient_of_the_mean(self):
        x = np.array([[1., 0.], [0., 2.], [1., 1.]], np.float32)
        y = np.array([0., 1., 3.], np.float32)
        kernels = []
        for per_example in (True, False):
            model = Regression(per_example)
            model.build((None, 2))
            model.compile(optimizer=keras.optimizers.SGD(0.1))
            logs = model.train_on_batch(x, y, return_dict=True)
            self.assertEqual(sorted(logs), ["error", "loss"])
            self.assertAllClose(logs["error"], np.mean((x.sum(1) - y) ** 2))
            kernels.append(self.evaluate(model.dense.kernel))
            self.assertAllClose(model.unused.kernel, model.unused.kernel)  # untouched
        residual = x.sum(1) - y
        expected = np.ones([2, 1]) - 0.1 * (2 * x.T @ residual / 3)[:, None]
        self.assertAllClose(kernels[0], expected, rtol=1e-5)
        self.assertAllClose(kernels[1], expected, rtol=1e-5)

    def test_step_seeds(self):
        model = Regression(seeded=True)
        model.build((None, 2))
        model.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
        x, y = np.ones([2, 2], np.float32), np.zeros([2], np.float32)
        model.train_on_batch(x, y)
        model.train_on_batch(x, y)
        model.test_on_batch(x, y)
        self.assertAllEqual([s.numpy() for s in model.seen_seeds], [[7, 0], [7, 1], [7, -1]])
        self.assertEqual(int(model.step_counter.numpy()), 2)
        unseeded = Regression()
        unseeded.build((None, 2))
        unseeded.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
        unseeded.train_on_batch(x, y)
        self.assertEqual(unseeded.seen_seeds, [None])

    def test_logs_are_scalars_and_reshaped_only_for_several_workers(self):
        model = Regression()
        model.build((None, 2))
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        logs = model.train_on_batch(np.ones([4, 2], np.float32), np.zeros([4], np.float32),
                                    return_dict=True)
        self.assertEqual(np.shape(logs["loss"]), ())
        self.assertFalse(loss_model._multi_worker(tf.distribute.get_strategy()))
        self.assertFalse(loss_model._multi_worker(tf.distribute.OneDeviceStrategy("/cpu:0")))


if __name__ == "__main__":
    tf.test.main()
