"""The Differentiable Random Partition Model (DRPM): the exact distribution."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.distributions.multivariate_noncentral_hypergeometric import (
    MultivariateNoncentralHypergeometric,
)
from tf_drpm.internal import arg_util
from tf_drpm.internal import drpm_util
from tf_drpm.internal import dtype_util
from tf_drpm.internal import seed_util
from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.ordered_blocks_log_prob import ordered_blocks_log_prob
from tf_drpm.ops.plackett_luce_log_prob import plackett_luce_log_prob
from tf_drpm.ops.soft_sort_partition import hard_sort_partition
from tf_drpm.ops.subset_masks import subset_masks

__all__ = ["DifferentiableRandomPartition"]

tfd = tfp.distributions


class DifferentiableRandomPartition(drpm_util.PartitionParameters,
                                    tfd.AutoCompositeTensorDistribution):
    """Two-stage random partition of `n` elements into `K` ordered subsets (exact).

    A sample `Y` has shape `[K, n]`: row `k` is the multi-hot indicator of
    subset `S_k`, and every column holds exactly one 1 (each element belongs to
    exactly one subset; subsets may be empty). Sampling has two stages:

    1. subset sizes `n = (n_1, ..., n_K)`, `sum_k n_k = n`, from Fisher's
       multivariate noncentral hypergeometric distribution with `K` groups of
       `n` items each and weights `exp(log_weights)` (exact, `MVHG`);
    2. an order of the elements from a Plackett-Luce distribution with scores
       `exp(log_scores)` (exact: the descending argsort of the log-scores plus
       Gumbel noise).

    The sorted elements fill `S_1, ..., S_K` in turn: the first `n_1` go to
    `S_1`, the next `n_2` to `S_2`, and so on. This is the discrete random
    variable: samples are exact hard partitions and carry no gradient
    (`NOT_REPARAMETERIZED`). For gradients through samples use its relaxation,
    `RelaxedDRPM`, whose `exact` property returns this distribution; the
    relaxation's hard samples with the same seed are the samples of this class.

    Padded sets: with a boolean `mask` `[..., n]` (`True` = real element, the
    Keras masking convention) a batch member with `m` real elements is the
    DRPM of its real elements alone: the subset sizes are drawn for `m`
    elements (MVHG with `K` groups of `m`, total `m`), the padded elements
    are ranked after every real one and belong to no subset (all-zero
    columns), and samples, `log_prob` and the bounds equal those of the
    unpadded model. Padded entries of `log_scores` are ignored: they may hold
    any value, `-inf`, `+inf` and NaN included, without changing values or
    gradients of the real elements.

    Invalid values known only at run time (a non-finite log-weight, or
    log-score of a real element, in a variable or a `tf.function` argument)
    escape the static checks: the samples, `log_prob` and the other
    log-probabilities of that batch member are NaN (never a plausible
    partition or number), or, with `validate_args=True`, an error names the
    argument.

    Half precision (`float16`, `bfloat16`) cannot hold every integer count or
    rank position up to `n` (float16 is exact to 2048, bfloat16 to 256), so
    sizes, ranks, noise and quadrature are computed in float32 and only
    samples and log-probabilities are cast back to `dtype`.

    #### Mathematical Details

    The pmf is exact (Proposition 4.1 of [1], evaluated without enumeration):

    ```none
    log p(Y) = log MVHG(n; n, (n, ..., n), w) + sum_k log P_k
    P_k      = P(all of S_k ranked before all of S_(>k) | S_(<k) removed)
             = int_0^1 prod_(i in S_k) (1 - u^(s_i / Z_k)) du,
    Z_k      = sum_(j in S_(>k)) s_j          (P_k = 1 if S_(>k) is empty)
    ```

    with `s = exp(log_scores)`, `w = exp(log_weights)` and `n_k = |S_k|`. The
    one-dimensional integrals are computed in log space by quadrature
    (`ordered_blocks_log_prob`); `log_prob` is `-inf` outside the support (an
    entry not 0 or 1, a column without exactly one 1). Lemma 4.2 of [1]
    brackets `p(Y)`:

    ```none
    p(n) p(pi)  <=  p(Y)  <=  |Pi_Y| p(n) max_pi' p(pi'),   |Pi_Y| = prod_k n_k!
    ```

    for any permutation `pi` compatible with `Y`; `log_prob_bounds` returns
    both sides (the lower side for the most likely compatible `pi`, or for a
    given one).

    #### Examples

    ```python
    drpm = DRPM(log_weights=tf.zeros([3]), log_scores=tf.random.normal([6]))
    y = drpm.sample(4, seed=[1, 2])           # Shape [4, 3, 6], hard partitions
    drpm.log_prob(y)                          # Shape [4], exact
    lower, upper = drpm.log_prob_bounds(y)    # Shape [4] each
    drpm.counts_log_prob(tf.reduce_sum(y, -1))  # Shape [4]: log p(n)

    # Sets of 6, 4 and 2 elements in one batch, padded to n = 6.
    mask = tf.sequence_mask([6, 4, 2], maxlen=6)          # Shape [3, 6]
    padded = DRPM(tf.zeros([3, 3]), tf.random.normal([3, 6]), mask=mask)
    y = padded.sample(seed=[5, 6])            # Shape [3, 3, 6]
    tf.reduce_sum(y, axis=[-2, -1])           # [6., 4., 2.]: padded columns are 0
    padded.log_prob(y)                        # Shape [3], as for the unpadded sets
    ```

    #### References

    [1]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    [2]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt.
         Learning Group Importance using the Differentiable Hypergeometric
         Distribution. ICLR 2023.
    """

    def __init__(self,
                 log_weights,
                 log_scores,
                 num_quadrature_points=128,
                 mask=None,
                 validate_args=False,
                 allow_nan_stats=True,
                 name="DifferentiableRandomPartition"):
        """Constructs a batch of DRPMs.

        Args:
            log_weights: Float `Tensor` `[..., K]`, `K >= 1`: log group
                importances of the subset-size distribution (any real values).
            log_scores: Float `Tensor` `[..., n]`, `n >= 1`: Plackett-Luce
                log-scores of the elements.
            num_quadrature_points: Python `int`, nodes of the quadrature of the
                exact `log_prob`.
            mask: Optional boolean `Tensor` `[..., n]` (broadcastable with the
                batch shape): `True` for the real elements of padded sets.
                Default: every element is real.
            validate_args: Python `bool`; check parameters and values at run
                time. Statically invalid shapes raise regardless.
            allow_nan_stats: Python `bool`.
            name: Python `str`.

        Raises:
            ValueError: If `K < 1` or `n < 1`, a statically known parameter is
                not finite (padded entries of `log_scores` excepted), or
                `num_quadrature_points` is not an integer >= 8.
            TypeError: If the parameters have different dtypes.
        """
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype([log_weights, log_scores], tf.float32)
            self._log_weights = dtype_util.convert_nonref_to_tensor(
                log_weights, dtype=dtype, name="log_weights")
            self._log_scores = dtype_util.convert_nonref_to_tensor(
                log_scores, dtype=dtype, name="log_scores")
            self._mask = dtype_util.convert_nonref_to_tensor(mask, dtype=tf.bool, name="mask")
            self._num_quadrature_points = arg_util.check_int(
                num_quadrature_points, "num_quadrature_points", minimum=8)
            self._wide_dtype = dtype_util.wide_dtype(dtype)
            drpm_util.check_static_arguments(self._log_weights, self._log_scores, self._mask)
            super().__init__(
                dtype=dtype,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return drpm_util.parameter_properties()

    @property
    def num_quadrature_points(self):
        """Python `int`, nodes of the quadrature of `log_prob`."""
        return self._num_quadrature_points

    def _wide(self, value):
        """`value` as a tensor of the wide dtype (float32 for half precision)."""
        return tf.cast(tf.convert_to_tensor(value), self._wide_dtype)

    def _exact_counts_distribution(self, log_weights):
        total_count, group_sizes = drpm_util.size_parameters(
            self._mask, self.num_subsets, self.num_elements, self._wide_dtype)
        return MultivariateNoncentralHypergeometric(
            total_count=total_count, group_sizes=group_sizes,
            log_weights=log_weights, max_count=self.num_elements)

    def _safe_parameters(self):
        """`(log_weights, log_scores, valid)` in the wide dtype: `log_scores` 0
        at padded elements, both 0 for the members that are not `valid` (a
        non-finite log-weight or log-score of a real element, known only at
        run time), whose values are NaN."""
        return drpm_util.safe_parameters(
            self._log_weights, self._log_scores, self._mask, self._wide_dtype)

    def _sample_n(self, n, seed=None):
        log_weights, log_scores, mask, valid = drpm_util.broadcast_parameters(
            self.batch_shape_tensor(), self._log_weights, self._log_scores, self._mask,
            self._wide_dtype)
        # The seeds, samplers and sort of `RelaxedDRPM`: its hard samples with
        # the same seed are these.
        counts_seed, noise_seed = seed_util.split_seed(seed, n=2, salt="DRPM")
        total_count, group_sizes = drpm_util.size_parameters(
            mask, self.num_subsets, self.num_elements, self._wide_dtype)
        counts = MultivariateNoncentralHypergeometric(
            total_count=total_count, group_sizes=group_sizes, log_weights=log_weights,
            max_count=self.num_elements).sample(n, seed=counts_seed)      # [S, B..., K]
        perturbed = log_scores + sample_gumbel(
            tf.concat([[n], tf.shape(log_scores)], 0), seed=noise_seed,
            dtype=self._wide_dtype)                                       # [S, B..., n]
        partition = hard_sort_partition(
            subset_masks(counts, self.num_elements), perturbed, mask=mask)  # [S, B..., K, n]
        # Invalid parameters known only at run time: NaN, not a plausible partition.
        partition = drpm_util.nan_unless_valid(partition, valid, event_ndims=2)
        return tf.cast(tf.stop_gradient(partition), self.dtype)

    def _validated_partition(self, partition):
        partition = tf.convert_to_tensor(partition, dtype=self.dtype, name="partition")
        if partition.shape.rank is not None:
            if partition.shape.rank < 2 or (
                    partition.shape[-2:].is_fully_defined()
                    and tuple(partition.shape[-2:]) != (self.num_subsets, self.num_elements)):
                raise ValueError(
                    "The partition passed to `log_prob` must have shape [..., K, n] = "
                    f"[..., {self.num_subsets}, {self.num_elements}]. "
                    f"Received: partition.shape={partition.shape}")
        if self.validate_args:
            message = ("The partition passed to `log_prob` must be binary with exactly one 1 "
                       "in every column (each element in exactly one subset; all-zero "
                       "columns for padded elements).")
            with tf.control_dependencies([
                    tf.debugging.assert_equal(
                        tf.reduce_all(self._in_support(partition)), True, message=message),
            ]):
                partition = tf.identity(partition)
        return partition

    def _expected_column_sums(self, dtype):
        """`[..., 1, n]`: 1 for real elements, 0 for padded ones."""
        if self._mask is None:
            return tf.ones([1, self.num_elements], dtype)
        return tf.cast(self._mask, dtype)[..., tf.newaxis, :]

    def _in_support(self, partition):
        """`[...]`: entries 0 or 1, one 1 per real column, padded columns 0."""
        column_sums = tf.reduce_sum(partition, axis=-2, keepdims=True)
        return tf.reduce_all(
            (tf.equal(partition, 0.) | tf.equal(partition, 1.))
            & tf.equal(column_sums, self._expected_column_sums(partition.dtype)),
            axis=[-2, -1])

    def counts_log_prob(self, counts, name="counts_log_prob"):
        """Exact MVHG log-pmf `log p(n; w)` of subset sizes `counts` `[..., K]`.

        `counts` may be of any floating dtype (e.g. the float32 counts of
        `sample_with_details` under half precision); the result has `dtype`.
        """
        with self._name_and_control_scope(name):
            counts = self._wide(counts)
            log_weights, _, valid = self._safe_parameters()
            log_prob = self._exact_counts_distribution(log_weights).log_prob(counts)
            return tf.cast(drpm_util.nan_unless_valid(log_prob, valid, 0), self.dtype)

    def permutation_log_prob(self, permutation, name="permutation_log_prob"):
        """Exact Plackett-Luce log-pmf of a hard permutation matrix `[..., n, n]`."""
        with self._name_and_control_scope(name):
            permutation = tf.convert_to_tensor(permutation, dtype=self.dtype, name="permutation")
            _, log_scores, valid = self._safe_parameters()
            log_prob = plackett_luce_log_prob(log_scores, self._wide(permutation), mask=self._mask)
            return tf.cast(drpm_util.nan_unless_valid(log_prob, valid, 0), self.dtype)

    def _log_prob(self, partition):
        partition = self._wide(self._validated_partition(partition))
        # Outside the support (an entry not 0/1, a real column without exactly
        # one 1, a padded column not 0) the pmf is 0: -inf, not the value of a
        # formula for partitions.
        in_support = self._in_support(partition)
        first_subset = tf.one_hot([0], self.num_subsets, axis=0, dtype=partition.dtype)  # [K, 1]
        safe_partition = tf.where(
            in_support[..., tf.newaxis, tf.newaxis], partition,
            first_subset * self._expected_column_sums(partition.dtype))
        log_weights, log_scores, valid = self._safe_parameters()
        blocks = ordered_blocks_log_prob(
            log_scores, safe_partition, num_quadrature_points=self._num_quadrature_points)
        log_prob = (self._exact_counts_distribution(log_weights).log_prob(
            tf.reduce_sum(safe_partition, axis=-1)) + tf.reduce_sum(blocks, -1))
        log_prob = tf.where(in_support, log_prob, tf.constant(-np.inf, log_prob.dtype))
        # Invalid parameters known only at run time: NaN, not a plausible value.
        return tf.cast(drpm_util.nan_unless_valid(log_prob, valid, 0), self.dtype)

    def log_prob_bounds(self, partition, permutation=None, name="log_prob_bounds"):
        """Lower and upper bounds of `log p(Y)` from Lemma 4.2 of Sutter et al. (2023).

        Args:
            partition: Hard partition `[..., K, n]`.
            permutation: Optional hard permutation matrix `[..., n, n]`
                compatible with `partition` (e.g. the one that produced it).
                Default: the most likely compatible permutation (elements of
                each subset in descending score order), the tightest lower bound.
            name: Name scope.

        Returns:
            (lower, upper): `Tensor`s `[...]`:
            `lower = log p(n) + log p(pi)`,
            `upper = sum_k log n_k! + log p(n) + log max_pi' p(pi')`.
        """
        with self._name_and_control_scope(name):
            partition = self._wide(self._validated_partition(partition))
            log_weights, log_scores, valid = self._safe_parameters()
            counts = tf.reduce_sum(partition, axis=-1)
            log_p_counts = self._exact_counts_distribution(log_weights).log_prob(counts)
            if permutation is None:
                permutation = _best_compatible_permutation(log_scores, partition)
            else:
                permutation = self._wide(
                    tf.convert_to_tensor(permutation, dtype=self.dtype))
            lower = log_p_counts + plackett_luce_log_prob(log_scores, permutation, self._mask)
            best_order = _best_compatible_permutation(
                log_scores, tf.ones_like(partition[..., :1, :]))
            upper = (tf.reduce_sum(tf.math.lgamma(counts + 1.), axis=-1) + log_p_counts
                     + plackett_luce_log_prob(log_scores, best_order, self._mask))
            lower = drpm_util.nan_unless_valid(lower, valid, 0)
            upper = drpm_util.nan_unless_valid(upper, valid, 0)
            return tf.cast(lower, self.dtype), tf.cast(upper, self.dtype)

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        return drpm_util.finite_assertions(
            self._log_weights, self._log_scores, is_init, self._mask)


def _best_compatible_permutation(log_scores, partition):
    """The most likely permutation in Pi_Y: blocks in order, scores descending inside."""
    batch_shape = tf.broadcast_dynamic_shape(tf.shape(log_scores)[:-1], tf.shape(partition)[:-2])
    log_scores = tf.broadcast_to(log_scores, tf.concat([batch_shape, tf.shape(log_scores)[-1:]], 0))
    partition = tf.broadcast_to(partition, tf.concat([batch_shape, tf.shape(partition)[-2:]], 0))
    by_score = tf.argsort(log_scores, axis=-1, direction="DESCENDING", stable=True)
    block = tf.argmax(partition, axis=-2, output_type=tf.int32)  # [..., n]
    block_by_score = tf.gather(block, by_score, batch_dims=len(log_scores.shape) - 1)
    # A stable sort by block keeps the descending score order inside blocks.
    within = tf.argsort(block_by_score, axis=-1, stable=True)
    order = tf.gather(by_score, within, batch_dims=len(log_scores.shape) - 1)
    return tf.one_hot(order, tf.shape(log_scores)[-1], dtype=log_scores.dtype)
