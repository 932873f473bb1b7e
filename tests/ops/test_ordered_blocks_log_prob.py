"""Tests of the exact ordered-blocks probability against enumeration."""

import itertools

from absl.testing import parameterized
import mpmath
import numpy as np
import tensorflow as tf

from tf_drpm.ops import ordered_blocks_log_prob


def _enumerated_block_log_probs(log_scores, assignment, num_subsets):
    """log P(blocks in order) by summing Plackett-Luce over all orderings."""
    scores = np.exp(log_scores)
    total = 0.0
    for order in itertools.permutations(range(len(log_scores))):
        blocks = [assignment[i] for i in order]
        if blocks != sorted(blocks):
            continue
        remaining, probability = scores.sum(), 1.0
        for element in order:
            probability *= scores[element] / remaining
            remaining -= scores[element]
        total += probability
    return np.log(total)


def _mpmath_block_log_prob(log_scores, block, later):
    """Inclusion-exclusion for int_0^1 prod_i (1 - u^a_i) du in high precision."""
    with mpmath.workdps(800):
        s = [mpmath.exp(mpmath.mpf(float(x))) for x in log_scores]
        z = sum(s[j] for j in later)
        a = [s[i] / z for i in block]
        total = mpmath.mpf(0)
        for size in range(len(a) + 1):
            for subset in itertools.combinations(range(len(a)), size):
                total += (-1) ** size / (1 + sum(a[i] for i in subset))
        return float(mpmath.log(total))


class OrderedBlocksLogProbTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(0, 1, 2, 3, 4)
    def test_matches_enumeration_of_orderings(self, seed):
        rng = np.random.RandomState(seed)
        num_elements, num_subsets = 6, 3
        log_scores = rng.randn(num_elements) * 1.5
        assignment = list(rng.randint(0, num_subsets, size=num_elements))
        y = np.zeros((num_subsets, num_elements))
        y[assignment, np.arange(num_elements)] = 1.
        got = self.evaluate(tf.reduce_sum(ordered_blocks_log_prob(log_scores, y)))
        expected = _enumerated_block_log_probs(log_scores, assignment, num_subsets)
        self.assertAllClose(got, expected, atol=1e-6, rtol=0.)

    def _check_against_mpmath(self, log_scores, assignment, atol, shift=0.):
        """Blocks 0 and 1 against mpmath (scores given minus `shift`), block 2 is 0."""
        y = np.zeros((3, len(log_scores)))
        y[assignment, np.arange(len(log_scores))] = 1.
        got = self.evaluate(ordered_blocks_log_prob(log_scores, y))
        for k in range(2):
            block = list(np.where(assignment == k)[0])
            later = list(np.where(assignment > k)[0])
            expected = _mpmath_block_log_prob(log_scores - shift, block, later)
            self.assertAllClose(got[k], expected, atol=atol, rtol=1e-7)
        self.assertAllClose(got[2], 0.)

    @parameterized.parameters(5., 30.)
    def test_extreme_scores_match_high_precision(self, scale):
        rng = np.random.RandomState(int(scale))
        self._check_against_mpmath(rng.randn(10) * scale,
                                   np.array([0, 0, 1, 1, 1, 2, 0, 1, 2, 2]), atol=1e-6)

    @parameterized.parameters(0., 400., 1e4)
    def test_large_score_gaps_match_high_precision(self, shift):
        # Gaps of hundreds of nats between blocks, all scores shifted by `shift`.
        log_scores = np.array([400., 0., 360., -5., 3., 700., -300., 1.]) + shift
        self._check_against_mpmath(log_scores, np.array([0, 1, 0, 2, 1, 0, 2, 1]),
                                   atol=1e-7, shift=shift)

    def test_float32_is_finite_for_extreme_scores(self):
        log_scores = np.array([30., -30., 29., -29., 0.], np.float32)
        y = np.array([[0, 1, 0, 0, 1], [1, 0, 1, 1, 0]], np.float32)
        got = self.evaluate(ordered_blocks_log_prob(log_scores, y))
        self.assertEqual(got.dtype, np.float32)
        self.assertTrue(np.all(np.isfinite(got)))

    def test_large_set_converges_in_quadrature_points(self):
        rng = np.random.RandomState(0)
        log_scores = rng.randn(1024) * 3.
        y = tf.one_hot(rng.randint(0, 10, size=1024), 10, axis=0, dtype=tf.float64)
        coarse = self.evaluate(tf.reduce_sum(ordered_blocks_log_prob(log_scores, y)))
        fine = self.evaluate(tf.reduce_sum(
            ordered_blocks_log_prob(log_scores, y, num_quadrature_points=2048)))
        self.assertAllClose(coarse, fine, atol=1e-3, rtol=0.)

    def test_gradient_matches_finite_differences(self):
        log_scores = tf.constant([0.3, -1.0, 2.0, 0.5, -0.2], tf.float64)
        y = tf.constant([[1., 0., 0., 1., 0.], [0., 1., 1., 0., 1.]], tf.float64)
        theoretical, numerical = tf.test.compute_gradient(
            lambda s: tf.reduce_sum(ordered_blocks_log_prob(s, y)), [log_scores], delta=1e-5)
        self.assertAllClose(theoretical[0], numerical[0], atol=1e-6)


if __name__ == "__main__":
    tf.test.main()
