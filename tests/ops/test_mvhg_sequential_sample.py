"""Tests for tf_drpm.ops.mvhg_sequential_sample (the loop of conditionals).

Its law is tested through the distributions that call it (exact pmfs and
sample frequencies in `tests/distributions`); here: the conditionals for
K - 1 >= 3 (a `tf.while_loop` without gradient for the path of draws, then one
differentiable pass over all conditionals) equal the unrolled Python loop with
its gradient, bit for bit (the gradient under XLA to rounding).
"""

import importlib
from unittest import mock

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

# The module, not the function `tf_drpm.ops` exports under the same name.
sequential_module = importlib.import_module("tf_drpm.ops.mvhg_sequential_sample")


def _sample_and_gradient(num_groups, dtype, hard, stochastic, jit):
    rng = np.random.RandomState(num_groups)
    sizes = rng.randint(0, 6, size=(3, num_groups)).astype(np.float64)
    total = np.floor(0.6 * sizes.sum(-1))
    log_weights = tf.constant(2. * rng.randn(3, num_groups), dtype)
    max_count = int(sizes.sum(-1).max())

    def run(log_weights):
        with tf.GradientTape() as tape:
            tape.watch(log_weights)
            counts, encodings = sequential_module.mvhg_sequential_sample(
                tf.constant(total, dtype), tf.constant(sizes, dtype), log_weights,
                num_samples=4, seed=[3, 7], max_count=max_count,
                temperature=tf.constant(0.7, dtype), hard=hard, stochastic=stochastic)
            loss = (tf.reduce_sum(counts * tf.range(1, num_groups + 1, dtype=dtype))
                    + tf.reduce_sum(encodings ** 2))
        return counts, encodings, tape.gradient(loss, log_weights)

    if jit:
        run = tf.function(run, jit_compile=True)
    return [t.numpy() for t in run(log_weights)]


class WhileLoopTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(
        (4, tf.float32, True, True, False),
        (4, tf.float64, False, True, False),
        (7, tf.float64, True, False, False),
        (7, tf.float32, False, False, False),
        (4, tf.float32, True, True, True),
        (7, tf.float64, False, True, True),
    )
    def test_loop_equals_unrolled(self, num_groups, dtype, hard, stochastic, jit):
        looped = _sample_and_gradient(num_groups, dtype, hard, stochastic, jit)
        with mock.patch.object(sequential_module, "_MIN_LOOPED_GROUPS", 100):
            unrolled = _sample_and_gradient(num_groups, dtype, hard, stochastic, jit)
        for name, a, b in zip(["counts", "encodings", "gradient"], looped, unrolled):
            self.assertTrue(np.all(np.isfinite(a)), name)
            if jit and name == "gradient":
                # XLA fuses the two graphs differently, so sums may round
                # differently; eagerly the gradients are equal bit for bit.
                tolerance = 1e-6 if dtype == tf.float32 else 1e-13
                self.assertAllClose(a, b, rtol=tolerance, atol=tolerance * np.abs(b).max(),
                                    msg=name)
            else:
                self.assertAllEqual(a, b, msg=name)
        self.assertGreater(np.abs(looped[2]).max(), 0.)

    def test_loop_is_one_while_op(self):
        def while_ops():
            graph = tf.function(_counts).get_concrete_function(
                tf.TensorSpec([2, 10], tf.float32)).graph
            return [op.type for op in graph.get_operations() if "While" in op.type]

        self.assertLen(while_ops(), 1)
        with mock.patch.object(sequential_module, "_MIN_LOOPED_GROUPS", 100):
            self.assertEmpty(while_ops())


    def test_gradient_adds_no_loop(self):
        def while_ops(num_groups):
            def counts_and_gradient(log_weights):
                with tf.GradientTape() as tape:
                    tape.watch(log_weights)
                    counts = _counts(log_weights, num_groups)
                    loss = tf.reduce_sum(counts * tf.range(num_groups, dtype=tf.float32))
                gradient = tape.gradient(loss, log_weights)
                self.assertIsNotNone(gradient)
                return counts, gradient

            graph = tf.function(counts_and_gradient).get_concrete_function(
                tf.TensorSpec([2, num_groups], tf.float32)).graph
            return [op.type for op in graph.get_operations() if "While" in op.type]

        # The forward path's loop only: nothing in it is differentiated.
        self.assertLen(while_ops(10), 1)
        self.assertEmpty(while_ops(3))


def _counts(log_weights, num_groups=10):
    counts, _ = sequential_module.mvhg_sequential_sample(
        12., tf.fill([num_groups], 3.), log_weights, num_samples=1, seed=[1, 2],
        max_count=12)
    return counts


if __name__ == "__main__":
    tf.test.main()
