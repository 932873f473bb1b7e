"""Fisher's multivariate noncentral hypergeometric distribution (exact)."""

import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.internal import dtype_util
from tf_drpm.internal import mvhg_util
from tf_drpm.ops.mvhg_log_coefficients import mvhg_log_normalizer
from tf_drpm.ops.mvhg_log_coefficients import mvhg_mean
from tf_drpm.ops.mvhg_sequential_sample import mvhg_sequential_sample

__all__ = ["MultivariateNoncentralHypergeometric"]

tfd = tfp.distributions


class MultivariateNoncentralHypergeometric(tfd.AutoCompositeTensorDistribution):
    """Fisher's multivariate noncentral hypergeometric distribution (MVHG).

    An urn holds `K` groups of `m_k` balls (`group_sizes`) with weights
    `w_k = exp(log_weights_k)`; `N` balls (`total_count`) are drawn. Events
    are float count vectors `n` of shape `[K]` with integer entries.

    #### Mathematical Details

    ```none
    p(n) = prod_k C(m_k, n_k) w_k^n_k / P_N,   sum_k n_k = N, 0 <= n_k <= m_k
    P_N  = [x^N] prod_k (1 + w_k x)^m_k
    ```

    `log_prob` is exact: the normaliser comes from exponential tilting and
    an FFT in float64 (`tf_drpm.ops.mvhg_log_normalizer`, relative accuracy
    about 1e-13 for any finite log-weights, e.g. +-30 in float32). `sample`
    draws exactly, group by group from the exact conditionals

    ```none
    p(n_k = j | n_<k) = C(m_k, j) w_k^j G_{k+1}(r - j) / G_k(r)
    G_k(t) = [x^t] prod_{l >= k} (1 + w_l x)^m_l,  r = N - sum_{l<k} n_l
    ```

    by the Gumbel-max trick (`tf_drpm.ops.mvhg_sequential_sample`). `mean`
    is exact (`tf_drpm.ops.mvhg_mean`). Parameters known only at run time
    (a `tf.Variable`, a `tf.function` argument) that are invalid, e.g. a
    `total_count` above `sum(group_sizes)` or not an integer, or a
    non-finite log-weight, give NaN samples, means and log-probabilities
    for the batch members concerned (an error with `validate_args=True`). The support length `max(N) + 1` must
    be static: under `tf.function(jit_compile=True)` pass `total_count` (or
    `group_sizes`) as Python numbers, NumPy arrays or constants. Cost:
    `O(K N log N)` per batch member.

    #### Examples

    ```python
    dist = MultivariateNoncentralHypergeometric(
        total_count=6., group_sizes=[6., 6., 6.],
        log_weights=tf.math.log([1., 5., .2]))
    counts = dist.sample(5, seed=[1, 2])    # Shape [5, 3], rows sum to 6
    dist.log_prob(counts)                   # Shape [5]
    dist.mean()                             # ~[1.58, 4.04, 0.38]
    ```

    #### References

    [1]: Agner Fog. Sampling methods for Wallenius' and Fisher's noncentral
         hypergeometric distributions. Communications in Statistics -
         Simulation and Computation, 37(2), 2008.
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
                 max_count=None,
                 validate_args=False,
                 allow_nan_stats=True,
                 name="MultivariateNoncentralHypergeometric"):
        """Constructs a batch of MVHG distributions.

        Args:
          total_count: A floating `Tensor` `[...]` of non-negative integer
            values `N`, the number of draws; `N <= sum_k m_k`.
          group_sizes: A floating `Tensor` `[..., K]` of non-negative integer
            values `m_k`.
          log_weights: A floating `Tensor` `[..., K]` of finite log-weights.
          max_count: Optional Python `int`, a static bound on `total_count`
            (the support is `0..max_count`). Needed only when neither
            `total_count` nor `group_sizes` is static (e.g. sizes computed
            from a mask); default: the static `total_count`, else
            `sum(group_sizes)`.
          validate_args: Python `bool`; if `True`, check parameters and the
            counts passed to `log_prob` at run time. Statically known
            invalid parameters raise at construction regardless.
          allow_nan_stats: Python `bool`, default `True`.
          name: Python `str` name prefixed to ops created by this class.

        Raises:
          ValueError: For statically known invalid arguments (K mismatch,
            K < 1, negative or non-integer counts, `total_count >
            sum(group_sizes)`, non-finite `log_weights`) or when the support
            size cannot be known statically.
          TypeError: If the floating arguments have different dtypes.
        """
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype(
                [total_count, group_sizes, log_weights], tf.float32)
            self._total_count = dtype_util.convert_nonref_to_tensor(
                total_count, dtype=dtype, name="total_count")
            self._group_sizes = dtype_util.convert_nonref_to_tensor(
                group_sizes, dtype=dtype, name="group_sizes")
            self._log_weights = dtype_util.convert_nonref_to_tensor(
                log_weights, dtype=dtype, name="log_weights")
            mvhg_util.check_static_arguments(self._total_count, self._group_sizes,
                                   self._log_weights)
            self._max_count = mvhg_util.static_max_count(
                self._total_count, self._group_sizes, max_count)
            super().__init__(
                dtype=dtype,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
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
            log_weights=tfp.util.ParameterProperties(event_ndims=1))

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
    def max_count(self):
        """Python `int`, the static bound on `total_count` (support size - 1)."""
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

    def _sample_n(self, n, seed=None):
        counts, _ = mvhg_sequential_sample(
            self._total_count, self._group_sizes, self._log_weights,
            num_samples=n, seed=seed, max_count=self._max_count,
            temperature=1., hard=True, stochastic=True)
        return tf.stop_gradient(counts)

    def _log_prob(self, counts):
        dtype = self.dtype
        counts = tf.convert_to_tensor(counts, dtype=dtype)
        log_normalizer = tf.cast(mvhg_log_normalizer(
            tf.cast(self._total_count, tf.float64),
            tf.cast(self._group_sizes, tf.float64),
            tf.cast(self._log_weights, tf.float64),
            max_count=self._max_count), tf.float64)               # [B...]
        x = tf.cast(counts, tf.float64)
        m = tf.cast(tf.convert_to_tensor(self._group_sizes), tf.float64)
        a = tf.cast(tf.convert_to_tensor(self._log_weights), tf.float64)
        # Non-finite log-weights known only at run time: computed as zeros,
        # NaN below (the normaliser is NaN for them).
        a = mvhg_util.safe_log_weights(a, mvhg_util.finite_log_weights(a))
        n = tf.cast(tf.convert_to_tensor(self._total_count), tf.float64)
        valid = ((x >= 0.) & (x <= m) & tf.equal(x, tf.round(x)))
        valid = tf.reduce_all(valid, axis=-1) & tf.equal(
            tf.reduce_sum(x, axis=-1), n)
        safe_x = tf.where((x >= 0.) & (x <= m), x, tf.zeros_like(x))
        log_terms = (tf.math.lgamma(m + 1.) - tf.math.lgamma(safe_x + 1.) -
                     tf.math.lgamma(m - safe_x + 1.) + safe_x * a)
        log_prob = tf.reduce_sum(log_terms, axis=-1) - log_normalizer
        log_prob = tf.where(valid, log_prob,
                            tf.constant(-float("inf"), tf.float64))
        # Invalid parameters known only at run time (the normaliser is NaN):
        # NaN, like `sample` and `mean`; `validate_args=True` raises instead.
        log_prob = tf.where(tf.math.is_nan(log_normalizer),
                            tf.constant(float("nan"), tf.float64), log_prob)
        return tf.cast(log_prob, dtype)

    def _mean(self):
        mean = mvhg_mean(self._total_count, self._group_sizes,
                         self._log_weights, max_count=self._max_count)
        shape = tf.concat([self.batch_shape_tensor(),
                           self.event_shape_tensor()], axis=0)
        return tf.broadcast_to(mean, shape)

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        return mvhg_util.parameter_assertions(self._total_count, self._group_sizes,
                                              self._log_weights, is_init, self._max_count)

    def _sample_control_dependencies(self, counts):
        if not self.validate_args:
            return []
        return mvhg_util.counts_assertions(counts, self._total_count,
                                 self._group_sizes, self.dtype)
