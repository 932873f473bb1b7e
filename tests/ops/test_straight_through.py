"""Tests for tf_drpm.ops.straight_through."""

import numpy as np
import tensorflow as tf

from tf_drpm.ops import straight_through


class StraightThroughTest(tf.test.TestCase):

    def test_forward_is_exactly_hard(self):
        rng = np.random.RandomState(0)
        for dtype in (np.float32, np.float64):
            soft = rng.dirichlet(np.ones(7), size=50).astype(dtype)
            hard = np.eye(7, dtype=dtype)[soft.argmax(-1)]
            out = self.evaluate(straight_through(hard, soft))
            self.assertEqual(out.dtype, dtype)
            # Bitwise equality, not closeness.
            self.assertAllEqual(out, hard)

    def test_gradient_is_soft_gradient(self):
        logits = tf.constant([[0.2, -1.3, 2.0]], tf.float64)
        weights = tf.constant([[1., 2., -3.]], tf.float64)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(logits)
            soft = tf.nn.softmax(logits)
            hard = tf.one_hot(tf.argmax(soft, -1), 3, dtype=tf.float64)
            st_loss = tf.reduce_sum(weights * straight_through(hard, soft))
            soft_loss = tf.reduce_sum(weights * soft)
        st_grad = tape.gradient(st_loss, logits)
        self.assertAllClose(st_grad, tape.gradient(soft_loss, logits),
                            rtol=1e-14, atol=0)
        self.assertGreater(np.abs(self.evaluate(st_grad)).max(), 1e-3)


if __name__ == "__main__":
    tf.test.main()
