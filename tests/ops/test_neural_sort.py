"""Tests for tf_drpm.ops.neural_sort."""

import itertools

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.ops import hard_sort_permutation
from tf_drpm.ops import neural_sort
from tf_drpm.ops import pairwise_abs_rowsum
from tf_drpm.ops.neural_sort import apply_permutation
from tf_drpm.ops.neural_sort import stable_sort_indices

BATCH_SHAPES = ([], [3], [2, 3])
DTYPES = (np.float32, np.float64)


def _naive_neural_sort(log_scores, temperature):
    """Direct O(n^2) NumPy NeuralSort in float64 (independent reference)."""
    s = np.asarray(log_scores, np.float64)
    n = s.shape[-1]
    abs_diff = np.abs(s[..., :, None] - s[..., None, :]).sum(-1)      # [..., n]
    scaling = n + 1 - 2 * (np.arange(n) + 1)                          # [n]
    logits = (scaling[:, None] * s[..., None, :] - abs_diff[..., None, :])
    logits = logits / np.asarray(temperature, np.float64)[..., None, None]
    logits = logits - logits.max(-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def _is_permutation_matrix(p):
    p = np.asarray(p)
    binary = np.all((p == 0) | (p == 1))
    return bool(binary and np.all(p.sum(-1) == 1) and np.all(p.sum(-2) == 1))


class StableSortIndicesTest(tf.test.TestCase, parameterized.TestCase):
    """The comparison ranking (n <= 256) gives the integers of two stable argsorts."""

    @staticmethod
    def _argsorts(values, direction):
        order = tf.argsort(values, axis=-1, direction=direction, stable=True)
        return order, tf.argsort(order, axis=-1, stable=True)

    @parameterized.parameters(itertools.product(
        ("ASCENDING", "DESCENDING"), (np.float32, np.float64, np.int32), (False, True)))
    def test_equals_two_stable_argsorts_with_ties(self, direction, dtype, jit):
        rng = np.random.RandomState(1)
        cases = [rng.normal(size=[64, 10]), np.round(rng.normal(size=[5, 50]), 1),
                 rng.randint(0, 3, size=[2, 3, 33]), rng.normal(size=[2, 256]),
                 rng.randint(0, 4, size=[3, 257]), rng.normal(size=[1])]
        if dtype != np.int32:
            cases.append(np.array([[0., -0., 0., -0., 1., -1., np.inf, -np.inf, np.inf]]))
        fn = stable_sort_indices
        if jit:
            fn = tf.function(stable_sort_indices, jit_compile=True)
        for values in cases:
            values = tf.constant(np.asarray(values).astype(dtype))
            expected = self._argsorts(values, direction)
            actual = fn(values, direction)
            for want, got in zip(expected, actual):
                self.assertAllEqual(want, got)

    @parameterized.parameters("ASCENDING", "DESCENDING")
    def test_nan_still_gives_permutations(self, direction):
        order, rank = stable_sort_indices(tf.constant([[1., np.nan, 0., np.nan, 2.]]), direction)
        self.assertAllEqual(np.sort(order.numpy(), -1), [[0, 1, 2, 3, 4]])
        self.assertAllEqual(tf.gather(rank, order, batch_dims=1), [[0, 1, 2, 3, 4]])

    def test_bad_direction_raises(self):
        with self.assertRaisesRegex(ValueError, "direction"):
            stable_sort_indices(tf.zeros([3]), "UP")


class ApplyPermutationTest(tf.test.TestCase, parameterized.TestCase):
    """Values and gradient are those of `tf.gather`, bit for bit."""

    @parameterized.parameters(itertools.product(DTYPES, (False, True)))
    def test_equals_gather_and_its_gradient(self, dtype, jit):
        rng = np.random.RandomState(3)
        scores = tf.constant(rng.normal(size=[4, 9]).astype(dtype))
        order, rank = stable_sort_indices(scores, "DESCENDING")
        values = tf.constant(rng.normal(size=[4, 3, 9]).astype(dtype))
        upstream = tf.constant(rng.normal(size=[4, 3, 9]).astype(dtype))

        def both(values):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(values)
                ours = apply_permutation(values, rank, order)
                theirs = tf.gather(values, rank, axis=-1, batch_dims=1)
            return (ours, theirs, tape.gradient(ours, values, upstream),
                    tape.gradient(theirs, values, upstream))

        if jit:
            both = tf.function(both, jit_compile=True)
        ours, theirs, d_ours, d_theirs = self.evaluate(both(values))
        self.assertAllEqual(ours, theirs)
        self.assertAllEqual(d_ours, d_theirs)
        self.assertAllEqual(ours[:, :, order.numpy()[0]][0], values.numpy()[0])

    def test_unknown_rank_raises(self):
        @tf.function(input_signature=[tf.TensorSpec(None, tf.int32)])
        def permute(order):
            return apply_permutation(tf.zeros([3]), order, order)

        with self.assertRaisesRegex(ValueError, "Received: order with shape <unknown>"):
            permute.get_concrete_function()


class PairwiseAbsRowsumTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(itertools.product(BATCH_SHAPES, DTYPES))
    def test_equals_naive(self, batch_shape, dtype):
        rng = np.random.RandomState(0)
        x = rng.randn(*batch_shape, 17).astype(dtype) * 3.
        naive = np.abs(x[..., :, None].astype(np.float64)
                       - x[..., None, :]).sum(-1)
        tol = 1e-4 if dtype == np.float32 else 1e-11
        self.assertAllClose(pairwise_abs_rowsum(x), naive, rtol=tol, atol=tol)

    @parameterized.parameters(*DTYPES)
    def test_equals_naive_with_ties_and_offset(self, dtype):
        rng = np.random.RandomState(1)
        # Integer-valued scores times a scale and a large offset, many ties.
        x = (rng.randint(0, 4, size=(4, 50)) * 10. + 1000.).astype(dtype)
        naive = np.abs(x[..., :, None].astype(np.float64)
                       - x[..., None, :]).sum(-1)
        self.assertAllClose(pairwise_abs_rowsum(x), naive, rtol=1e-6, atol=0)

    def test_single_element_is_zero(self):
        self.assertAllEqual(pairwise_abs_rowsum(tf.constant([[5.]])), [[0.]])

    def test_gradient_equals_naive_gradient(self):
        rng = np.random.RandomState(2)
        x = tf.constant(rng.randn(3, 11))
        weights = tf.constant(rng.randn(3, 11))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            fast = tf.reduce_sum(weights * pairwise_abs_rowsum(x))
            naive = tf.reduce_sum(weights * tf.reduce_sum(
                tf.abs(x[..., :, None] - x[..., None, :]), -1))
        self.assertAllClose(tape.gradient(fast, x), tape.gradient(naive, x),
                            rtol=1e-10, atol=1e-10)


class NeuralSortTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(itertools.product(BATCH_SHAPES, DTYPES))
    def test_matches_naive_formula_and_rows_sum_to_one(self, batch_shape, dtype):
        rng = np.random.RandomState(3)
        s = rng.randn(*batch_shape, 6).astype(dtype)
        p = self.evaluate(neural_sort(s, dtype(0.7)))
        self.assertEqual(p.shape, tuple(batch_shape) + (6, 6))
        self.assertEqual(p.dtype, dtype)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        self.assertAllClose(p, _naive_neural_sort(s, 0.7), rtol=tol, atol=tol)
        self.assertAllClose(p.sum(-1), np.ones(p.shape[:-1]), atol=tol)

    @parameterized.parameters(*DTYPES)
    def test_small_temperature_gives_argsort_matrix(self, dtype):
        rng = np.random.RandomState(4)
        # Distinct scores at least 0.05 apart.
        s = np.stack([rng.permutation(20) * 0.05 for _ in range(5)])
        s = s.astype(dtype)
        p = self.evaluate(neural_sort(s, dtype(1e-3)))
        expected = np.eye(20)[np.argsort(-s, axis=-1)]
        self.assertAllClose(p, expected, atol=1e-6)
        self.assertAllEqual(hard_sort_permutation(s), expected)

    @parameterized.parameters(*DTYPES)
    def test_temperature_broadcast_over_batch(self, dtype):
        rng = np.random.RandomState(5)
        s = rng.randn(3, 5).astype(dtype)
        temperature = np.array([0.3, 1., 2.5], dtype)
        p = self.evaluate(neural_sort(s, temperature))
        for b in range(3):
            self.assertAllClose(p[b], neural_sort(s[b], temperature[b]))
        # A temperature with an extra leading dimension broadcasts too.
        p2 = self.evaluate(neural_sort(s, temperature[:, None]))  # [3, 3]
        self.assertEqual(p2.shape, (3, 3, 5, 5))
        for a in range(3):
            self.assertAllClose(p2[a], neural_sort(s, temperature[a]))

    @parameterized.parameters(*DTYPES)
    def test_hard_is_valid_permutation_with_exact_ties(self, dtype):
        rng = np.random.RandomState(6)
        # Clustering-style scores: integers times a scale, heavy ties.
        s = (rng.randint(1, 4, size=(8, 64)) * 10.).astype(dtype)
        s[0] = 3.  # all tied
        for fn in (neural_sort,
                   tf.function(neural_sort, jit_compile=True)):
            p = self.evaluate(fn(s, dtype(0.1), hard=True))
            self.assertTrue(_is_permutation_matrix(p))
            # Stable descending order: ties go to the lower index first.
            order = np.argmax(p, axis=-1)
            expected = np.argsort(-s, axis=-1, kind="stable")
            self.assertAllEqual(order, expected)
        self.assertAllEqual(hard_sort_permutation(s[0]), np.eye(64))

    def test_hard_gradient_equals_soft_gradient(self):
        rng = np.random.RandomState(7)
        s = tf.constant(rng.randn(2, 6))
        weights = tf.constant(rng.randn(2, 6, 6))
        grads = []
        for hard in (False, True):
            with tf.GradientTape() as tape:
                tape.watch(s)
                loss = tf.reduce_sum(weights * neural_sort(s, 0.5, hard=hard))
            grads.append(tape.gradient(loss, s))
        self.assertAllClose(grads[0], grads[1], rtol=1e-12, atol=1e-12)
        self.assertGreater(np.abs(self.evaluate(grads[1])).max(), 1e-3)

    def test_gradient_matches_finite_differences(self):
        rng = np.random.RandomState(8)
        s = tf.constant(rng.randn(2, 5))
        temperature = tf.constant([0.6, 1.3], tf.float64)
        theoretical, numerical = tf.test.compute_gradient(
            lambda s, t: neural_sort(s, t), [s, temperature])
        for th, nu in zip(theoretical, numerical):
            self.assertAllClose(th, nu, rtol=1e-6, atol=1e-6)
            self.assertTrue(np.all(np.isfinite(th)))
            self.assertGreater(np.abs(th).max(), 1e-3)

    @parameterized.parameters(*DTYPES)
    def test_eager_graph_and_jit_agree(self, dtype):
        rng = np.random.RandomState(9)
        s = rng.randn(2, 3, 7).astype(dtype)
        for hard in (False, True):
            eager = self.evaluate(neural_sort(s, dtype(0.4), hard=hard))
            graph = tf.function(lambda x: neural_sort(x, 0.4, hard=hard))(s)
            jit = tf.function(lambda x: neural_sort(x, 0.4, hard=hard),
                              jit_compile=True)(s)
            tol = 1e-5 if dtype == np.float32 else 1e-12
            self.assertAllClose(eager, graph, rtol=tol, atol=tol)
            self.assertAllClose(eager, jit, rtol=tol, atol=tol)

    def test_dynamic_shape(self):
        fn = tf.function(
            lambda x: neural_sort(x, 0.5, hard=True),
            input_signature=[tf.TensorSpec([None, None], tf.float32)])
        s = np.array([[0.2, -1., 3.]], np.float32)
        self.assertAllEqual(fn(s), np.eye(3)[[2, 0, 1]][None])

    def test_large_n_no_quadratic_abs_matrix(self):
        # n = 2048: the rowsum op itself is O(n log n); compare a few entries.
        rng = np.random.RandomState(10)
        x = rng.randn(2048)
        fast = self.evaluate(pairwise_abs_rowsum(x))
        idx = rng.randint(0, 2048, size=5)
        naive = np.abs(x[idx, None] - x[None, :]).sum(-1)
        self.assertAllClose(fast[idx], naive, rtol=1e-10)

    @parameterized.parameters(False, True)
    def test_mask_gives_the_unpadded_sort_of_the_real_elements(self, hard):
        rng = np.random.RandomState(4)
        log_scores = rng.randn(6)
        mask = np.array([True, False, True, True, False, True])
        real = np.where(mask)[0]
        scores = tf.constant(log_scores)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(scores)
            padded = neural_sort(scores, 0.7, hard=hard, mask=mask)
            alone = neural_sort(tf.gather(scores, real), 0.7, hard=hard)
            padded_loss = tf.reduce_sum(
                tf.gather(padded[:4], real, axis=1) * np.arange(16.).reshape(4, 4))
            alone_loss = tf.reduce_sum(alone * np.arange(16.).reshape(4, 4))
        padded_value = self.evaluate(padded)
        self.assertAllClose(padded_value[:4][:, real], self.evaluate(alone), atol=1e-12)
        self.assertAllEqual(padded_value[:4][:, ~mask], np.zeros((4, 2)))
        # The padded elements fill the last rows, in index order.
        self.assertAllEqual(padded_value[4:], np.eye(6)[[1, 4]])
        padded_grad, alone_grad = self.evaluate(
            [tf.convert_to_tensor(tape.gradient(loss, scores))
             for loss in (padded_loss, alone_loss)])
        self.assertAllClose(padded_grad[real], alone_grad[real], atol=1e-10)
        self.assertAllEqual(padded_grad[~mask], [0., 0.])
        self.assertAllClose(self.evaluate(pairwise_abs_rowsum(log_scores, mask))[real],
                            np.abs(log_scores[real][:, None] - log_scores[real]).sum(-1))

    def test_bad_temperature_raises(self):
        with self.assertRaisesRegex(ValueError, "temperature=0"):
            neural_sort(tf.zeros([3]), 0.)
        with self.assertRaisesRegex(ValueError, "temperature"):
            neural_sort(tf.zeros([3]), -1.)

    def test_dtype_mismatch_raises(self):
        with self.assertRaisesRegex(TypeError, "float32.*float64"):
            neural_sort(tf.zeros([3], tf.float32), tf.constant(1., tf.float64))


if __name__ == "__main__":
    tf.test.main()
