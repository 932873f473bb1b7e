"""Keras layer wrapping (stochastic) NeuralSort."""

import math

import keras
import numpy as np
import tensorflow as tf

from tf_drpm.distributions.relaxed_plackett_luce import RelaxedPlackettLuce
from tf_drpm.internal import arg_util
from tf_drpm.ops.neural_sort import neural_sort

__all__ = ["RelaxedSort"]


@keras.saving.register_keras_serializable(package="tf_drpm")
class RelaxedSort(keras.layers.Layer):
    """Relaxed sorting of scores into a (soft) permutation matrix.

    Maps log-scores `[batch, n]` to a permutation matrix `[batch, n, n]` whose
    row `r` is the (relaxed) one-hot vector of the element at rank position
    `r`, largest score first (NeuralSort, Grover et al., ICLR 2019). With
    `stochastic=True` Gumbel noise of scale 1 is added to the log-scores
    first, which makes the hard output an exact Plackett-Luce sample
    (`tf_drpm.distributions.RelaxedPlackettLuce`). With `hard=True` the output
    is an exact permutation matrix whose gradient is that of the relaxed
    matrix (straight-through, biased).

    The temperature is a non-trainable scalar weight named `"temperature"`,
    created in `build`, so that a callback (e.g.
    `tf_drpm.callbacks.ExponentialTemperatureSchedule`) can assign it during
    training; it is saved with the model weights.

    Training and inference follow Keras' semantics (as `Dropout`): a
    stochastic layer adds noise in training (`fit`, `training=True`, or a
    call without `training` outside a model) and returns the noiseless
    relaxed sort at inference (`predict`, `evaluate`, `training=False`),
    unless `sample_at_inference=True`.

    Invalid inputs: a batch member with a non-finite log-score, or a
    temperature weight <= 0 (e.g. assigned by a faulty schedule), gets a NaN
    output, never a plausible permutation; with `validate_args=True` an
    error names the argument.

    Args:
        temperature: Positive float, the initial NeuralSort temperature.
            Default: `1.0`.
        hard: Bool; if `True`, output exact permutation matrices with
            straight-through gradients. Default: `False`.
        stochastic: Bool; if `True`, add Gumbel noise to the log-scores on
            every call in training. Default: `False`.
        seed: Optional int, seed of the layer's `keras.random.SeedGenerator`.
        sample_at_inference: Bool; with `stochastic`, add the noise at
            inference (`training=False`) too. Default: `False`.
        validate_args: Bool; run-time checks that the log-scores are finite
            and the temperature positive (errors instead of NaN outputs).
            Default: `False`.
        **kwargs: Base layer keyword arguments (e.g. `name`, `dtype`).

    Call arguments:
        log_scores: Float tensor of shape `[batch, n]` (any leading
            dimensions are allowed).
        training: Optional bool; `False` (inference) gives the noiseless
            sort unless `sample_at_inference=True`. Default `None`: as in
            training.

    Returns:
        Float tensor of shape `[batch, n, n]`; each row sums to 1.

    Example:

    >>> layer = RelaxedSort(temperature=0.1, hard=True)
    >>> layer(np.array([[0.3, 2.0, -1.0]])).shape
    TensorShape([1, 3, 3])
    """

    def __init__(self, temperature=1.0, hard=False, stochastic=False,
                 seed=None, sample_at_inference=False, validate_args=False, **kwargs):
        super().__init__(**kwargs)
        if (isinstance(temperature, bool)
                or not isinstance(temperature, (int, float))
                or not math.isfinite(temperature) or temperature <= 0):
            raise ValueError(
                "Argument `temperature` must be a positive finite float. "
                f"Received: temperature={temperature}")
        self.initial_temperature = float(temperature)
        self.hard = bool(hard)
        self.stochastic = bool(stochastic)
        self.sample_at_inference = arg_util.check_bool(
            sample_at_inference, "sample_at_inference")
        self.validate_args = arg_util.check_bool(validate_args, "validate_args")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.temperature = None

    def build(self, input_shape):
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
        )

    def call(self, log_scores, training=None):
        log_scores = tf.convert_to_tensor(log_scores)
        temperature = tf.cast(
            tf.convert_to_tensor(self.temperature), log_scores.dtype)
        if self.validate_args:
            with tf.control_dependencies([
                    tf.debugging.assert_equal(
                        tf.reduce_all(tf.math.is_finite(log_scores)), True,
                        message="`log_scores` must be finite."),
                    arg_util.positive_assertion(temperature, "temperature")]):
                log_scores = tf.identity(log_scores)
        # Invalid values known only at run time: computed as (0, 1), NaN output.
        valid = tf.reduce_all(tf.math.is_finite(log_scores), axis=-1) & (temperature > 0)
        log_scores = tf.where(valid[..., tf.newaxis], log_scores, tf.zeros_like(log_scores))
        safe_temperature = tf.where(temperature > 0, temperature, tf.ones_like(temperature))
        if self.stochastic and (training is not False or self.sample_at_inference):
            distribution = RelaxedPlackettLuce(log_scores, safe_temperature, hard=self.hard)
            permutation = distribution.sample(seed=self.seed_generator.next())
        else:
            permutation = neural_sort(log_scores, safe_temperature, hard=self.hard)
        return tf.where(valid[..., tf.newaxis, tf.newaxis], permutation,
                        tf.constant(np.nan, permutation.dtype))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return input_shape + (input_shape[-1],)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "temperature": self.initial_temperature,
            "hard": self.hard,
            "stochastic": self.stochastic,
            "seed": self.seed,
            "sample_at_inference": self.sample_at_inference,
            "validate_args": self.validate_args,
        }
        return {**base_config, **config}
