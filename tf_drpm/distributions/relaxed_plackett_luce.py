"""The relaxed (NeuralSort) Plackett-Luce distribution over permutations."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util
from tf_drpm.internal import seed_util
from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.neural_sort import hard_sort_permutation
from tf_drpm.ops.neural_sort import neural_sort

__all__ = ["RelaxedPlackettLuce"]

tfd = tfp.distributions
tfb = tfp.bijectors


class RelaxedPlackettLuce(tfd.AutoCompositeTensorDistribution):
    """Plackett-Luce permutations relaxed by (stochastic) NeuralSort.

    Samples are `[n, n]` permutation matrices: row `r` is (a relaxation of) the
    one-hot vector of the element at rank position `r`, largest first, and
    each row sums to 1.

    #### Mathematical Details

    A Plackett-Luce permutation with scores `s_i = exp(log_scores_i)` is the
    descending argsort of the Gumbel-perturbed log-scores:

    ```none
    g_i ~ Gumbel(0, 1)                       (scale 1, not divided by tau)
    sigma = argsort_descending(log_scores + g)
    ```

    The relaxed sample replaces the argsort by NeuralSort at `temperature`:

    ```none
    P = neural_sort(log_scores + g, temperature)          # [n, n]
    ```

    With `hard=True` the forward value of `P` is the exact permutation matrix
    of `sigma` (straight-through, so it is distributed exactly as a
    Plackett-Luce permutation) and gradients are those of the soft `P`: they
    are BIASED, and the class declares `NOT_REPARAMETERIZED`. With
    `hard=False` the sample is a differentiable function of the log-scores
    and the noise (`FULLY_REPARAMETERIZED`). The relaxed sort of `log_scores`
    itself, without noise, is `noiseless_permutation`, not a sample.

    `log_prob` is not defined (soft relaxed samples have no tractable
    density). The exact distribution is `exact`, TFP's `tfd.PlackettLuce`
    over permutation VECTORS (`sigma`, the element at each rank): the exact
    log-pmf of a hard sample `P` is `exact.log_prob(tf.argmax(P, -1))`, and
    `tf_drpm.ops.plackett_luce_log_prob(log_scores, P)` computes it in log
    space from the matrix:

    ```none
    log p(P) = sum_r [ v_r - logsumexp_{r' >= r} v_{r'} ],   v = P @ log_scores
    ```

    `mode()` is the exact descending sort permutation of `log_scores`, the
    mode of the hard samples.

    Invalid values known only at run time (a non-finite log-score or a
    temperature <= 0 in a variable or a `tf.function` argument) escape the
    static checks: the samples, `mode()` and `noiseless_permutation()` of
    that batch member are NaN (never a plausible permutation), or, with
    `validate_args=True`, an error names the argument.

    #### Examples

    ```python
    dist = RelaxedPlackettLuce(log_scores=tf.zeros([2, 4]), temperature=0.5)
    perms = dist.sample(3, seed=[1, 2])        # Shape [3, 2, 4, 4], hard
    dist.exact.log_prob(tf.argmax(perms, -1))  # Shape [3, 2], all -log(4!)
    dist.mode()                                # Shape [2, 4, 4]
    dist.noiseless_permutation()               # Shape [2, 4, 4]
    ```

    #### References

    [1]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
         Optimization of Sorting Networks via Continuous Relaxations. ICLR
         2019.
    [2]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    """

    def __init__(self,
                 log_scores,
                 temperature,
                 hard=True,
                 validate_args=False,
                 allow_nan_stats=True,
                 name="RelaxedPlackettLuce"):
        """Constructs a batch of relaxed Plackett-Luce distributions.

        Args:
          log_scores: A floating `Tensor` of shape `[..., n]`, `n >= 1`, the
            log-scores of the `n` elements (any real values).
          temperature: A positive floating `Tensor` broadcastable to the batch
            shape `[...]`, the NeuralSort temperature.
          hard: Python `bool`; if `True` (default), samples are exact
            permutation matrices with straight-through gradients.
          validate_args: Python `bool`; if `True`, check at run time that
            `log_scores` is finite and `temperature` is positive. Statically
            known invalid values raise at construction regardless.
          allow_nan_stats: Python `bool`, default `True`.
          name: Python `str` name prefixed to ops created by this class.

        Raises:
          ValueError: If `log_scores` has rank 0 or no elements, or a
            statically known `temperature` is not positive or a statically
            known `log_scores` is not finite.
          TypeError: If `log_scores` and `temperature` have different dtypes.
        """
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype([log_scores, temperature],
                                            tf.float32)
            self._log_scores = dtype_util.convert_nonref_to_tensor(
                log_scores, dtype=dtype, name="log_scores")
            self._temperature = dtype_util.convert_nonref_to_tensor(
                temperature, dtype=dtype, name="temperature")
            self._hard = arg_util.check_bool(hard, "hard")
            self._check_static_arguments()
            super().__init__(
                dtype=dtype,
                reparameterization_type=(tfd.NOT_REPARAMETERIZED if self._hard
                                         else tfd.FULLY_REPARAMETERIZED),
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name)

    def _check_static_arguments(self):
        """Raises `ValueError` for statically known invalid arguments."""
        rank = self._log_scores.shape.rank
        if rank is not None and rank < 1:
            raise ValueError(
                "`log_scores` must have rank at least 1 (shape [..., n]). "
                f"Received: log_scores.shape={self._log_scores.shape}")
        if rank is not None:
            n = tf.compat.dimension_value(self._log_scores.shape[-1])
            if n is not None and n < 1:
                raise ValueError(
                    "`log_scores` must hold at least one element (n >= 1). "
                    f"Received: log_scores.shape={self._log_scores.shape}")
        arg_util.check_static_positive(self._temperature, "temperature")
        if not dtype_util.is_ref(self._log_scores):
            value = tf.get_static_value(self._log_scores)
            if value is not None and not np.all(np.isfinite(value)):
                raise ValueError(
                    "`log_scores` must be finite. "
                    f"Received: log_scores={value}")

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            log_scores=tfp.util.ParameterProperties(event_ndims=1),
            temperature=tfp.util.ParameterProperties(
                shape_fn=lambda sample_shape: sample_shape[:-1],
                default_constraining_bijector_fn=(
                    lambda: tfb.Softplus(low=dtype_util.tiny(dtype)))))

    @property
    def log_scores(self):
        """The log-scores `[..., n]` of the elements."""
        return self._log_scores

    @property
    def temperature(self):
        """The NeuralSort temperature."""
        return self._temperature

    @property
    def hard(self):
        """Python `bool`: whether samples are straight-through hard."""
        return self._hard

    @property
    def exact(self):
        """The exact Plackett-Luce distribution, `tfd.PlackettLuce`.

        Its events are permutation vectors (`tf.argmax(P, -1)` of a hard
        sample `P`), its batch shape is this distribution's. Its scores are
        `exp(log_scores - max(log_scores))`, the same distribution (scale
        invariance) without overflow.
        """
        log_scores = tf.broadcast_to(
            tf.convert_to_tensor(self._log_scores),
            tf.concat([self.batch_shape_tensor(), tf.shape(self._log_scores)[-1:]], 0))
        scores = tf.exp(log_scores - tf.reduce_max(log_scores, axis=-1, keepdims=True))
        return tfd.PlackettLuce(scores, validate_args=self.validate_args,
                                allow_nan_stats=self.allow_nan_stats)

    def _num_elements(self, log_scores):
        n = tf.compat.dimension_value(log_scores.shape[-1])
        if n is None:
            n = tf.shape(log_scores)[-1]
        return n

    def _event_shape(self):
        n = tf.compat.dimension_value(
            self._log_scores.shape.with_rank_at_least(1)[-1])
        return tf.TensorShape([n, n])

    def _event_shape_tensor(self):
        n = tf.shape(self._log_scores)[-1]
        return tf.stack([n, n])

    def _broadcast_parameters(self):
        """Returns `log_scores` `[B..., n]`, `temperature` `[B...]` and `valid`
        `[B...]`.

        A member is not `valid` if a log-score is not finite or the
        temperature is not positive (values known only at run time escape the
        static checks); its parameters are replaced by `(0, 1)` before any
        other op, and its values are NaN (`_nan_unless_valid`).
        """
        log_scores = tf.convert_to_tensor(self._log_scores)
        temperature = tf.convert_to_tensor(self._temperature)
        batch_shape = self.batch_shape_tensor()
        n = self._num_elements(log_scores)
        log_scores = tf.broadcast_to(
            log_scores, tf.concat([batch_shape, [n]], axis=0))
        temperature = tf.broadcast_to(temperature, batch_shape)
        valid = tf.reduce_all(tf.math.is_finite(log_scores), axis=-1) & (temperature > 0)
        log_scores = tf.where(valid[..., tf.newaxis], log_scores, tf.zeros_like(log_scores))
        temperature = tf.where(valid, temperature, tf.ones_like(temperature))
        return log_scores, temperature, valid

    @staticmethod
    def _nan_unless_valid(permutation, valid):
        """`permutation` `[..., B..., n, n]`, NaN for the members not `valid` `[B...]`."""
        return tf.where(valid[..., tf.newaxis, tf.newaxis], permutation,
                        tf.constant(np.nan, permutation.dtype))

    def _sample_n(self, n, seed=None):
        log_scores, temperature, valid = self._broadcast_parameters()
        sample_shape = tf.concat([[n], tf.shape(log_scores)], axis=0)
        seed = seed_util.sanitize_seed(seed, salt="RelaxedPlackettLuce")
        noise = sample_gumbel(sample_shape, seed=seed, dtype=self.dtype)
        perturbed = log_scores + noise                     # [n, B..., n]
        return self._nan_unless_valid(
            neural_sort(perturbed, temperature, hard=self._hard), valid)

    def noiseless_permutation(self, name="noiseless_permutation"):
        """The relaxed sort of `log_scores` without noise, `[B..., n, n]`.

        Deterministic; with `hard=True` it is `mode()`. Not a sample.
        """
        with self._name_and_control_scope(name):
            log_scores, temperature, valid = self._broadcast_parameters()
            return self._nan_unless_valid(
                neural_sort(log_scores, temperature, hard=self._hard), valid)

    def _log_prob(self, x):
        raise NotImplementedError(
            "RelaxedPlackettLuce has no tractable density of its relaxed samples. For the "
            "exact Plackett-Luce log-pmf of a hard sample `p` use "
            "`relaxed.exact.log_prob(tf.argmax(p, -1))` (`exact` is `tfd.PlackettLuce`) or "
            "`tf_drpm.ops.plackett_luce_log_prob(log_scores, p)`.")

    def _mode(self):
        log_scores, _, valid = self._broadcast_parameters()
        return self._nan_unless_valid(hard_sort_permutation(log_scores), valid)

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        assertions = []
        if is_init != dtype_util.is_ref(self._log_scores):
            log_scores = tf.convert_to_tensor(self._log_scores)
            assertions.append(tf.debugging.assert_equal(
                tf.reduce_all(tf.math.is_finite(log_scores)), True,
                message="`log_scores` must be finite."))
        if is_init != dtype_util.is_ref(self._temperature):
            assertions.append(arg_util.positive_assertion(self._temperature, "temperature"))
        return assertions
