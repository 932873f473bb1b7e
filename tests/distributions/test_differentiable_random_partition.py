"""Tests of the exact DRPM against brute-force enumeration."""

import itertools

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tests.distributions.partition_enumeration import check_frequencies
from tests.distributions.partition_enumeration import exact_partition_probs
from tests.distributions.partition_enumeration import partition_matrix
from tf_drpm.distributions import DRPM
from tf_drpm.distributions import DifferentiableRandomPartition


class DifferentiableRandomPartitionTest(tf.test.TestCase, parameterized.TestCase):

    def test_alias(self):
        self.assertIs(DRPM, DifferentiableRandomPartition)

    @parameterized.named_parameters(
        ("k2_n4", 2, 4, 1.0),
        ("k3_n5", 3, 5, 1.5),
        ("k3_n4_extreme", 3, 4, 30.0),
    )
    def test_log_prob_matches_enumeration(self, num_subsets, num_elements, scale):
        rng = np.random.RandomState(num_subsets * 10 + num_elements)
        log_weights = rng.randn(num_subsets) * min(scale, 3.0)
        log_scores = rng.randn(num_elements) * scale
        exact = exact_partition_probs(log_weights, log_scores)
        keys = sorted(exact)
        ys = np.stack([partition_matrix(key, num_subsets) for key in keys])
        drpm = DRPM(log_weights, log_scores)
        log_probs = self.evaluate(drpm.log_prob(ys))
        expected = np.log([exact[key] for key in keys])
        finite = np.isfinite(expected)
        # Relative accuracy 1e-6 of p(Y) wherever p(Y) is representable.
        self.assertAllClose(log_probs[finite], expected[finite], atol=1e-6, rtol=0.)
        self.assertAllClose(np.sum(np.exp(log_probs)), 1.0, atol=1e-9)

    @parameterized.named_parameters(("float32", np.float32), ("float64", np.float64))
    def test_log_prob_is_invariant_to_common_shifts(self, dtype):
        # Plackett-Luce is invariant to a common shift of the log-scores, Fisher's
        # MVHG (fixed total) to one of the log-weights. The parameters lie on a
        # 1/64 grid, so the shifted values are exact in float32 as well.
        rng = np.random.RandomState(21)
        log_weights = np.round(rng.randn(3) * 64.) / 64.
        log_scores = np.round(2. * rng.randn(4) * 64.) / 64.
        exact = exact_partition_probs(log_weights, log_scores)
        keys = sorted(exact)
        ys = np.stack([partition_matrix(key, 3) for key in keys]).astype(dtype)
        expected = np.log([exact[key] for key in keys])
        for weight_shift in (0., 400., 1e4):
            for score_shift in (0., 355., 400., 1e4):
                drpm = DRPM((log_weights + weight_shift).astype(dtype),
                            (log_scores + score_shift).astype(dtype))
                log_probs = self.evaluate(drpm.log_prob(ys))
                self.assertAllClose(log_probs, expected, rtol=1e-6, atol=0.,
                                    msg=f"shifts {weight_shift}, {score_shift}")

    @parameterized.named_parameters(("float32", np.float32), ("float64", np.float64))
    def test_log_prob_with_large_score_gap(self, dtype):
        # Two elements, equal weights: p(sizes (1, 1)) = 4 / 6 and the order
        # has probability sigmoid(+-gap); NaN from a gap of about 355 on.
        for gap in (350., 360., 1e3, 1e4):
            drpm = DRPM(np.zeros([2], dtype), np.array([gap, 0.], dtype))
            ys = np.array([[[1., 0.], [0., 1.]], [[0., 1.], [1., 0.]]], dtype)
            log_prob = self.evaluate(drpm.log_prob(ys))
            self.assertAllClose(log_prob, [np.log(2. / 3.), np.log(2. / 3.) - gap],
                                rtol=1e-6, atol=0.)

    def test_log_prob_gradient_is_finite_and_shift_invariant(self):
        y = partition_matrix((0, 2, 1, 0, 2), 3)
        log_weights = np.array([0.5, -0.25, 0.125])
        log_scores = np.array([1.5, -2., 0.25, 0.75, -0.5])
        grads = []
        for shift in (0., 400., 1e4):
            params = tf.constant(np.concatenate([log_weights + shift, log_scores + shift]))
            with tf.GradientTape() as tape:
                tape.watch(params)
                value = DRPM(params[:3], params[3:]).log_prob(y)
            grads.append(self.evaluate(tape.gradient(value, params)))
        self.assertTrue(np.all(np.isfinite(grads)))
        self.assertAllClose(grads[1], grads[0], atol=1e-8)
        self.assertAllClose(grads[2], grads[0], atol=1e-8)

    def test_all_assignments_n6_k3_sum_to_one(self):
        rng = np.random.RandomState(7)
        log_weights, log_scores = rng.randn(3), 2.0 * rng.randn(6)
        assignments = list(itertools.product(range(3), repeat=6))
        self.assertLen(assignments, 3 ** 6)
        ys = np.stack([partition_matrix(a, 3) for a in assignments])
        log_probs = self.evaluate(DRPM(log_weights, log_scores).log_prob(ys))
        self.assertAllClose(np.sum(np.exp(log_probs)), 1.0, atol=1e-9)

    @parameterized.named_parameters(("float32", np.float32, 2e-4), ("float64", np.float64, 1e-9))
    def test_extreme_parameters_stay_finite_and_normalised(self, dtype, tolerance):
        log_weights = np.array([30., -30., 0.], dtype)
        log_scores = np.array([30., -30., 25., 0., -12.], dtype)
        assignments = list(itertools.product(range(3), repeat=5))
        ys = np.stack([partition_matrix(a, 3) for a in assignments]).astype(dtype)
        log_probs = self.evaluate(DRPM(log_weights, log_scores).log_prob(ys))
        self.assertFalse(np.any(np.isnan(log_probs)))
        self.assertAllClose(np.sum(np.exp(log_probs.astype(np.float64))), 1.0, atol=tolerance)
        exact = exact_partition_probs(log_weights, log_scores)
        most_likely = max(exact, key=exact.get)
        index = assignments.index(most_likely)
        self.assertAllClose(log_probs[index], np.log(exact[most_likely]), atol=1e-3)

    def test_bounds_bracket_exact_log_prob(self):
        rng = np.random.RandomState(3)
        drpm = DRPM(rng.randn(3), rng.randn(6) * 2.0)
        ys = drpm.sample(50, seed=[4, 5])
        log_prob = self.evaluate(drpm.log_prob(ys))
        lower, upper = self.evaluate(drpm.log_prob_bounds(ys))
        self.assertAllLessEqual(lower - log_prob, 1e-9)
        self.assertAllGreaterEqual(upper - log_prob, -1e-9)

    @parameterized.named_parameters(("k2_n4", 2, 4, 0), ("k3_n4", 3, 4, 1))
    def test_sample_frequencies_match_exp_log_prob(self, num_subsets, num_elements, seed):
        # All partitions of a small case: their exp(log_prob) sums to 1, agrees
        # with the enumeration, and is the frequency of the exact samples.
        rng = np.random.RandomState(40 + seed)
        log_weights = rng.randn(num_subsets) * 0.5
        log_scores = rng.randn(num_elements)
        drpm = DRPM(log_weights, log_scores)
        assignments = list(itertools.product(range(num_subsets), repeat=num_elements))
        ys = np.stack([partition_matrix(a, num_subsets) for a in assignments])
        probabilities = np.exp(self.evaluate(drpm.log_prob(ys)))
        self.assertAllClose(np.sum(probabilities), 1.0, atol=1e-9)
        exact = exact_partition_probs(log_weights, log_scores)
        self.assertAllClose(probabilities, [exact.get(a, 0.) for a in assignments], atol=1e-9)
        samples = self.evaluate(drpm.sample(20000, seed=[11, seed]))
        self.assertTrue(np.all((samples == 0.) | (samples == 1.)))
        self.assertAllEqual(np.sum(samples, axis=-2), np.ones((20000, num_elements)))
        check_frequencies(self, samples, dict(zip(assignments, probabilities)))

    def test_samples_are_not_reparameterized(self):
        self.assertEqual(DRPM(tf.zeros([2]), tf.zeros([3])).reparameterization_type,
                         tfp.distributions.NOT_REPARAMETERIZED)
        log_weights = tf.Variable(tf.zeros([2]))
        log_scores = tf.Variable(tf.random.stateless_normal([5], seed=[1, 1]))
        with tf.GradientTape() as tape:
            y = DRPM(log_weights, log_scores).sample(3, seed=[2, 3])
            loss = tf.reduce_sum(y * tf.range(5, dtype=tf.float32))
        self.assertEqual(tape.gradient(loss, [log_weights, log_scores]), [None, None])

    def test_log_prob_gradient_matches_finite_differences(self):
        rng = np.random.RandomState(5)
        y = partition_matrix((0, 2, 1, 0, 2), 3)
        log_weights0, log_scores0 = rng.randn(3), rng.randn(5)

        def log_prob(params):
            return DRPM(params[:3], params[3:]).log_prob(y)

        params = tf.constant(np.concatenate([log_weights0, log_scores0]))
        with tf.GradientTape() as tape:
            tape.watch(params)
            value = log_prob(params)
        grad = self.evaluate(tape.gradient(value, params))
        step = 1e-5
        numeric = []
        for i in range(8):
            delta = np.zeros(8)
            delta[i] = step
            numeric.append((self.evaluate(log_prob(params + delta))
                            - self.evaluate(log_prob(params - delta))) / (2 * step))
        self.assertAllClose(grad, numeric, atol=1e-6, rtol=1e-5)

    def test_jit_and_eager_agree(self):
        log_weights = tf.constant([[0.1, -0.2, 0.3]])
        log_scores = tf.constant([[0.5, -1.0, 2.0, 0.0, 0.3]])

        def run(log_weights, log_scores):
            drpm = DRPM(log_weights, log_scores)
            y = drpm.sample(3, seed=[7, 8])
            return y, drpm.log_prob(y)

        eager = self.evaluate(run(log_weights, log_scores))
        graph = self.evaluate(tf.function(run)(log_weights, log_scores))
        jit = self.evaluate(tf.function(run, jit_compile=True)(log_weights, log_scores))
        for other in (graph, jit):
            self.assertAllEqual(eager[0], other[0])
            self.assertAllClose(eager[1], other[1], atol=1e-4)

    def test_batch_shapes_broadcast(self):
        drpm = DRPM(tf.zeros([2, 1, 3]), tf.zeros([4, 6]))
        self.assertEqual(drpm.batch_shape, [2, 4])
        self.assertEqual(drpm.event_shape, [3, 6])
        y = drpm.sample(5, seed=[1, 2])
        self.assertEqual(y.shape, [5, 2, 4, 3, 6])
        self.assertEqual(drpm.log_prob(y).shape, [5, 2, 4])
        self.assertEqual(drpm.counts_log_prob(tf.reduce_sum(y, -1)).shape, [5, 2, 4])

    def test_float32_matches_float64_with_broadcast_batches(self):
        # Guards against wrong float32 batch-broadcast matmuls (oneDNN, TF 2.21).
        rng = np.random.RandomState(9)
        log_weights = rng.randn(2, 1, 3)
        log_scores = rng.randn(1, 4, 6) * 2.
        drpm64 = DRPM(log_weights, log_scores)
        drpm32 = DRPM(log_weights.astype(np.float32), log_scores.astype(np.float32))
        ys = self.evaluate(drpm64.sample(3, seed=[1, 2]))
        self.assertAllEqual(ys.sum(axis=-2), np.ones((3, 2, 4, 6)))
        self.assertAllClose(self.evaluate(drpm32.log_prob(ys.astype(np.float32))),
                            self.evaluate(drpm64.log_prob(ys)), atol=1e-3)
        lower32, upper32 = self.evaluate(drpm32.log_prob_bounds(ys.astype(np.float32)))
        lower64, upper64 = self.evaluate(drpm64.log_prob_bounds(ys))
        self.assertAllClose(lower32, lower64, atol=1e-3)
        self.assertAllClose(upper32, upper64, atol=1e-3)
        ys32 = self.evaluate(drpm32.sample(3, seed=[1, 2]))
        self.assertAllEqual(ys32.sum(axis=-2), np.ones((3, 2, 4, 6)))

    @parameterized.named_parameters(("float16", np.float16), ("bfloat16", tf.bfloat16))
    def test_half_precision_samples_exact_partitions(self, dtype):
        # float16 counts exactly to 2048, bfloat16 to 256: sizes and ranks are
        # held in float32 and only the 0/1 partition is cast back.
        num_elements = 3000
        log_weights = tf.cast(tf.random.stateless_normal([2, 3], seed=[1, 2]), dtype)
        log_scores = tf.cast(tf.random.stateless_normal([2, num_elements], seed=[3, 4]), dtype)
        drpm = DRPM(log_weights, log_scores)
        y = drpm.sample(seed=[5, 6])
        self.assertEqual(y.dtype, tf.as_dtype(dtype))
        partition = self.evaluate(tf.cast(y, tf.float32))
        self.assertTrue(np.all((partition == 0.) | (partition == 1.)))
        self.assertAllEqual(partition.sum(axis=-2), np.ones((2, num_elements)))
        # log_prob counts in float32 too: it equals the float32 model's value.
        log_prob = drpm.log_prob(y)
        self.assertEqual(log_prob.dtype, tf.as_dtype(dtype))
        reference = DRPM(tf.cast(log_weights, tf.float32),
                         tf.cast(log_scores, tf.float32)).log_prob(partition)
        self.assertAllClose(self.evaluate(tf.cast(log_prob, tf.float32)),
                            self.evaluate(tf.cast(tf.cast(reference, dtype), tf.float32)))

    def test_invalid_shapes_and_values_raise(self):
        with self.assertRaisesRegex(ValueError, "log_weights"):
            DRPM(tf.zeros([0]), tf.zeros([3]))
        with self.assertRaisesRegex(ValueError, "log_scores"):
            DRPM(tf.zeros([2]), tf.zeros([0]))
        with self.assertRaisesRegex(ValueError, "log_scores"):
            DRPM(tf.zeros([2]), tf.constant([0., np.nan, 1.]))
        # The exact distribution has no temperature (its relaxation has one).
        with self.assertRaisesRegex(TypeError, "temperature"):
            DRPM(tf.zeros([2]), tf.zeros([3]), temperature=1.0)
        drpm = DRPM(tf.zeros([2]), tf.zeros([3]), validate_args=True)
        with self.assertRaisesRegex(ValueError, "partition"):
            drpm.log_prob(tf.zeros([3, 3]))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "partition"):
            self.evaluate(drpm.log_prob(tf.constant([[1., 0.5, 0.], [0., 0.5, 1.]])))
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "partition"):
            self.evaluate(drpm.log_prob(tf.constant([[1., 1., 0.], [1., 0., 1.]])))
        log_scores = tf.Variable([0., 1., 2.])
        checked = DRPM(tf.zeros([2]), log_scores, validate_args=True)
        log_scores.assign([0., np.inf, 1.])
        with self.assertRaisesOpError("`log_scores` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))

    def test_log_prob_outside_the_support(self):
        drpm = DRPM(tf.zeros([2]), tf.zeros([2]))
        outside = [[[2., 0.], [-1., 1.]],      # a column [2, -1]
                   [[0.5, 0.], [0.5, 1.]],     # a fractional column
                   [[1., 1.], [1., 0.]],       # an element in two subsets
                   [[1., 0.], [0., 0.]]]       # an element in none
        self.assertAllEqual(self.evaluate(drpm.log_prob(outside)), [-np.inf] * 4)
        inside = self.evaluate(drpm.log_prob([[1., 0.], [0., 1.]]))
        self.assertAllClose(inside, np.log(2. / 3. * 0.5))
        checked = DRPM(tf.zeros([2]), tf.zeros([2]), validate_args=True)
        with self.assertRaisesOpError("exactly one 1 in every column"):
            self.evaluate(checked.log_prob(outside[0]))

    def test_make_trainable_shapes(self):
        # `shape_fn` maps the sample shape [..., K, n] to the parameter shapes.
        drpm = tfp.experimental.util.make_trainable(
            DRPM, batch_and_event_shape=[3, 5], seed=[1, 2])
        self.assertEqual(drpm.batch_shape, [])
        self.assertEqual(drpm.event_shape, [3, 5])
        self.assertEqual(drpm.log_weights.shape, [3])
        self.assertEqual(drpm.log_scores.shape, [5])
        batched = tfp.experimental.util.make_trainable(
            DRPM, batch_and_event_shape=[2, 3, 5], seed=[1, 2])
        self.assertEqual(batched.batch_shape, [2])
        self.assertEqual(batched.event_shape, [3, 5])
        self.assertEqual(batched.sample(4, seed=[3, 4]).shape, [4, 2, 3, 5])

    @parameterized.named_parameters(
        ("quadrature_float", dict(num_quadrature_points=8.7),
         "Received: num_quadrature_points=8.7"),
        ("quadrature_small", dict(num_quadrature_points=4), "Received: num_quadrature_points=4"),
    )
    def test_bad_python_arguments(self, kwargs, message):
        with self.assertRaisesRegex(ValueError, message):
            DRPM(tf.zeros([2]), tf.zeros([3]), **kwargs)

    def test_padded_batch_has_the_law_of_the_unpadded_sets(self):
        # Sets of 4, 3 and 2 real elements (not all at the front) padded to n = 4.
        mask = np.array([[True, True, True, True],
                         [True, False, True, True],
                         [False, True, False, True]])
        rng = np.random.RandomState(13)
        log_weights = np.round(rng.randn(3, 3) * 16.) / 16.
        log_scores = np.round(rng.randn(3, 4) * 16.) / 16.
        num_samples = 20000
        drpm = DRPM(log_weights, log_scores, mask=mask)
        ys = self.evaluate(drpm.sample(num_samples, seed=[21, 22]))  # [S, 3, 3, 4]
        self.assertTrue(np.all((ys == 0.) | (ys == 1.)))
        self.assertAllEqual(ys.sum(axis=-2), np.broadcast_to(mask, (num_samples, 3, 4)))
        for b in range(3):
            real = np.where(mask[b])[0]
            exact = exact_partition_probs(log_weights[b], log_scores[b, real])
            check_frequencies(self, ys[:, b][:, :, real], exact, msg=f"member {b}")
            # log_prob of every partition of the real elements, padded with
            # zero columns, equals the unpadded model's and the enumeration.
            keys = sorted(exact)
            padded = np.zeros((len(keys), 3, 4))
            padded[:, :, real] = np.stack([partition_matrix(key, 3) for key in keys])
            batch = np.zeros((len(keys), 3, 3, 4))
            batch[:, b] = padded
            batch[:, [c for c in range(3) if c != b]] = self.evaluate(
                drpm.sample(seed=[1, 2]))[[c for c in range(3) if c != b]]
            log_probs = self.evaluate(drpm.log_prob(batch))[:, b]
            unpadded = DRPM(log_weights[b], log_scores[b, real])
            self.assertAllClose(log_probs, self.evaluate(unpadded.log_prob(padded[:, :, real])),
                                atol=1e-9, rtol=0.)
            self.assertAllClose(log_probs, np.log([exact[key] for key in keys]),
                                atol=1e-6, rtol=0.)
            lower, upper = self.evaluate(drpm.log_prob_bounds(batch))
            expected_lower, expected_upper = self.evaluate(
                unpadded.log_prob_bounds(padded[:, :, real]))
            self.assertAllClose(lower[:, b], expected_lower, atol=1e-9)
            self.assertAllClose(upper[:, b], expected_upper, atol=1e-9)
        # A partition that puts a padded element in a subset is outside the support.
        wrong = self.evaluate(drpm.sample(seed=[3, 4]))
        wrong[1, :, 1] = [1., 0., 0.]
        self.assertEqual(self.evaluate(drpm.log_prob(wrong))[1], -np.inf)

    def test_mask_shapes_and_empty_sets(self):
        mask = tf.sequence_mask([6, 4, 0], maxlen=6)
        drpm = DRPM(tf.zeros([3]), tf.random.stateless_normal([3, 6], seed=[1, 1]), mask=mask)
        self.assertEqual(drpm.batch_shape, [3])
        y = self.evaluate(drpm.sample(2, seed=[2, 3]))
        self.assertAllEqual(y.sum(axis=(-2, -1)), [[6., 4., 0.]] * 2)
        self.assertTrue(np.all(np.isfinite(self.evaluate(drpm.log_prob(y)))))
        self.assertEqual(drpm[1:].batch_shape, [2])  # slicing carries the mask
        with self.assertRaisesRegex(ValueError, "mask.shape"):
            DRPM(tf.zeros([3]), tf.zeros([6]), mask=tf.ones([5], tf.bool))


def _relative_error(actual, expected):
    """Max relative error of `actual` (any float dtype) w.r.t. float64 `expected`."""
    actual = np.asarray(actual, np.float64)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


class DifferentiableRandomPartitionRobustnessTest(tf.test.TestCase, parameterized.TestCase):
    """Invalid run-time values, padded entries and the README's robustness claims,
    on random parameters."""

    @parameterized.product(
        bad=[np.nan, np.inf, -np.inf],
        argument=["log_weights", "log_scores"],
        dtype=[np.float16, np.float32, np.float64])
    def test_run_time_non_finite_parameter_gives_nan(self, bad, argument, dtype):
        # A variable holding a non-finite value (unseen by the static checks):
        # every value of that batch member is NaN, the others are unchanged.
        rng = np.random.RandomState(int(np.isnan(bad)) + 2 * (argument == "log_scores"))
        params = dict(log_weights=rng.randn(3, 3).astype(dtype),
                      log_scores=rng.randn(3, 5).astype(dtype))
        good = DRPM(params["log_weights"], params["log_scores"])
        params[argument][1, rng.randint(params[argument].shape[-1])] = bad
        drpm = DRPM(tf.Variable(params["log_weights"]), tf.Variable(params["log_scores"]))
        for samples in (drpm.sample(4, seed=[1, 2]),
                        tf.function(lambda: drpm.sample(4, seed=[1, 2]))()):
            samples = self.evaluate(samples)
            self.assertEqual(samples.dtype, dtype)
            self.assertTrue(np.all(np.isnan(samples[:, 1])))
            self.assertAllEqual(samples[:, [0, 2]], self.evaluate(good.sample(4, seed=[1, 2]))[
                :, [0, 2]])
        partition = self.evaluate(DRPM(tf.zeros([3, 3], dtype), tf.zeros([3, 5], dtype)).sample(
            seed=[3, 4]))  # valid partitions [3, 3, 5]
        values = [drpm.log_prob(partition),
                  drpm.counts_log_prob(tf.reduce_sum(partition, -1)),
                  drpm.permutation_log_prob(tf.eye(5, dtype=dtype)),
                  *drpm.log_prob_bounds(partition)]
        for value in self.evaluate(values):
            self.assertTrue(np.isnan(value[1]))
            self.assertTrue(np.all(np.isfinite(value[[0, 2]])))
        checked = DRPM(tf.Variable(params["log_weights"]), tf.Variable(params["log_scores"]),
                       validate_args=True)
        with self.assertRaisesOpError(f"`{argument}` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))
        with self.assertRaisesOpError(f"`{argument}` must be finite"):
            self.evaluate(checked.log_prob(partition))

    def test_run_time_non_finite_parameter_gives_nan_under_xla(self):
        @tf.function(jit_compile=True)
        def sample_and_log_prob(log_weights, log_scores, partition):
            drpm = DRPM(log_weights, log_scores)
            return drpm.sample(2, seed=[1, 2]), drpm.log_prob(partition)

        log_scores = np.array([[1., 0.5, 0., -0.5, -1.], [1., np.nan, 0., -0.5, -1.]],
                              np.float32)
        partition = np.stack([partition_matrix((0, 0, 1, 1, 2), 3)] * 2).astype(np.float32)
        samples, log_prob = self.evaluate(sample_and_log_prob(
            tf.constant([0.5, 0., -0.5]), tf.constant(log_scores), tf.constant(partition)))
        self.assertTrue(np.all(np.isnan(samples[:, 1])) and np.isnan(log_prob[1]))
        self.assertTrue(np.all((samples[:, 0] == 0.) | (samples[:, 0] == 1.)))
        self.assertTrue(np.isfinite(log_prob[0]))

    @parameterized.product(fill=[np.nan, np.inf, -np.inf], dtype=[np.float32, np.float64])
    def test_padded_entries_may_hold_any_value(self, fill, dtype):
        # Padded log-scores are ignored: no error (static or validate_args),
        # and samples, log-probabilities and gradients equal those with zeros.
        mask = np.array([[True, True, True, False, False], [True, False, True, True, False]])
        rng = np.random.RandomState(8)
        log_weights = rng.randn(2, 3).astype(dtype)
        real_scores = rng.randn(2, 5).astype(dtype)
        padded = {name: np.where(mask, real_scores, value).astype(dtype)
                  for name, value in (("garbage", fill), ("zeros", 0.))}
        self.evaluate(DRPM([0., 0., 0.], [1., 0., -1., fill], mask=[True, True, True, False])
                      .sample(seed=[1, 2]))
        results = {}
        for name, log_scores in padded.items():
            log_scores = tf.constant(log_scores)
            params = (tf.constant(log_weights), log_scores)
            drpm = DRPM(*params, mask=mask, validate_args=True)
            samples = drpm.sample(6, seed=[5, 6])
            with tf.GradientTape() as tape:
                tape.watch(params)
                log_prob = DRPM(*params, mask=mask, validate_args=True).log_prob(samples)
            grads = tape.gradient(log_prob, params)
            results[name] = self.evaluate(
                [samples, log_prob, *drpm.log_prob_bounds(samples), *grads])
        for garbage, zeros in zip(results["garbage"], results["zeros"]):
            self.assertTrue(np.all(np.isfinite(garbage)))
            self.assertAllEqual(garbage, zeros)
        self.assertAllEqual(results["garbage"][-1][~mask], np.zeros(np.sum(~mask)))
        # A run-time value (a tf.function argument) too.
        sample = tf.function(lambda s: DRPM(log_weights, s, mask=mask).sample(6, seed=[5, 6]))
        self.assertAllEqual(self.evaluate(sample(tf.constant(padded["garbage"]))),
                            results["zeros"][0])

    @parameterized.named_parameters(("float32", np.float32), ("float64", np.float64))
    def test_shift_invariance_on_random_parameters(self, dtype):
        # README "Shift invariance" on random (not grid) parameters. The
        # log-prob of the shifted parameters in `dtype` equals the float64
        # log-prob of the same (rounded) parameters unshifted to 1e-6, i.e. the
        # computation is shift invariant; against the unrounded parameters the
        # float32 error is the rounding of x + shift (ulp(1e4) = 2^-10), which
        # the README's 1e-6 does not cover: measured below.
        errors = {}
        for seed, (num_subsets, num_elements) in enumerate([(2, 4), (3, 6), (4, 9), (3, 12)]):
            rng = np.random.RandomState(100 + seed)
            log_weights = rng.randn(5, num_subsets) * 2.
            log_scores = rng.randn(5, num_elements) * 2.
            partition = self.evaluate(DRPM(log_weights, log_scores).sample(8, seed=[7, seed]))
            reference = self.evaluate(DRPM(log_weights, log_scores).log_prob(partition))
            for weight_shift, score_shift in ((400., 0.), (0., 400.), (1e4, 0.), (0., 1e4),
                                              (1e4, 1e4)):
                shifted_weights = (log_weights + weight_shift).astype(dtype)
                shifted_scores = (log_scores + score_shift).astype(dtype)
                log_prob = self.evaluate(DRPM(shifted_weights, shifted_scores).log_prob(
                    partition.astype(dtype)))
                same_inputs = self.evaluate(DRPM(
                    shifted_weights.astype(np.float64) - weight_shift,
                    shifted_scores.astype(np.float64) - score_shift).log_prob(partition))
                self.assertLess(_relative_error(log_prob, same_inputs), 1e-6)
                key = (weight_shift, score_shift)
                errors[key] = max(errors.get(key, 0.), _relative_error(log_prob, reference))
        print(f"shift invariance, {np.dtype(dtype).name}, max relative error of log p(Y) "
              f"against the unshifted float64 value: {errors}")
        bound = {np.float64: 1e-6, np.float32: 2e-3}[dtype]
        self.assertLess(max(errors.values()), bound)
        if dtype == np.float32:
            # 400 (ulp 2^-17) stays within a few 1e-5.
            self.assertLess(max(errors[(400., 0.)], errors[(0., 400.)]), 1e-4)

    @parameterized.named_parameters(("float32", np.float32), ("float64", np.float64))
    def test_padded_log_prob_equals_unpadded_on_random_parameters(self, dtype):
        # README "Padded sets" on random sets, sizes, positions and garbage.
        rng = np.random.RandomState(31)
        num_subsets, num_elements, batch = 3, 10, 12
        mask = rng.rand(batch, num_elements) < 0.6
        mask[:, 0] = True
        log_weights = (rng.randn(batch, num_subsets) * 2.).astype(dtype)
        log_scores = (rng.randn(batch, num_elements) * 3.).astype(dtype)
        garbage = rng.choice([np.nan, np.inf, -np.inf, 1e30], size=log_scores.shape)
        drpm = DRPM(log_weights, np.where(mask, log_scores, garbage).astype(dtype), mask=mask)
        samples = self.evaluate(drpm.sample(4, seed=[3, 1]))
        log_prob = self.evaluate(drpm.log_prob(samples))
        self.assertAllEqual(samples.sum(axis=-2), np.broadcast_to(mask, samples.shape[:1]
                                                                  + mask.shape))
        error = 0.
        for b in range(batch):
            real = np.where(mask[b])[0]
            unpadded = DRPM(log_weights[b], log_scores[b, real])
            expected = self.evaluate(unpadded.log_prob(samples[:, b][..., real]))
            self.assertAllClose(log_prob[:, b], expected, rtol=1e-6, atol=0.)
            reference = self.evaluate(DRPM(log_weights[b].astype(np.float64),
                                           log_scores[b, real].astype(np.float64)).log_prob(
                                               samples[:, b][..., real].astype(np.float64)))
            error = max(error, _relative_error(log_prob[:, b], reference))
        print(f"padded sets, {np.dtype(dtype).name}: max relative error of log p(Y) "
              f"against the unpadded float64 value: {error:.2e}")
        self.assertLess(error, 1e-6)

    @parameterized.named_parameters(("k3_n6", 3, 6), ("k5_n20", 5, 20), ("k2_n50", 2, 50))
    def test_float32_log_prob_agrees_with_float64_on_random_parameters(
            self, num_subsets, num_elements):
        # README "Precisions": the float32 log-prob of random parameters and
        # partitions against float64 on the same (float32) values.
        rng = np.random.RandomState(num_elements)
        log_weights = (rng.randn(6, num_subsets) * 2.).astype(np.float32)
        log_scores = (rng.randn(6, num_elements) * 3.).astype(np.float32)
        partition = self.evaluate(DRPM(log_weights, log_scores).sample(10, seed=[2, 9]))
        single = self.evaluate(DRPM(log_weights, log_scores).log_prob(partition))
        double = self.evaluate(DRPM(log_weights.astype(np.float64), log_scores.astype(
            np.float64)).log_prob(partition.astype(np.float64)))
        error = _relative_error(single, double)
        print(f"float32 vs float64, K={num_subsets}, n={num_elements}: max relative error "
              f"of log p(Y) {error:.2e}")
        self.assertLess(error, 1e-6)

    def test_log_prob_of_random_non_partitions_is_minus_inf(self):
        # README "No silent wrong values": outside the support, -inf.
        rng = np.random.RandomState(4)
        for dtype in (np.float32, np.float64):
            drpm = DRPM(rng.randn(3).astype(dtype), rng.randn(6).astype(dtype))
            partition = self.evaluate(drpm.sample(20, seed=[1, 1]))
            broken = partition.copy()
            rows, columns = rng.randint(3, size=20), rng.randint(6, size=20)
            broken[np.arange(20), rows, columns] += rng.choice([1., -1., 0.5, 2.], size=20)
            broken = np.clip(broken, -1., 2.)
            outside = ~np.all(broken == partition, axis=(-2, -1))
            self.assertTrue(np.all(outside))
            self.assertAllEqual(self.evaluate(drpm.log_prob(broken)), [-np.inf] * 20)


if __name__ == "__main__":
    tf.test.main()
