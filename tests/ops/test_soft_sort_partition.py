"""Tests of soft_sort_partition against an explicit NeuralSort matrix."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.ops import neural_sort
from tf_drpm.ops import soft_sort_partition


class SoftSortPartitionTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(("one_chunk", 64), ("ragged_chunks", 3), ("row_chunks", 1))
    def test_value_and_gradients_match_explicit_matrix(self, chunk_size):
        rng = np.random.RandomState(0)
        masks = tf.constant(rng.rand(3, 4, 10))
        log_scores = tf.constant(rng.randn(3, 10))
        temperature = tf.constant([0.5, 1.0, 2.0], tf.float64)
        weights = tf.constant(rng.randn(3, 4, 10))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([masks, log_scores, temperature])
            fused = soft_sort_partition(masks, log_scores, temperature, chunk_size=chunk_size)
            explicit = tf.linalg.matmul(masks, neural_sort(log_scores, temperature))
            fused_loss = tf.reduce_sum(fused * weights)
            explicit_loss = tf.reduce_sum(explicit * weights)
        self.assertAllClose(fused, explicit, atol=1e-12)
        for variable in (masks, log_scores, temperature):
            self.assertAllClose(tape.gradient(fused_loss, variable),
                                tape.gradient(explicit_loss, variable), atol=1e-10)

    def test_broadcasts_masks_and_scores(self):
        masks = tf.random.stateless_uniform([5, 1, 2, 6], seed=[3, 4])
        log_scores = tf.random.stateless_normal([3, 6], seed=[1, 2])
        result = soft_sort_partition(masks, log_scores, 1.0)
        self.assertEqual(result.shape, [5, 3, 2, 6])
        # NeuralSort rows sum to one, so subset k receives total mass sum_r masks[k, r].
        self.assertAllClose(tf.reduce_sum(result, axis=-1),
                            tf.broadcast_to(tf.reduce_sum(masks, -1), [5, 3, 2]), atol=1e-5)

    def test_jit_compiles(self):
        masks = tf.ones([2, 3, 7]) / 3.
        log_scores = tf.random.stateless_normal([2, 7], seed=[1, 2])
        eager = soft_sort_partition(masks, log_scores, 0.3, chunk_size=4)
        jit = tf.function(lambda m, s: soft_sort_partition(m, s, 0.3, chunk_size=4),
                          jit_compile=True)(masks, log_scores)
        self.assertAllClose(eager, jit, atol=1e-6)

    def test_static_argument_checks(self):
        masks, log_scores = tf.ones([2, 3]) / 2., tf.zeros([3])
        with self.assertRaisesRegex(ValueError, "Received: temperature=-1.0"):
            soft_sort_partition(masks, log_scores, -1.)
        with self.assertRaisesRegex(ValueError, "Received: chunk_size=0"):
            soft_sort_partition(masks, log_scores, 1., chunk_size=0)


if __name__ == "__main__":
    tf.test.main()
