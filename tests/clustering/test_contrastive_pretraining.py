"""Tests of MLPAutoencoder and ContrastivePretraining (augmentations, losses, steps)."""

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.clustering import contrastive_pretraining as cp
from tf_drpm.clustering.contrastive_pretraining import ContrastivePretraining
from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder


def _images(n=8, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (n, 28, 28)).astype(np.uint8)


def _numpy_nt_xent(a, b, temperature):
    f = np.concatenate([a, b])
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    n = len(a)
    logits = f @ f.T / temperature
    np.fill_diagonal(logits, -np.inf)
    labels = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    m = logits.max(1, keepdims=True)
    log_softmax = logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True))
    return -log_softmax[np.arange(2 * n), labels].mean()


class MLPAutoencoderTest(tf.test.TestCase):
    def test_shapes_and_paper_architecture(self):
        ae = MLPAutoencoder(latent_dim=20)
        ae.build()
        mean, log_scale = ae.encode(_images(3))
        self.assertEqual(mean.shape, (3, 20))
        self.assertEqual(log_scale.shape, (3, 20))
        self.assertEqual(ae.decode_logits(mean).shape, (3, 784))
        self.assertEqual([l.units for l in ae.trunk.layers], [500, 500, 2000])
        self.assertEqual([l.units for l in ae.decoder.layers], [2000, 500, 500, 784])
        ae.reset_log_scale_head(-2.0)
        self.assertAllClose(ae.encode(_images(2))[1], -2.0 * np.ones((2, 20)))

    def test_reconstruction_step_lowers_loss(self):
        ae = MLPAutoencoder(latent_dim=3, trunk_units=(16, 8))
        ae.compile(optimizer=keras.optimizers.Adam(1e-2))
        x = np.random.RandomState(0).uniform(size=(32, 784)).astype(np.float32)
        history = ae.fit(x, batch_size=32, epochs=20, verbose=0).history
        self.assertLess(history["reconstruction"][-1], history["reconstruction"][0])

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "latent_dim=0"):
            MLPAutoencoder(latent_dim=0)
        with self.assertRaisesRegex(ValueError, "trunk_units"):
            MLPAutoencoder(trunk_units=())

    def test_config_round_trip(self):
        ae = MLPAutoencoder(latent_dim=7, trunk_units=(12, 6))
        clone = MLPAutoencoder.from_config(ae.get_config())
        self.assertEqual((clone.latent_dim, clone.trunk_units), (7, (12, 6)))


class AugmentTest(tf.test.TestCase):
    def test_identity_without_randomness(self):
        x = tf.constant(_images(4), tf.float32) / 255.0
        out = cp._augment(
            x,
            tf.constant([1, 2]),
            crop_scale=(1.0, 1.0),
            flip=False,
            blur_sigma=None,
            crop_ratio=(1.0, 1.0),
        )
        self.assertAllClose(out, x, atol=1e-5)

    def test_flip_only_mirrors_or_keeps_each_image(self):
        x = tf.constant(_images(64), tf.float32) / 255.0
        out = cp._augment(
            x,
            tf.constant([3, 4]),
            crop_scale=(1.0, 1.0),
            flip=True,
            blur_sigma=None,
            crop_ratio=(1.0, 1.0),
        ).numpy()
        same = np.all(np.abs(out - x.numpy()) < 1e-5, axis=(1, 2))
        mirrored = np.all(np.abs(out - x.numpy()[:, :, ::-1]) < 1e-5, axis=(1, 2))
        self.assertTrue(np.all(same | mirrored))
        # Flip probability 1/2: 64 draws, 4.5 standard deviations of slack.
        self.assertBetween(mirrored.sum(), 32 - 18, 32 + 18)

    def test_blur_keeps_constant_images_and_range(self):
        x = tf.fill([4, 28, 28], 0.7)
        out = cp._augment(
            x,
            tf.constant([5, 6]),
            crop_scale=(1.0, 1.0),
            flip=False,
            blur_sigma=(0.1, 2.0),
            crop_ratio=(1.0, 1.0),
        )
        self.assertAllClose(out, x, atol=1e-5)
        y = tf.constant(_images(16), tf.float32) / 255.0
        out = cp._augment(y, tf.constant([7, 8])).numpy()
        self.assertEqual(out.shape, (16, 28, 28))
        self.assertGreaterEqual(out.min(), 0.0)
        self.assertLessEqual(out.max(), 1.0)

    def test_seeded(self):
        y = tf.constant(_images(4), tf.float32) / 255.0
        a = cp._augment(y, tf.constant([1, 1]))
        self.assertAllEqual(a, cp._augment(y, tf.constant([1, 1])))
        self.assertNotAllClose(a, cp._augment(y, tf.constant([1, 2])))


