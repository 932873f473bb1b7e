"""Tests of ExponentialTemperatureSchedule."""

import math

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.callbacks import ExponentialTemperatureSchedule
from tf_drpm.layers import RelaxedSort


class TwoSorts(keras.Model):
    """A subclassed model, built by `fit` on its first batch."""

    def __init__(self, first=2.0, second=3.0):
        super().__init__()
        self.scores = keras.layers.Dense(4)
        self.first = RelaxedSort(temperature=first)
        self.second = RelaxedSort(temperature=second)

    def call(self, inputs):
        scores = self.scores(inputs)
        return keras.ops.reshape(self.first(scores) + self.second(scores), (-1, 16))


def _fit(model, schedule, steps=4):
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.RandomState(0).randn(2 * steps, 4).astype(np.float32)
    y = np.zeros((2 * steps, 16), np.float32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[schedule])


class ExponentialTemperatureScheduleTest(tf.test.TestCase):

    def test_formula(self):
        schedule = ExponentialTemperatureSchedule(1.0, 0.5, rate=0.01)
        self.assertAllClose(schedule.temperature_at(0), 1.0)
        self.assertAllClose(schedule.temperature_at(10), math.exp(-0.1))
        self.assertAllClose(schedule.temperature_at(10 ** 6), 0.5)
        by_steps = ExponentialTemperatureSchedule(2.0, 0.5, decay_steps=100)
        self.assertAllClose(by_steps.temperature_at(100), 0.5)
        self.assertAllClose(by_steps.temperature_at(50), 1.0)

    def test_anneals_layer_temperature_during_fit(self):
        inputs = keras.Input((4,))
        scores = keras.layers.Dense(4)(inputs)
        sorted_ = RelaxedSort(temperature=1.0)(scores)
        model = keras.Model(inputs, keras.layers.Flatten()(sorted_))
        model.compile(optimizer="sgd", loss="mse")
        schedule = ExponentialTemperatureSchedule(1.0, 0.1, rate=0.1)
        x = np.random.RandomState(0).randn(8, 4).astype(np.float32)
        y = np.zeros((8, 16), np.float32)
        model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[schedule])
        # 8 steps ran; the value was set before the last (step 7) batch.
        self.assertAllClose(model.layers[2].temperature, math.exp(-0.7), rtol=1e-5)

    def test_unbuilt_subclassed_model_keeps_each_layers_initial_temperature(self):
        model = TwoSorts(2.0, 3.0)
        self.assertFalse(model.built)
        _fit(model, ExponentialTemperatureSchedule(final_temperature=0.5, decay_steps=10))
        # 4 steps; the value was set before the last (step 3) batch. Each layer
        # decays from its own initial value and reaches 0.5 at step 10.
        for layer, initial in ((model.first, 2.0), (model.second, 3.0)):
            rate = math.log(initial / 0.5) / 10
            self.assertAllClose(layer.temperature, initial * math.exp(-3 * rate), rtol=1e-6)

    def test_explicit_initial_temperature_overrides_the_layers(self):
        model = TwoSorts(2.0, 3.0)
        _fit(model, ExponentialTemperatureSchedule(1.0, 0.1, rate=0.1))
        self.assertAllClose(model.first.temperature, math.exp(-0.3), rtol=1e-6)
        self.assertAllClose(model.second.temperature, math.exp(-0.3), rtol=1e-6)

    def test_unbuilt_layer_in_variables(self):
        model = TwoSorts(2.0, 3.0)
        _fit(model, ExponentialTemperatureSchedule(rate=0.1, variables=[model.second]))
        self.assertAllClose(model.first.temperature, 2.0)
        self.assertAllClose(model.second.temperature, 3.0 * math.exp(-0.3), rtol=1e-6)

    def test_unbuilt_layer_temperature_is_a_clear_error(self):
        with self.assertRaisesRegex(ValueError, r"pass the layer itself.*variables=\[None\]"):
            ExponentialTemperatureSchedule(1.0, 0.5, variables=[RelaxedSort().temperature])

    def test_layer_initial_below_final_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "final_temperature=0.5, initial_temperature=0.25"):
            _fit(TwoSorts(0.25, 3.0), ExponentialTemperatureSchedule(final_temperature=0.5))

    def test_rejects_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "final_temperature"):
            ExponentialTemperatureSchedule(0.5, 1.0)
        with self.assertRaisesRegex(ValueError, "initial_temperature=-1"):
            ExponentialTemperatureSchedule(-1, 0.5)
        with self.assertRaisesRegex(ValueError, "Received: rate=-0.1"):
            ExponentialTemperatureSchedule(rate=-0.1)
        with self.assertRaisesRegex(ValueError, "initial_temperature=None"):
            ExponentialTemperatureSchedule().temperature_at(3)


if __name__ == "__main__":
    tf.test.main()
