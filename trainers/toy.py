"""A toy model family: linear regression with a hand-written loss.

It exercises the shared trainer end to end in seconds (tests, smoke runs) and
is the template for a family module: gin-configurable builders for the model,
data, callbacks and evaluation, and `cli.run(training.train)` as entry point.

    python -m trainers.toy --gin_file gin/tests/toy_smoke.gin --model_dir runs/toy
"""

import time

import gin
import keras
import numpy as np
import tensorflow as tf

from tf_drpm.data.set_batches import num_set_batches
from tf_drpm.data.set_batches import set_batches
from tf_drpm.models import LossModel
from trainers.core import cli
from trainers.core import training

__all__ = ["ToyRegressor", "toy_callbacks", "toy_data", "toy_evaluate", "toy_model"]


class ToyRegressor(LossModel):
    """Linear regression with input noise and a hand-written loss.

    The loss is the squared error of each example; the shared train step
    (`tf_drpm.models.LossModel`) scales it over the global batch
    (`scale_loss`), so any `tf.distribute` strategy gives the gradient of the
    global-batch mean.

    Args:
        units: output dimension.
        input_noise: standard deviation of Gaussian noise added to the inputs
            during training (drawn from the model's own `SeedGenerator`, whose
            state is checkpointed).
        seed: seed of the noise generator.
    """

    def __init__(self, units=1, input_noise=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units, kernel_initializer="glorot_uniform")
        self.input_noise = float(input_noise)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {"loss": keras.metrics.Mean(name="loss")}

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.built = True

    def call(self, inputs, training=False):
        if training and self.input_noise > 0:
            inputs = inputs + self.input_noise * keras.random.normal(
                tf.shape(inputs), seed=self.seed_generator, dtype=inputs.dtype)
        return self.dense(inputs)

    def compute_losses(self, data, seed=None, training=False):
        """The squared error of each example, `[batch]`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        prediction = self(x, training=training)
        errors = tf.square(prediction - tf.reshape(y, tf.shape(prediction)))
        return {"loss": tf.reduce_sum(errors, axis=-1)}


def _toy_arrays(num_examples, dim, seed):
    rng = np.random.RandomState(seed)
    true_weights = rng.normal(size=(dim,)).astype(np.float32)
    x = rng.normal(size=(num_examples, dim)).astype(np.float32)
    y = (x @ true_weights + 0.1 * rng.normal(size=num_examples)).astype(np.float32)
    return x, y, true_weights


@gin.configurable("toy_model")
def toy_model(dim=4, input_noise=0.0, seed=0):
    """Builds a built `ToyRegressor` for inputs of size `dim`."""
    model = ToyRegressor(input_noise=input_noise, seed=seed)
    model.build((None, dim))
    return model


@gin.configurable("toy_data")
def toy_data(initial_epoch, epochs, seed, num_examples=256, batch_size=32, dim=4,
             data_seed=1):
    """Generated regression data as `TrainData` (epoch-exact stream)."""
    x, y, _ = _toy_arrays(num_examples, dim, data_seed)
    train = set_batches(x, batch_size, labels=y, seed=seed,
                        initial_epoch=initial_epoch, epochs=epochs)
    validation = set_batches(x, batch_size, labels=y, shuffle=False,
                             drop_remainder=False, epochs=1)
    return training.TrainData(
        train=train, validation=validation,
        steps_per_epoch=num_set_batches(num_examples, batch_size))


class _SleepAtEpochBegin(keras.callbacks.Callback):
    """Sleeps at the start of every epoch after the first (a window for kill tests)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_epoch_begin(self, epoch, logs=None):
        if epoch > 0 and self.seconds > 0:
            time.sleep(self.seconds)


@gin.configurable("toy_callbacks")
def toy_callbacks(model, epoch_sleep_seconds=0.0):
    """Callbacks of the toy family (optionally slowed down, for kill tests)."""
    del model
    return [_SleepAtEpochBegin(epoch_sleep_seconds)]


@gin.configurable("toy_evaluate")
def toy_evaluate(model, model_dir, num_examples=256, dim=4, data_seed=1):
    """Mean squared error and distance to the true weights."""
    del model_dir
    x, y, true_weights = _toy_arrays(num_examples, dim, data_seed)
    prediction = np.asarray(model(x))[:, 0]
    kernel = np.asarray(model.dense.kernel)[:, 0]
    return {"mse": float(np.mean((prediction - y) ** 2)),
            "weight_error": float(np.linalg.norm(kernel - true_weights))}


if __name__ == "__main__":
    cli.run(training.train)
