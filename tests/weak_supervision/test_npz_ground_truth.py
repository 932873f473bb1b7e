"""Tests for tf_drpm.weak_supervision.npz_ground_truth on small generated .npz files."""

import os

import numpy as np
import tensorflow as tf

from tf_drpm.weak_supervision.npz_ground_truth import NpzGroundTruthData


def _index_images(factor_sizes, shape):
    """Images whose first pixel stores their own index (row-major order)."""
    num = int(np.prod(factor_sizes))
    images = np.zeros((num,) + shape, dtype=np.float32)
    images.reshape(num, -1)[:, 0] = np.arange(num)
    return images


class NpzGroundTruthDataTest(tf.test.TestCase):
    def test_row_major_lookup(self):
        sizes = [2, 3, 4]
        data = NpzGroundTruthData(_index_images(sizes, (5, 5, 1)), sizes)
        self.assertEqual(data.factors_num_values, sizes)
        self.assertEqual(data.observation_shape, [5, 5, 1])
        factors = np.array([[0, 0, 0], [1, 2, 3], [1, 0, 2], [0, 1, 0]])
        images = data.sample_observations_from_factors(
            factors, np.random.RandomState(0)
        )
        # index = f0 * 12 + f1 * 4 + f2.
        np.testing.assert_array_equal(images[:, 0, 0, 0], [0, 23, 14, 4])

    def test_mpi3d_toy_file(self):
        # A generated file with mpi3d's layout but 2 values per arm angle.
        sizes = [4, 4, 2, 3, 3, 2, 2]
        images = np.zeros((int(np.prod(sizes)), 8, 8, 3), dtype=np.uint8)
        images[:, 0, 0, 0] = np.arange(images.shape[0]) % 256
        path = os.path.join(self.get_temp_dir(), "mpi3d_toy.npz")
        np.savez(path, images=images)
        data = NpzGroundTruthData.mpi3d_toy(path, factor_sizes=sizes)
        factors, observations = data.sample(50, np.random.RandomState(3))
        bases = np.array([288, 72, 36, 12, 4, 2, 1])  # 1152 / cumprod(sizes)
        self.assertAllClose(observations[:, 0, 0, 0], ((factors @ bases) % 256) / 255.0)
        self.assertAllInRange(observations, 0.0, 1.0)
        with self.assertRaisesRegex(
            ValueError, r"factor_sizes=\[4, 4, 2, 3, 3, 40, 40\]"
        ):
            NpzGroundTruthData.mpi3d_toy(path)  # wrong number of images
        with self.assertRaisesRegex(FileNotFoundError, "missing.npz"):
            NpzGroundTruthData.mpi3d_toy(
                os.path.join(self.get_temp_dir(), "missing.npz")
            )

    def test_dsprites_file_with_nuisance_factor(self):
        # dSprites' storage order [colour 1, shape 3, scale 6, orientation 40,
        # x 32, y 32], shrunk to 2x2 positions; colour is the nuisance factor.
        sizes = (1, 3, 6, 40, 32, 32)
        num = int(np.prod(sizes))
        imgs = np.zeros((num, 2, 2), dtype=np.uint8)
        imgs[:, 0, 0] = np.arange(num) % 2
        imgs[:, 1, 1] = 1
        path = os.path.join(self.get_temp_dir(), "dsprites.npz")
        np.savez(path, imgs=imgs)
        data = NpzGroundTruthData.dsprites(path)
        self.assertEqual(data.num_factors, 5)
        self.assertEqual(data.factors_num_values, [3, 6, 40, 32, 32])
        self.assertEqual(data.observation_shape, [2, 2, 1])
        factors, observations = data.sample(40, np.random.RandomState(0))
        self.assertEqual(observations.shape, (40, 2, 2, 1))
        np.testing.assert_array_equal(observations[:, 0, 0, 0], factors[:, -1] % 2)
        np.testing.assert_array_equal(observations[:, 1, 1, 0], np.ones(40))

    def test_nuisance_factor_drawn_from_random_state(self):
        sizes = [3, 5]
        data = NpzGroundTruthData(
            _index_images(sizes, (1, 1)), sizes, latent_factor_indices=[0]
        )
        factors = np.full((200, 1), 2)
        first = data.sample_observations_from_factors(factors, np.random.RandomState(1))
        again = data.sample_observations_from_factors(factors, np.random.RandomState(1))
        np.testing.assert_array_equal(first, again)
        values = first[:, 0, 0, 0]
        self.assertTrue(np.all((values >= 10) & (values < 15)))
        self.assertEqual(len(np.unique(values)), 5)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"images.shape=\(5, 2, 2\)"):
            NpzGroundTruthData(np.zeros((5, 2, 2)), [2, 3])
        with self.assertRaisesRegex(ValueError, r"latent_factor_indices=\[2\]"):
            NpzGroundTruthData(np.zeros((6, 2, 2)), [2, 3], latent_factor_indices=[2])
        data = NpzGroundTruthData(np.zeros((6, 2, 2)), [2, 3])
        with self.assertRaisesRegex(ValueError, r"Factor 1 must lie in \[0, 2\]. Received: factors\[0, 1\]=3"):
            data.sample_observations_from_factors(
                np.array([[0, 3]]), np.random.RandomState(0)
            )
        path = os.path.join(self.get_temp_dir(), "other.npz")
        np.savez(path, pictures=np.zeros((6, 2, 2)))
        with self.assertRaisesRegex(ValueError, "images_key='images'"):
            NpzGroundTruthData.from_npz(path, "images", [2, 3])


if __name__ == "__main__":
    tf.test.main()
