"""Tests for tf_drpm.weak_supervision.local_factor_grid."""

import itertools

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.weak_supervision import LocalFactorGrid
from tf_drpm.weak_supervision import WeakPairSampler


class LocalFactorGridTest(tf.test.TestCase, parameterized.TestCase):
    def test_interface(self):
        data = LocalFactorGrid()
        self.assertEqual(data.num_factors, 7)
        self.assertEqual(data.factors_num_values, [4, 4, 2, 3, 3, 10, 10])
        self.assertEqual(data.observation_shape, [64, 64, 3])
        self.assertLen(data.factor_names, 7)
        factors, images = data.sample(50, np.random.RandomState(0))
        self.assertEqual(factors.shape, (50, 7))
        self.assertEqual(factors.dtype, np.int64)
        self.assertAllInRange(factors, 0, 9)
        self.assertTrue(np.all(factors < data.factors_num_values))
        self.assertEqual(images.shape, (50, 64, 64, 3))
        self.assertEqual(images.dtype, np.float32)
        # Every pixel is black or white in every channel.
        self.assertAllInSet(images, [0.0, 1.0])
        self.assertEqual(data.sample_factors(0, np.random.RandomState(0)).shape,
                         (0, 7))

    def test_deterministic(self):
        data = LocalFactorGrid()
        f_a, x_a = data.sample(16, np.random.RandomState(5))
        f_b, x_b = data.sample(16, np.random.RandomState(5))
        np.testing.assert_array_equal(f_a, f_b)
        np.testing.assert_array_equal(x_a, x_b)
        # The rendering ignores its random state, and one image alone is the
        # same as in a batch.
        again = data.sample_observations_from_factors(f_a, np.random.RandomState(99))
        np.testing.assert_array_equal(x_a, again)
        np.testing.assert_array_equal(data.render(f_a[3:4])[0], x_a[3])
        # Another seed, other factors.
        self.assertNotAllEqual(f_a, data.sample_factors(16, np.random.RandomState(6)))

    def test_regions_tile_the_image(self):
        data = LocalFactorGrid()
        regions = np.stack([data.factor_region(j) for j in range(7)])
        np.testing.assert_array_equal(regions.sum(axis=0), np.ones([64, 64]))

    @parameterized.parameters(range(7))
    def test_each_factor_changes_only_its_region(self, factor):
        data = LocalFactorGrid()
        num_values = data.factors_num_values[factor]
        outside = ~data.factor_region(factor)
        for base in data.sample_factors(10, np.random.RandomState(100 + factor)):
            factors = np.repeat(base[np.newaxis], num_values, axis=0)
            factors[:, factor] = np.arange(num_values)
            images = data.render(factors)
            for image in images[1:]:
                np.testing.assert_array_equal(image[outside], images[0][outside])

    @parameterized.parameters(range(7))
    def test_every_value_gives_a_distinct_image(self, factor):
        data = LocalFactorGrid()
        num_values = data.factors_num_values[factor]
        for base in data.sample_factors(5, np.random.RandomState(200 + factor)):
            factors = np.repeat(base[np.newaxis], num_values, axis=0)
            factors[:, factor] = np.arange(num_values)
            images = data.render(factors).reshape(num_values, -1)
            for i, j in itertools.combinations(range(num_values), 2):
                # Strong: at least 198 pixel channels change fully.
                self.assertGreaterEqual(
                    np.abs(images[i] - images[j]).sum(), 198.0,
                    msg=f"factor {factor} values {i}, {j}, base {base}")

    @parameterized.parameters(range(7))
    def test_every_factor_is_monotone_in_its_value(self, factor):
        # A pixel channel on at one value stays on at the higher ones.
        data = LocalFactorGrid()
        num_values = data.factors_num_values[factor]
        for base in data.sample_factors(5, np.random.RandomState(300 + factor)):
            factors = np.repeat(base[np.newaxis], num_values, axis=0)
            factors[:, factor] = np.arange(num_values)
            images = data.render(factors)
            self.assertTrue(np.all(np.diff(images, axis=0) >= 0.0),
                            msg=f"factor {factor}, base {base}")

    def test_all_factor_combinations_are_distinct(self):
        data = LocalFactorGrid()
        grid = np.array(list(itertools.product(
            *[range(n) for n in data.factors_num_values])))
        self.assertLen(grid, 28800)
        subset = grid[np.random.RandomState(0).choice(len(grid), 3000, replace=False)]
        images = data.render(subset).reshape(len(subset), -1)
        self.assertLen(np.unique(images, axis=0), len(subset))

    def test_weak_pairs_share_exactly_num_shared_factors(self):
        data = LocalFactorGrid()
        for num_shared in (0, 1, 3, 5):
            pairs = WeakPairSampler(data, num_shared_factors=num_shared).sample(
                40, np.random.RandomState(num_shared))
            np.testing.assert_array_equal(pairs["shared"].sum(axis=1), num_shared)
            # A factor the pair shares leaves its tile equal in both views.
            for row in range(len(pairs["shared"])):
                for j in np.flatnonzero(pairs["shared"][row]):
                    region = data.factor_region(int(j))
                    np.testing.assert_array_equal(pairs["x1"][row][region],
                                                  pairs["x2"][row][region])

    def test_bad_factors(self):
        data = LocalFactorGrid()
        with self.assertRaisesRegex(ValueError, r"factors.shape=\(3, 6\)"):
            data.render(np.zeros((3, 6), np.int64))
        with self.assertRaisesRegex(ValueError, r"factors.shape=\(7,\)"):
            data.render(np.zeros(7, np.int64))
        bad = np.zeros((2, 7), np.int64)
        bad[1, 5] = 10
        with self.assertRaisesRegex(ValueError,
                                    r"first_arm_angle.*factors\[1, 5\]=10"):
            data.render(bad)
        bad = np.zeros((2, 7), np.int64)
        bad[0, 2] = -1
        with self.assertRaisesRegex(ValueError, r"object_size.*factors\[0, 2\]=-1"):
            data.sample_observations_from_factors(bad, np.random.RandomState(0))
        with self.assertRaisesRegex(ValueError, "factors.dtype=float32"):
            data.render(np.zeros((2, 7), np.float32))

    def test_bad_arguments(self):
        data = LocalFactorGrid()
        with self.assertRaisesRegex(ValueError, "Received: num=-1"):
            data.sample_factors(-1, np.random.RandomState(0))
        with self.assertRaisesRegex(ValueError, "Received: num=2.5"):
            data.sample_factors(2.5, np.random.RandomState(0))
        with self.assertRaisesRegex(ValueError, "Received: factor=7"):
            data.factor_region(7)
        with self.assertRaisesRegex(ValueError, "Received: factor=True"):
            data.factor_region(True)


if __name__ == "__main__":
    tf.test.main()
