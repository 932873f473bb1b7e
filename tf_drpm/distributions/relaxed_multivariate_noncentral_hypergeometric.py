"""Reparameterized (Gumbel-softmax) relaxation of Fisher's MVHG."""

import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.distributions.multivariate_noncentral_hypergeometric import (
    MultivariateNoncentralHypergeometric,
)
from tf_drpm.internal import arg_util
from tf_drpm.internal import dtype_util
from tf_drpm.internal import mvhg_util
from tf_drpm.ops.mvhg_sequential_sample import mvhg_sequential_sample

__all__ = ["RelaxedMultivariateNoncentralHypergeometric"]

tfd = tfp.distributions
tfb = tfp.bijectors


class RelaxedMultivariateNoncentralHypergeometric(
        tfd.AutoCompositeTensorDistribution):
    """Fisher's MVHG relaxed by Gumbel-softmax over its exact conditionals.

    Samples are count vectors `[K]` (summing to `total_count`) that are
    differentiable with respect to `log_weights` and `temperature`; the
    one-hot encodings of the counts come from `sample_with_encodings`. The
    exact distribution it relaxes is `exact` (a `MVHG`).

    #### Mathematical Details

    For `k = 1..K-1`, with `r` the draws left (`r = N` at `k = 1`), the
    exact conditional of Fisher's MVHG is relaxed:

    ```none
    logits_k(j) = log C(m_k, j) + j log w_k + log G_{k+1}(r - j)
                  (-inf outside j <= min(m_k, r), r - j <= sum_{l>k} m_l)
    G_k(t)      = [x^t] prod_{l >= k} (1 + w_l x)^m_l
    y_k         = softmax((logits_k + g_k) / temperature),  g_k ~ Gumbel(0,1)
    n_k         = sum_j j y_k(j),   r <- r - n_k
    ```

    and the last group takes the remainder `n_K = r` (one-hot of `r` with a
    straight-through slope so gradients flow). With `hard=True` (default)
    `y_k` is `one_hot(argmax(logits_k + g_k))` in the forward pass (ties to
    the lowest `j`) and the softmax in the backward pass (straight-through):
    the forward counts are then EXACT samples of the MVHG (with the same
    seed, those of `exact.sample`), while the gradients are BIASED (the class
    declares `NOT_REPARAMETERIZED`). With `hard=False` counts are soft
    expectations `sum_j j y_k(j)` (feasible: `0 <= n_k <= m_k`, summing to
    `N`), a differentiable function of the parameters and the noise
    (`FULLY_REPARAMETERIZED`); later conditionals are evaluated at the
    rounded soft remainder. The counts without Gumbel noise (with
    `hard=True` the greedy sequential mode) are `noiseless_counts`, not a
    sample. Details and accuracy:
    `tf_drpm.ops.mvhg_sequential_sample`. This is not the merged-rest-group approximation of the
    authors' code: the conditionals are exact (tilting + FFT, see
    `tf_drpm.ops.mvhg_tilted_log_pmfs`). Gradients do not flow through the
    choice of the integer `r` at which later conditionals are evaluated.

    Invalid parameters known only at run time (as for `MVHG`, and a
    `temperature <= 0`) give NaN counts and encodings for the batch members
    concerned, or an error with `validate_args=True`.

    `log_prob` is not defined (relaxed samples have no tractable density):
    `exact.log_prob(counts)` is the exact MVHG log-pmf of integer counts, the
    law of the forward value when `hard=True`. `mean()` is the exact MVHG
    mean (as `MultivariateNoncentralHypergeometric.mean`), the mean of the
    samples when `hard=True`. `max(total_count)` must be static.

    #### Examples

    ```python
    dist = RelaxedMultivariateNoncentralHypergeometric(
        total_count=6., group_sizes=[6., 6., 6.],
        log_weights=tf.math.log([1., 5., .2]), temperature=0.5)
    counts = dist.sample(4, seed=[1, 2])                 # Shape [4, 3]
    counts, encodings = dist.sample_with_encodings(4, seed=[1, 2])
    # counts: [4, 3], encodings: [4, 3, 7]
    dist.exact.log_prob(counts)                          # Shape [4]
    dist.noiseless_counts()                              # Shape [3]
    ```

    #### References

    [1]: Eric Jang, Shixiang Gu, Ben Poole. Categorical Reparameterization
         with Gumbel-Softmax. ICLR 2017.
    [2]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt.
         Learning Group Importance using the Differentiable Hypergeometric
         Distribution. ICLR 2023.
    [3]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    """

    def __init__(self,
                 total_count,
                 group_sizes,
                 log_weights,
                 temperature,
                 hard=True,
                 max_count=None,
                 validate_args=False,
                 allow_nan_stats=True,
                 name="RelaxedMultivariateNoncentralHypergeometric"):
        """Constructs a batch of relaxed MVHG distributions.

        Args:
          total_count: A floating `Tensor` `[...]` of non-negative integer
            values `N`; `N <= sum_k m_k`; its maximum must be static.
          group_sizes: A floating `Tensor` `[..., K]` of non-negative integer
            values `m_k`.
          log_weights: A floating `Tensor` `[..., K]` of finite log-weights.
          temperature: A positive floating `Tensor` broadcastable to the
            batch shape `[...]`.
          hard: Python `bool`; straight-through one-hot samples (default).
          max_count: Optional Python `int`, a static bound on `total_count`
            (the support is `0..max_count`). Needed only when neither
            `total_count` nor `group_sizes` is static (e.g. sizes computed
            from a mask); default: the static `total_count`, else
            `sum(group_sizes)`.
          validate_args: Python `bool`; run-time checks of parameters and of
            the counts passed to `log_prob`.
          allow_nan_stats: Python `bool`, default `True`.
          name: Python `str` name prefixed to ops created by this class.

        Raises:
          ValueError: For statically known invalid arguments (see
            `MultivariateNoncentralHypergeometric`) or a statically known
            non-positive `temperature`.
          TypeError: If the floating arguments have different dtypes.
        """
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype(
                [total_count, group_sizes, log_weights, temperature],
                tf.float32)
            self._total_count = dtype_util.convert_nonref_to_tensor(
                total_count, dtype=dtype, name="total_count")
            self._group_sizes = dtype_util.convert_nonref_to_tensor(
                group_sizes, dtype=dtype, name="group_sizes")
            self._log_weights = dtype_util.convert_nonref_to_tensor(
                log_weights, dtype=dtype, name="log_weights")
            self._temperature = dtype_util.convert_nonref_to_tensor(
                temperature, dtype=dtype, name="temperature")
            self._hard = arg_util.check_bool(hard, "hard")
            mvhg_util.check_static_arguments(
                self._total_count, self._group_sizes, self._log_weights)
            arg_util.check_static_positive(self._temperature, "temperature")
            self._max_count = mvhg_util.static_max_count(
                self._total_count, self._group_sizes, max_count)
            super().__init__(
                dtype=dtype,
                reparameterization_type=(tfd.NOT_REPARAMETERIZED if self._hard
                                         else tfd.FULLY_REPARAMETERIZED),
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            # `specifies_shape`: the support size max(total_count) + 1 is
            # static, so composite-tensor flattening keeps static values.
            total_count=tfp.util.ParameterProperties(
                event_ndims=0, specifies_shape=True),
            group_sizes=tfp.util.ParameterProperties(
                event_ndims=1, specifies_shape=True),
            log_weights=tfp.util.ParameterProperties(event_ndims=1),
            temperature=tfp.util.ParameterProperties(
                event_ndims=0,
                default_constraining_bijector_fn=(
                    lambda: tfb.Softplus(low=dtype_util.tiny(dtype)))))

    @property
    def total_count(self):
        """The number of draws `N`, `[...]`."""
        return self._total_count

    @property
    def group_sizes(self):
        """The group sizes `m_k`, `[..., K]`."""
        return self._group_sizes

    @property
    def log_weights(self):
        """The log-weights `log w_k`, `[..., K]`."""
        return self._log_weights

    @property
    def temperature(self):
        """The Gumbel-softmax temperature."""
        return self._temperature

    @property
    def hard(self):
        """Python `bool`: straight-through one-hot samples."""
        return self._hard

    @property
    def max_count(self):
        """Python `int`: static bound on `total_count`; encodings have
        `max_count + 1` columns."""
        return self._max_count

    def _num_groups(self):
        k = tf.compat.dimension_value(self._log_weights.shape[-1])
        if k is None:
            k = tf.compat.dimension_value(self._group_sizes.shape[-1])
        return k

    def _event_shape(self):
        return tf.TensorShape([self._num_groups()])

    def _event_shape_tensor(self):
        return tf.shape(self._log_weights)[-1:]

    @property
    def exact(self):
        """The exact `MVHG` this distribution relaxes (same parameters)."""
        return MultivariateNoncentralHypergeometric(
            self._total_count, self._group_sizes, self._log_weights,
            max_count=self._max_count, validate_args=self.validate_args,
            allow_nan_stats=self.allow_nan_stats)

    def _sample_both(self, n, seed, stochastic=True):
        return mvhg_sequential_sample(
            self._total_count, self._group_sizes, self._log_weights,
            num_samples=n, seed=seed, max_count=self._max_count,
            temperature=self._temperature, hard=self._hard,
            stochastic=stochastic)

    def _sample_n(self, n, seed=None):
        counts, _ = self._sample_both(n, seed)
        return counts

    def sample_with_encodings(self, sample_shape=(), seed=None,
                              name="sample_with_encodings"):
        """Samples counts and their (relaxed) one-hot encodings.

        Args:
          sample_shape: `int` or 1-D integer `Tensor`, the sample shape `S`.
          seed: A stateless seed (shape-[2] integer tensor) or Python int.
          name: Name scope.

        Returns:
          counts: `Tensor` `[S..., B..., K]`.
          encodings: `Tensor` `[S..., B..., K, max_count + 1]`; row `k` is the
            straight-through one-hot of `n_k` (`hard=True`) or the softmax
            over `j = 0..max_count` (`hard=False`), and
            `counts = sum_j j * encodings[..., j]`.
        """
        with self._name_and_control_scope(name):
            sample_shape = tf.cast(
                tf.reshape(tf.convert_to_tensor(sample_shape, tf.int32), [-1]),
                tf.int32)
            n = tf.reduce_prod(sample_shape)
            static_n = tf.get_static_value(n)
            if static_n is not None:
                n = int(static_n)
            counts, encodings = self._sample_both(n, seed)
            batch_event = tf.shape(counts)[1:]
            counts = tf.reshape(counts, tf.concat([sample_shape, batch_event],
                                                  axis=0))
            encodings = tf.reshape(
                encodings,
                tf.concat([sample_shape, tf.shape(encodings)[1:]], axis=0))
            return counts, encodings

    def noiseless_counts_with_encodings(self, name="noiseless_counts_with_encodings"):
        """The counts and encodings without Gumbel noise (deterministic).

        Each group takes the argmax (`hard=True`: the greedy sequential mode
        of the MVHG) or the softmax expectation of its exact conditional given
        the groups before it. Not a sample of this distribution.

        Returns:
          counts: `Tensor` `[B..., K]`.
          encodings: `Tensor` `[B..., K, max_count + 1]`, as in
            `sample_with_encodings`.
        """
        with self._name_and_control_scope(name):
            counts, encodings = self._sample_both(1, None, stochastic=False)
            return counts[0], encodings[0]

    def noiseless_counts(self, name="noiseless_counts"):
        """The counts without Gumbel noise `[B..., K]` (see
        `noiseless_counts_with_encodings`)."""
        return self.noiseless_counts_with_encodings(name=name)[0]

    def _log_prob(self, counts):
        raise NotImplementedError(
            "RelaxedMVHG has no tractable density of its relaxed samples. For the exact "
            "MVHG log-pmf of integer counts use `relaxed.exact.log_prob(counts)`.")

    def _mean(self):
        # With hard=True the samples are exact MVHG draws; the mean of soft
        # samples has no closed form here.
        if not self._hard:
            raise NotImplementedError(
                "`mean` is the exact MVHG mean, the mean of the samples only with "
                f"hard=True. Received: hard={self._hard}")
        return self.exact.mean()

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        assertions = mvhg_util.parameter_assertions(
            self._total_count, self._group_sizes, self._log_weights, is_init, self._max_count)
        if is_init != dtype_util.is_ref(self._temperature):
            assertions.append(arg_util.positive_assertion(self._temperature, "temperature"))
        return assertions
