"""Tests of soft_sort_partition against an explicit NeuralSort matrix."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.ops import neural_sort
from tf_drpm.ops import soft_sort_partition
from tf_drpm.ops import sort_partition
from tf_drpm.ops import subset_masks


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

    @parameterized.named_parameters(("one_chunk", 64), ("ragged_chunks", 3))
    def test_padded_sets_match_unpadded_value_and_gradients(self, chunk_size):
        # Member 0 has real elements 0, 2, 3, 6 of 7; member 1 all 7.
        rng = np.random.RandomState(1)
        mask = np.ones((2, 7), bool)
        mask[0, [1, 4, 5]] = False
        real = np.where(mask[0])[0]
        masks = tf.constant(rng.rand(2, 3, 7))
        log_scores = tf.constant(rng.randn(2, 7))
        temperature = tf.constant([0.5, 2.0], tf.float64)
        weights = tf.constant(rng.randn(2, 3, 7))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([masks, log_scores, temperature])
            padded = soft_sort_partition(masks, log_scores, temperature, chunk_size, mask=mask)
            # Member 0 alone: its real elements and the first 4 rank rows.
            alone = soft_sort_partition(
                masks[0, :, :4], tf.gather(log_scores[0], real), temperature[0], chunk_size)
            padded_loss = tf.reduce_sum(padded[0] * weights[0])
            alone_loss = tf.reduce_sum(alone * tf.gather(weights[0], real, axis=-1))
        padded, alone = self.evaluate([padded, alone])
        self.assertAllClose(padded[0][:, real], alone, atol=1e-12)
        self.assertAllEqual(padded[0][:, ~mask[0]], np.zeros((3, 3)))
        self.assertAllClose(padded[1], self.evaluate(soft_sort_partition(
            masks[1], log_scores[1], temperature[1], chunk_size)), atol=1e-12)
        grads = self.evaluate(
            [tape.gradient(padded_loss, v) for v in (masks, log_scores, temperature)])
        expected = self.evaluate(
            [tape.gradient(alone_loss, v) for v in (masks, log_scores, temperature)])
        self.assertAllClose(grads[0][0, :, :4], expected[0][0, :, :4], atol=1e-10)
        self.assertAllEqual(grads[0][0, :, 4:], np.zeros((3, 3)))  # rank rows past the set
        self.assertAllClose(grads[1][0, real], expected[1][0, real], atol=1e-10)
        self.assertAllEqual(grads[1][0, [1, 4, 5]], [0., 0., 0.])
        self.assertAllClose(grads[2][0], expected[2][0], atol=1e-10)

    def test_hard_padded_partition_matches_unpadded(self):
        # Straight-through exact partition of the real elements; padded columns
        # are 0 and no gradient reaches the rank rows past the real elements.
        mask = np.array([True, False, True, True, False, True])
        real = np.where(mask)[0]
        counts = tf.constant([1., 2., 1.], tf.float64)
        log_scores = tf.constant(np.random.RandomState(3).randn(6))
        target = tf.constant(np.random.RandomState(4).randn(3, 6))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([counts, log_scores])
            padded = sort_partition(subset_masks(counts, 6), log_scores, 0.5, hard=True,
                                    chunk_size=2, mask=mask)
            alone = sort_partition(subset_masks(counts, 4), tf.gather(log_scores, real), 0.5,
                                   hard=True, chunk_size=2)
            padded_loss = tf.reduce_sum(padded * target)
            alone_loss = tf.reduce_sum(alone * tf.gather(target, real, axis=1))
        padded, alone = self.evaluate([padded, alone])
        self.assertAllEqual(padded[:, real], alone)
        self.assertAllEqual(padded[:, ~mask], np.zeros((3, 2)))
        for variable in (counts, log_scores):
            grads = self.evaluate([tf.convert_to_tensor(tape.gradient(loss, variable))
                                   for loss in (padded_loss, alone_loss)])
            if variable is counts:
                self.assertAllClose(grads[0], grads[1], atol=1e-10)
            else:
                self.assertAllClose(grads[0][real], grads[1][real], atol=1e-10)
        jit = tf.function(lambda s: sort_partition(subset_masks(counts, 6), s, 0.5, hard=True,
                                                   mask=mask), jit_compile=True)(log_scores)
        self.assertAllEqual(self.evaluate(jit), padded)

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
