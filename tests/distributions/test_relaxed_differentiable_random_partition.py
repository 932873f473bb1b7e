"""Tests of the relaxed DRPM: exact hard samples, honest gradients, the exact twin."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tests.distributions.partition_enumeration import check_frequencies
from tests.distributions.partition_enumeration import exact_partition_probs
from tf_drpm.distributions import DRPM
from tf_drpm.distributions import RelaxedDifferentiableRandomPartition
from tf_drpm.distributions import RelaxedDRPM
from tf_drpm.ops import hard_sort_partition
from tf_drpm.ops import sample_gumbel
from tf_drpm.ops import subset_masks

tfd = tfp.distributions


class RelaxedDifferentiableRandomPartitionTest(tf.test.TestCase, parameterized.TestCase):

    def test_alias_and_exact_twin(self):
        self.assertIs(RelaxedDRPM, RelaxedDifferentiableRandomPartition)
        mask = tf.sequence_mask([3, 2], maxlen=3)
        relaxed = RelaxedDRPM(tf.zeros([2, 2]), tf.ones([2, 3]), 0.5, mask=mask,
                              validate_args=True)
        exact = relaxed.exact
        self.assertIsInstance(exact, DRPM)
        self.assertIs(exact.log_weights, relaxed.log_weights)
        self.assertIs(exact.log_scores, relaxed.log_scores)
        self.assertIs(exact.mask, relaxed.mask)
        self.assertTrue(exact.validate_args)

    @parameterized.named_parameters(
        ("float32", np.float32, None), ("float64", np.float64, None),
        ("masked", np.float64, [[1, 1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 0, 1]]))
    def test_hard_samples_are_the_exact_samples(self, dtype, mask):
        # Same seed, same partitions: the relaxation's forward value is an
        # exact DRPM sample (hard_permutation=False: only the sizes are hard).
        rng = np.random.RandomState(2)
        log_weights = rng.randn(2, 3).astype(dtype)
        log_scores = (2. * rng.randn(2, 7)).astype(dtype)
        mask = None if mask is None else np.array(mask, bool)
        relaxed = RelaxedDRPM(log_weights, log_scores, dtype(0.6), mask=mask)
        samples = self.evaluate(relaxed.sample(50, seed=[5, 6]))
        self.assertAllEqual(samples, self.evaluate(relaxed.exact.sample(50, seed=[5, 6])))
        self.assertTrue(np.all((samples == 0.) | (samples == 1.)))
        expected = np.ones((50, 2, 7)) if mask is None else np.broadcast_to(mask, (50, 2, 7))
        self.assertAllEqual(samples.sum(axis=-2), expected)
        counts = self.evaluate(
            relaxed.copy(hard_permutation=False).sample_with_details(50, seed=[5, 6])["counts"])
        self.assertAllEqual(counts, samples.sum(axis=-1))

    def test_hard_sample_frequencies_match_the_exact_pmf(self):
        log_weights = np.array([0.3, -0.4])
        log_scores = np.array([1.0, 0.0, -0.5, 0.7])
        relaxed = RelaxedDRPM(log_weights, log_scores, np.float64(0.5))
        ys = self.evaluate(relaxed.sample(20000, seed=[11, 12]))
        check_frequencies(self, ys, exact_partition_probs(log_weights, log_scores))

    @parameterized.named_parameters(
        ("hard", True, None), ("soft", False, None),
        ("hard_sizes_soft_order", True, False), ("soft_sizes_hard_order", False, True))
    def test_reparameterization_type(self, hard, hard_permutation):
        # Straight-through subset masks in every mode (see the next tests).
        relaxed = RelaxedDRPM(tf.zeros([2]), tf.zeros([4]), 0.5, hard=hard,
                              hard_permutation=hard_permutation)
        self.assertEqual(relaxed.reparameterization_type, tfd.NOT_REPARAMETERIZED)

    def test_soft_samples_pathwise_in_the_scores_surrogate_in_the_weights(self):
        # hard=False: for fixed noise the soft sample is a smooth function of
        # the log-scores, and their gradient is its derivative. It does not
        # move with the log-weights (step-function subset masks), whose
        # gradient is the straight-through surrogate: not reparameterized.
        rng = np.random.RandomState(3)
        params0 = np.concatenate([rng.randn(3) * 0.3, rng.randn(6)])
        target = tf.constant(rng.randn(3, 6))

        def loss(params):
            y = RelaxedDRPM(params[:3], params[3:9], np.float64(0.8), hard=False).sample(
                2, seed=[4, 5])
            return tf.reduce_sum(y * target)

        params = tf.constant(params0)
        with tf.GradientTape() as tape:
            tape.watch(params)
            value = loss(params)
        grad = self.evaluate(tape.gradient(value, params))
        step = 1e-6
        numeric = np.array([
            (self.evaluate(loss(params + step * e)) - self.evaluate(loss(params - step * e)))
            / (2 * step) for e in np.eye(9)])
        self.assertAllClose(grad[3:], numeric[3:], atol=1e-5, rtol=1e-4)
        self.assertAllEqual(numeric[:3], np.zeros(3))
        self.assertGreater(np.max(np.abs(grad[:3])), 0.)

    def test_hard_samples_have_straight_through_gradients(self):
        # NOT_REPARAMETERIZED: the hard sample does not move under small
        # changes of the parameters (its derivative is 0), yet the tape gives
        # the relaxation's gradient: a biased surrogate, not a derivative.
        rng = np.random.RandomState(4)
        log_weights = tf.constant(rng.randn(3) * 0.3)
        log_scores = tf.constant(rng.randn(6))
        target = tf.constant(rng.randn(3, 6))

        def loss(log_weights, log_scores):
            y = RelaxedDRPM(log_weights, log_scores, np.float64(0.8)).sample(2, seed=[4, 5])
            return tf.reduce_sum(y * target)

        with tf.GradientTape() as tape:
            tape.watch([log_weights, log_scores])
            value = loss(log_weights, log_scores)
        grads = tape.gradient(value, [log_weights, log_scores])
        for grad in grads:
            self.assertGreater(np.max(np.abs(self.evaluate(grad))), 0.)
        moved = loss(log_weights + 1e-6, log_scores + 1e-6 * tf.range(6, dtype=tf.float64))
        self.assertEqual(self.evaluate(moved), self.evaluate(value))

    def test_straight_through_gradients_reach_both_parameters(self):
        log_weights = tf.Variable(tf.random.stateless_normal([2, 3], seed=[1, 1]))
        log_scores = tf.Variable(tf.random.stateless_normal([2, 8], seed=[2, 2]))
        target = tf.random.stateless_normal([2, 3, 8], seed=[3, 3])
        with tf.GradientTape() as tape:
            y = RelaxedDRPM(log_weights, log_scores, 0.7).sample(4, seed=[5, 6])
            loss = tf.reduce_sum(y * target)
        grad_weights, grad_scores = tape.gradient(loss, [log_weights, log_scores])
        for grad in (grad_weights, grad_scores):
            self.assertIsNotNone(grad)
            grad = self.evaluate(grad)
            self.assertTrue(np.all(np.isfinite(grad)))
            self.assertGreater(np.max(np.abs(grad)), 0.)

    def test_log_prob_points_to_the_exact_distribution(self):
        relaxed = RelaxedDRPM(tf.zeros([2]), tf.zeros([3]), 0.5)
        y = relaxed.sample(seed=[1, 2])
        with self.assertRaisesRegex(NotImplementedError, r"relaxed\.exact\.log_prob"):
            relaxed.log_prob(y)
        with self.assertRaisesRegex(NotImplementedError, r"relaxed\.exact\.log_prob"):
            relaxed.prob(y)
        self.assertAllClose(self.evaluate(relaxed.exact.log_prob(y)),
                            self.evaluate(DRPM(tf.zeros([2]), tf.zeros([3])).log_prob(y)))

    def test_chunked_and_cumulative_paths_agree(self):
        log_weights = tf.constant([[0.2, -0.1, 0.4]])
        log_scores = tf.constant([[0.5, -1.0, 2.0, 0.0, 0.3, 1.1, -0.4]])
        target = tf.random.stateless_normal([1, 3, 7], seed=[1, 1])

        def value_and_grads(chunk_size):
            with tf.GradientTape() as tape:
                tape.watch([log_weights, log_scores])
                y = RelaxedDRPM(log_weights, log_scores, 0.6, chunk_size=chunk_size).sample(
                    2, seed=[3, 4])
                loss = tf.reduce_sum(y * target)
            return [y] + tape.gradient(loss, [log_weights, log_scores])

        for whole, chunked in zip(value_and_grads(256), value_and_grads(3)):
            self.assertAllClose(whole, chunked, atol=1e-5)

    def test_jit_and_eager_agree(self):
        log_weights = tf.constant([[0.1, -0.2, 0.3]])
        log_scores = tf.constant([[0.5, -1.0, 2.0, 0.0, 0.3]])

        def run(log_weights, log_scores):
            with tf.GradientTape() as tape:
                tape.watch(log_scores)
                relaxed = RelaxedDRPM(log_weights, log_scores, 0.5)
                y = relaxed.sample(3, seed=[7, 8])
                loss = tf.reduce_sum(y * tf.range(5, dtype=tf.float32))
            return y, relaxed.noiseless_partition(), tape.gradient(loss, log_scores)

        eager = self.evaluate(run(log_weights, log_scores))
        graph = self.evaluate(tf.function(run)(log_weights, log_scores))
        jit = self.evaluate(tf.function(run, jit_compile=True)(log_weights, log_scores))
        for other in (graph, jit):
            self.assertAllEqual(eager[0], other[0])
            self.assertAllEqual(eager[1], other[1])
            self.assertAllClose(eager[2], other[2], atol=1e-4)

    def test_batch_shapes_broadcast(self):
        relaxed = RelaxedDRPM(tf.zeros([2, 1, 3]), tf.zeros([4, 6]), tf.constant(0.5))
        self.assertEqual(relaxed.batch_shape, [2, 4])
        self.assertEqual(relaxed.event_shape, [3, 6])
        self.assertEqual(relaxed.sample(5, seed=[1, 2]).shape, [5, 2, 4, 3, 6])
        details = relaxed.sample_with_details([2], seed=[1, 2])
        self.assertEqual(details["counts"].shape, [2, 2, 4, 3])
        self.assertEqual(details["permutation"].shape, [2, 2, 4, 6, 6])
        self.assertEqual(details["perturbed_log_scores"].shape, [2, 2, 4, 6])
        noiseless = relaxed.noiseless_partition_with_details()
        self.assertEqual(noiseless["partition"].shape, [2, 4, 3, 6])
        self.assertEqual(noiseless["counts"].shape, [2, 4, 3])

    @parameterized.named_parameters(("float16", np.float16), ("bfloat16", tf.bfloat16))
    def test_half_precision_samples_exact_partitions(self, dtype):
        num_elements = 3000
        log_weights = tf.cast(tf.random.stateless_normal([2, 3], seed=[1, 2]), dtype)
        log_scores = tf.cast(tf.random.stateless_normal([2, num_elements], seed=[3, 4]), dtype)
        relaxed = RelaxedDRPM(log_weights, log_scores, tf.constant(0.5, dtype))
        details = relaxed.sample_with_details(seed=[5, 6], return_permutation=False)
        self.assertEqual(details["partition"].dtype, tf.as_dtype(dtype))
        self.assertEqual(details["counts"].dtype, tf.float32)
        partition = self.evaluate(tf.cast(details["partition"], tf.float32))
        self.assertTrue(np.all((partition == 0.) | (partition == 1.)))
        self.assertAllEqual(partition.sum(axis=-2), np.ones((2, num_elements)))
        self.assertAllEqual(partition.sum(axis=-1), self.evaluate(details["counts"]))
        self.assertAllEqual(partition, self.evaluate(
            tf.cast(relaxed.exact.sample(seed=[5, 6]), tf.float32)))

    def test_noiseless_partition_is_deterministic(self):
        relaxed = RelaxedDRPM(tf.constant([0.0, 1.0]), tf.constant([0.3, 2.0, -1.0, 0.5]), 0.5)
        first = self.evaluate(relaxed.noiseless_partition())
        self.assertAllEqual(first, self.evaluate(relaxed.noiseless_partition()))
        self.assertAllEqual(np.sum(first, axis=0), np.ones(4))
        # The highest scores fill the first subset, to the sequential mode of the sizes.
        counts = self.evaluate(relaxed.noiseless_partition_with_details()["counts"])
        expected = hard_sort_partition(subset_masks(counts, 4), [0.3, 2.0, -1.0, 0.5])
        self.assertAllEqual(first, self.evaluate(expected))

    def test_given_counts_sample_the_order_alone(self):
        log_scores = tf.random.stateless_normal([2, 6], seed=[1, 1])
        relaxed = RelaxedDRPM(tf.zeros([2, 3]), log_scores, 0.5)
        counts = tf.constant([[1., 2., 3.], [0., 6., 0.]])
        details = relaxed.sample_with_details(seed=[4, 5], counts=counts)
        self.assertAllEqual(self.evaluate(details["counts"]), self.evaluate(counts))
        # The whole seed goes to the order's Gumbel noise.
        perturbed = log_scores + sample_gumbel([1, 2, 6], seed=[4, 5])[0]
        expected = hard_sort_partition(subset_masks(counts, 6), perturbed)
        self.assertAllEqual(self.evaluate(details["partition"]), self.evaluate(expected))
        noiseless = relaxed.noiseless_partition(counts=[2., 2., 2.])
        self.assertAllEqual(self.evaluate(tf.reduce_sum(noiseless, -1)), [[2., 2., 2.]] * 2)

    def test_soft_permutation_keeps_subset_sizes(self):
        relaxed = RelaxedDRPM(tf.zeros([3]), tf.random.stateless_normal([7], seed=[1, 1]), 1.0,
                              hard_permutation=False)
        details = self.evaluate(relaxed.sample_with_details(seed=[2, 3]))
        y = details["partition"]
        # NeuralSort is row-stochastic: subset k holds a total mass of n_k.
        self.assertAllClose(np.sum(y, axis=-1), details["counts"], atol=1e-5)
        self.assertTrue(np.any((y > 1e-3) & (y < 1 - 1e-3)))

    def test_invalid_shapes_and_values_raise(self):
        with self.assertRaisesRegex(ValueError, "log_weights"):
            RelaxedDRPM(tf.zeros([0]), tf.zeros([3]), 1.0)
        with self.assertRaisesRegex(ValueError, "log_scores"):
            RelaxedDRPM(tf.zeros([2]), tf.zeros([0]), 1.0)
        with self.assertRaisesRegex(ValueError, "temperature"):
            RelaxedDRPM(tf.zeros([2]), tf.zeros([3]), -1.0)
        with self.assertRaisesRegex(ValueError, "log_scores"):
            RelaxedDRPM(tf.zeros([2]), tf.constant([0., np.nan, 1.]), 1.0)
        with self.assertRaisesRegex(ValueError, "mask.shape"):
            RelaxedDRPM(tf.zeros([3]), tf.zeros([6]), 0.5, mask=tf.ones([5], tf.bool))

    @parameterized.named_parameters(("zero", 0.), ("negative", -1.))
    def test_run_time_temperature_not_positive(self, value):
        log_weights, log_scores = tf.zeros([3]), tf.constant([0.3, 2., -1., 0.5, 0.1, 0.])

        @tf.function
        def sample(temperature, hard, validate_args):
            relaxed = RelaxedDRPM(log_weights, log_scores, temperature, hard=hard,
                                  validate_args=validate_args)
            return relaxed.sample(2, seed=[1, 2])

        # A tf.function argument: NaN in both modes rather than plausible
        # partitions (hard) or wrong numbers (soft); an error with validate_args.
        for hard in (True, False):
            self.assertTrue(np.all(np.isnan(self.evaluate(
                sample(tf.constant(value), hard, False)))))
            with self.assertRaisesOpError("Argument `temperature` must be positive"):
                self.evaluate(sample(tf.constant(value), hard, True))
        # A variable assigned after construction.
        temperature = tf.Variable(1.)
        relaxed = RelaxedDRPM(log_weights, log_scores, temperature, validate_args=True)
        temperature.assign(value)
        with self.assertRaisesOpError("Argument `temperature` must be positive"):
            self.evaluate(tf.function(lambda: relaxed.sample(seed=[1, 2]))())

    def test_make_trainable_shapes(self):
        relaxed = tfp.experimental.util.make_trainable(
            RelaxedDRPM, batch_and_event_shape=[2, 3, 5], temperature=1.0, seed=[1, 2])
        self.assertEqual(relaxed.batch_shape, [2])
        self.assertEqual(relaxed.event_shape, [3, 5])
        self.assertEqual(relaxed.sample(4, seed=[3, 4]).shape, [4, 2, 3, 5])

    @parameterized.named_parameters(
        ("chunk_size_zero", dict(chunk_size=0), ValueError, "Received: chunk_size=0"),
        ("chunk_size_float", dict(chunk_size=2.), ValueError, "Received: chunk_size=2.0"),
        ("hard_string", dict(hard="no"), ValueError, "Received: hard='no'"),
        ("hard_permutation_string", dict(hard_permutation="yes"), ValueError,
         "Received: hard_permutation='yes'"),
        # The noiseless partition is a method, not a flag of `sample`.
        ("stochastic", dict(stochastic=False), TypeError, "stochastic"),
    )
    def test_bad_python_arguments(self, kwargs, error, message):
        with self.assertRaisesRegex(error, message):
            RelaxedDRPM(tf.zeros([2]), tf.zeros([3]), 1.0, **kwargs)

    @parameterized.named_parameters(("hard", True), ("soft", False))
    def test_padded_relaxation_equals_the_unpadded_one(self, hard):
        # Without noise: the relaxed values and the gradients of a padded set
        # are those of the set of its real elements.
        real = [0, 1, 3, 5]
        mask = np.isin(np.arange(6), real)
        log_weights = tf.random.stateless_normal([3], seed=[3, 3])
        log_scores = tf.random.stateless_normal([6], seed=[4, 4])
        target = tf.random.stateless_normal([3, 6], seed=[5, 5])

        def value_and_grads(log_scores, target, mask):
            with tf.GradientTape() as tape:
                tape.watch([log_weights, log_scores])
                relaxed = RelaxedDRPM(log_weights, log_scores, 0.7, hard=hard, chunk_size=2,
                                      mask=mask)
                y = relaxed.noiseless_partition()
                loss = tf.reduce_sum(y * target)
            return [y] + tape.gradient(loss, [log_weights, log_scores])

        y, grad_weights, grad_scores = self.evaluate(value_and_grads(log_scores, target, mask))
        expected = self.evaluate(value_and_grads(
            tf.gather(log_scores, real), tf.gather(target, real, axis=1), None))
        self.assertAllClose(y[:, real], expected[0], atol=1e-6)
        self.assertAllEqual(y[:, ~mask], np.zeros((3, 2)))
        self.assertAllClose(grad_weights, expected[1], atol=1e-6)
        self.assertAllClose(grad_scores[real], expected[2], atol=1e-6)
        self.assertAllEqual(grad_scores[~mask], [0., 0.])

    def test_mask_details_and_empty_sets(self):
        mask = tf.sequence_mask([6, 4, 0], maxlen=6)
        relaxed = RelaxedDRPM(tf.zeros([3]), tf.random.stateless_normal([3, 6], seed=[1, 1]),
                              0.5, mask=mask)
        details = self.evaluate(relaxed.sample_with_details(2, seed=[2, 3]))
        self.assertAllEqual(details["partition"].sum(axis=(-2, -1)), [[6., 4., 0.]] * 2)
        self.assertAllEqual(details["counts"].sum(axis=-1), [[6., 4., 0.]] * 2)
        permutation = details["permutation"]
        self.assertAllEqual(permutation.sum(axis=-1), np.ones((2, 3, 6)))
        self.assertAllEqual(permutation.sum(axis=-2), np.ones((2, 3, 6)))
        self.assertTrue(np.all(np.isfinite(self.evaluate(
            relaxed.exact.log_prob(details["partition"])))))
        self.assertEqual(relaxed[1:].batch_shape, [2])  # slicing carries the mask


    @parameterized.product(bad=[np.nan, np.inf, -np.inf],
                           argument=["log_weights", "log_scores"],
                           dtype=[np.float16, np.float32, np.float64])
    def test_run_time_non_finite_parameter_gives_nan(self, bad, argument, dtype):
        # Every detail of the invalid member is NaN, the others unchanged.
        rng = np.random.RandomState(9)
        params = dict(log_weights=rng.randn(3, 3).astype(dtype),
                      log_scores=rng.randn(3, 6).astype(dtype))
        good = RelaxedDRPM(params["log_weights"], params["log_scores"], dtype(0.5))
        params[argument][2, rng.randint(params[argument].shape[-1])] = bad
        variables = [tf.Variable(params["log_weights"]), tf.Variable(params["log_scores"])]
        for hard in (True, False):
            relaxed = RelaxedDRPM(*variables, dtype(0.5), hard=hard)
            reference = RelaxedDRPM(good.log_weights, good.log_scores, dtype(0.5), hard=hard)
            details = self.evaluate(relaxed.sample_with_details(3, seed=[1, 2]))
            expected = self.evaluate(reference.sample_with_details(3, seed=[1, 2]))
            noiseless = self.evaluate(relaxed.noiseless_partition_with_details())
            in_function = self.evaluate(
                tf.function(lambda: relaxed.sample(3, seed=[1, 2]))())  # noqa: B023
            self.assertEqual(details["partition"].dtype, dtype)
            for key in details:
                self.assertTrue(np.all(np.isnan(details[key][:, 2])), msg=key)
                self.assertTrue(np.all(np.isnan(noiseless[key][2])), msg=key)
                self.assertAllEqual(details[key][:, :2], expected[key][:, :2], msg=key)
                self.assertTrue(np.all(np.isfinite(noiseless[key][:2])), msg=key)
            self.assertTrue(np.all(np.isnan(in_function[:, 2])))
            self.assertAllEqual(in_function[:, :2], expected["partition"][:, :2])
        checked = RelaxedDRPM(*variables, dtype(0.5), validate_args=True)
        with self.assertRaisesOpError(f"`{argument}` must be finite"):
            self.evaluate(checked.sample(seed=[1, 2]))

    @parameterized.product(fill=[np.nan, np.inf, -np.inf], hard=[True, False],
                           dtype=[np.float32, np.float64])
    def test_padded_entries_may_hold_any_value(self, fill, hard, dtype):
        # Samples, details and gradients (through the relaxation) with garbage
        # in the padded log-scores equal those with zeros there.
        mask = np.array([[True, True, False, True, True, False],
                         [True, True, True, False, False, False]])
        rng = np.random.RandomState(10)
        log_weights = rng.randn(2, 3).astype(dtype)
        real_scores = rng.randn(2, 6).astype(dtype)
        target = rng.randn(2, 3, 6).astype(dtype)

        def run(log_scores):
            params = [tf.constant(log_weights), tf.constant(log_scores)]
            with tf.GradientTape() as tape:
                tape.watch(params)
                relaxed = RelaxedDRPM(*params, dtype(0.5), hard=hard, chunk_size=4,
                                      mask=mask, validate_args=True)
                details = relaxed.sample_with_details(3, seed=[4, 5])
                loss = tf.reduce_sum(details["partition"] * target)
            return self.evaluate([details, tape.gradient(loss, params)])

        garbage = run(np.where(mask, real_scores, fill).astype(dtype))
        zeros = run(np.where(mask, real_scores, 0.).astype(dtype))
        for key in zeros[0]:
            self.assertAllEqual(garbage[0][key], zeros[0][key], msg=key)
        for grad, expected in zip(garbage[1], zeros[1]):
            self.assertTrue(np.all(np.isfinite(grad)))
            self.assertAllEqual(grad, expected)
        self.assertAllEqual(garbage[1][1][~mask], np.zeros(np.sum(~mask)))

    @parameterized.named_parameters(("float32", np.float32), ("float64", np.float64))
    def test_padded_relaxation_equals_unpadded_on_random_parameters(self, dtype):
        # README "Padded sets" (relaxed values and gradients) on random sets.
        rng = np.random.RandomState(12)
        batch, num_subsets, num_elements = 6, 3, 9
        mask = rng.rand(batch, num_elements) < 0.6
        mask[:, :2] = True
        log_weights = (rng.randn(batch, num_subsets) * 2.).astype(dtype)
        log_scores = (rng.randn(batch, num_elements) * 2.).astype(dtype)
        garbage = rng.choice([np.nan, np.inf, -np.inf], size=log_scores.shape)
        target = rng.randn(batch, num_subsets, num_elements).astype(dtype)

        def value_and_grads(log_weights, log_scores, target, mask):
            params = [tf.constant(log_weights), tf.constant(log_scores)]
            with tf.GradientTape() as tape:
                tape.watch(params)
                y = RelaxedDRPM(*params, dtype(0.7), hard=False, mask=mask).noiseless_partition()
                loss = tf.reduce_sum(y * target)
            return self.evaluate([y] + tape.gradient(loss, params))

        y, grad_weights, grad_scores = value_and_grads(
            log_weights, np.where(mask, log_scores, garbage).astype(dtype), target, mask)
        errors = []
        for b in range(batch):
            real = np.where(mask[b])[0]
            expected = value_and_grads(log_weights[b], log_scores[b, real],
                                       target[b][:, real], None)
            errors.append(max(np.max(np.abs(y[b][:, real] - expected[0])),
                              np.max(np.abs(grad_weights[b] - expected[1])),
                              np.max(np.abs(grad_scores[b, real] - expected[2]))))
            self.assertAllEqual(y[b][:, ~mask[b]], np.zeros((num_subsets, np.sum(~mask[b]))))
            self.assertAllEqual(grad_scores[b, ~mask[b]], np.zeros(np.sum(~mask[b])))
        print(f"relaxed padded sets, {np.dtype(dtype).name}: max absolute difference of "
              f"values and gradients from the unpadded set: {max(errors):.2e}")
        self.assertLess(max(errors), {np.float32: 1e-5, np.float64: 1e-12}[dtype])


if __name__ == "__main__":
    tf.test.main()
