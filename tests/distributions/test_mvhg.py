"""Tests for tf_drpm.distributions.MultivariateNoncentralHypergeometric."""

import fractions
import itertools
import math

from absl.testing import parameterized
import numpy as np
from scipy import stats
import tensorflow as tf

from tf_drpm.distributions import MVHG
from tf_drpm.distributions import MultivariateNoncentralHypergeometric


def enumerate_mvhg(total_count, group_sizes, weights):
    """Exact pmf {counts: Fraction} by enumeration (weights as Fractions)."""
    pmf = {}
    for counts in itertools.product(*[range(m + 1) for m in group_sizes]):
        if sum(counts) != total_count:
            continue
        value = fractions.Fraction(1)
        for n, m, w in zip(counts, group_sizes, weights):
            value *= math.comb(m, n) * w**n
        pmf[counts] = value
    total = sum(pmf.values())
    return {c: v / total for c, v in pmf.items()}


def chi_square_check(test, samples, pmf, p_value=1e-6):
    """Pearson chi-square of sample counts vs an exact pmf (cells with >= 5
    expected; the rest pooled); fails with probability `p_value` under H0."""
    num = len(samples)
    observed = {}
    for row in map(tuple, samples.astype(int)):
        test.assertIn(row, pmf, msg=f"sample {row} outside the support")
        observed[row] = observed.get(row, 0) + 1
    stat, dof, pooled_obs, pooled_exp = 0., -1, 0, 0.
    for cell, prob in pmf.items():
        expected = num * float(prob)
        if expected >= 5:
            stat += (observed.get(cell, 0) - expected)**2 / expected
            dof += 1
        else:
            pooled_obs += observed.get(cell, 0)
            pooled_exp += expected
    if pooled_exp > 0:
        stat += (pooled_obs - pooled_exp)**2 / max(pooled_exp, 1e-12)
        dof += 1
    test.assertLess(stat, stats.chi2.ppf(1. - p_value, max(dof, 1)))


EXAMPLE = dict(total_count=6, group_sizes=(6, 6, 6),
               weights=(fractions.Fraction(1), fractions.Fraction(5),
                        fractions.Fraction(1, 5)))


