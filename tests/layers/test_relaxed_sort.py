"""Tests for tf_drpm.layers.RelaxedSort."""

import os

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.layers import RelaxedSort
from tf_drpm.ops import neural_sort


def _is_permutation_matrix(p):
    p = np.asarray(p)
    binary = np.all((p == 0) | (p == 1))
    return bool(binary and np.all(p.sum(-1) == 1) and np.all(p.sum(-2) == 1))


class RelaxedSortTest(tf.test.TestCase, parameterized.TestCase):

    def test_deterministic_soft_equals_neural_sort(self):
        x = np.random.RandomState(0).randn(4, 6).astype(np.float32)
        layer = RelaxedSort(temperature=0.7)
        out = self.evaluate(layer(x))
        self.assertEqual(out.shape, (4, 6, 6))
        self.assertAllClose(out, neural_sort(x, 0.7), rtol=1e-6, atol=1e-6)
        self.assertEqual(layer.compute_output_shape((None, 6)), (None, 6, 6))

    def test_temperature_weight_is_assignable(self):
        x = np.random.RandomState(1).randn(2, 5).astype(np.float32)
        layer = RelaxedSort(temperature=1.)
        layer(x)
        self.assertEqual(len(layer.trainable_weights), 0)
        self.assertEqual(len(layer.non_trainable_weights), 1)
        self.assertEqual(layer.temperature.name, "temperature")
        self.assertFalse(layer.temperature.trainable)
        layer.temperature.assign(0.05)
        self.assertAllClose(layer(x), neural_sort(x, 0.05), atol=1e-6)

    def test_hard_stochastic_samples_and_gradients(self):
        x = tf.Variable(np.random.RandomState(2).randn(8, 7).astype(np.float32))
        layer = RelaxedSort(temperature=0.5, hard=True, stochastic=True,
                            seed=3)
        weights = tf.constant(np.random.RandomState(3).randn(7, 7), tf.float32)
        with tf.GradientTape() as tape:
            first = layer(x)
            loss = tf.reduce_sum(weights * first)
        second = layer(x)
        self.assertTrue(_is_permutation_matrix(first))
        self.assertTrue(_is_permutation_matrix(second))
        # Noise is drawn freshly on every call ...
        self.assertNotAllClose(first, second)
        # ... reproducibly from the seed.
        self.assertAllEqual(first, RelaxedSort(0.5, hard=True, stochastic=True,
                                               seed=3)(x))
        grad = self.evaluate(tape.gradient(loss, x))
        self.assertTrue(np.all(np.isfinite(grad)))
        self.assertGreater(np.abs(grad).max(), 1e-4)

    def test_config_round_trip(self):
        layer = RelaxedSort(temperature=0.3, hard=True, stochastic=True,
                            seed=5, name="sorter")
        config = layer.get_config()
        self.assertEqual(config["temperature"], 0.3)
        self.assertTrue(config["hard"])
        self.assertTrue(config["stochastic"])
        self.assertEqual(config["seed"], 5)
        revived = RelaxedSort.from_config(config)
        self.assertEqual(revived.get_config(), config)
        serialized = keras.saving.serialize_keras_object(layer)
        self.assertEqual(serialized["registered_name"], "tf_drpm>RelaxedSort")
        deserialized = keras.saving.deserialize_keras_object(serialized)
        self.assertIsInstance(deserialized, RelaxedSort)
        self.assertEqual(deserialized.get_config(), config)

    def test_keras_file_save_and_load(self):
        inputs = keras.Input(shape=(5,))
        scores = keras.layers.Dense(5)(inputs)
        outputs = RelaxedSort(temperature=1., name="sort")(scores)
        model = keras.Model(inputs, outputs)
        model.get_layer("sort").temperature.assign(0.25)
        x = np.random.RandomState(4).randn(3, 5).astype(np.float32)
        expected = self.evaluate(model(x))
        path = os.path.join(self.get_temp_dir(), "relaxed_sort.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded.get_layer("sort"), RelaxedSort)
        self.assertAllClose(loaded.get_layer("sort").temperature, 0.25)
        self.assertAllClose(loaded(x), expected, rtol=1e-6, atol=1e-6)

    def test_fit_step_with_stochastic_hard_sort(self):
        inputs = keras.Input(shape=(4,))
        scores = keras.layers.Dense(4)(inputs)
        outputs = RelaxedSort(0.5, hard=True, stochastic=True, seed=1)(scores)
        model = keras.Model(inputs, keras.layers.Flatten()(outputs))
        model.compile(optimizer="sgd", loss="mse")
        x = np.random.RandomState(5).randn(8, 4).astype(np.float32)
        y = np.tile(np.eye(4, dtype=np.float32).reshape(1, 16), [8, 1])
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))
        after = [w.numpy() for w in model.trainable_weights]
        self.assertTrue(any(np.any(a != b) for a, b in zip(after, before)))

    @parameterized.parameters(-1, 0, float("nan"), "0.5", True)
    def test_bad_temperature_raises(self, temperature):
        with self.assertRaisesRegex(ValueError,
                                    f"Received: temperature={temperature}"):
            RelaxedSort(temperature=temperature)


    def test_inference_is_deterministic_unless_sample_at_inference(self):
        keras.utils.set_random_seed(1)
        inputs = keras.Input(shape=(5,))
        outputs = RelaxedSort(0.5, hard=True, stochastic=True, seed=1, name="sort")(
            keras.layers.Dense(5, name="scores")(inputs))
        model = keras.Model(inputs, keras.layers.Flatten()(outputs))
        model.compile(optimizer="sgd", loss="mse")
        rng = np.random.RandomState(6)
        x = rng.randn(16, 5).astype(np.float32)
        model.fit(x, rng.rand(16, 25).astype(np.float32), batch_size=8, epochs=1, verbose=0)
        first = model.predict(x, verbose=0)
        self.assertAllEqual(first, model.predict(x, verbose=0))
        noiseless = neural_sort(model.get_layer("scores")(x), 0.5, hard=True)
        self.assertAllEqual(first, tf.reshape(noiseless, [16, -1]))
        self.assertNotAllEqual(model(x, training=True), model(x, training=True))
        path = os.path.join(self.get_temp_dir(), "sort_inference.keras")
        model.save(path)
        self.assertAllEqual(keras.models.load_model(path).predict(x, verbose=0), first)
        layer = RelaxedSort(0.5, hard=True, stochastic=True, sample_at_inference=True, seed=1)
        self.assertNotAllEqual(layer(x, training=False), layer(x, training=False))
        clone = RelaxedSort.from_config(layer.get_config())
        self.assertTrue(clone.sample_at_inference)

    @parameterized.product(bad=[np.nan, np.inf, -np.inf], stochastic=[True, False])
    def test_non_finite_log_scores_give_nan(self, bad, stochastic):
        rng = np.random.RandomState(8)
        x = rng.randn(3, 5).astype(np.float32)
        layer = RelaxedSort(0.5, hard=True, stochastic=stochastic, seed=2)
        expected = self.evaluate(neural_sort(x, 0.5, hard=True))
        x[2, rng.randint(5)] = bad
        out = self.evaluate(layer(x))  # eager, noise if stochastic
        self.assertTrue(np.all(np.isnan(out[2])))
        self.assertTrue(all(_is_permutation_matrix(p) for p in out[:2]))
        out = self.evaluate(tf.function(layer)(x, training=False))
        self.assertTrue(np.all(np.isnan(out[2])))
        self.assertAllEqual(out[:2], expected[:2])
        out = self.evaluate(tf.function(layer)(x))
        self.assertTrue(np.all(np.isnan(out[2])))
        self.assertTrue(all(_is_permutation_matrix(p) for p in out[:2]))
        checked = RelaxedSort(0.5, stochastic=stochastic, validate_args=True)
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, "`log_scores` must be finite"):
            self.evaluate(tf.function(checked)(x))
        self.assertTrue(RelaxedSort.from_config(checked.get_config()).validate_args)


if __name__ == "__main__":
    tf.test.main()
