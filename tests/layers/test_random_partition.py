"""Tests of the RandomPartition Keras layer."""

import os
import textwrap

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from tests import subprocess_result
from tf_drpm.distributions import DRPM
from tf_drpm.layers import RandomPartition


class RandomPartitionTest(tf.test.TestCase, parameterized.TestCase):

    def test_outputs_partitions_and_details(self):
        layer = RandomPartition(temperature=0.5, return_details=True, exact_log_prob=True, seed=3)
        log_weights = np.zeros((2, 3), np.float32)
        log_scores = np.random.RandomState(0).randn(2, 8).astype(np.float32)
        out = layer([log_weights, log_scores])
        self.assertEqual(out["partition"].shape, (2, 3, 8))
        self.assertEqual(out["counts"].shape, (2, 3))
        self.assertEqual(out["permutation"].shape, (2, 8, 8))
        partition = self.evaluate(out["partition"])
        self.assertAllEqual(partition.sum(axis=1), np.ones((2, 8)))
        self.assertAllClose(partition.sum(axis=-1), self.evaluate(out["counts"]))
        for key in ("log_prob_counts", "log_prob_permutation", "log_prob"):
            value = self.evaluate(out[key])
            self.assertEqual(value.shape, (2,))
            self.assertTrue(np.all(np.isfinite(value)) and np.all(value <= 0.))

    def test_gradients_reach_both_inputs(self):
        layer = RandomPartition(temperature=1.0, seed=1)
        log_weights = tf.Variable(tf.zeros([2, 3]))
        log_scores = tf.Variable(tf.random.stateless_normal([2, 6], seed=[1, 2]))
        target = tf.random.stateless_normal([2, 3, 6], seed=[3, 4])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer([log_weights, log_scores]) * target)
        for grad in tape.gradient(loss, [log_weights, log_scores]):
            self.assertGreater(float(tf.reduce_max(tf.abs(grad))), 0.)

    def test_temperature_is_a_non_trainable_weight(self):
        layer = RandomPartition(temperature=0.7)
        layer([np.zeros((1, 2), np.float32), np.zeros((1, 4), np.float32)])
        self.assertEqual(layer.trainable_weights, [])
        self.assertAllClose(layer.temperature, 0.7)

    def test_config_round_trip(self):
        layer = RandomPartition(temperature=0.3, hard=False, stochastic=False, seed=5,
                                hard_permutation=True)
        clone = RandomPartition.from_config(layer.get_config())
        self.assertEqual(clone.get_config(), layer.get_config())
        restored = keras.layers.deserialize(keras.layers.serialize(layer))
        self.assertIsInstance(restored, RandomPartition)

    def test_keras_file_round_trip(self):
        log_weights = keras.Input((3,))
        log_scores = keras.Input((5,))
        hidden = keras.layers.Dense(5)(log_scores)
        partition = RandomPartition(temperature=0.4, stochastic=False)([log_weights, hidden])
        model = keras.Model([log_weights, log_scores], partition)
        inputs = [np.zeros((2, 3), np.float32),
                  np.random.RandomState(1).randn(2, 5).astype(np.float32)]
        expected = model(inputs)
        path = os.path.join(self.get_temp_dir(), "model.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        self.assertAllClose(restored(inputs), expected)
        self.assertAllClose(restored.layers[-1].temperature, 0.4)

    @parameterized.named_parameters(("two_rows", 2), ("three_rows", 3))
    def test_single_tensor_input_is_an_error(self, rows):
        # A rank-2 tensor unpacks into rows: it must not pass as [log_weights, log_scores].
        with self.assertRaisesRegex(ValueError, r"expects a list of two inputs \[log_weights"):
            RandomPartition()(np.zeros((rows, 5), np.float32))
        built = RandomPartition()
        built([np.zeros((2, 3), np.float32), np.zeros((2, 5), np.float32)])
        with self.assertRaisesRegex(ValueError, "a single tensor of shape"):
            built(np.zeros((rows, 5), np.float32))

    def test_temperature_weight_not_positive(self):
        inputs = [np.zeros((2, 3), np.float32), np.random.RandomState(0).randn(2, 5)]
        inputs[1] = inputs[1].astype(np.float32)
        checked = RandomPartition(validate_args=True, seed=1)
        unchecked = RandomPartition(seed=1)
        for layer in (checked, unchecked):
            layer(inputs)
            layer.temperature.assign(-1.)  # e.g. a faulty schedule
        with self.assertRaisesOpError("Argument `temperature` must be positive"):
            self.evaluate(tf.function(checked)(inputs))
        self.assertTrue(np.all(np.isnan(self.evaluate(tf.function(unchecked)(inputs)))))
        self.assertTrue(RandomPartition.from_config(checked.get_config()).validate_args)

    def test_rejects_bad_flags(self):
        with self.assertRaisesRegex(ValueError, "Received: hard='no'"):
            RandomPartition(hard="no")
        with self.assertRaisesRegex(ValueError, "Received: return_details=1"):
            RandomPartition(return_details=1)

    def test_mask_pads_sets_of_different_sizes(self):
        sizes = [5, 3, 1]
        mask = tf.sequence_mask(sizes, maxlen=5)
        log_weights = np.zeros((3, 2), np.float32)
        log_scores = np.random.RandomState(2).randn(3, 5).astype(np.float32)
        layer = RandomPartition(temperature=0.5, return_details=True, exact_log_prob=True,
                                seed=3)
        # As a tensor, and as the Keras list of the inputs' masks.
        for given in (mask, [None, mask]):
            out = self.evaluate(layer([log_weights, log_scores], mask=given))
            self.assertAllEqual(out["partition"].sum(axis=1), self.evaluate(
                tf.cast(mask, tf.float32)))
            self.assertAllEqual(out["counts"].sum(axis=-1), sizes)
            for b, size in enumerate(sizes):
                unpadded = DRPM(log_weights[b], log_scores[b, :size])
                self.assertAllClose(out["log_prob"][b], self.evaluate(
                    unpadded.log_prob(out["partition"][b, :, :size])), atol=1e-5)
        inputs = [keras.Input((2,)), keras.Input((5,)), keras.Input((5,), dtype="bool")]
        partition = RandomPartition(seed=1)(inputs[:2], mask=inputs[2])
        model = keras.Model(inputs, partition)
        y = self.evaluate(model([tf.constant(log_weights), tf.constant(log_scores), mask]))
        self.assertAllEqual(y.sum(axis=1), self.evaluate(tf.cast(mask, tf.float32)))

    def test_call_time_overrides(self):
        # What the composing layers (TaskPartition, PartitionAggregation) use.
        log_weights = np.zeros((2, 3), np.float32)
        log_scores = np.random.RandomState(4).randn(2, 6).astype(np.float32)
        layer = RandomPartition(temperature=1.0, hard=False, return_details=True, seed=2)
        # counts: the sizes are given, only the order is drawn.
        out = layer([log_weights, log_scores], counts=[1., 2., 3.])
        self.assertAllClose(tf.reduce_sum(out["partition"], -1), [[1., 2., 3.]] * 2,
                            atol=1e-5)
        # temperature: the weight is not used (nor changed) for the call.
        other = RandomPartition(temperature=0.3, hard=False, stochastic=False)
        self.assertAllClose(
            layer([log_weights, log_scores], temperature=0.3, stochastic=False)["partition"],
            other([log_weights, log_scores]))
        self.assertAllClose(layer.temperature, 1.0)
        # stochastic=False: the noiseless partition; the noise stream does not advance.
        state = self.evaluate(layer.seed_generator.state)
        first = layer([log_weights, log_scores], stochastic=False)["partition"]
        second = layer([log_weights, log_scores], stochastic=False)["partition"]
        self.assertAllEqual(first, second)
        self.assertAllEqual(self.evaluate(layer.seed_generator.state), state)

    def test_rejects_bad_temperature(self):
        with self.assertRaisesRegex(ValueError, "Received: temperature=-1"):
            RandomPartition(temperature=-1)

    @parameterized.product(policy=["mixed_float16", "mixed_bfloat16"],
                           num_elements=[200, 3000])
    def test_mixed_precision_trains_and_samples_exact_partitions(self, policy, num_elements):
        previous = keras.mixed_precision.global_policy()
        self.addCleanup(keras.mixed_precision.set_global_policy, previous)
        keras.mixed_precision.set_global_policy(policy)
        inputs = keras.Input((8,))
        log_weights = keras.layers.Dense(3)(inputs)
        log_scores = keras.layers.Dense(num_elements)(inputs)
        partition = RandomPartition(temperature=1.0, seed=1)([log_weights, log_scores])
        model = keras.Model(inputs, partition)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        rng = np.random.RandomState(0)
        x = rng.randn(8, 8).astype(np.float32)
        y = rng.rand(8, 3, num_elements).astype(np.float32)
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        for weight, old in zip(model.trainable_weights, before):
            self.assertGreater(np.max(np.abs(weight.numpy() - old)), 0.)
        samples = model(x)
        self.assertEqual(samples.dtype, model.compute_dtype)
        samples = self.evaluate(tf.cast(samples, tf.float32))
        # Every column holds exactly one 1: an exact partition of n elements.
        self.assertTrue(np.all((samples == 0.) | (samples == 1.)))
        self.assertAllEqual(samples.sum(axis=1), np.ones((8, num_elements)))
        details = RandomPartition(return_details=True, seed=2)(
            keras.Model(inputs, [log_weights, log_scores])(x))
        self.assertEqual(details["counts"].dtype, tf.float32)
        partition = self.evaluate(tf.cast(details["partition"], tf.float32))
        self.assertAllEqual(partition.sum(axis=1), np.ones((8, num_elements)))
        self.assertAllEqual(partition.sum(axis=-1), self.evaluate(details["counts"]))


    def _partition_model(self, **layer_kwargs):
        inputs = keras.Input((4,))
        log_weights = keras.layers.Dense(3, name="weights_head")(inputs)
        log_scores = keras.layers.Dense(6, name="scores_head")(inputs)
        partition = RandomPartition(temperature=0.5, seed=1, name="partition",
                                    **layer_kwargs)([log_weights, log_scores])
        return keras.Model(inputs, keras.layers.Flatten()(partition))

    def test_inference_is_deterministic_unless_sample_at_inference(self):
        # Keras semantics: noise in fit, the noiseless partition in predict and
        # evaluate (the same on every call and after saving and loading).
        keras.utils.set_random_seed(0)
        rng = np.random.RandomState(0)
        x = rng.randn(16, 4).astype(np.float32)
        y = rng.rand(16, 18).astype(np.float32)
        model = self._partition_model()
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
        self.assertAllEqual(first, second)
        layer = model.get_layer("partition")
        heads = [model.get_layer("weights_head")(x), model.get_layer("scores_head")(x)]
        noiseless = layer(heads, stochastic=False)
        self.assertAllEqual(first, tf.reshape(noiseless, [16, -1]))
        self.assertAllEqual(first, model(x, training=False))
        self.assertNotAllEqual(model(x, training=True), model(x, training=True))
        loss = model.evaluate(x, y, verbose=0)
        self.assertEqual(loss, model.evaluate(x, y, verbose=0))
        self.assertFalse(layer.get_config()["sample_at_inference"])
        path = os.path.join(self.get_temp_dir(), "inference.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        self.assertAllEqual(restored.predict(x, verbose=0), first)
        # Asked for: sampling at inference too.
        sampling = self._partition_model(sample_at_inference=True)
        self.assertNotAllEqual(sampling.predict(x, verbose=0), sampling.predict(x, verbose=0))
        clone = RandomPartition.from_config(sampling.get_layer("partition").get_config())
        self.assertTrue(clone.sample_at_inference)
        with self.assertRaisesRegex(ValueError, "Received: sample_at_inference='no'"):
            RandomPartition(sample_at_inference="no")

    @parameterized.product(bad=[np.nan, np.inf, -np.inf], argument=[0, 1])
    def test_non_finite_inputs_give_nan(self, bad, argument):
        # A batch member with a non-finite input: every output NaN for it
        # (eager, in predict), the others unchanged; an error with validate_args.
        rng = np.random.RandomState(3)
        inputs = [rng.randn(3, 3).astype(np.float32), rng.randn(3, 6).astype(np.float32)]
        layer = RandomPartition(temperature=0.5, return_details=True, exact_log_prob=True,
                                stochastic=False)
        expected = self.evaluate(layer(inputs))
        inputs[argument][1, rng.randint(inputs[argument].shape[-1])] = bad
        for out in (layer(inputs), tf.function(layer)(inputs)):
            out = self.evaluate(out)
            for key, value in out.items():
                self.assertTrue(np.all(np.isnan(value[1])), msg=key)
                self.assertAllClose(value[[0, 2]], expected[key][[0, 2]], msg=key)
        symbolic = [keras.Input((3,)), keras.Input((6,))]
        model = keras.Model(symbolic, RandomPartition(seed=2)(symbolic))
        predicted = model.predict(inputs, verbose=0)
        self.assertTrue(np.all(np.isnan(predicted[1])))
        self.assertTrue(np.all((predicted[[0, 2]] == 0.) | (predicted[[0, 2]] == 1.)))
        name = ["log_weights", "log_scores"][argument]
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, f"`{name}` must be finite"):
            self.evaluate(tf.function(RandomPartition(validate_args=True))(inputs))

    @parameterized.product(fill=[np.nan, np.inf, -np.inf], stochastic=[True, False])
    def test_padded_entries_may_hold_any_value(self, fill, stochastic):
        # Garbage in the padded log-scores: the outputs and the gradients equal
        # those with zeros there (no NaN in the real entries' gradients).
        mask = np.array([[True, True, True, True, False, False],
                         [True, False, True, False, True, True]])
        rng = np.random.RandomState(4)
        log_weights = rng.randn(2, 3).astype(np.float32)
        real_scores = rng.randn(2, 6).astype(np.float32)
        target = rng.randn(2, 3, 6).astype(np.float32)

        def run(log_scores):
            layer = RandomPartition(temperature=0.5, hard=False, return_details=True,
                                    exact_log_prob=True, stochastic=stochastic, seed=5,
                                    validate_args=True)
            params = [tf.constant(log_weights), tf.constant(log_scores)]
            with tf.GradientTape() as tape:
                tape.watch(params)
                out = layer(params, mask=[None, tf.constant(mask)])
                loss = tf.reduce_sum(out["partition"] * target)
            return self.evaluate([out, tape.gradient(loss, params)])

        garbage = run(np.where(mask, real_scores, fill).astype(np.float32))
        zeros = run(np.where(mask, real_scores, 0.).astype(np.float32))
        for key in zeros[0]:
            self.assertAllEqual(garbage[0][key], zeros[0][key], msg=key)
            self.assertTrue(np.all(np.isfinite(garbage[0][key])), msg=key)
        for grad, expected in zip(garbage[1], zeros[1]):
            self.assertTrue(np.all(np.isfinite(grad)))
            self.assertAllEqual(grad, expected)


if __name__ == "__main__":
    tf.test.main()


# One process: logical CPUs must be configured before TensorFlow runs an op.
_MIRRORED_LAYER_SCRIPT = textwrap.dedent("""
    import json
    import tensorflow as tf
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from tf_drpm.layers import RandomPartition

    n, k, dim = 8, 3, 5
    rng = np.random.RandomState(0)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    kernel_value = rng.normal(size=(dim,)).astype(np.float32)
    target = rng.normal(size=(k, n)).astype(np.float32)
    rank_target = rng.normal(size=(n, n)).astype(np.float32)
    log_weights = np.array([0.3, -0.2, 0.1], np.float32)
    mask = np.array([True] * 7 + [False])

    def step(layer, kernel, x, target, rank_target, mask, num_replicas):
        # The batch is the set: one log-score per example, [b].
        with tf.GradientTape() as tape:
            log_scores = tf.linalg.matvec(x, kernel)
            out = layer([log_weights, log_scores], mask=mask)
            loss = tf.reduce_sum(out["partition"] * target)
            if layer.partition_global_batch:  # permutation: [n, b] (global ranks)
                loss += tf.reduce_sum(out["permutation"] * rank_target)
            loss += out["log_prob"] / num_replicas  # a set-level term, shared
        return {"partition": out["partition"], "permutation": out["permutation"],
                "perturbed": out["perturbed_log_scores"], "counts": out["counts"],
                "log_prob": out["log_prob"], "loss": loss,
                "grad": tape.gradient(loss, kernel)}

    def make(strategy, global_batch):
        with strategy.scope():
            kernel = tf.Variable(kernel_value)
            layer = RandomPartition(
                temperature=0.5, seed=7, return_details=True, exact_log_prob=True,
                partition_global_batch=global_batch)
            layer.build([(k,), (n,)])  # its weights: not inside a tf.function
        return kernel, layer

    out = {}
    kernel, layer = make(tf.distribute.get_strategy(), True)
    for use_mask in (False, True):
        result = tf.function(step)(layer, kernel, x, target, rank_target,
                                   mask if use_mask else None, 1)
        out[f"default_mask{use_mask}"] = {k: np.asarray(v).tolist() for k, v in result.items()}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def rows(value, axis):
        def fn(context):
            b = n // 2
            start = context.replica_id_in_sync_group * b
            return tf.gather(value, tf.range(start, start + b), axis=axis)
        return strategy.experimental_distribute_values_from_function(fn)

    for global_batch in (True, False):
        kernel, layer = make(strategy, global_batch)
        for use_mask in (False, True):
            args = (rows(x, 0), rows(target, 1), rows(rank_target, 1),
                    rows(mask, 0) if use_mask else None)

            @tf.function
            def run(x, target, rank_target, mask):
                return strategy.run(step, args=(layer, kernel, x, target, rank_target, mask, 2))
            result = run(*args)
            local = {k: [np.asarray(v).tolist() for v in strategy.experimental_local_results(r)]
                     for k, r in result.items()}
            out[f"mirrored_global{global_batch}_mask{use_mask}"] = local

    # A batch of sets (one partition of 5 elements per row): global_batch_noise.
    row_scores = rng.normal(size=(n, 5)).astype(np.float32)
    row_weights = rng.normal(size=(n, k)).astype(np.float32)
    row_target = rng.normal(size=(n, k, 5)).astype(np.float32)

    def rows_step(layer, scale, scores, weights, target):
        with tf.GradientTape() as tape:
            out = layer([weights, scale * scores])
            loss = tf.reduce_sum(out["partition"] * target) + tf.reduce_sum(out["log_prob"])
        return {"partition": out["partition"], "counts": out["counts"],
                "log_prob": out["log_prob"], "loss": loss, "grad": tape.gradient(loss, scale)}

    def make_rows(strategy, noise):
        with strategy.scope():
            scale = tf.Variable(1.5)
            layer = RandomPartition(temperature=0.5, seed=3, return_details=True,
                                    exact_log_prob=True, global_batch_noise=noise)
            layer.build([(n, k), (n, 5)])
        return scale, layer

    scale, layer = make_rows(tf.distribute.get_strategy(), True)
    result = tf.function(rows_step)(layer, scale, row_scores, row_weights, row_target)
    out["rows_default"] = {k: np.asarray(v).tolist() for k, v in result.items()}
    for noise in (True, False):
        scale, layer = make_rows(strategy, noise)
        args = (rows(row_scores, 0), rows(row_weights, 0), rows(row_target, 0))

        @tf.function
        def run_rows(scores, weights, target):
            return strategy.run(rows_step, args=(layer, scale, scores, weights, target))
        result = run_rows(*args)
        out[f"rows_mirrored_noise{noise}"] = {
            k: [np.asarray(v).tolist() for v in strategy.experimental_local_results(r)]
            for k, r in result.items()}
    print("RESULT" + json.dumps(out))
""")


class RandomPartitionGlobalBatchTest(tf.test.TestCase):

    def test_one_replica_is_the_plain_layer(self):
        log_weights = np.zeros((2, 3), np.float32)
        log_scores = np.random.RandomState(5).randn(2, 6).astype(np.float32)
        for flag in ("partition_global_batch", "global_batch_noise"):
            plain = RandomPartition(temperature=0.5, seed=4, return_details=True)
            global_batch = RandomPartition(temperature=0.5, seed=4, return_details=True,
                                           **{flag: True})
            expected = plain([log_weights, log_scores])
            for outputs in (global_batch([log_weights, log_scores]),
                            tf.distribute.get_strategy().run(
                                global_batch, args=([log_weights, log_scores],))):
                for name in ("partition", "permutation", "counts", "perturbed_log_scores"):
                    self.assertAllEqual(outputs[name], expected[name])
                expected = plain([log_weights, log_scores])  # the next seed

    def test_flag_in_config_and_checked(self):
        layer = RandomPartition(partition_global_batch=True)
        self.assertTrue(layer.get_config()["partition_global_batch"])
        self.assertTrue(
            RandomPartition.from_config(layer.get_config()).partition_global_batch)
        self.assertFalse(RandomPartition().partition_global_batch)
        with self.assertRaisesRegex(ValueError, "Received: partition_global_batch='yes'"):
            RandomPartition(partition_global_batch="yes")
        rows = RandomPartition(global_batch_noise=True)
        self.assertTrue(RandomPartition.from_config(rows.get_config()).global_batch_noise)
        with self.assertRaisesRegex(ValueError, "exclude each other"):
            RandomPartition(partition_global_batch=True, global_batch_noise=True)

    def test_mirrored_replicas_sample_the_partition_of_the_global_batch(self):
        out = subprocess_result.run_result_script(self, _MIRRORED_LAYER_SCRIPT)
        for use_mask in (False, True):
            single = out[f"default_mask{use_mask}"]
            replicas = out[f"mirrored_globalTrue_mask{use_mask}"]
            # Each replica holds the columns of its elements of one global partition.
            self.assertAllEqual(np.concatenate(replicas["partition"], axis=-1),
                                single["partition"])
            self.assertAllEqual(np.concatenate(replicas["permutation"], axis=-1),
                                single["permutation"])
            self.assertAllClose(np.concatenate(replicas["perturbed"], axis=-1),
                                single["perturbed"], rtol=1e-6)
            for replica in range(2):
                self.assertAllEqual(replicas["counts"][replica], single["counts"])
                self.assertAllClose(replicas["log_prob"][replica], single["log_prob"],
                                    rtol=1e-6)
            # The losses and the gradients (through the all-gather) add up to one device's.
            self.assertAllClose(np.sum(replicas["loss"]), single["loss"], rtol=1e-5)
            self.assertAllClose(np.sum(replicas["grad"], axis=0), single["grad"],
                                rtol=1e-5, atol=1e-5)
            self.assertGreater(np.max(np.abs(single["grad"])), 0.0)
            expected_sizes = 7 if use_mask else 8
            self.assertEqual(np.sum(single["counts"]), expected_sizes)
            # Without the option each replica partitions its own four elements.
            local = out[f"mirrored_globalFalse_mask{use_mask}"]
            self.assertEqual(np.sum(local["counts"][0]), 4)
            self.assertEqual(np.sum(local["counts"][1]), 3 if use_mask else 4)
        # A batch of sets: each replica gets its rows of the global batch's partitions.
        single, replicas = out["rows_default"], out["rows_mirrored_noiseTrue"]
        for name in ("partition", "counts"):
            self.assertAllEqual(np.concatenate(replicas[name], axis=0), single[name])
        self.assertAllClose(np.concatenate(replicas["log_prob"], axis=0), single["log_prob"],
                            rtol=1e-5)
        self.assertAllClose(np.sum(replicas["loss"]), single["loss"], rtol=1e-5)
        self.assertAllClose(np.sum(replicas["grad"]), single["grad"], rtol=1e-4)
        self.assertNotEqual(single["grad"], 0.0)
        # Without the option both replicas draw the same noise for their rows.
        repeated = out["rows_mirrored_noiseFalse"]
        self.assertNotAllClose(np.concatenate(repeated["partition"], axis=0),
                               single["partition"])
