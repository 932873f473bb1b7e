"""The relaxed Differentiable Random Partition Model, for gradients through samples."""

import tensorflow as tf
import tensorflow_probability as tfp

from tf_drpm.distributions.differentiable_random_partition import (
    DifferentiableRandomPartition,
)
from tf_drpm.distributions.relaxed_multivariate_noncentral_hypergeometric import (
    RelaxedMultivariateNoncentralHypergeometric,
)
from tf_drpm.internal import arg_util
from tf_drpm.internal import drpm_util
from tf_drpm.internal import dtype_util
from tf_drpm.internal import seed_util
from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.neural_sort import neural_sort
from tf_drpm.ops.soft_sort_partition import sort_partition
from tf_drpm.ops.subset_masks import subset_masks

__all__ = ["RelaxedDifferentiableRandomPartition"]

tfd = tfp.distributions
tfb = tfp.bijectors


class RelaxedDifferentiableRandomPartition(drpm_util.PartitionParameters,
                                           tfd.AutoCompositeTensorDistribution):
    """The DRPM relaxed for gradients: relaxed MVHG sizes and NeuralSort order.

    The relaxation of `DRPM` used in training ([1], section 4). A sample `Y`
    has shape `[K, n]` like a DRPM sample. Both stages are relaxed at
    `temperature`:

    1. subset sizes from a Gumbel-softmax relaxation of Fisher's MVHG over
       its exact conditionals (`RelaxedMVHG`);
    2. the element order from NeuralSort of the Gumbel-perturbed log-scores
       (`RelaxedPlackettLuce`);

    and the sorted elements fill `S_1, ..., S_K` in turn. Gradients reach
    `log_weights`, `log_scores` and `temperature`.

    * `hard=True` (default): the forward value is an EXACT sample of
      `DRPM(log_weights, log_scores)` (with the same seed, the very sample
      `exact.sample` draws), and gradients are those of the relaxation
      (straight-through). These gradients are BIASED: they are not the
      derivative of any expectation over `Y`.
    * `hard=False`: soft sizes and a soft permutation, so the sample is not a
      partition (columns sum to 1 only as `temperature -> 0`).
      `hard_permutation=True` makes the ordering stage hard (straight-through)
      alone, `hard_permutation=False` with `hard=True` keeps hard sizes with a
      soft order (the multitask model).

    In every mode the subset masks are a step function of the (soft) sizes
    with a sigmoid straight-through surrogate (`tf_drpm.ops.subset_masks`):
    the gradient w.r.t. `log_weights` is a surrogate, never the derivative of
    the sample (which does not move with `log_weights` between steps). So
    the class declares `NOT_REPARAMETERIZED` in every mode; with
    `hard=False` only the ordering stage is pathwise (the gradient w.r.t.
    `log_scores` at fixed noise is the derivative of the sample).

    `log_prob` is not defined (the relaxed samples have no tractable
    density): use `exact.log_prob(y)` for the exact pmf of a hard partition,
    and `exact.counts_log_prob` / `exact.permutation_log_prob` /
    `exact.log_prob_bounds` for its parts and bounds. The partition without
    noise (the relaxed sort of the log-scores filled with the sequential
    mode of the sizes) is `noiseless_partition`, not a sample.

    Padded sets (`mask`, padded entries may hold any value), invalid
    run-time values (NaN samples, counts and permutations for the batch
    members concerned, also for a `temperature <= 0`), half precision and
    `chunk_size`: as in `DRPM`; the
    relaxed partition is computed chunk by chunk from the sort, so the
    `[n, n]` permutation matrix is never stored (`chunk_size` rank rows at a
    time, memory O(batch * chunk_size * n)).

    #### Mathematical Details

    ```none
    n_k = sum_j j y_k(j),   y_k = softmax((logits_k + g_k) / temperature)  (RelaxedMVHG)
    P   = neural_sort(log_scores + g, temperature)                       # [n, n]
    Y   = subset_masks(n) @ P                                            # [K, n]
    ```

    With `hard=True` the forward values of `y_k` and `P` are the one-hot
    argmax and the sort permutation, so `Y` is exact.

    #### Examples

    ```python
    relaxed = RelaxedDRPM(log_weights=tf.zeros([3]), log_scores=tf.random.normal([6]),
                          temperature=0.5)
    y = relaxed.sample(4, seed=[1, 2])          # Shape [4, 3, 6], exact partitions
    relaxed.exact.log_prob(y)                   # Shape [4]: exact log p(Y)
    details = relaxed.sample_with_details(seed=[3, 4])
    details["counts"]                           # Shape [3]: straight-through sizes
    relaxed.noiseless_partition()               # Shape [3, 6]: no noise
    ```

    #### References

    [1]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    [2]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt.
         Learning Group Importance using the Differentiable Hypergeometric
         Distribution. ICLR 2023.
    [3]: Aditya Grover, Eric Wang, Aaron Zweig, Stefano Ermon. Stochastic
         Optimization of Sorting Networks via Continuous Relaxations. ICLR 2019.
    """

    def __init__(self,
                 log_weights,
                 log_scores,
                 temperature,
                 hard=True,
                 hard_permutation=None,
                 chunk_size=256,
                 mask=None,
                 validate_args=False,
                 allow_nan_stats=True,
                 name="RelaxedDifferentiableRandomPartition"):
        """Constructs a batch of relaxed DRPMs.

        Args:
            log_weights: Float `Tensor` `[..., K]`, `K >= 1`: log group
                importances of the subset-size distribution (any real values).
            log_scores: Float `Tensor` `[..., n]`, `n >= 1`: Plackett-Luce
                log-scores of the elements.
            temperature: Positive float `Tensor` broadcastable to the batch
                shape: temperature of both relaxations.
            hard: Python `bool`; straight-through hard samples (default `True`).
            hard_permutation: Optional Python `bool` overriding `hard` for the
                ordering stage only (e.g. hard counts with a soft permutation, as
                in the multitask model). Default: `hard`.
            chunk_size: Python `int`, rank rows processed at once when sampling
                (memory is O(batch * chunk_size * n)).
            mask: Optional boolean `Tensor` `[..., n]` (broadcastable with the
                batch shape): `True` for the real elements of padded sets.
                Default: every element is real.
            validate_args: Python `bool`; check parameters and values at run
                time. Statically invalid shapes raise regardless.
            allow_nan_stats: Python `bool`.
            name: Python `str`.

        Raises:
            ValueError: If `K < 1` or `n < 1`, a statically known
                `temperature` is not positive or a parameter is not finite,
                `hard` / `hard_permutation` are not bools, or `chunk_size` is
                not an integer >= 1. A `temperature` known only at run time (a
                variable, a `tf.function` argument) that is not positive gives
                NaN samples, or an error with `validate_args=True`.
            TypeError: If the parameters have different dtypes.
        """
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            dtype = dtype_util.common_dtype([log_weights, log_scores, temperature], tf.float32)
            self._log_weights = dtype_util.convert_nonref_to_tensor(
                log_weights, dtype=dtype, name="log_weights")
            self._log_scores = dtype_util.convert_nonref_to_tensor(
                log_scores, dtype=dtype, name="log_scores")
            self._temperature = dtype_util.convert_nonref_to_tensor(
                temperature, dtype=dtype, name="temperature")
            self._mask = dtype_util.convert_nonref_to_tensor(mask, dtype=tf.bool, name="mask")
            self._hard = arg_util.check_bool(hard, "hard")
            hard_permutation = arg_util.check_bool(
                hard_permutation, "hard_permutation", allow_none=True)
            self._hard_permutation = self._hard if hard_permutation is None else hard_permutation
            self._chunk_size = arg_util.check_int(chunk_size, "chunk_size", minimum=1)
            self._wide_dtype = dtype_util.wide_dtype(dtype)
            drpm_util.check_static_arguments(self._log_weights, self._log_scores, self._mask)
            arg_util.check_static_positive(self._temperature, "temperature")
            super().__init__(
                dtype=dtype,
                # Straight-through sizes in every mode (see the class docstring).
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            **drpm_util.parameter_properties(),
            temperature=tfp.util.ParameterProperties(
                shape_fn=lambda sample_shape: sample_shape[:-2],
                default_constraining_bijector_fn=(
                    lambda: tfb.Softplus(low=dtype_util.tiny(dtype)))))

    @property
    def temperature(self):
        """Temperature of both relaxations."""
        return self._temperature

    @property
    def hard(self):
        """Python `bool`: straight-through hard samples."""
        return self._hard

    @property
    def hard_permutation(self):
        """Python `bool`: straight-through hard ordering stage."""
        return self._hard_permutation

    @property
    def exact(self):
        """The exact `DRPM` this distribution relaxes (same parameters and mask)."""
        return DifferentiableRandomPartition(
            self._log_weights, self._log_scores, mask=self._mask,
            validate_args=self.validate_args, allow_nan_stats=self.allow_nan_stats)

    def _broadcast_parameters(self):
        """`log_weights` `[B..., K]`, `log_scores` `[B..., n]` (0 at padded
        elements), `temperature` `[B...]`, `mask` `[B..., n]` or None, in
        the wide dtype, and `valid` `[B...]` (finite parameters; the others
        are replaced by zeros, see `drpm_util.safe_parameters`)."""
        batch_shape = self.batch_shape_tensor()
        log_weights, log_scores, mask, valid = drpm_util.broadcast_parameters(
            batch_shape, self._log_weights, self._log_scores, self._mask, self._wide_dtype)
        temperature = tf.broadcast_to(
            tf.cast(tf.convert_to_tensor(self._temperature), self._wide_dtype), batch_shape)
        return log_weights, log_scores, temperature, mask, valid

    def _counts_distribution(self, log_weights, temperature, mask):
        total_count, group_sizes = drpm_util.size_parameters(
            mask, self.num_subsets, self.num_elements, self._wide_dtype)
        return RelaxedMultivariateNoncentralHypergeometric(
            total_count=total_count,
            group_sizes=group_sizes,
            log_weights=log_weights,
            temperature=temperature,
            hard=self._hard,
            max_count=self.num_elements)

    def sample_with_details(self, sample_shape=(), seed=None, return_permutation=True,
                            counts=None, name="sample_with_details"):
        """Samples partitions and returns the intermediate quantities too.

        Args:
            sample_shape: Shape of the sample (as for `sample`).
            seed: Stateless seed (shape-[2] integer tensor or Python int).
            return_permutation: Python `bool`; include the `[.., n, n]`
                permutation matrix (memory O(n^2) per sample).
            counts: Optional float `Tensor` broadcastable to `[..., K]`: subset
                sizes (integer values summing to the number of real elements)
                to condition on. Only the ordering stage is then sampled, and
                `seed` goes to its noise alone.
            name: Name scope.

        Returns:
            A dict with `partition` `[S..., B..., K, n]`, `counts`
            `[S..., B..., K]` (straight-through subset sizes), `perturbed_log_scores`
            `[S..., B..., n]` and, if requested, `permutation`
            `[S..., B..., n, n]` (the relaxed sort of the perturbed scores).
            `partition` and `permutation` have the distribution's `dtype`;
            `counts` and `perturbed_log_scores` are float32 when `dtype` is a
            half-precision type (which cannot hold every count up to `n`).
        """
        with self._name_and_control_scope(name):
            sample_shape = tf.cast(tf.reshape(sample_shape, [-1]), tf.int32)
            num_samples = tf.reduce_prod(sample_shape)
            details = self._sample_details(
                num_samples, seed, return_permutation, stochastic=True, counts=counts)
            return {key: tf.reshape(value, tf.concat([sample_shape, tf.shape(value)[1:]], 0))
                    for key, value in details.items()}

    def noiseless_partition_with_details(self, return_permutation=True, counts=None,
                                         name="noiseless_partition_with_details"):
        """The relaxed partition without Gumbel noise, with its quantities.

        Deterministic: the subset sizes are the sequential mode of the relaxed
        MVHG (`RelaxedMVHG.noiseless_counts`, or `counts` if given) and the
        order is the relaxed sort of `log_scores` itself. With `hard=True` it
        is the partition that puts the highest-scoring elements in the first
        subsets, filled to the sequentially most likely sizes. Not a sample
        of this distribution or of `exact`.

        Args:
            return_permutation: Python `bool`; include the `[.., n, n]`
                relaxed sort of `log_scores`.
            counts: Optional subset sizes `[..., K]` to use instead (see
                `sample_with_details`).
            name: Name scope.

        Returns:
            The dict of `sample_with_details` without sample dimensions:
            `partition` `[B..., K, n]`, `counts` `[B..., K]`,
            `perturbed_log_scores` `[B..., n]` (here `log_scores`) and, if
            requested, `permutation` `[B..., n, n]`.
        """
        with self._name_and_control_scope(name):
            details = self._sample_details(
                1, None, return_permutation, stochastic=False, counts=counts)
            return {key: value[0] for key, value in details.items()}

    def noiseless_partition(self, counts=None, name="noiseless_partition"):
        """The relaxed partition without Gumbel noise `[B..., K, n]` (see
        `noiseless_partition_with_details`)."""
        return self.noiseless_partition_with_details(
            return_permutation=False, counts=counts, name=name)["partition"]

    def _sample_n(self, n, seed=None):
        return self._sample_details(n, seed, return_permutation=False,
                                    stochastic=True)["partition"]

    def _sample_details(self, num_samples, seed, return_permutation, stochastic, counts=None):
        log_weights, log_scores, temperature, mask, valid = self._broadcast_parameters()
        scores_shape = tf.concat([[num_samples], tf.shape(log_scores)], 0)
        if counts is None:
            counts_seed, noise_seed = (seed_util.split_seed(seed, n=2, salt="DRPM")
                                       if stochastic else (None, None))
            sizes = self._counts_distribution(log_weights, temperature, mask)
            if stochastic:
                counts = sizes.sample(num_samples, seed=counts_seed)   # [S, B..., K]
            else:
                counts = sizes.noiseless_counts()[tf.newaxis]          # [1, B..., K]
        else:
            noise_seed = seed
            counts = tf.broadcast_to(
                tf.cast(tf.convert_to_tensor(counts), self._wide_dtype),
                tf.concat([[num_samples], tf.shape(log_weights)], 0))
        if stochastic:
            perturbed = log_scores + sample_gumbel(
                scores_shape, seed=noise_seed, dtype=self._wide_dtype)
        else:
            perturbed = tf.broadcast_to(log_scores, scores_shape)
        masks = subset_masks(counts, self.num_elements)  # [S, B..., K, n]
        # Padded elements rank after every real one, where the masks are 0
        # (the counts sum to the number of real elements).
        partition = sort_partition(masks, perturbed, temperature, hard=self._hard_permutation,
                                   chunk_size=self._chunk_size, mask=mask)
        # A temperature <= 0 or a non-finite log-weight or log-score of a real
        # element known only at run time (a variable, a tf.function argument)
        # gives NaN rather than plausible partitions with wrong gradients;
        # `validate_args=True` makes it an error.
        valid = valid & (temperature > 0)
        details = dict(
            partition=tf.cast(drpm_util.nan_unless_valid(partition, valid, 2), self.dtype),
            counts=drpm_util.nan_unless_valid(counts, valid, 1),
            perturbed_log_scores=drpm_util.nan_unless_valid(perturbed, valid, 1))
        if return_permutation:
            permutation = neural_sort(
                perturbed, temperature, hard=self._hard_permutation, mask=mask)
            details["permutation"] = tf.cast(
                drpm_util.nan_unless_valid(permutation, valid, 2), self.dtype)
        return details

    def _log_prob(self, partition):
        raise NotImplementedError(
            "RelaxedDRPM has no tractable density of its relaxed samples. For the exact "
            "pmf of a hard partition `y` use `relaxed.exact.log_prob(y)` (`exact` is the "
            "DRPM this distribution relaxes).")

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args:
            return []
        return (drpm_util.finite_assertions(
            self._log_weights, self._log_scores, is_init, self._mask)
                + drpm_util.temperature_checks(self._temperature, is_init))
