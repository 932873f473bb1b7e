"""Tests of the global-batch helpers on one replica and on 2 mirrored CPUs."""

import textwrap

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tests import subprocess_result
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


# One process: logical CPUs must be configured before TensorFlow runs an op.
_MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder
    from tf_drpm.clustering.vade import VaDE
    from tf_drpm.internal import distribute_util
    from tf_drpm.models import scale_loss
    from tf_drpm.weak_supervision.hypergeometric_aggregation import HypergeometricAggregation

    n = 6
    seed = tf.constant([3, 4], tf.int32)
    values = np.arange(2.0 * n, dtype=np.float32).reshape(n, 2)
    images = np.random.RandomState(1).uniform(size=(n, 784)).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def make_vade():
        ae = MLPAutoencoder(latent_dim=3, trunk_units=(8,))
        ae.build()
        model = VaDE(ae, num_clusters=2, seed=2)
        model.build()
        for w in model.weights:
            w.assign(0.3 * np.random.RandomState(0).normal(size=w.shape))
        return model

    kl_pairs = np.random.RandomState(2).exponential(size=(n, 5)).astype(np.float32)

    def make_hg():
        layer = HypergeometricAggregation(seed=3)
        layer.build((None, 5))
        for w in layer.weights:
            if w.trainable:
                w.assign(0.5 * np.random.RandomState(1).normal(size=w.shape))
        return layer

    def helpers(local_values, local_images, model, hg, local_kl):
        batch = distribute_util.global_batch(
            tf.shape(local_values)[0], static_local_size=local_values.shape[0])
        return {"begin": batch.begin, "size": batch.size,
                "gathered": batch.gather(local_values),
                "local": batch.take_local(batch.gather(local_values)),
                "normal": batch.normal(tf.shape(local_values), seed),
                "uniform": batch.uniform(tf.shape(local_values)[:1], seed, 2.0, 5.0),
                "vade_loss": scale_loss(model.compute_losses(local_images, seed)["loss"]),
                "hg_counts": hg(local_kl, training=True)["counts"]}

    out = {"single": {k: np.asarray(v).tolist() for k, v in
                      tf.function(helpers)(values, images, make_vade(), make_hg(),
                                           kl_pairs).items()}}
    with strategy.scope():
        model = make_vade()
        hg = make_hg()

    def rows(value):
        return strategy.experimental_distribute_values_from_function(
            lambda context: value[3 * context.replica_id_in_sync_group:
                                  3 * (context.replica_id_in_sync_group + 1)])

    result = tf.function(lambda v, i, k: strategy.run(helpers, args=(v, i, model, hg, k)))(
        rows(values), rows(images), rows(kl_pairs))
    out["replicas"] = {k: [np.asarray(x).tolist() for x in strategy.experimental_local_results(v)]
                       for k, v in result.items()}
    print("RESULT" + json.dumps(out))
""")


class GlobalBatchMirroredTest(tf.test.TestCase):

    def test_replicas_draw_the_rows_of_the_global_batch(self):
        out = subprocess_result.run_result_script(self, _MIRRORED_SCRIPT)
        single, replicas = out["single"], out["replicas"]
        self.assertEqual(replicas["begin"], [0, 3])
        self.assertEqual(replicas["size"], [6, 6])
        for replica in range(2):
            self.assertAllEqual(replicas["gathered"][replica], single["gathered"])
        # hg_counts: the HG aggregation's subset sizes of the pairs.
        for name in ("local", "normal", "uniform", "hg_counts"):
            self.assertAllEqual(np.concatenate(replicas[name], axis=0), single[name])
        # The two replicas' noise differs (it used to repeat across replicas).
        self.assertNotAllClose(replicas["normal"][0], replicas["normal"][1])
        # VaDE: the replicas' shares add up to the one-device loss of the batch.
        self.assertAllClose(np.sum(replicas["vade_loss"]), single["vade_loss"], rtol=1e-5)


if __name__ == "__main__":
    tf.test.main()
