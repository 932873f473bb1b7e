"""Tests for tf_drpm.weak_supervision.mpi3d_stand_in."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.weak_supervision.mpi3d_stand_in import MPI3DStandIn


class MPI3DStandInTest(tf.test.TestCase, parameterized.TestCase):
    def test_interface(self):
        data = MPI3DStandIn()
        self.assertEqual(data.num_factors, 7)
        self.assertEqual(data.factors_num_values, [4, 4, 2, 3, 3, 40, 40])
        self.assertEqual(data.observation_shape, [64, 64, 3])
        factors, images = data.sample(5, np.random.RandomState(0))
        self.assertEqual(factors.shape, (5, 7))
        self.assertEqual(images.shape, (5, 64, 64, 3))
        self.assertEqual(images.dtype, np.float32)
        self.assertAllInRange(images, 0.0, 1.0)

    def test_deterministic(self):
        data = MPI3DStandIn()
        factors = data.sample_factors(16, np.random.RandomState(1))
        first = data.sample_observations_from_factors(factors, np.random.RandomState(2))
        second = data.sample_observations_from_factors(
            factors.copy(), np.random.RandomState(99)
        )
        np.testing.assert_array_equal(first, second)
        # Same seed, same batch; rendering one image alone gives the same pixels.
        f_a, x_a = data.sample(4, np.random.RandomState(5))
        f_b, x_b = data.sample(4, np.random.RandomState(5))
        np.testing.assert_array_equal(f_a, f_b)
        np.testing.assert_array_equal(x_a, x_b)
        np.testing.assert_array_equal(data.render(f_a[2:3])[0], x_a[2])

    @parameterized.parameters(range(7))
    def test_every_factor_changes_the_image(self, factor):
        data = MPI3DStandIn()
        num_values = data.factors_num_values[factor]
        bases = data.sample_factors(12, np.random.RandomState(100 + factor))
        for base in bases:
            factors = np.repeat(base[np.newaxis], num_values, axis=0)
            factors[:, factor] = np.arange(num_values)
            images = data.render(factors).reshape(num_values, -1)
            # Every two values of the factor give different images, by at least
            # 0.02 on some pixel (one step of an arm angle included).
            for i in range(num_values - 1):
                gaps = np.abs(images[i + 1 :] - images[i]).max(axis=1)
                self.assertGreater(
                    gaps.min(), 0.02, msg=f"factor {factor} base {base} value {i}"
                )

    def test_low_resolution_mode_is_the_block_mean(self):
        factors = MPI3DStandIn().sample_factors(5, np.random.RandomState(3))
        full = MPI3DStandIn().render(factors)
        low = MPI3DStandIn(image_size=32).sample_observations_from_factors(
            factors, np.random.RandomState(0))
        self.assertEqual(low.shape, (5, 32, 32, 3))
        self.assertAllClose(low, full.reshape(5, 32, 2, 32, 2, 3).mean(axis=(2, 4)))
        with self.assertRaisesRegex(ValueError, "image_size=48"):
            MPI3DStandIn(image_size=48)

    def test_bad_factors(self):
        data = MPI3DStandIn()
        with self.assertRaisesRegex(ValueError, r"factors.shape=\(3, 6\)"):
            data.render(np.zeros((3, 6), np.int64))
        bad = np.zeros((2, 7), np.int64)
        bad[1, 5] = 40
        with self.assertRaisesRegex(ValueError, r"first_arm_angle.*factors\[1, 5\]=40"):
            data.render(bad)
        with self.assertRaisesRegex(ValueError, "integers"):
            data.render(np.zeros((2, 7), np.float32))


if __name__ == "__main__":
    tf.test.main()
