"""Tests of the global-batch helpers on one replica (several: tests/layers, tests/trainers)."""

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.internal import distribute_util


class GlobalBatchTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(("eager", False), ("function", True))
    def test_one_replica_is_the_identity(self, in_function):
        values = np.arange(12.0, dtype=np.float32).reshape(3, 4)
        seed = tf.constant([3, 4], tf.int32)

        def run():
            batch = distribute_util.global_batch(tf.shape(values)[0], static_local_size=3)
            return (batch.gather(values, axis=0), batch.take_local(values, axis=-1),
                    batch.normal([3, 2], seed), batch.replica_share(tf.constant(6.0)),
                    batch.begin, batch.size, batch.num_replicas, batch.context)

        if in_function:
            run = tf.function(run)
        gathered, local, noise, share, begin, size, num_replicas, context = run()
        self.assertAllEqual(gathered, values)
        self.assertAllEqual(local, values)
        # One replica draws the global batch's noise: the plain stateless draw.
        self.assertAllEqual(noise, tf.random.stateless_normal([3, 2], seed=seed))
        self.assertAllEqual(share, 6.0)
        self.assertEqual(int(begin), 0)
        self.assertEqual(int(size), 3)
        self.assertEqual(num_replicas, 1)
        self.assertIsNone(context)

    def test_no_replica_context_with_one_replica(self):
        self.assertIsNone(distribute_util.replica_context())
        self.assertIsNone(tf.distribute.get_strategy().run(distribute_util.replica_context))
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        self.assertIsNone(strategy.run(distribute_util.replica_context))

    def test_bad_axis_names_the_argument(self):
        batch = distribute_util.GlobalBatch(
            tf.distribute.get_replica_context(), 0, tf.constant(2), tf.constant(4), 4)
        with self.assertRaisesRegex(ValueError, "Received: axis=2"):
            batch.take_local(tf.zeros([2, 2]), axis=2)


if __name__ == "__main__":
    tf.test.main()
