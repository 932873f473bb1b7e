"""Tests for tf_drpm.ops.log_convolve and tf_drpm.ops.mvhg_log_coefficients."""

import fractions
import itertools
import math

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.ops.log_convolve import log_convolve
from tf_drpm.ops.mvhg_log_coefficients import log_binomial_coefficients
from tf_drpm.ops.mvhg_log_coefficients import mvhg_conditional_logits
from tf_drpm.ops.mvhg_log_coefficients import mvhg_fft_length
from tf_drpm.ops.mvhg_log_coefficients import mvhg_log_coefficients
from tf_drpm.ops.mvhg_log_coefficients import mvhg_log_normalizer
from tf_drpm.ops.mvhg_log_coefficients import mvhg_mean
from tf_drpm.ops.mvhg_log_coefficients import mvhg_tilted_log_pmfs
from tf_drpm.ops.mvhg_sequential_sample import mvhg_sequential_sample


def exact_log_suffix(group_sizes, weights, max_count):
    """log G_k(t) with Fractions (weights given as Fractions)."""
    rows = [[fractions.Fraction(1)] + [fractions.Fraction(0)] * max_count]
    for m, w in zip(reversed(group_sizes), reversed(weights)):
        factor = [math.comb(m, j) * w**j for j in range(max_count + 1)]
        prev = rows[-1]
        rows.append([sum(factor[j] * prev[t - j] for j in range(t + 1))
                     for t in range(max_count + 1)])
    rows = rows[::-1]
    return np.array([[math.log(v) if v > 0 else -np.inf for v in row]
                     for row in rows])


def enumerate_mvhg(total_count, group_sizes, weights):
    """Exact pmf {counts: Fraction} by enumeration of all compositions."""
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


class LogConvolveTest(tf.test.TestCase, parameterized.TestCase):

    def test_matches_numpy_convolution(self):
        rng = np.random.RandomState(0)
        a = rng.uniform(0.1, 2., size=(3, 7))
        b = rng.uniform(0.1, 2., size=(3, 7))
        b[:, 4:] = 0.
        with np.errstate(divide="ignore"):
            out = self.evaluate(log_convolve(np.log(a), np.log(b)))
        expected = np.stack([np.convolve(x, y)[:7] for x, y in zip(a, b)])
        self.assertAllClose(np.exp(out), expected, rtol=1e-12)

    def test_empty_rows_are_minus_inf_with_zero_gradient(self):
        log_a = tf.constant([0., 0., -np.inf, -np.inf], tf.float64)
        log_b = tf.constant([0., -np.inf, -np.inf, -np.inf], tf.float64)
        with tf.GradientTape() as tape:
            tape.watch([log_a, log_b])
            out = log_convolve(log_a, log_b)
            loss = tf.reduce_sum(tf.where(tf.math.is_finite(out), out, 0.))
        grads = tape.gradient(loss, [log_a, log_b])
        self.assertAllEqual(self.evaluate(out),
                            [0., 0., -np.inf, -np.inf])
        for g in grads:
            self.assertTrue(np.all(np.isfinite(self.evaluate(g))))


