"""Tests of ExponentialTemperatureSchedule."""

import math

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.callbacks import ExponentialTemperatureSchedule
from tf_drpm.layers import RelaxedSort


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

    def test_rejects_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "final_temperature"):
            ExponentialTemperatureSchedule(0.5, 1.0)
        with self.assertRaisesRegex(ValueError, "initial_temperature=-1"):
            ExponentialTemperatureSchedule(-1, 0.5)


if __name__ == "__main__":
    tf.test.main()
