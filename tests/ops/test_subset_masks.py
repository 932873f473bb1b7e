"""Tests of subset_masks."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.ops import subset_masks


class SubsetMasksTest(tf.test.TestCase, parameterized.TestCase):

    def test_blocks_follow_counts_with_empty_subsets(self):
        masks = self.evaluate(subset_masks(tf.constant([2., 0., 3., 1.]), num_elements=6))
        expected = np.array([[1, 1, 0, 0, 0, 0],
                             [0, 0, 0, 0, 0, 0],
                             [0, 0, 1, 1, 1, 0],
                             [0, 0, 0, 0, 0, 1]], np.float32)
        self.assertAllEqual(masks, expected)

    def test_every_rank_in_exactly_one_block_for_random_compositions(self):
        rng = np.random.RandomState(0)
        counts = rng.multinomial(9, [0.2, 0.3, 0.1, 0.4], size=50).astype(np.float64)
        masks = self.evaluate(subset_masks(counts, num_elements=9))
        self.assertEqual(masks.shape, (50, 4, 9))
        self.assertAllEqual(masks.sum(axis=-2), np.ones((50, 9)))
        self.assertAllEqual(masks.sum(axis=-1), counts)

    def test_straight_through_gradient_reaches_counts(self):
        counts = tf.constant([[2., 1., 1.]])
        with tf.GradientTape() as tape:
            tape.watch(counts)
            masks = subset_masks(counts, num_elements=4)
            loss = tf.reduce_sum(masks * tf.constant([[[1., 2., 3., 4.]]]))
        grad = self.evaluate(tape.gradient(loss, counts))
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertGreater(np.abs(grad).max(), 0.)

    @parameterized.named_parameters(("float16", tf.float16), ("bfloat16", tf.bfloat16))
    def test_half_precision_counts_give_exact_masks(self, dtype):
        # Positions up to 200 are not all representable in half precision.
        counts = [100., 28., 72.]
        masks = tf.function(lambda c: subset_masks(c, num_elements=200))(
            tf.constant(counts, dtype))
        self.assertEqual(masks.dtype, dtype)
        expected = np.zeros((3, 200))
        expected[0, :100], expected[1, 100:128], expected[2, 128:] = 1., 1., 1.
        self.assertAllEqual(self.evaluate(tf.cast(masks, tf.float32)), expected)


if __name__ == "__main__":
    tf.test.main()
