"""Tests for tf_drpm.distributions.RelaxedPlackettLuce."""

import itertools

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.distributions import RelaxedPlackettLuce
from tf_drpm.ops import hard_sort_permutation
from tf_drpm.ops import neural_sort
from tf_drpm.ops import plackett_luce_log_prob

tfd = tfp.distributions


def _exact_pl_probs(log_scores):
    """Exact PL probabilities of all orders (float64 NumPy), dict order->p."""
    scores = np.exp(np.asarray(log_scores, np.float64))
    probs = {}
    for order in itertools.permutations(range(len(scores))):
        p, remaining = 1., scores.sum()
        for i in order:
            p *= scores[i] / remaining
            remaining -= scores[i]
        probs[order] = p
    return probs


def _is_permutation_matrix(p):
    p = np.asarray(p)
    binary = np.all((p == 0) | (p == 1))
    return bool(binary and np.all(p.sum(-1) == 1) and np.all(p.sum(-2) == 1))


class RelaxedPlackettLuceTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(itertools.product(
        ([], [1], [2, 3]), (np.float32, np.float64), (True, False)))
    def test_shapes_dtypes_and_values(self, batch_shape, dtype, hard):
        rng = np.random.RandomState(0)
        n = 4
        log_scores = rng.randn(*batch_shape, n).astype(dtype)
        dist = RelaxedPlackettLuce(log_scores, dtype(0.5), hard=hard)
        self.assertEqual(dist.batch_shape, batch_shape)
        self.assertEqual(dist.event_shape, [n, n])
        self.assertAllEqual(dist.batch_shape_tensor(), batch_shape)
        self.assertAllEqual(dist.event_shape_tensor(), [n, n])
        self.assertEqual(dist.dtype, dtype)
        samples = self.evaluate(dist.sample(5, seed=[1, 2]))
        self.assertEqual(samples.shape, (5,) + tuple(batch_shape) + (n, n))
        self.assertEqual(samples.dtype, dtype)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        self.assertAllClose(samples.sum(-1), np.ones(samples.shape[:-1]),
                            atol=tol)
        if hard:
            # The exact twin is TFP's PlackettLuce over permutation vectors,
            # and our log-space pmf of the matrices agrees with it.
            self.assertTrue(_is_permutation_matrix(samples))
            self.assertIsInstance(dist.exact, tfd.PlackettLuce)
            log_prob = self.evaluate(dist.exact.log_prob(samples.argmax(-1)))
            self.assertEqual(log_prob.shape, (5,) + tuple(batch_shape))
            oracle = tfd.PlackettLuce(scores=tf.constant(
                np.exp(log_scores.astype(np.float64))))
            self.assertAllClose(log_prob, oracle.log_prob(samples.argmax(-1)),
                                rtol=tol, atol=tol)
            self.assertAllClose(self.evaluate(plackett_luce_log_prob(log_scores, samples)),
                                log_prob, rtol=tol, atol=tol)
        mode = self.evaluate(dist.mode())
        self.assertAllEqual(mode, hard_sort_permutation(log_scores))

    def test_temperature_batch_broadcast(self):
        dist = RelaxedPlackettLuce(tf.zeros([4]), [0.5, 1., 2.], hard=False)
        self.assertEqual(dist.batch_shape, [3])
        samples = self.evaluate(dist.sample(2, seed=[3, 4]))
        self.assertEqual(samples.shape, (2, 3, 4, 4))
        log_prob = self.evaluate(dist.exact.log_prob(tf.range(4)))
        self.assertAllClose(log_prob, np.full([3], -np.log(24.)))
        self.assertEqual(dist.mode().shape, (3, 4, 4))

    @parameterized.parameters(False, True)
    def test_hard_sample_frequencies_match_exact_pl(self, jit):
        num_samples = 20000
        log_scores = np.array([[1., 0., -0.5], [0.3, 0.3, 2.]], np.float32)
        dist = RelaxedPlackettLuce(log_scores, 0.3, hard=True)

        def sample(seed):
            return dist.sample(num_samples, seed=seed)

        if jit:
            sample = tf.function(sample, jit_compile=True)
        samples = self.evaluate(sample(tf.constant([7, 11])))
        self.assertTrue(_is_permutation_matrix(samples))
        orders = samples.argmax(-1)                      # [N, 2, 3]
        for b in range(2):
            exact = _exact_pl_probs(log_scores[b])
            for order, p in exact.items():
                freq = np.mean(np.all(orders[:, b] == order, axis=-1))
                sigma = np.sqrt(p * (1. - p) / num_samples)
                self.assertLess(abs(freq - p), 5. * sigma,
                                msg=f"batch {b}, order {order}: {freq} vs {p}")

    def test_small_temperature_soft_sample_equals_hard_sample(self):
        log_scores = np.random.RandomState(1).randn(2, 5)
        seed = tf.constant([5, 9])
        soft = RelaxedPlackettLuce(log_scores, 1e-9, hard=False).sample(
            100, seed=seed)
        hard = RelaxedPlackettLuce(log_scores, 1e-9, hard=True).sample(
            100, seed=seed)
        self.assertTrue(_is_permutation_matrix(self.evaluate(hard)))
        self.assertAllClose(soft, hard, atol=1e-6)

    def test_noiseless_permutation(self):
        log_scores = np.random.RandomState(2).randn(3, 5).astype(np.float32)
        dist = RelaxedPlackettLuce(log_scores, 0.7, hard=False)
        expected = self.evaluate(neural_sort(log_scores, 0.7))
        self.assertAllClose(self.evaluate(dist.noiseless_permutation()), expected,
                            rtol=1e-6, atol=1e-6)
        hard = RelaxedPlackettLuce(log_scores, 0.7)
        self.assertAllEqual(self.evaluate(hard.noiseless_permutation()),
                            self.evaluate(hard.mode()))

    @parameterized.parameters(True, False)
    def test_gradients_and_reparameterization_type(self, hard):
        # Soft samples: FULLY_REPARAMETERIZED, the gradient is the derivative
        # of the sample at fixed noise. Hard samples: straight-through (the
        # sample does not move), NOT_REPARAMETERIZED.
        rng = np.random.RandomState(3)
        log_scores = tf.constant(rng.randn(2, 6))
        weights = tf.constant(rng.randn(6, 6))

        def loss(log_scores):
            dist = RelaxedPlackettLuce(log_scores, np.float64(0.5), hard=hard)
            return tf.reduce_sum(weights * dist.sample(8, seed=[2, 3]))

        self.assertEqual(
            RelaxedPlackettLuce(log_scores, 0.5, hard=hard).reparameterization_type,
            tfd.NOT_REPARAMETERIZED if hard else tfd.FULLY_REPARAMETERIZED)
        with tf.GradientTape() as tape:
            tape.watch(log_scores)
            value = loss(log_scores)
        grad = self.evaluate(tape.gradient(value, log_scores))
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertGreater(np.abs(grad).max(), 1e-4)
        step = 1e-6
        numeric = np.reshape([
            (self.evaluate(loss(log_scores + step * e)) - self.evaluate(loss(log_scores - step * e)))
            / (2 * step) for e in np.eye(12).reshape(12, 2, 6)], [2, 6])
        if hard:
            self.assertAllEqual(numeric, np.zeros([2, 6]))
        else:
            self.assertAllClose(grad, numeric, rtol=1e-4, atol=1e-6)

    def test_log_prob_points_to_the_exact_distribution(self):
        dist = RelaxedPlackettLuce(tf.zeros([3]), 1.)
        with self.assertRaisesRegex(NotImplementedError, r"relaxed\.exact\.log_prob"):
            dist.log_prob(np.eye(3, dtype=np.float32))
        with self.assertRaisesRegex(TypeError, "stochastic"):
            RelaxedPlackettLuce(tf.zeros([3]), 1., stochastic=False)

    def test_exact_log_prob_gradient_reaches_log_scores(self):
        log_scores = tf.Variable([0.1, -0.4, 1.2])
        dist = RelaxedPlackettLuce(log_scores, 1.)
        with tf.GradientTape() as tape:
            log_prob = dist.exact.log_prob(tf.range(3))
        grad = self.evaluate(tape.gradient(log_prob, log_scores))
        # d/ds_0 of log p(identity) = 1 - p(0 first) in closed form.
        p0 = np.exp(0.1) / np.exp([0.1, -0.4, 1.2]).sum()
        self.assertAllClose(grad[0], 1. - p0, rtol=1e-5)

    def test_eager_graph_and_jit(self):
        log_scores = np.random.RandomState(4).randn(2, 5)
        dist = RelaxedPlackettLuce(log_scores, 0.4, hard=False)
        seed = tf.constant([3, 5])
        eager = self.evaluate(dist.sample(3, seed=seed))
        graph = tf.function(lambda s: dist.sample(3, seed=s))(seed)
        self.assertAllClose(eager, graph, rtol=1e-12, atol=1e-12)
        jit = self.evaluate(tf.function(lambda s: dist.sample(3, seed=s),
                                        jit_compile=True)(seed))
        self.assertEqual(jit.shape, eager.shape)
        self.assertAllClose(jit.sum(-1), np.ones(jit.shape[:-1]))
        noiseless = self.evaluate(dist.noiseless_permutation())
        self.assertAllClose(noiseless, tf.function(dist.noiseless_permutation)())
        self.assertAllClose(
            noiseless, tf.function(dist.noiseless_permutation, jit_compile=True)(), atol=1e-6)

    def test_composite_tensor_through_tf_function(self):
        dist = RelaxedPlackettLuce(tf.zeros([2, 3]), 0.5, hard=True)
        fn = tf.function(lambda d: d.exact.log_prob(tf.argmax(d.sample(seed=[1, 2]), -1)))
        self.assertAllClose(fn(dist), np.full([2], -np.log(6.)))
        copy = dist.copy(temperature=2.)
        self.assertTrue(copy.hard)
        self.assertAllClose(copy.temperature, 2.)

    def test_static_bad_arguments_raise(self):
        with self.assertRaisesRegex(ValueError, "temperature=0"):
            RelaxedPlackettLuce(tf.zeros([3]), 0.)
        with self.assertRaisesRegex(ValueError, "temperature"):
            RelaxedPlackettLuce(tf.zeros([3]), [1., -1.])
        with self.assertRaisesRegex(ValueError, "log_scores.*finite"):
            RelaxedPlackettLuce([0., np.nan, 1.], 1.)
        with self.assertRaisesRegex(ValueError, "log_scores.*rank"):
            RelaxedPlackettLuce(1., 1.)
        with self.assertRaisesRegex(ValueError, "log_scores.*at least one"):
            RelaxedPlackettLuce(tf.zeros([2, 0]), 1.)
        with self.assertRaisesRegex(TypeError, "float32.*float64"):
            RelaxedPlackettLuce(tf.zeros([3]), tf.constant(1., tf.float64))

    def test_validate_args_runtime_errors(self):
        log_scores = tf.Variable([0., 1., 2.])
        temperature = tf.Variable(1.)
        dist = RelaxedPlackettLuce(log_scores, temperature, validate_args=True)
        self.evaluate(dist.sample(seed=[1, 2]))
        log_scores.assign([0., np.inf, 2.])
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                    "`log_scores` must be finite"):
            self.evaluate(dist.sample(seed=[1, 2]))
        log_scores.assign([0., 1., 2.])
        temperature.assign(-1.)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                    "`temperature` must be positive"):
            self.evaluate(dist.sample(seed=[1, 2]))


    @parameterized.product(bad=[np.nan, np.inf, -np.inf], hard=[True, False],
                           dtype=[np.float32, np.float64])
    def test_run_time_non_finite_log_scores_give_nan(self, bad, hard, dtype):
        # A variable with a non-finite log-score: NaN samples, mode and
        # noiseless permutation for that member alone.
        rng = np.random.RandomState(7)
        log_scores = rng.randn(3, 5).astype(dtype)
        good = RelaxedPlackettLuce(log_scores, dtype(0.5), hard=hard)
        log_scores[1, rng.randint(5)] = bad
        variable = tf.Variable(log_scores)
        dist = RelaxedPlackettLuce(variable, dtype(0.5), hard=hard)
        values = self.evaluate([dist.sample(4, seed=[1, 2]), dist.mode(),
                                dist.noiseless_permutation(),
                                tf.function(lambda: dist.sample(4, seed=[1, 2]))()])
        expected = self.evaluate([good.sample(4, seed=[1, 2]), good.mode(),
                                  good.noiseless_permutation(), good.sample(4, seed=[1, 2])])
        for value, reference in zip(values, expected):
            self.assertTrue(np.all(np.isnan(value[..., 1, :, :])))
            self.assertAllClose(value[..., [0, 2], :, :], reference[..., [0, 2], :, :])
        checked = RelaxedPlackettLuce(variable, dtype(0.5), validate_args=True)
        with self.assertRaisesOpError("`log_scores` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))

    def test_run_time_temperature_not_positive_gives_nan(self):
        temperature = tf.Variable(0.5)
        dist = RelaxedPlackettLuce(tf.constant([[0.3, 2., -1.]]), temperature)
        temperature.assign(-1.)
        self.assertTrue(np.all(np.isnan(self.evaluate(dist.sample(2, seed=[1, 2])))))
        self.assertTrue(np.all(np.isnan(self.evaluate(dist.noiseless_permutation()))))


if __name__ == "__main__":
    tf.test.main()
