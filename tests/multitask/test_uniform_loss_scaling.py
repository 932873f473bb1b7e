"""Tests for tf_drpm.multitask.uniform_loss_scaling."""

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.multitask.multi_lenet import MultiLeNet
from tf_drpm.multitask.multi_lenet_head import MultiLeNetHead
from tf_drpm.multitask.resnet18_encoder import ResNet18Encoder
from tf_drpm.multitask.uniform_loss_scaling import UniformLossScaling


def _data(num=16, seed=0):
    rs = np.random.RandomState(seed)
    images = rs.uniform(size=(num, 28, 28, 1)).astype(np.float32)
    labels = rs.randint(0, 10, size=(num, 2)).astype(np.int32)
    return images, labels


def _model(l1_weight=0.0):
    return UniformLossScaling(
        MultiLeNet(latent_dim=50),
        [MultiLeNetHead(10), MultiLeNetHead(10)],
        task_names=["left", "right"],
        l1_weight=l1_weight,
    )


class UniformLossScalingTest(tf.test.TestCase):

    def test_evaluate_matches_manual_loss(self):
        keras.utils.set_random_seed(1)
        images, labels = _data()
        model = _model(l1_weight=0.1)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        result = model.evaluate(images, labels, batch_size=16, verbose=0, return_dict=True)
        out = model(images, training=False)
        ce = [
            keras.losses.sparse_categorical_crossentropy(labels[:, t], out["logits"][t],
                                                         from_logits=True)
            for t in range(2)
        ]
        task_loss = 0.5 * (np.mean(ce[0]) + np.mean(ce[1]))
        l1 = 0.1 * np.mean(np.abs(out["features"]))
        self.assertAllClose(result["task_loss"], task_loss, rtol=1e-5)
        self.assertAllClose(result["l1_penalty"], l1, rtol=1e-5)
        self.assertAllClose(result["loss"], task_loss + l1, rtol=1e-5)
        accs = [np.mean(np.argmax(out["logits"][t], -1) == labels[:, t]) for t in range(2)]
        self.assertAllClose(result["left_accuracy"], accs[0])
        self.assertAllClose(result["right_accuracy"], accs[1])
        self.assertAllClose(result["mean_accuracy"], np.mean(accs))

    def test_one_train_step_updates_all_parts(self):
        keras.utils.set_random_seed(2)
        images, labels = _data()
        model = _model()
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model(images[:1])
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        self.assertCountEqual(
            history.history.keys(),
            ["loss", "task_loss", "left_accuracy", "right_accuracy", "mean_accuracy"],
        )
        changed = [
            not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights)
        ]
        self.assertTrue(all(changed), msg=[w.path for w, c in zip(model.trainable_weights, changed) if not c])

    def test_resnet_encoder_celeba_shapes(self):
        keras.utils.set_random_seed(5)
        model = UniformLossScaling(
            ResNet18Encoder(latent_dim=64, width=4), [keras.layers.Dense(2) for _ in range(3)]
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        images = np.random.RandomState(0).uniform(size=(2, 64, 64, 3)).astype(np.float32)
        labels = np.random.RandomState(1).randint(0, 2, size=(2, 3)).astype(np.int32)
        model(images[:1])
        before = [w.numpy().copy() for w in model.encoder.trainable_weights]
        history = model.fit(images, labels, batch_size=2, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        self.assertIn("task2_accuracy", history.history)
        changed = [not np.allclose(b, w.numpy())
                   for b, w in zip(before, model.encoder.trainable_weights)]
        self.assertTrue(all(changed))

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "l1_weight=-1"):
            _model(l1_weight=-1)
        with self.assertRaisesRegex(ValueError, "task_names"):
            UniformLossScaling(MultiLeNet(), [MultiLeNetHead()], task_names=["a", "b"])
        with self.assertRaisesRegex(ValueError, "heads"):
            UniformLossScaling(MultiLeNet(), [])


if __name__ == "__main__":
    tf.test.main()