class ContrastivePretrainingTest(tf.test.TestCase):
    def test_nt_xent_matches_numpy(self):
        rng = np.random.RandomState(0)
        a, b = rng.randn(5, 3), rng.randn(5, 3)
        self.assertAllClose(
            cp._nt_xent(tf.constant(a), tf.constant(b), 0.5),
            _numpy_nt_xent(a, b, 0.5),
            rtol=1e-6,
        )

    def test_one_step_trains_trunk_heads_and_decoder(self):
        for heads_input in ("features", "latent"):
            ae = MLPAutoencoder(latent_dim=4, trunk_units=(32, 16))
            ae.build()
            model = ContrastivePretraining(
                ae, num_clusters=3, head_units=8, heads_input=heads_input, seed=1
            )
            model.build()
            model.compile(optimizer=keras.optimizers.Adam(1e-2))
            watched = {
                "trunk": ae.trunk.weights[0],
                "mean": ae.mean_head.kernel,
                "decoder": ae.decoder.weights[0],
                "instance": model.instance_head.weights[0],
                "cluster": model.cluster_head.weights[0],
                "log_scale": ae.log_scale_head.kernel,
            }
            before = {k: v.numpy().copy() for k, v in watched.items()}
            logs = model.fit(_images(16), batch_size=16, epochs=1, verbose=0).history
            for key in ("instance", "cluster", "reconstruction", "loss"):
                self.assertTrue(np.isfinite(logs[key][0]))
            for key, value in watched.items():
                changed = not np.allclose(value.numpy(), before[key])
                # The log-scale head is not part of the pretraining objective.
                self.assertEqual(changed, key != "log_scale", (heads_input, key))
            self.assertEqual(int(model.step_counter.numpy()), 1)

    def test_identity_instance_head(self):
        ae = MLPAutoencoder(latent_dim=4, trunk_units=(16,))
        ae.build()
        model = ContrastivePretraining(
            ae, num_clusters=3, head_units=0, heads_input="latent"
        )
        model.build()
        x = tf.random.stateless_normal([5, 4], seed=[1, 1])
        self.assertAllEqual(model.instance_head(x), x)
        self.assertEqual(model(_images(5)).shape, (5, 3))
        losses = model.compute_losses(_images(6), tf.constant([1, 2], tf.int32))
        self.assertTrue(np.isfinite(float(losses["loss"])))

    def test_bad_arguments(self):
        ae = MLPAutoencoder(latent_dim=2, trunk_units=(4,))
        with self.assertRaisesRegex(ValueError, "head_units=-1"):
            ContrastivePretraining(ae, head_units=-1)
        with self.assertRaisesRegex(ValueError, "heads_input='x'"):
            ContrastivePretraining(ae, heads_input="x")
        with self.assertRaisesRegex(ValueError, "instance_temperature=0"):
            ContrastivePretraining(ae, instance_temperature=0)
        with self.assertRaisesRegex(ValueError, "Received: global_negatives=1"):
            ContrastivePretraining(ae, global_negatives=1)

    def test_config_keeps_global_negatives(self):
        ae = MLPAutoencoder(latent_dim=2, trunk_units=(4,))
        model = ContrastivePretraining(ae, head_units=0, global_negatives=False)
        self.assertFalse(model.get_config()["global_negatives"])
        self.assertTrue(ContrastivePretraining(ae, head_units=0).global_negatives)


if __name__ == "__main__":
    tf.test.main()
