"""Tests for MultiLeNet, MultiLeNetHead and ResNet18Encoder."""

import keras
import numpy as np
import tensorflow as tf

from tests.keras_round_trip import check_keras_file_round_trip
from tf_drpm.multitask.multi_lenet import MultiLeNet
from tf_drpm.multitask.multi_lenet_head import MultiLeNetHead
from tf_drpm.multitask.resnet18_encoder import ResNet18Encoder


class MultiLeNetTest(tf.test.TestCase):

    def test_shapes_and_relu(self):
        keras.utils.set_random_seed(0)
        encoder = MultiLeNet(latent_dim=50)
        x = tf.random.normal([3, 28, 28, 1])
        z = encoder(x)
        self.assertEqual(z.shape, (3, 50))
        self.assertAllGreaterEqual(z, 0.0)
        self.assertEqual(encoder.flatten.compute_output_shape((None, 4, 4, 20)), (None, 320))
        # Inference is deterministic; training applies channel dropout.
        self.assertAllClose(encoder(x, training=False), encoder(x, training=False))
        self.assertNotAllClose(encoder(x, training=True), encoder(x, training=False))

    def test_head(self):
        head = MultiLeNetHead(num_classes=7)
        logits = head(tf.ones([4, 50]))
        self.assertEqual(logits.shape, (4, 7))

    def test_configs(self):
        encoder = MultiLeNet(latent_dim=12, dropout_rate=0.25)
        clone = MultiLeNet.from_config(encoder.get_config())
        self.assertEqual(clone.latent_dim, 12)
        self.assertEqual(clone.dropout_rate, 0.25)
        head = MultiLeNetHead.from_config(MultiLeNetHead(3, 8, 0.1).get_config())
        self.assertEqual((head.num_classes, head.hidden_units, head.dropout_rate), (3, 8, 0.1))

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "latent_dim=0"):
            MultiLeNet(latent_dim=0)
        with self.assertRaisesRegex(ValueError, "dropout_rate=1.0"):
            MultiLeNet(dropout_rate=1.0)
        with self.assertRaisesRegex(ValueError, "num_classes=1"):
            MultiLeNetHead(num_classes=1)


class ResNet18EncoderTest(tf.test.TestCase):

    def test_shapes_and_layout(self):
        encoder = ResNet18Encoder(latent_dim=64, width=4)
        z = encoder(tf.random.normal([2, 64, 64, 3]), training=False)
        self.assertEqual(z.shape, (2, 64))
        self.assertLen(encoder.blocks, 8)
        self.assertEqual([b.filters for b in encoder.blocks], [4, 4, 8, 8, 16, 16, 32, 32])
        self.assertEqual([b.strides for b in encoder.blocks], [1, 1, 2, 1, 2, 1, 2, 1])
        # 64x64 -> 8x8 after three stride-2 stages -> 2x2 after pooling.
        self.assertEqual(encoder.linear.kernel.shape, (2 * 2 * 8 * 4, 64))
        # Shortcut projections exactly where the shape changes.
        self.assertEqual(
            [b.shortcut_conv is not None for b in encoder.blocks],
            [False, False, True, False, True, False, True, False],
        )

    def test_full_width_feature_size(self):
        encoder = ResNet18Encoder(latent_dim=64)
        encoder(keras.Input((64, 64, 3)))
        self.assertEqual(encoder.linear.kernel.shape, (2048, 64))
        num_params = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
        # ResNet-18 trunk (~11.2M with a 3x3 stem) + 2048*64 + 64 linear.
        self.assertBetween(num_params, 11.0e6, 11.4e6)

    def test_config(self):
        clone = ResNet18Encoder.from_config(ResNet18Encoder(32, 8, 0.3).get_config())
        self.assertEqual((clone.latent_dim, clone.width, clone.dropout_rate), (32, 8, 0.3))

    def test_keras_file_round_trips(self):
        rng = np.random.RandomState(3)
        check_keras_file_round_trip(
            self, MultiLeNet(latent_dim=20, name="encoder"),
            rng.normal(size=(2, 28, 28, 1)).astype(np.float32), training=False)
        check_keras_file_round_trip(
            self, MultiLeNetHead(10, name="head"),
            rng.normal(size=(2, 20)).astype(np.float32), training=False)
        check_keras_file_round_trip(
            self, ResNet18Encoder(16, 8, name="resnet"),
            rng.normal(size=(2, 32, 32, 3)).astype(np.float32), training=False)


if __name__ == "__main__":
    tf.test.main()