class MVHGTest(tf.test.TestCase, parameterized.TestCase):

    def _example(self, dtype=tf.float64, **kwargs):
        return MVHG(total_count=tf.constant(6., dtype),
                    group_sizes=tf.constant([6., 6., 6.], dtype),
                    log_weights=tf.constant(np.log([1., 5., .2]), dtype),
                    **kwargs)

    def test_alias(self):
        self.assertIs(MVHG, MultivariateNoncentralHypergeometric)

    @parameterized.named_parameters(("float32", tf.float32, 1e-5),
                                    ("float64", tf.float64, 1e-10))
    def test_log_prob_matches_enumeration(self, dtype, rtol):
        cases = [
            (5, (3, 2, 4), (fractions.Fraction(2), fractions.Fraction(1, 3),
                            fractions.Fraction(5))),
            (4, (4, 1, 2, 3), (fractions.Fraction(1), fractions.Fraction(7),
                               fractions.Fraction(1, 2), fractions.Fraction(3))),
            (3, (5,), (fractions.Fraction(3),)),
        ]
        for total, sizes, weights in cases:
            pmf = enumerate_mvhg(total, sizes, weights)
            counts = np.array(list(pmf.keys()), dtype=np.float64)
            dist = MVHG(tf.constant(float(total), dtype),
                        tf.constant(sizes, dtype),
                        tf.constant(np.log([float(w) for w in weights]), dtype))
            log_prob = self.evaluate(dist.log_prob(tf.constant(counts, dtype)))
            self.assertEqual(log_prob.dtype, dtype.as_numpy_dtype)
            expected = np.log([float(p) for p in pmf.values()])
            self.assertAllClose(log_prob, expected, rtol=rtol, atol=rtol)
            self.assertAllClose(np.sum(np.exp(log_prob.astype(np.float64))), 1.,
                                rtol=rtol)

    def test_out_of_support_is_minus_inf(self):
        dist = self._example()
        log_prob = self.evaluate(dist.log_prob(
            [[7., 0., -1.], [2., 2., 1.], [1.5, 4.5, 0.], [0., 0., 6.]]))
        self.assertAllEqual(log_prob[:3], [-np.inf] * 3)
        self.assertTrue(np.isfinite(log_prob[3]))

    def test_equal_weights_match_scipy(self):
        sizes = [7, 4, 5, 3]
        dist = MVHG(8., tf.constant(sizes, tf.float64),
                    tf.fill([4], tf.constant(1.7, tf.float64)))
        counts = [c for c in itertools.product(*[range(m + 1) for m in sizes])
                  if sum(c) == 8]
        expected = stats.multivariate_hypergeom.logpmf(counts, m=sizes, n=8)
        self.assertAllClose(self.evaluate(dist.log_prob(
            np.array(counts, np.float64))), expected, rtol=1e-10)

    @parameterized.named_parameters(("float32", tf.float32),
                                    ("float64", tf.float64))
    def test_batch_shapes(self, dtype):
        for batch in ([], [1], [2, 3]):
            dist = MVHG(tf.fill(batch, tf.constant(4., dtype)),
                        tf.constant([3., 2., 4.], dtype),
                        tf.zeros(batch + [3], dtype))
            self.assertEqual(dist.batch_shape, batch)
            self.assertEqual(dist.event_shape, [3])
            samples = dist.sample(5, seed=[1, 2])
            self.assertEqual(samples.shape, [5] + batch + [3])
            self.assertEqual(samples.dtype, dtype)
            self.assertAllEqual(tf.reduce_sum(samples, -1),
                                tf.fill([5] + batch, tf.constant(4., dtype)))
            self.assertEqual(dist.log_prob(samples).shape, [5] + batch)
            self.assertEqual(dist.mean().shape, batch + [3])
        # Broadcasting: total_count [2, 1], log_weights [3, 3].
        dist = MVHG(tf.constant([[2.], [4.]], dtype),
                    tf.constant([3., 2., 4.], dtype), tf.zeros([3, 3], dtype))
        self.assertEqual(dist.batch_shape, [2, 3])
        self.assertEqual(dist.sample(2, seed=[3, 4]).shape, [2, 2, 3, 3])

    def test_sample_frequencies_match_exact_pmf(self):
        pmf = enumerate_mvhg(**EXAMPLE)
        samples = self.evaluate(self._example().sample(20000, seed=[7, 8]))
        chi_square_check(self, samples, pmf)
        # A second case with 4 groups and unequal sizes.
        weights = (fractions.Fraction(3), fractions.Fraction(1, 2),
                   fractions.Fraction(1), fractions.Fraction(2))
        pmf = enumerate_mvhg(5, (2, 4, 3, 3), weights)
        dist = MVHG(5., tf.constant([2., 4., 3., 3.], tf.float64),
                    tf.constant(np.log([float(w) for w in weights])))
        chi_square_check(self, self.evaluate(dist.sample(20000, seed=[9, 9])),
                         pmf)

    def test_example_mean(self):
        # m=(6,6,6), N=6, w=(1,5,0.2): exact E[n_1] = 1.579..., not the 1.18
        # of the authors' merged-group sampler.
        pmf = enumerate_mvhg(**EXAMPLE)
        exact = [float(sum(c[k] * p for c, p in pmf.items())) for k in range(3)]
        self.assertAllClose(exact[0], 1.5794, atol=1e-4)
        dist = self._example()
        self.assertAllClose(self.evaluate(dist.mean()), exact, rtol=1e-10)
        num = 40000
        samples = self.evaluate(dist.sample(num, seed=[5, 6]))
        std = np.sqrt([float(sum((c[k] - exact[k])**2 * p
                                 for c, p in pmf.items())) for k in range(3)])
        self.assertAllClose(samples.mean(0), exact, atol=5 * std.max() /
                            np.sqrt(num))

    @parameterized.named_parameters(("float32", tf.float32),
                                    ("float64", tf.float64))
    def test_extreme_log_weights(self, dtype):
        # log-weights +-30: finite, pmf sums to 1, matches the Fraction pmf.
        log_w = [30., -30., 0., 12.]
        weights = [fractions.Fraction(math.exp(x)) for x in log_w]
        sizes = (3, 4, 2, 3)
        pmf = enumerate_mvhg(6, sizes, weights)
        dist = MVHG(tf.constant(6., dtype), tf.constant(sizes, dtype),
                    tf.constant(log_w, dtype))
        counts = np.array(list(pmf.keys()), np.float64)
        log_prob = self.evaluate(dist.log_prob(tf.constant(counts, dtype)))
        expected = np.array([math.log(p) for p in pmf.values()])
        self.assertTrue(np.all(np.isfinite(log_prob)))
        tol = 1e-10 if dtype == tf.float64 else 1e-4
        self.assertAllClose(log_prob, expected, rtol=tol, atol=tol)
        self.assertAllClose(np.sum(np.exp(log_prob.astype(np.float64))), 1.,
                            rtol=tol)
        self.assertTrue(np.all(np.isfinite(self.evaluate(dist.mean()))))
        samples = self.evaluate(dist.sample(200, seed=[1, 1]))
        self.assertTrue(np.all(np.isfinite(self.evaluate(
            dist.log_prob(samples)))))
        # w_1 = e^30 dominates: group 1 is always full (3 of 6).
        self.assertAllEqual(samples[:, 0], np.full(200, 3.))

    def test_log_prob_gradient_matches_finite_differences(self):
        counts = tf.constant([[2., 1., 3.], [0., 4., 2.]], tf.float64)
        sizes = tf.constant([4., 5., 3.], tf.float64)
        log_w = tf.constant([0.4, -0.8, 1.1], tf.float64)

        def f(w):
            return MVHG(6., sizes, w).log_prob(counts)

        with tf.GradientTape() as tape:
            tape.watch(log_w)
            out = tf.reduce_sum(f(log_w) * [1., 0.5])
        grad = self.evaluate(tape.gradient(out, log_w))
        eps = 1e-5
        fd = []
        for k in range(3):
            d = np.zeros(3)
            d[k] = eps
            fd.append(self.evaluate(tf.reduce_sum(
                (f(log_w + d) - f(log_w - d)) * [1., 0.5]) / (2 * eps)))
        self.assertAllClose(grad, fd, rtol=1e-7, atol=1e-9)

    def test_eager_function_jit_agree(self):
        # Stateless RNG streams differ between XLA and the TF kernels, so
        # jit-compiled samples are checked for their law instead of equality.
        dist = self._example(dtype=tf.float32)
        counts = tf.constant([[2., 3., 1.], [0., 6., 0.]])

        def run(seed):
            return (dist.sample(20000, seed=seed), dist.log_prob(counts),
                    dist.mean())

        seed = tf.constant([4, 2])
        eager = self.evaluate(run(seed))
        graph = self.evaluate(tf.function(run)(seed))
        jit = self.evaluate(tf.function(run, jit_compile=True)(seed))
        self.assertAllEqual(eager[0], graph[0])
        for a, b, c in zip(eager[1:], graph[1:], jit[1:]):
            self.assertAllClose(a, b, rtol=1e-6)
            self.assertAllClose(a, c, rtol=1e-5)
        chi_square_check(self, jit[0], enumerate_mvhg(**EXAMPLE))

    def test_composite_tensor_and_slicing(self):
        log_w = tf.Variable(tf.zeros([2, 3]))
        dist = MVHG(tf.constant([4., 5.]), [3., 3., 3.], log_w)
        samples = tf.function(lambda d: d.sample(6, seed=[1, 2]))(dist)
        self.assertEqual(samples.shape, [6, 2, 3])
        self.assertAllEqual(self.evaluate(tf.reduce_sum(samples, -1)),
                            np.tile([4., 5.], [6, 1]))
        self.assertEqual(dist[1].batch_shape, [])
        self.assertAllClose(self.evaluate(dist[1].log_prob([2., 2., 1.])),
                            stats.multivariate_hypergeom.logpmf(
                                [2, 2, 1], m=[3, 3, 3], n=5), rtol=1e-5)

    def test_single_group(self):
        dist = MVHG(3., [5.], [0.7])
        self.assertAllEqual(self.evaluate(dist.sample(3, seed=[1, 2])),
                            [[3.], [3.], [3.]])
        self.assertAllClose(self.evaluate(dist.log_prob([3.])), 0.)

    def test_static_errors(self):
        with self.assertRaisesRegex(ValueError, "group_sizes.*log_weights"):
            MVHG(2., [3., 3.], [0., 0., 0.])
        with self.assertRaisesRegex(ValueError, "at least one group"):
            MVHG(0., tf.zeros([0]), tf.zeros([0]))
        with self.assertRaisesRegex(ValueError, "total_count.*Received"):
            MVHG(1.5, [3., 3.], [0., 0.])
        with self.assertRaisesRegex(ValueError, "group_sizes.*Received"):
            MVHG(1., [-3., 3.], [0., 0.])
        with self.assertRaisesRegex(ValueError, "exceed.*total_count=7"):
            MVHG(7., [3., 3.], [0., 0.])
        with self.assertRaisesRegex(ValueError, "log_weights.*finite"):
            MVHG(2., [3., 3.], [0., np.inf])

    def test_validate_args_run_time(self):
        log_w = tf.Variable([0., np.nan])
        with self.assertRaisesOpError("log_weights.*finite"):
            dist = MVHG(2., [3., 3.], log_w, validate_args=True)
            self.evaluate(dist.log_prob([1., 1.]))
        dist = MVHG(2., [3., 3.], [0., 0.], validate_args=True)
        with self.assertRaisesOpError("sum to `total_count`"):
            self.evaluate(dist.log_prob([1., 2.]))
        with self.assertRaisesOpError("integer"):
            self.evaluate(dist.log_prob([0.5, 1.5]))
        with self.assertRaisesOpError("non-negative"):
            self.evaluate(dist.log_prob([-1., 3.]))
        dist = MVHG(2., [1., 3.], [0., 0.], validate_args=True)
        with self.assertRaisesOpError("exceed"):
            self.evaluate(dist.log_prob([2., 0.]))


    @parameterized.named_parameters(("above_sum", 8.), ("non_integer", 2.5), ("negative", -1.))
    def test_invalid_variable_total_count(self, value):
        # Static checks cannot see a variable's value: NaN without
        # validate_args (not plausible counts), an error with it.
        total_count = tf.Variable(6.)
        dist = MVHG(total_count, [2., 2., 2.], [0., 0.5, 1.])
        checked = MVHG(total_count, [2., 2., 2.], [0., 0.5, 1.], validate_args=True)
        total_count.assign(value)
        self.assertTrue(np.all(np.isnan(self.evaluate(dist.sample(3, seed=[1, 2])))))
        self.assertTrue(np.all(np.isnan(self.evaluate(dist.mean()))))
        self.assertTrue(np.isnan(self.evaluate(dist.log_prob([2., 2., 2.]))))
        sample = tf.function(lambda: dist.sample(seed=[1, 2]))
        self.assertTrue(np.all(np.isnan(self.evaluate(sample()))))
        with self.assertRaisesOpError("total_count"):
            self.evaluate(checked.sample(seed=[1, 2]))
        with self.assertRaisesOpError("total_count"):
            self.evaluate(checked.mean())


    @parameterized.product(bad=[np.nan, np.inf, -np.inf], dtype=[np.float32, np.float64])
    def test_run_time_non_finite_log_weights_give_nan(self, bad, dtype):
        # A batch member whose log-weight is not finite (a variable): NaN
        # sample, log_prob and mean for it alone; an error with validate_args.
        rng = np.random.RandomState(5)
        log_weights = rng.randn(3, 3).astype(dtype)
        good = MVHG(6., [6., 6., 6.], log_weights)
        log_weights[2, rng.randint(3)] = bad
        variable = tf.Variable(log_weights)
        dist = MVHG(6., [6., 6., 6.], variable)
        for samples in (dist.sample(5, seed=[1, 2]),
                        tf.function(lambda: dist.sample(5, seed=[1, 2]))()):
            samples = self.evaluate(samples)
            self.assertTrue(np.all(np.isnan(samples[:, 2])))
            self.assertAllEqual(samples[:, :2], self.evaluate(good.sample(5, seed=[1, 2]))[:, :2])
        log_prob, mean = self.evaluate([dist.log_prob([2., 2., 2.]), dist.mean()])
        self.assertTrue(np.isnan(log_prob[2]) and np.all(np.isnan(mean[2])))
        self.assertAllClose(log_prob[:2], self.evaluate(good.log_prob([2., 2., 2.]))[:2])
        self.assertAllClose(mean[:2], self.evaluate(good.mean())[:2])
        checked = MVHG(6., [6., 6., 6.], variable, validate_args=True)
        with self.assertRaisesOpError("`log_weights` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))


if __name__ == "__main__":
    tf.test.main()
