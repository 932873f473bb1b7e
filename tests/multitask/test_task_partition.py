"""Tests for tf_drpm.multitask.task_partition."""

import os

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.layers import RandomPartition
from tf_drpm.multitask.task_partition import TaskPartition
from tf_drpm.ops.neural_sort import neural_sort
from tf_drpm.ops.subset_masks import subset_masks


def _encoding(batch=4, dim=50, seed=0):
    return tf.constant(np.random.RandomState(seed).normal(size=(batch, dim)), tf.float32)


class TaskPartitionTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(("two_tasks", 2), ("three_tasks", 3), ("one_task", 1))
    def test_hard_masks_partition_the_neurons(self, num_tasks):
        keras.utils.set_random_seed(0)
        layer = TaskPartition(num_tasks, temperature=0.5, hard_permutation=True)
        out = layer(_encoding())
        masks, sizes = out["masks"].numpy(), out["sizes"].numpy()
        self.assertEqual(masks.shape, (4, num_tasks, 50))
        self.assertEqual(sizes.shape, (4, num_tasks))
        self.assertAllEqual(np.isin(masks, [0.0, 1.0]), np.ones_like(masks, bool))
        # Each neuron belongs to exactly one task; sizes are integers summing to 50.
        self.assertAllEqual(masks.sum(axis=1), np.ones((4, 50)))
        self.assertAllEqual(sizes, np.round(sizes))
        self.assertAllEqual(sizes.sum(axis=-1), np.full(4, 50.0))
        self.assertAllEqual(masks.sum(axis=-1), sizes)

    def test_hard_masks_follow_the_score_order(self):
        keras.utils.set_random_seed(1)
        layer = TaskPartition(2, temperature=0.5, hard_permutation=True)
        out = layer(_encoding(batch=3))
        order = np.argsort(-out["log_scores"].numpy(), axis=-1, kind="stable")
        for b in range(3):
            n1 = int(out["sizes"][b, 0])
            first = np.zeros(50)
            first[order[b, :n1]] = 1.0
            self.assertAllEqual(out["masks"][b, 0], first)

    def test_soft_masks_equal_blocks_times_neural_sort(self):
        keras.utils.set_random_seed(2)
        layer = TaskPartition(3, temperature=0.3)  # default: soft permutation
        out = layer(_encoding())
        unclipped = tf.matmul(
            subset_masks(out["sizes"], 50), neural_sort(out["log_scores"], 0.3)
        )
        # Before clipping each task's mask sums to its size; NeuralSort columns
        # need not sum to one, so entries above 1 exist and are clipped.
        self.assertAllClose(tf.reduce_sum(unclipped, -1), out["sizes"], atol=1e-3)
        self.assertGreater(tf.reduce_max(unclipped), 1.0)
        self.assertAllClose(out["masks"], tf.clip_by_value(unclipped, 0.0, 1.0), atol=1e-4)
        self.assertAllInRange(out["masks"], 0.0, 1.0)
        self.assertAllEqual(tf.reduce_sum(out["sizes"], -1), tf.fill([4], 50.0))

    def test_deterministic_by_default(self):
        layer = TaskPartition(2)
        x = _encoding()
        a, b = layer(x), layer(x)
        self.assertAllEqual(a["masks"], b["masks"])
        self.assertAllEqual(a["sizes"], b["sizes"])

    def test_stochastic_mode_draws_new_partitions(self):
        layer = TaskPartition(2, stochastic=True, hard_permutation=True, seed=3)
        x = _encoding()
        a, b = layer(x), layer(x)
        self.assertNotAllEqual(a["masks"], b["masks"])
        self.assertAllEqual(tf.reduce_sum(a["masks"], 1), tf.ones([4, 50]))

    def test_stochastic_layer_is_noiseless_at_inference(self):
        # Keras semantics: noise in training; at inference (training=False) the
        # noiseless partition of the same weights, unless sample_at_inference.
        x = _encoding()
        layer = TaskPartition(2, stochastic=True, hard_permutation=True, seed=3)
        layer(x)
        noiseless = TaskPartition(2, hard_permutation=True)
        noiseless(x)
        noiseless.set_weights(layer.get_weights())
        a, b = layer(x, training=False), layer(x, training=False)
        self.assertAllEqual(a["masks"], b["masks"])
        self.assertAllEqual(a["masks"], noiseless(x)["masks"])
        self.assertNotAllEqual(layer(x, training=True)["masks"],
                               layer(x, training=True)["masks"])
        sampling = TaskPartition(2, stochastic=True, hard_permutation=True, seed=3,
                                 sample_at_inference=True)
        self.assertNotAllEqual(sampling(x, training=False)["masks"],
                               sampling(x, training=False)["masks"])
        clone = TaskPartition.from_config(sampling.get_config())
        self.assertTrue(clone.sample_at_inference)
        self.assertTrue(clone.random_partition.sample_at_inference)

    @parameterized.named_parameters(("soft", False), ("hard", True))
    def test_gradients_reach_encoder_and_partition_parameters(self, hard_permutation):
        keras.utils.set_random_seed(4)
        encoder = keras.layers.Dense(16, name="partition_encoder")
        layer = TaskPartition(2, num_features=50, temperature=1.0,
                              hard_permutation=hard_permutation)
        features = tf.constant(np.random.RandomState(5).uniform(size=(8, 50)), tf.float32)
        task_weights = tf.constant(np.random.RandomState(6).normal(size=(2, 50)), tf.float32)
        x = _encoding(batch=8, dim=10)
        encoder.build(x.shape)
        with tf.GradientTape() as tape:
            out = layer(encoder(x), training=True)
            # Task t sees features * mask_t (as in DRPM-MTL).
            masked = features[:, None, :] * out["masks"]
            loss = tf.reduce_sum(tf.tanh(masked * task_weights))
        variables = [*encoder.trainable_weights, *layer.trainable_weights]
        gradients = tape.gradient(loss, variables)
        self.assertLen(layer.trainable_weights, 4)
        for variable, gradient in zip(variables, gradients):
            self.assertIsNotNone(gradient, msg=variable.path)
            self.assertTrue(np.all(np.isfinite(gradient)), msg=variable.path)
            self.assertGreater(np.abs(gradient).max(), 0.0, msg=variable.path)

    def test_training_gives_more_features_to_the_task_that_needs_them(self):
        # Two linear binary tasks on fixed features z [N, 50]: the left label
        # depends on 2 features, the right one on all 50. Trained end to end
        # (partition and heads), the DRPM must move features to the right task.
        keras.utils.set_random_seed(0)
        rs = np.random.RandomState(0)
        num, dim = 4096, 50
        features = rs.randn(num, dim).astype(np.float32)
        left_rule = np.zeros(dim)
        left_rule[:2] = 1.0
        labels = np.stack(
            [features @ left_rule > 0, features @ rs.randn(dim) > 0], -1
        ).astype(np.int32)
        encoding = rs.randn(num, 8).astype(np.float32)
        layer = TaskPartition(2, num_features=dim, temperature=1.0)
        heads = [keras.layers.Dense(2), keras.layers.Dense(2)]
        layer(encoding[:2])
        for head in heads:
            head(features[:2])
        variables = layer.trainable_variables + [
            v for head in heads for v in head.trainable_variables]
        optimizer = keras.optimizers.Adam(1e-2)
        cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        @tf.function
        def step(index):
            with tf.GradientTape() as tape:
                out = layer(tf.gather(encoding, index), training=True)
                z = tf.gather(features, index)
                label = tf.gather(labels, index)
                loss = sum(
                    cross_entropy(label[:, t], head(z * out["masks"][:, t]))
                    for t, head in enumerate(heads)) / 2.0
            optimizer.apply(tape.gradient(loss, variables), variables)
            return tf.reduce_mean(out["sizes"], 0)

        for _ in range(300):
            sizes = step(rs.choice(num, 256)).numpy()
        self.assertGreater(sizes[1], 35.0)
        self.assertAllClose(sizes.sum(), float(dim))

    @parameterized.named_parameters(("soft", False), ("hard", True))
    def test_fixed_sizes_are_frozen_and_order_is_learnt(self, hard_permutation):
        keras.utils.set_random_seed(7)
        layer = TaskPartition(2, temperature=0.5, hard_permutation=hard_permutation,
                              fixed_sizes=(35, 15))
        x = _encoding(batch=6)
        with tf.GradientTape() as tape:
            out = layer(x, training=True)
            loss = tf.reduce_sum(out["masks"][:, 1] * tf.range(50.0))
        self.assertAllEqual(out["sizes"], np.tile([35.0, 15.0], (6, 1)))
        expected = tf.matmul(subset_masks(out["sizes"], 50),
                             neural_sort(out["log_scores"], 0.5, hard=hard_permutation))
        self.assertAllClose(out["masks"], tf.clip_by_value(expected, 0.0, 1.0), atol=1e-4)
        if hard_permutation:
            self.assertAllEqual(tf.reduce_sum(out["masks"], -1), out["sizes"])
        # Only the order is learnt: no size map, gradients reach the scores.
        self.assertEqual(sorted(w.name for w in layer.trainable_weights),
                         ["scores_bias", "scores_kernel"])
        for grad in tape.gradient(loss, layer.trainable_weights):
            self.assertGreater(np.abs(grad).max(), 0.0)

    def test_fixed_sizes_errors_and_config(self):
        with self.assertRaisesRegex(ValueError, r"fixed_sizes=\(30, 10\)"):
            TaskPartition(2, num_features=50, fixed_sizes=(30, 10))
        with self.assertRaisesRegex(ValueError, r"fixed_sizes=\(50,\)"):
            TaskPartition(2, fixed_sizes=(50,))
        with self.assertRaisesRegex(ValueError, "num_features=50"):
            TaskPartition(2, fixed_sizes=(30, 10))(_encoding())
        layer = TaskPartition(2, fixed_sizes=(10, 40))
        clone = TaskPartition.from_config(layer.get_config())
        self.assertEqual(clone.fixed_sizes, (10, 40))
        self.assertAllEqual(clone(_encoding())["sizes"], np.tile([10.0, 40.0], (4, 1)))

    def test_constant_size_map(self):
        keras.utils.set_random_seed(5)
        layer = TaskPartition(2, temperature=0.5, size_map="constant")
        x = _encoding(batch=6)
        layer(x)
        layer.weights_bias.assign([0.8, -0.3])
        with tf.GradientTape() as tape:
            out = layer(x, training=True)
            loss = tf.reduce_sum(out["masks"][:, 1] * tf.range(50.0))
        # The same log-weights, hence the same sizes, for every example.
        self.assertAllClose(out["log_weights"], np.tile([0.8, -0.3], (6, 1)))
        self.assertAllEqual(out["sizes"], tf.tile(out["sizes"][:1], [6, 1]))
        self.assertNotAllEqual(out["sizes"][0], [25.0, 25.0])
        self.assertEqual(sorted(w.name for w in layer.trainable_weights),
                         ["scores_bias", "scores_kernel", "weights_bias"])
        for grad in tape.gradient(loss, layer.trainable_weights):
            self.assertGreater(np.abs(grad).max(), 0.0)
        clone = TaskPartition.from_config(layer.get_config())
        self.assertEqual(clone.size_map, "constant")
        with self.assertRaisesRegex(ValueError, "Received: size_map='affine'"):
            TaskPartition(2, size_map="affine")

    def test_temperature_variable(self):
        layer = TaskPartition(2, temperature=2.0)
        x = _encoding()
        hot = layer(x)["masks"]
        self.assertFalse(layer.temperature.trainable)
        self.assertNotIn(layer.temperature.path, [w.path for w in layer.trainable_weights])
        self.assertAllClose(layer.temperature, 2.0)
        layer.temperature.assign(0.05)
        cold = layer(x)["masks"]
        self.assertNotAllClose(hot, cold)
        expected = tf.matmul(subset_masks(layer(x)["sizes"], 50),
                             neural_sort(layer(x)["log_scores"], 0.05))
        self.assertAllClose(cold, tf.clip_by_value(expected, 0.0, 1.0), atol=1e-4)
        # The partition block is a RandomPartition sublayer that owns the weight.
        self.assertIsInstance(layer.random_partition, RandomPartition)
        self.assertIs(layer.temperature, layer.random_partition.temperature)

    def test_evaluation_temperature(self):
        layer = TaskPartition(2, temperature=3.0, evaluation_temperature=0.5)
        x = _encoding()
        train = layer(x, training=True)
        evaluation = layer(x, training=False)
        def reference(out, temperature):
            blocks = subset_masks(out["sizes"], 50)
            return tf.clip_by_value(
                tf.matmul(blocks, neural_sort(out["log_scores"], temperature)), 0.0, 1.0)

        self.assertAllClose(train["masks"], reference(train, 3.0), atol=1e-4)
        self.assertAllClose(evaluation["masks"], reference(evaluation, 0.5), atol=1e-4)
        self.assertNotAllClose(train["masks"], evaluation["masks"])

    def test_num_features_differs_from_encoding(self):
        layer = TaskPartition(4, num_features=12, hard_permutation=True)
        out = layer(_encoding(dim=7))
        self.assertEqual(out["masks"].shape, (4, 4, 12))
        self.assertAllEqual(tf.reduce_sum(out["sizes"], -1), tf.fill([4], 12.0))
        self.assertEqual(layer.compute_output_shape((None, 7))["masks"], (None, 4, 12))

    def test_float64(self):
        layer = TaskPartition(2, hard_permutation=True, dtype="float64")
        out = layer(tf.cast(_encoding(), tf.float64))
        self.assertEqual(out["masks"].dtype, tf.float64)
        self.assertAllEqual(tf.reduce_sum(out["masks"], 1), tf.ones([4, 50], tf.float64))

    @parameterized.named_parameters(("graph", False), ("xla", True))
    def test_inside_tf_function(self, jit_compile):
        layer = TaskPartition(2)
        x = _encoding()
        eager = layer(x)
        graph = tf.function(lambda e: layer(e), jit_compile=jit_compile)(x)
        self.assertAllClose(eager["masks"], graph["masks"], atol=1e-4)
        self.assertAllEqual(eager["sizes"], graph["sizes"])

    def test_config_round_trip(self):
        layer = TaskPartition(3, num_features=20, temperature=0.7, evaluation_temperature=0.5,
                              hard_permutation=True, seed=9, name="tp")
        clone = TaskPartition.from_config(layer.get_config())
        self.assertEqual(clone.get_config(), layer.get_config())
        self.assertEqual(clone.num_tasks, 3)
        self.assertEqual(clone.num_features, 20)
        self.assertEqual(clone.initial_temperature, 0.7)

    def test_keras_file_round_trip(self):
        inputs = keras.Input((10,))
        outputs = TaskPartition(2, num_features=30, temperature=0.4)(inputs)
        model = keras.Model(inputs, outputs)
        x = _encoding(dim=10)
        path = os.path.join(self.get_temp_dir(), "task_partition.keras")
        model.save(path)
        restored = keras.models.load_model(path)
        self.assertAllClose(model(x)["masks"], restored(x)["masks"], atol=1e-6)
        self.assertAllEqual(model(x)["sizes"], restored(x)["sizes"])

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, "num_tasks=0"):
            TaskPartition(0)
        with self.assertRaisesRegex(ValueError, "temperature=-1"):
            TaskPartition(2, temperature=-1)
        with self.assertRaisesRegex(ValueError, "num_features=0"):
            TaskPartition(2, num_features=0)
        with self.assertRaisesRegex(ValueError, "evaluation_temperature=0"):
            TaskPartition(2, evaluation_temperature=0)


if __name__ == "__main__":
    tf.test.main()