class MVHGLogCoefficientsTest(tf.test.TestCase, parameterized.TestCase):

    def test_log_binomial_coefficients(self):
        out = self.evaluate(log_binomial_coefficients(
            tf.constant([0., 3., 10.], tf.float64), 12))
        for row, m in zip(out, [0, 3, 10]):
            expected = [math.log(math.comb(m, j)) if j <= m else -np.inf
                        for j in range(12)]
            self.assertAllClose(row, expected, rtol=1e-13, atol=1e-12)

    def test_log_space_programme_matches_fractions(self):
        group_sizes = [3, 2, 4]
        weights = [fractions.Fraction(2), fractions.Fraction(1, 3),
                   fractions.Fraction(5)]
        log_w = np.log([float(w) for w in weights])
        out = self.evaluate(mvhg_log_coefficients(
            tf.constant(group_sizes, tf.float64), log_w, max_count=7))
        expected = exact_log_suffix(group_sizes, weights, 7)
        self.assertAllClose(out, expected, rtol=1e-12, atol=1e-12)

    @parameterized.named_parameters(
        ("float64", tf.float64, 1e-10),
        ("float32", tf.float32, 1e-5))
    def test_fft_normalizer_matches_log_space_programme(self, dtype, rtol):
        rng = np.random.RandomState(1)
        cases = []
        for num_groups in (1, 2, 3, 6):
            for scale in (0.5, 5., 30.):
                group_sizes = rng.randint(0, 9, size=num_groups).astype(float)
                group_sizes[0] = max(group_sizes[0], 1.)
                log_w = rng.uniform(-scale, scale, size=num_groups)
                for total in sorted({0., 1., float(group_sizes.sum() // 2),
                                     float(group_sizes.sum())}):
                    cases.append((total, group_sizes, log_w))
        for total, group_sizes, log_w in cases:
            ref = self.evaluate(mvhg_log_coefficients(
                group_sizes, tf.constant(log_w, tf.float64),
                max_count=int(total)))[0, int(total)]
            out = self.evaluate(mvhg_log_normalizer(
                tf.constant(total, dtype), tf.constant(group_sizes, dtype),
                tf.constant(log_w, dtype)))
            self.assertEqual(out.dtype, dtype.as_numpy_dtype)
            self.assertAllClose(out, ref, rtol=rtol, atol=rtol,
                                msg=f"{total}, {group_sizes}, {log_w}")

    def test_fft_normalizer_n1024_and_huge_weights(self):
        log_w = np.linspace(-30., 30., 10)
        sizes = np.full(10, 1024.)
        ref = self.evaluate(mvhg_log_coefficients(
            sizes, tf.constant(log_w), max_count=1024))[0, 1024]
        out = self.evaluate(mvhg_log_normalizer(1024., sizes,
                                                tf.constant(log_w)))
        self.assertAllClose(out, ref, rtol=1e-12)
        # Log-weights of +-300 stay finite and match the reference.
        log_w = np.array([300., -300., 0., 5.])
        sizes = np.array([3., 5., 4., 2.])
        for total in (0., 2., 3., 7., 14.):
            ref = self.evaluate(mvhg_log_coefficients(
                sizes, tf.constant(log_w), max_count=14))[0, int(total)]
            out = self.evaluate(mvhg_log_normalizer(
                tf.constant(total, tf.float64), sizes, tf.constant(log_w),
                max_count=14))
            self.assertAllClose(out, ref, rtol=1e-12)

    def test_fft_normalizer_large_extreme_batch(self):
        # n = 200, K = 10, weights +-30: against the exact log-space programme.
        rng = np.random.RandomState(2)
        log_w = rng.uniform(-30., 30., size=(3, 10))
        log_w[1] = np.linspace(-30., 30., 10)
        log_w[2] = 0.
        sizes = np.full((3, 10), 200.)
        ref = self.evaluate(mvhg_log_coefficients(
            sizes, tf.constant(log_w), max_count=200))[:, 0, 200]
        out = self.evaluate(mvhg_log_normalizer(
            tf.constant(200., tf.float64), sizes, tf.constant(log_w)))
        self.assertAllClose(out, ref, rtol=1e-12)
        # Equal weights: P_N = C(sum m, N).
        self.assertAllClose(
            out[2], math.lgamma(2001) - math.lgamma(201) - math.lgamma(1801),
            rtol=1e-12)

    def test_normalizer_gradient_is_the_mean(self):
        log_w = tf.constant([0.3, -1.2, 2.0, 0.], tf.float64)
        sizes = tf.constant([5., 3., 4., 6.], tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(log_w)
            out = mvhg_log_normalizer(tf.constant(7., tf.float64), sizes,
                                      log_w)
        grad = self.evaluate(tape.gradient(out, log_w))
        eps = 1e-5
        fd = []
        for k in range(4):
            delta = np.zeros(4)
            delta[k] = eps
            hi = mvhg_log_normalizer(7., sizes, log_w + delta)
            lo = mvhg_log_normalizer(7., sizes, log_w - delta)
            fd.append(self.evaluate((hi - lo) / (2 * eps)))
        self.assertAllClose(grad, fd, rtol=1e-7, atol=1e-9)
        pmf = enumerate_mvhg(7, [5, 3, 4, 6],
                             [math.exp(x) for x in [0.3, -1.2, 2.0, 0.]])
        mean = [float(sum(c[k] * p for c, p in pmf.items())) for k in range(4)]
        self.assertAllClose(grad, mean, rtol=1e-9)
        self.assertAllClose(self.evaluate(mvhg_mean(7., sizes, log_w)), mean,
                            rtol=1e-9)

    @parameterized.named_parameters(
        ("mixed", [4., 6., 3., 5.], [1.5, -0.7, 25., -25.], 9),
        ("equal", [8., 8., 8., 8., 8.], [0., 0., 0., 0., 0.], 20),
        ("extreme", [30., 30., 30.], [-30., 30., 0.], 40),
        # Groups larger than N: their pmfs are truncated at N before the FFT.
        ("large_groups", [50., 80., 30., 64.], [0.3, -1.1, 2., 0.], 20))
    def test_tilted_conditionals_are_exact(self, sizes, log_w, total):
        # p(n_k = j | r) from the FFT path equals the G-ratio conditionals,
        # to 1e-13 absolute once weighted by the probability that the
        # sequential sampler reaches r (the FFT is exact on the bulk only).
        log_w = np.array(log_w)
        num_groups = len(sizes)
        _, log_b, log_s = mvhg_tilted_log_pmfs(
            tf.constant(float(total), tf.float64), sizes, log_w, total)
        ref = self.evaluate(mvhg_log_coefficients(sizes, log_w, total))
        prefix = self.evaluate(mvhg_log_coefficients(
            sizes[::-1], log_w[::-1], total))[::-1]   # prefix[k + 1]: l <= k
        log_c = self.evaluate(log_binomial_coefficients(
            tf.constant(sizes, tf.float64), total + 1))
        for k in range(num_groups - 1):
            remaining = tf.constant([list(range(total + 1))])
            logits = self.evaluate(mvhg_conditional_logits(
                log_b[k][tf.newaxis], log_s[k + 1][tf.newaxis], remaining))[0]
            for r in range(total + 1):
                if not np.isfinite(ref[k, r]):
                    continue
                j = np.arange(total + 1)
                exact = np.full(total + 1, -np.inf)
                ok = j <= r
                exact[ok] = (log_c[k, j[ok]] + j[ok] * log_w[k] +
                             ref[k + 1, r - j[ok]] - ref[k, r])
                with np.errstate(invalid="ignore"):
                    got = logits[r] - np.logaddexp.reduce(logits[r])
                probs_exact, probs_got = np.exp(exact), np.exp(got)
                reach = np.exp(prefix[k][total - r] + ref[k, r] -
                               ref[0, total]) if k else float(r == total)
                self.assertLessEqual(
                    reach * np.max(np.abs(probs_got - probs_exact)), 1e-13)
                if reach > 1e-6:
                    self.assertAllClose(probs_got, probs_exact, atol=1e-12)
                self.assertAllEqual(np.isfinite(got), np.isfinite(exact))

    def test_conditionals_exact_along_sampled_paths_large_n(self):
        # n = 300, K = 6, log-weights up to +-30: at every remaining count r
        # visited by exact samples, the FFT conditionals equal the log-space
        # reference to 1e-12 (absolute, in probability).
        total, num_groups = 300, 6
        sizes = np.array([300., 120., 80., 300., 50., 200.])
        log_w = np.array([0.5, 30., -30., -2., 12., 1.])
        counts = self.evaluate(mvhg_sequential_sample(
            tf.constant(float(total), tf.float64), sizes, log_w,
            num_samples=40, seed=[3, 4], max_count=total)[0])
        _, log_b, log_s = mvhg_tilted_log_pmfs(
            tf.constant(float(total), tf.float64), sizes, log_w, total)
        ref = self.evaluate(mvhg_log_coefficients(sizes, log_w, total))
        log_c = self.evaluate(log_binomial_coefficients(
            tf.constant(sizes), total + 1))
        j = np.arange(total + 1)
        remaining = np.full(40, total)
        for k in range(num_groups - 1):
            logits = self.evaluate(mvhg_conditional_logits(
                log_b[k][tf.newaxis], log_s[k + 1][tf.newaxis],
                remaining[np.newaxis]))[0]
            for row, r in zip(logits, remaining):
                exact = np.full(total + 1, -np.inf)
                ok = j <= r
                exact[ok] = (log_c[k, j[ok]] + j[ok] * log_w[k] +
                             ref[k + 1, r - j[ok]] - ref[k, r])
                got = row - np.logaddexp.reduce(row)
                self.assertAllClose(np.exp(got), np.exp(exact), atol=1e-12)
            remaining = remaining - counts[:, k].astype(int)

    @parameterized.named_parameters(
        ("plain", [6., 9.], [0.4, -1.1], 8),
        ("opposite", [30., 30.], [-40., 40.], 30),
        ("shifted", [12., 7.], [1e6 + 3., 1e6 - 2.], 10),
        ("shifted_down", [12., 7.], [-1e6 + 0.5, -1e6], 19))
    def test_two_group_conditionals_need_no_fft_and_are_exact(self, sizes, log_w, total):
        # With first_row = K - 1 the suffix row is group K's own binomial and
        # the tilt is not solved for; p(n_1 = j | r) is still the exact
        # conditional C(m1, j) C(m2, r - j) e^{j (a1 - a2)} / sum, for every r.
        log_w = np.array(log_w)
        _, log_b, log_s = mvhg_tilted_log_pmfs(
            tf.constant(float(total), tf.float64), sizes, log_w, total, first_row=1)
        self.assertAllEqual(log_s.shape, [2, total + 1])
        self.assertAllEqual(log_s[0], log_b[1])
        remaining = tf.constant([list(range(total + 1))])
        logits = self.evaluate(mvhg_conditional_logits(
            log_b[0][tf.newaxis], log_s[0][tf.newaxis], remaining))[0]
        for r in range(total + 1):
            j = np.arange(total + 1)
            ok = (j <= min(r, sizes[0])) & (r - j <= sizes[1]) & (r - j >= 0)
            if not ok.any():
                continue
            exact = np.full(total + 1, -np.inf)
            exact[ok] = [math.lgamma(sizes[0] + 1) - math.lgamma(i + 1)
                         - math.lgamma(sizes[0] - i + 1)
                         + math.lgamma(sizes[1] + 1) - math.lgamma(r - i + 1)
                         - math.lgamma(sizes[1] - r + i + 1)
                         + i * (log_w[0] - log_w[1]) for i in j[ok]]
            exact -= np.logaddexp.reduce(exact[ok])
            with np.errstate(invalid="ignore"):
                got = logits[r] - np.logaddexp.reduce(logits[r])
            self.assertAllEqual(np.isfinite(got), ok)
            self.assertAllClose(got[ok], exact[ok], atol=1e-9, rtol=1e-12)

    @parameterized.parameters(itertools.product((1, 3), (False, True)))
    def test_conditional_logits_gradient_equals_gather_gradient(self, num_samples, jit):
        rng = np.random.RandomState(5)
        length = 7
        log_b = tf.constant(rng.normal(size=[4, length]))
        log_s = tf.constant(np.where(rng.uniform(size=[4, length]) < 0.2, -np.inf,
                                     rng.normal(size=[4, length])))
        remaining = tf.constant(rng.randint(0, length, size=[4, num_samples]), tf.int32)
        upstream = tf.constant(rng.normal(size=[4, num_samples, length]))

        def reference(log_b, log_s):
            padded = tf.concat([tf.reverse(log_s, [-1]),
                                tf.fill([4, length], tf.constant(-np.inf, tf.float64))], -1)
            index = (length - 1 - remaining)[..., tf.newaxis] + tf.range(length)
            return log_b[:, tf.newaxis, :] + tf.gather(padded, index, batch_dims=1)

        def both(log_b, log_s):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([log_b, log_s])
                ours = mvhg_conditional_logits(log_b, log_s, remaining)
                theirs = reference(log_b, log_s)
            finite = lambda x: tf.where(tf.math.is_finite(x), upstream, tf.zeros_like(x))
            return (ours, theirs, tape.gradient(ours, [log_b, log_s], finite(ours)),
                    tape.gradient(theirs, [log_b, log_s], finite(theirs)))

        if jit:
            both = tf.function(both, jit_compile=True)
        ours, theirs, d_ours, d_theirs = self.evaluate(both(log_b, log_s))
        self.assertAllEqual(ours, theirs)
        for got, want in zip(d_ours, d_theirs):
            self.assertAllClose(got, want, rtol=1e-15, atol=0.)
        if num_samples == 1:
            self.assertAllEqual(d_ours, d_theirs)

    def test_fft_length_margin(self):
        for n in (0, 1, 10, 256, 4096):
            length = mvhg_fft_length(n)
            x = length - n - 1
            self.assertGreaterEqual(x * x, 92. * (n + x / 3.))

    def test_jit_matches_eager(self):
        log_w = tf.constant([[0.3, -1.2, 2.0], [30., -30., 0.]], tf.float32)
        sizes = tf.constant([5., 3., 4.], tf.float32)
        def fn(w):
            with tf.GradientTape() as tape:
                tape.watch(w)
                out = mvhg_log_normalizer(tf.constant([6., 12.]), sizes, w,
                                          max_count=12)
            return out, tape.gradient(out, w)

        eager = fn(log_w)
        jit = tf.function(fn, jit_compile=True)(log_w)
        self.assertAllClose(eager, jit, rtol=1e-6)
        self.assertAllClose(eager[1], self.evaluate(mvhg_mean(
            tf.constant([6., 12.]), sizes, log_w)), rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
