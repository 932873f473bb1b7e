"""Tests for tf_drpm.weak_supervision.weak_pairs."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.data.ground_truth_data import GroundTruthData
from tf_drpm.weak_supervision.mpi3d_stand_in import MPI3DStandIn
from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler

try:  # disentanglement-lib installed without its dependencies (see brief).
    from disentanglement_lib.data.ground_truth import dummy_data
except ImportError:  # pragma: no cover
    dummy_data = None


class _TinyData(GroundTruthData):
    """Factors [3, 1, 5, 2] (one single-valued), observations = factors."""

    @property
    def num_factors(self):
        return 4

    @property
    def factors_num_values(self):
        return [3, 1, 5, 2]

    @property
    def observation_shape(self):
        return [4]

    def sample_factors(self, num, random_state):
        return np.stack(
            [random_state.randint(m, size=num) for m in self.factors_num_values], 1
        )

    def sample_observations_from_factors(self, factors, random_state):
        return factors.astype(np.float32)


def _bound(p, n, sigmas=5.0):
    """`sigmas` binomial standard deviations of a frequency with n draws."""
    return sigmas * np.sqrt(p * (1.0 - p) / n)


class WeakPairSamplerTest(tf.test.TestCase, parameterized.TestCase):
    @parameterized.parameters(0, 1, 3, 5, 7)
    def test_shares_exactly_num_shared(self, num_shared):
        sampler = WeakPairSampler(MPI3DStandIn(), num_shared_factors=num_shared)
        num = 4000
        f1, f2, label = sampler.sample_factor_pairs(num, np.random.RandomState(7))
        shared = f1 == f2
        # Exactly n_s agree, every other factor differs: checked on every draw.
        np.testing.assert_array_equal(shared.sum(axis=1), np.full(num, num_shared))
        # Which factors are shared is uniform: P(shared_j) = n_s / 7.
        p = num_shared / 7.0
        self.assertAllLessEqual(np.abs(shared.mean(axis=0) - p), _bound(p, num) + 1e-12)
        # The label is a changed factor (or -1 when nothing changes).
        if num_shared == 7:
            np.testing.assert_array_equal(label, -1)
        else:
            self.assertTrue(np.all(~shared[np.arange(num), label]))
        # Values stay in range.
        upper = np.array(MPI3DStandIn().factors_num_values)
        self.assertTrue(np.all((f2 >= 0) & (f2 < upper)))

    def test_new_value_uniform_among_other_values(self):
        sampler = WeakPairSampler(MPI3DStandIn(), num_shared_factors=0)
        num = 6000
        f1, f2, _ = sampler.sample_factor_pairs(num, np.random.RandomState(3))
        # Object colour has 4 values: the offset (f2 - f1) mod 4 is uniform on
        # {1, 2, 3}; camera height (3 values) on {1, 2}.
        for factor, m in ((0, 4), (3, 3)):
            offsets = (f2[:, factor] - f1[:, factor]) % m
            for value in range(1, m):
                p = 1.0 / (m - 1)
                self.assertLessEqual(abs(np.mean(offsets == value) - p), _bound(p, num))
            self.assertFalse(np.any(offsets == 0))

    def test_observations_match_factors_and_seed_replays(self):
        data = MPI3DStandIn()
        sampler = WeakPairSampler(data, num_shared_factors=3)
        pairs = sampler.sample(6, np.random.RandomState(11))
        self.assertEqual(pairs["x1"].shape, (6, 64, 64, 3))
        self.assertAllClose(pairs["x1"], data.render(pairs["factors1"]))
        self.assertAllClose(pairs["x2"], data.render(pairs["factors2"]))
        np.testing.assert_array_equal(pairs["shared"].sum(1), np.full(6, 3))
        again = sampler.sample(6, np.random.RandomState(11))
        for key in pairs:
            np.testing.assert_array_equal(pairs[key], again[key])
        other = sampler.sample(6, np.random.RandomState(12))
        self.assertFalse(np.array_equal(pairs["factors1"], other["factors1"]))

    def test_global_numpy_state_untouched(self):
        np.random.seed(123)
        before = np.random.get_state()[1].copy()
        for kwargs in ({"num_shared_factors": 2}, {"num_changed_factors": -1}):
            WeakPairSampler(_TinyData(), **kwargs).sample(50, np.random.RandomState(0))
        np.testing.assert_array_equal(np.random.get_state()[1], before)

    def test_single_valued_factor_always_shared(self):
        sampler = WeakPairSampler(_TinyData(), num_shared_factors=2)
        f1, f2, _ = sampler.sample_factor_pairs(2000, np.random.RandomState(1))
        shared = f1 == f2
        np.testing.assert_array_equal(shared.sum(1), np.full(2000, 2))
        self.assertTrue(np.all(shared[:, 1]))
        # The one free shared factor is uniform over the 3 others.
        for j in (0, 2, 3):
            self.assertLessEqual(abs(shared[:, j].mean() - 1 / 3), _bound(1 / 3, 2000))
        with self.assertRaisesRegex(ValueError, "num_shared_factors=0"):
            WeakPairSampler(_TinyData(), num_shared_factors=0)

    def test_changed_factors_mode_random_k(self):
        # disentanglement_lib's k = -1: k_obs ~ U[1, F-1], then 1 or k_obs
        # factors change; here every changed factor really changes.
        sampler = WeakPairSampler(MPI3DStandIn(), num_changed_factors=-1)
        num = 4000
        f1, f2, label = sampler.sample_factor_pairs(num, np.random.RandomState(5))
        num_changed = (f1 != f2).sum(axis=1)
        self.assertTrue(np.all((num_changed >= 1) & (num_changed <= 6)))
        expected = {1: 0.5 + 0.5 / 6}
        expected.update({j: 0.5 / 6 for j in range(2, 7)})
        for j, p in expected.items():
            self.assertLessEqual(abs(np.mean(num_changed == j) - p), _bound(p, num))
        self.assertTrue(np.all(f1[np.arange(num), label] != f2[np.arange(num), label]))

    def test_changed_factors_mode_fixed_k(self):
        sampler = WeakPairSampler(_TinyData(), num_changed_factors=3)
        num = 3000
        f1, f2, _ = sampler.sample_factor_pairs(num, np.random.RandomState(9))
        num_changed = (f1 != f2).sum(axis=1)
        self.assertTrue(np.all(np.isin(num_changed, [1, 3])))
        self.assertLessEqual(abs(np.mean(num_changed == 1) - 0.5), _bound(0.5, num))
        self.assertTrue(np.all(f1[:, 1] == f2[:, 1]))  # single-valued factor

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "exactly one"):
            WeakPairSampler(_TinyData())
        with self.assertRaisesRegex(ValueError, "exactly one"):
            WeakPairSampler(_TinyData(), num_shared_factors=1, num_changed_factors=1)
        with self.assertRaisesRegex(ValueError, "num_shared_factors=8"):
            WeakPairSampler(MPI3DStandIn(), num_shared_factors=8)
        with self.assertRaisesRegex(ValueError, "num_changed_factors=4"):
            WeakPairSampler(_TinyData(), num_changed_factors=4)

    def test_as_dataset(self):
        sampler = WeakPairSampler(MPI3DStandIn(), num_shared_factors=5)
        element = next(iter(sampler.as_dataset(batch_size=3, seed=4)))
        expected = sampler.sample(3, np.random.RandomState(4))
        self.assertAllClose(element["x1"], expected["x1"])
        self.assertAllClose(element["x2"], expected["x2"])
        self.assertAllEqual(element["label"], expected["label"])
        self.assertAllEqual(element["shared"], expected["shared"].astype(np.float32))

    def test_disentanglement_lib_dummy_data(self):
        if dummy_data is None:
            self.skipTest("disentanglement-lib is not installed")
        data = dummy_data.DummyData()
        pairs = WeakPairSampler(data, num_shared_factors=4).sample(
            8, np.random.RandomState(0)
        )
        self.assertEqual(pairs["x1"].shape, (8, 64, 64, 1))
        np.testing.assert_array_equal(pairs["shared"].sum(1), np.full(8, 4))
        pairs = WeakPairSampler(data, num_changed_factors=-1).sample(
            8, np.random.RandomState(0)
        )
        self.assertTrue(np.all((~pairs["shared"]).sum(1) >= 1))


if __name__ == "__main__":
    tf.test.main()
