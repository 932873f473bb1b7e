"""Tests for tf_drpm.ops.plackett_luce_log_prob."""

import itertools
import math

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.ops import plackett_luce_log_prob
from tf_drpm.ops import ranked_log_prob

tfd = tfp.distributions


def _all_permutation_matrices(n, dtype):
    orders = np.array(list(itertools.permutations(range(n))))   # [n!, n]
    return np.eye(n, dtype=dtype)[orders], orders               # [n!, n, n]


def _reference_log_prob(log_scores, order):
    """Plain float64 NumPy PL log-pmf of `order` (element at each rank)."""
    v = np.asarray(log_scores, np.float64)[list(order)]
    total = 0.
    for r in range(len(v)):
        tail = v[r:]
        m = tail.max()
        total += v[r] - (m + np.log(np.exp(tail - m).sum()))
    return total


class PlackettLuceLogProbTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(itertools.product(
        ([], [1], [2, 3]), (np.float32, np.float64)))
    def test_matches_tfp_plackett_luce(self, batch_shape, dtype):
        rng = np.random.RandomState(0)
        n = 5
        log_scores = rng.randn(*batch_shape, n).astype(dtype)
        oracle = tfd.PlackettLuce(scores=tf.constant(np.exp(log_scores)))
        orders = np.argsort(rng.rand(4, *batch_shape, n), -1)   # [4, ..., n]
        permutation = np.eye(n, dtype=dtype)[orders]            # [4, ..., n, n]
        log_prob = self.evaluate(plackett_luce_log_prob(log_scores,
                                                        permutation))
        self.assertEqual(log_prob.shape, (4,) + tuple(batch_shape))
        self.assertEqual(log_prob.dtype, dtype)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        self.assertAllClose(log_prob, oracle.log_prob(orders), rtol=tol,
                            atol=tol)

    @parameterized.parameters(itertools.product(
        range(1, 6), (np.float32, np.float64)))
    def test_enumeration_sums_to_one(self, n, dtype):
        rng = np.random.RandomState(n)
        log_scores = (2. * rng.randn(n)).astype(dtype)
        permutations, orders = _all_permutation_matrices(n, dtype)
        log_prob = self.evaluate(plackett_luce_log_prob(log_scores,
                                                        permutations))
        self.assertEqual(log_prob.shape, (math.factorial(n),))
        tol = 1e-5 if dtype == np.float32 else 1e-13
        self.assertAllClose(np.exp(log_prob.astype(np.float64)).sum(), 1.,
                            atol=tol)
        expected = [_reference_log_prob(log_scores, o) for o in orders]
        self.assertAllClose(log_prob, expected, rtol=tol, atol=tol)

    def test_mask_leaves_padded_elements_out(self):
        # Padded elements may be ranked anywhere: they are left out.
        log_scores = np.array([0.5, 9., -1., 2., 7.])
        mask = np.array([True, False, True, True, False])
        order = [4, 3, 1, 0, 2]   # padded elements at ranks 0 and 2
        permutation = np.eye(5)[order]
        got = self.evaluate(plackett_luce_log_prob(log_scores, permutation, mask=mask))
        self.assertAllClose(got, _reference_log_prob(log_scores[[0, 2, 3]], [2, 0, 1]))
        self.assertAllClose(self.evaluate(ranked_log_prob(log_scores[order], mask[order])), got)

    def test_uniform_scores_give_minus_log_factorial(self):
        permutations, _ = _all_permutation_matrices(4, np.float64)
        self.assertAllClose(
            plackett_luce_log_prob(np.full([4], 3.7), permutations),
            np.full([24], -math.log(24.)), rtol=1e-13)

    def test_large_log_scores_float32(self):
        # exp(40) overflows nothing in log space; float32 still exact enough.
        log_scores = np.array([40., -35., 0., 30., -80.], np.float32)
        permutations, orders = _all_permutation_matrices(5, np.float32)
        log_prob = self.evaluate(plackett_luce_log_prob(log_scores,
                                                        permutations))
        self.assertTrue(np.all(np.isfinite(log_prob)))
        expected = [_reference_log_prob(log_scores, o) for o in orders]
        self.assertAllClose(log_prob, expected, rtol=1e-5, atol=1e-4)
        self.assertAllClose(np.exp(log_prob.astype(np.float64)).sum(), 1.,
                            atol=1e-5)
        # The most likely order has probability ~1.
        self.assertAllClose(log_prob.max(), 0., atol=1e-4)

    def test_broadcasting(self):
        rng = np.random.RandomState(1)
        log_scores = rng.randn(3, 1, 4)                    # [3, 1, n]
        permutations, _ = _all_permutation_matrices(4, np.float64)
        permutations = permutations[:2]                    # [2, n, n]
        log_prob = self.evaluate(plackett_luce_log_prob(log_scores,
                                                        permutations))
        self.assertEqual(log_prob.shape, (3, 2))

    def test_gradient_matches_finite_differences(self):
        rng = np.random.RandomState(2)
        log_scores = tf.constant(rng.randn(2, 5))
        orders = np.array([[4, 1, 0, 3, 2], [0, 1, 2, 3, 4]])
        permutation = tf.constant(np.eye(5)[orders])
        theoretical, numerical = tf.test.compute_gradient(
            lambda s: plackett_luce_log_prob(s, permutation), [log_scores])
        self.assertAllClose(theoretical[0], numerical[0], rtol=1e-7,
                            atol=1e-7)
        self.assertGreater(np.abs(theoretical[0]).max(), 1e-2)

    def test_eager_graph_and_jit_agree(self):
        rng = np.random.RandomState(3)
        log_scores = rng.randn(2, 6).astype(np.float32)
        permutation = np.eye(6, dtype=np.float32)[
            np.stack([rng.permutation(6) for _ in range(2)])]
        eager = plackett_luce_log_prob(log_scores, permutation)
        graph = tf.function(plackett_luce_log_prob)(log_scores, permutation)
        jit = tf.function(plackett_luce_log_prob, jit_compile=True)(
            log_scores, permutation)
        self.assertAllClose(eager, graph, rtol=1e-6)
        self.assertAllClose(eager, jit, rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
