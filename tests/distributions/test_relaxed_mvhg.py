"""Tests for tf_drpm.distributions.RelaxedMultivariateNoncentralHypergeometric."""

import fractions

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tests.distributions.test_mvhg import EXAMPLE
from tests.distributions.test_mvhg import chi_square_check
from tests.distributions.test_mvhg import enumerate_mvhg
from tf_drpm.distributions import MVHG
from tf_drpm.distributions import RelaxedMultivariateNoncentralHypergeometric
from tf_drpm.distributions import RelaxedMVHG


def _example(dtype=tf.float64, temperature=0.5, **kwargs):
    return RelaxedMVHG(total_count=tf.constant(6., dtype),
                       group_sizes=tf.constant([6., 6., 6.], dtype),
                       log_weights=tf.constant(np.log([1., 5., .2]), dtype),
                       temperature=tf.constant(temperature, dtype), **kwargs)


class RelaxedMVHGTest(tf.test.TestCase, parameterized.TestCase):

    def test_alias_and_reparameterization(self):
        # Hard samples have straight-through (biased) gradients, soft ones
        # are differentiable functions of the parameters and the noise.
        self.assertIs(RelaxedMVHG, RelaxedMultivariateNoncentralHypergeometric)
        self.assertEqual(_example().reparameterization_type,
                         tfp.distributions.NOT_REPARAMETERIZED)
        self.assertEqual(_example(hard=False).reparameterization_type,
                         tfp.distributions.FULLY_REPARAMETERIZED)

    def test_hard_sample_frequencies_match_exact_pmf(self):
        samples = self.evaluate(_example().sample(20000, seed=[11, 12]))
        chi_square_check(self, samples, enumerate_mvhg(**EXAMPLE))

    def test_hard_samples_are_the_exact_samples(self):
        # Same seed, same counts: the forward value is an exact MVHG sample.
        dist = _example()
        self.assertIsInstance(dist.exact, MVHG)
        self.assertAllEqual(self.evaluate(dist.sample(100, seed=[3, 4])),
                            self.evaluate(dist.exact.sample(100, seed=[3, 4])))

    @parameterized.named_parameters(("float32", tf.float32),
                                    ("float64", tf.float64))
    def test_encodings_are_one_hot_and_match_counts(self, dtype):
        dist = RelaxedMVHG(tf.constant([5., 9.], dtype),
                           tf.constant([[4., 3., 6.], [5., 5., 5.]], dtype),
                           tf.constant([[0., 1., -2.], [3., 0., -1.]], dtype),
                           temperature=tf.constant(0.7, dtype))
        counts, encodings = dist.sample_with_encodings([3, 2], seed=[1, 2])
        self.assertEqual(counts.shape, [3, 2, 2, 3])
        self.assertEqual(encodings.shape, [3, 2, 2, 3, 10])
        self.assertEqual(counts.dtype, dtype)
        counts, encodings = self.evaluate([counts, encodings])
        self.assertTrue(np.all((encodings == 0.) | (encodings == 1.)))
        self.assertAllEqual(encodings.sum(-1), np.ones(counts.shape))
        self.assertAllEqual((encodings * np.arange(10)).sum(-1), counts)
        self.assertAllEqual(counts.sum(-1), np.broadcast_to([5., 9.], [3, 2, 2]))
        self.assertTrue(np.all(counts <= [[4., 3., 6.], [5., 5., 5.]]))
        self.assertEqual(dist.sample(4, seed=[3, 3]).shape, [4, 2, 3])

    @parameterized.named_parameters(("hard", True), ("soft", False))
    def test_gradients_reach_log_weights_and_temperature(self, hard):
        log_w = tf.Variable(np.log([1., 5., .2, 2.]))
        temperature = tf.Variable(0.8, dtype=tf.float64)
        dist = RelaxedMVHG(12., tf.constant([6., 6., 6., 6.], tf.float64),
                           log_w, temperature, hard=hard)
        with tf.GradientTape() as tape:
            counts, encodings = dist.sample_with_encodings(32, seed=[5, 6])
            loss = (tf.reduce_sum(counts * [1., -2., 3., 0.5]) +
                    tf.reduce_sum(encodings * tf.range(13, dtype=tf.float64)**2))
        grad_w, grad_t = tape.gradient(loss, [log_w, temperature])
        grad_w, grad_t = self.evaluate([grad_w, grad_t])
        self.assertTrue(np.all(np.isfinite(grad_w)))
        self.assertTrue(np.all(grad_w != 0.))
        self.assertTrue(np.isfinite(grad_t) and grad_t != 0.)
        counts = self.evaluate(counts)
        self.assertAllClose(counts.sum(-1), np.full(32, 12.))
        if hard:
            self.assertAllEqual(counts, np.round(counts))
        else:
            self.assertFalse(np.all(counts == np.round(counts)))

    def test_straight_through_gradient_is_soft_count_gradient(self):
        # The first group's conditional does not depend on the path: with
        # shared Gumbel noise the hard (straight-through) count of group 1
        # has the gradient of the soft count.
        log_w = tf.constant(np.log([1., 5., .2]))
        grads = []
        for hard in (True, False):
            with tf.GradientTape() as tape:
                tape.watch(log_w)
                dist = RelaxedMVHG(6., tf.constant([6., 6., 6.], tf.float64),
                                   log_w, tf.constant(2., tf.float64),
                                   hard=hard)
                counts = dist.sample(5, seed=[7, 7])
                loss = tf.reduce_sum(counts[..., 0])
            grads.append(self.evaluate(tape.gradient(loss, log_w)))
        self.assertAllClose(grads[0], grads[1], rtol=1e-10)
        self.assertTrue(np.all(grads[0] != 0.))

    def test_soft_gradient_matches_finite_differences(self):
        # With fixed noise and path, the soft sample is a smooth function of
        # the log-weights.
        sizes = tf.constant([5., 4., 6.], tf.float64)

        def f(log_w):
            dist = RelaxedMVHG(7., sizes, log_w, tf.constant(1.5, tf.float64),
                               hard=False)
            return tf.reduce_sum(dist.sample(4, seed=[1, 3])[..., 0])

        log_w = tf.constant([0.3, -0.2, 0.5], tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(log_w)
            out = f(log_w)
        grad = self.evaluate(tape.gradient(out, log_w))
        eps = 1e-6
        fd = [self.evaluate((f(log_w + d) - f(log_w - d)) / (2 * eps))
              for d in np.eye(3) * eps]
        self.assertAllClose(grad, fd, rtol=1e-5, atol=1e-7)

    def test_noiseless_counts(self):
        dist = _example()
        a = self.evaluate(dist.noiseless_counts())[np.newaxis]
        self.assertAllEqual(a[0], self.evaluate(dist.noiseless_counts()))
        counts, encodings = self.evaluate(dist.noiseless_counts_with_encodings())
        self.assertAllEqual(counts, a[0])
        self.assertAllEqual(encodings.argmax(-1), a[0])
        # Greedy sequential mode: n_1 = mode of p(n_1), then the conditional
        # mode of n_2 given n_1.
        pmf = enumerate_mvhg(**EXAMPLE)
        marginal = {}
        for c, p in pmf.items():
            marginal[c[0]] = marginal.get(c[0], 0) + p
        n1 = max(marginal, key=marginal.get)
        cond = {c[1]: p for c, p in pmf.items() if c[0] == n1}
        n2 = max(cond, key=cond.get)
        self.assertAllEqual(a[0], [n1, n2, 6 - n1 - n2])
        # Soft deterministic mode at a low temperature: near the greedy mode
        # when the conditional modes are clear (ratio >= 1.5 here).
        weights = [fractions.Fraction(1), fractions.Fraction(3),
                   fractions.Fraction(1, 10)]
        pmf = enumerate_mvhg(6, (6, 6, 6), weights)
        marginal = {}
        for c, p in pmf.items():
            marginal[c[0]] = marginal.get(c[0], 0) + p
        top = sorted(marginal.values())
        self.assertGreater(top[-1] / top[-2], 1.5)
        n1 = max(marginal, key=marginal.get)
        top = sorted(p for c, p in pmf.items() if c[0] == n1)
        self.assertGreater(top[-1] / top[-2], 1.5)
        log_w = tf.constant(np.log([1., 3., .1]))
        sizes = tf.constant([6., 6., 6.], tf.float64)
        greedy = self.evaluate(RelaxedMVHG(6., sizes, log_w, 1.).noiseless_counts())
        soft = self.evaluate(RelaxedMVHG(6., sizes, log_w, 0.05, hard=False).noiseless_counts())
        self.assertAllClose(soft, greedy, atol=1e-3)
        # Soft counts stay feasible even at a tie or a high temperature.
        for temperature in (0.05, 1., 20.):
            soft = self.evaluate(_example(
                hard=False, temperature=temperature).sample(50, seed=[1, 2]))
            self.assertAllClose(soft.sum(-1), np.full(50, 6.))
            self.assertTrue(np.all(soft >= -1e-9) and np.all(soft <= 6.))

    def test_log_prob_points_to_the_exact_mvhg(self):
        dist = _example()
        counts = self.evaluate(dist.sample(10, seed=[2, 2]))
        with self.assertRaisesRegex(NotImplementedError, r"relaxed\.exact\.log_prob"):
            dist.log_prob(counts)
        exact = MVHG(6., [6., 6., 6.], np.log([1., 5., .2]))
        self.assertAllClose(self.evaluate(dist.exact.log_prob(counts)),
                            self.evaluate(exact.log_prob(counts)), rtol=1e-12)
        pmf = enumerate_mvhg(**EXAMPLE)
        self.assertAllClose(
            self.evaluate(dist.exact.log_prob(np.array(list(pmf), np.float64))),
            np.log([float(p) for p in pmf.values()]), rtol=1e-10)

    @parameterized.named_parameters(("float32", tf.float32),
                                    ("float64", tf.float64))
    def test_extreme_log_weights(self, dtype):
        log_w = tf.Variable(tf.constant([[30., -30., 0., 12.]] * 2, dtype))
        dist = RelaxedMVHG(tf.constant([6., 9.], dtype),
                           tf.constant([3., 4., 2., 3.], dtype), log_w,
                           tf.constant(0.5, dtype))
        with tf.GradientTape() as tape:
            counts = dist.sample(50, seed=[4, 4])
            loss = tf.reduce_sum(counts * [1., 2., 3., 4.])
        grad = self.evaluate(tape.gradient(loss, log_w))
        counts = self.evaluate(counts)
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertAllEqual(counts[:, 0, 0], np.full(50, 3.))
        self.assertAllEqual(counts[:, 1], np.broadcast_to([3., 1., 2., 3.],
                                                          [50, 4]))
        self.assertTrue(np.all(np.isfinite(self.evaluate(
            dist.exact.log_prob(counts)))))

    def test_drpm_sized_extreme_float32(self):
        # K = 10 groups of n = 128, total n, log-weights in [-30, 30]: samples
        # and straight-through gradients are finite and valid in float32.
        n, num_groups = 128, 10
        log_w = tf.Variable(tf.constant(
            np.stack([[-30.] * (num_groups - 1) + [30.],
                      np.zeros(num_groups),
                      np.random.RandomState(0).normal(size=num_groups)]),
            tf.float32))
        dist = RelaxedMVHG(float(n), tf.fill([num_groups], float(n)), log_w,
                           temperature=0.5)
        with tf.GradientTape() as tape:
            counts, encodings = dist.sample_with_encodings(seed=[5, 5])
            loss = (tf.reduce_sum(counts * tf.range(num_groups, dtype=tf.float32))
                    + tf.reduce_sum(encodings))
        grad = self.evaluate(tape.gradient(loss, log_w))
        counts = self.evaluate(counts)
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertTrue(np.any(grad != 0.))
        self.assertAllEqual(counts.sum(-1), np.full(3, float(n)))
        # w_10 / w_k = e^60 in the first batch member: all n from group 10
        # (any other outcome has probability below 1e-20).
        self.assertAllEqual(counts[0], np.eye(num_groups)[-1] * n)
        self.assertTrue(np.all(np.isfinite(self.evaluate(
            dist.exact.log_prob(counts)))))

    def test_eager_function_jit_agree(self):
        dist = _example(dtype=tf.float32)

        def run(seed):
            with tf.GradientTape() as tape:
                tape.watch(dist.log_weights)
                counts = dist.sample(4000, seed=seed)
                loss = tf.reduce_sum(counts[..., 0])
            return counts, tape.gradient(loss, dist.log_weights)

        seed = tf.constant([8, 1])
        eager = self.evaluate(run(seed))
        graph = self.evaluate(tf.function(run)(seed))
        self.assertAllEqual(eager[0], graph[0])
        self.assertAllClose(eager[1], graph[1], rtol=1e-5)
        # Stateless RNG streams differ under XLA: compare the law and the
        # deterministic mode instead.
        jit = self.evaluate(tf.function(run, jit_compile=True)(seed))
        chi_square_check(self, jit[0], enumerate_mvhg(**EXAMPLE))
        self.assertTrue(np.all(np.isfinite(jit[1])))
        det = _example(dtype=tf.float32, hard=False)
        sample = det.noiseless_counts
        self.assertAllClose(self.evaluate(sample()), self.evaluate(
            tf.function(sample, jit_compile=True)()), rtol=1e-5)

    def test_single_group(self):
        log_w = tf.Variable([0.3])
        dist = RelaxedMVHG(4., [5.], log_w, 1.)
        counts, encodings = dist.sample_with_encodings(2, seed=[1, 2])
        self.assertAllEqual(self.evaluate(counts), [[4.], [4.]])
        self.assertAllEqual(self.evaluate(encodings)[0, 0], np.eye(5)[4])

    def test_validation(self):
        with self.assertRaisesRegex(ValueError, "temperature.*Received"):
            RelaxedMVHG(2., [3., 3.], [0., 0.], temperature=-1.)
        with self.assertRaisesRegex(ValueError, "group_sizes.*log_weights"):
            RelaxedMVHG(2., [3., 3.], [0., 0., 0.], temperature=1.)
        temperature = tf.Variable(-1.)
        with self.assertRaisesOpError("temperature.*positive"):
            dist = RelaxedMVHG(2., [3., 3.], [0., 0.], temperature,
                               validate_args=True)
            self.evaluate(dist.sample(1, seed=[1, 1]))
        dist = RelaxedMVHG(2., [3., 3.], [0., 0.], 1., validate_args=True)
        with self.assertRaisesOpError("sum to `total_count`"):
            self.evaluate(dist.exact.log_prob([1., 2.]))
        with self.assertRaisesRegex(TypeError, "stochastic"):
            RelaxedMVHG(2., [3., 3.], [0., 0.], 1., stochastic=False)


    def test_invalid_variable_total_count_gives_nan(self):
        total_count = tf.Variable(6.)
        dist = RelaxedMVHG(total_count, [2., 2., 2.], [0., 0.5, 1.], 0.5)
        total_count.assign(2.5)
        counts, encodings = dist.sample_with_encodings(2, seed=[1, 2])
        self.assertTrue(np.all(np.isnan(self.evaluate(counts))))
        self.assertTrue(np.all(np.isnan(self.evaluate(encodings))))


    def test_mean_is_the_exact_mvhg_mean(self):
        log_weights = tf.math.log([1., 5., .2])
        dist = RelaxedMVHG(6., [6., 6., 6.], log_weights, 0.5)
        # E[n] by enumeration of the exact pmf.
        pmf = enumerate_mvhg(6, [6, 6, 6], [1, 5, fractions.Fraction(1, 5)])
        expected = [float(sum(c[k] * p for c, p in pmf.items())) for k in range(3)]
        self.assertAllClose(self.evaluate(dist.mean()), expected, rtol=1e-5)
        self.assertAllClose(self.evaluate(dist.mean()),
                            self.evaluate(MVHG(6., [6., 6., 6.], log_weights).mean()))
        with self.assertRaisesRegex(NotImplementedError, "hard=False"):
            RelaxedMVHG(6., [6., 6., 6.], log_weights, 0.5, hard=False).mean()


    @parameterized.product(bad=[np.nan, np.inf, -np.inf], hard=[True, False])
    def test_run_time_non_finite_log_weights_give_nan(self, bad, hard):
        rng = np.random.RandomState(6)
        log_weights = rng.randn(3, 3).astype(np.float32)
        good = RelaxedMVHG(6., [6., 6., 6.], log_weights, 0.5, hard=hard)
        log_weights[0, rng.randint(3)] = bad
        variable = tf.Variable(log_weights)
        dist = RelaxedMVHG(6., [6., 6., 6.], variable, 0.5, hard=hard)
        counts, encodings = self.evaluate(dist.sample_with_encodings(4, seed=[1, 2]))
        expected = self.evaluate(good.sample_with_encodings(4, seed=[1, 2]))
        for value, reference in ((counts, expected[0]), (encodings, expected[1])):
            self.assertTrue(np.all(np.isnan(value[:, 0])))
            self.assertAllClose(value[:, 1:], reference[:, 1:])
        noiseless = self.evaluate(dist.noiseless_counts())
        self.assertTrue(np.all(np.isnan(noiseless[0])))
        self.assertTrue(np.all(np.isfinite(noiseless[1:])))
        checked = RelaxedMVHG(6., [6., 6., 6.], variable, 0.5, validate_args=True)
        with self.assertRaisesOpError("`log_weights` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))


    @parameterized.named_parameters(("zero", 0.), ("negative", -1.))
    def test_run_time_temperature_not_positive_gives_nan(self, value):
        # Not plausible straight-through counts: NaN for the member concerned.
        temperature = tf.Variable([0.5, 0.5])
        dist = RelaxedMVHG(6., [6., 6., 6.], [[0., 0.5, 1.]] * 2, temperature)
        temperature.assign([0.5, value])
        counts = self.evaluate(dist.sample(3, seed=[1, 2]))
        self.assertTrue(np.all(np.isnan(counts[:, 1])))
        self.assertAllEqual(counts[:, 0].sum(-1), [6.] * 3)
        checked = RelaxedMVHG(6., [6., 6., 6.], [0., 0.5, 1.], temperature, validate_args=True)
        with self.assertRaisesOpError("temperature"):
            self.evaluate(checked.sample(seed=[1, 2]))


if __name__ == "__main__":
    tf.test.main()
