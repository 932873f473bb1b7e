"""Sequential (relaxed) sampling of Fisher's multivariate noncentral hypergeometric law."""

import tensorflow as tf

from tf_drpm.internal import arg_util
from tf_drpm.internal import mvhg_util
from tf_drpm.internal import seed_util
from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.mvhg_log_coefficients import mvhg_conditional_logits
from tf_drpm.ops.mvhg_log_coefficients import mvhg_tilted_log_pmfs
from tf_drpm.ops.straight_through import straight_through

__all__ = ["mvhg_sequential_sample"]

# From this many conditionals (K - 1) on they run in a `tf.while_loop`.
_MIN_LOOPED_GROUPS = 3


def mvhg_sequential_sample(total_count,
                           group_sizes,
                           log_weights,
                           num_samples,
                           seed,
                           max_count,
                           temperature=1.,
                           hard=True,
                           stochastic=True,
                           name=None):
    """Samples MVHG counts group by group from the exact conditionals.

    #### Mathematical Details

    For `k = 1..K-1`, with `r` the draws left (`r = N` at `k = 1`):

    ```none
    logits_k(j) = log C(m_k, j) + j log w_k + log G_{k+1}(r - j) + const
                  (-inf outside j <= min(m_k, r), r - j <= sum_{l>k} m_l)
    z_k         = logits_k + g_k,  g_k ~ Gumbel(0, 1) iid   (if stochastic)
    soft_k      = softmax(z_k / temperature)                      # [L]
    y_k         = one_hot(argmax z_k)  straight-through soft_k    (if hard)
                = soft_k                                          (else)
    n_k         = sum_j j y_k(j);    r <- r - n_k
    ```

    and the last group takes the remainder `n_K = r`, encoded as
    `one_hot(r)` with the straight-through derivative
    `d y_K / d r = one_hot(r + 1) - one_hot(r)` (backward difference at
    `r = L - 1`), so `sum_j j y_K(j)` has derivative 1 in `r`. The logits are
    the exact conditionals (by `mvhg_tilted_log_pmfs`; NOT the authors'
    merged-rest-group approximation), so with `hard=True` the forward counts
    are exact MVHG samples (the Gumbel-max trick), ties going to the lowest
    `j`. Gradients reach `log_weights` (and `temperature`) through every
    `soft_k` and, via `r`, the last group; the conditionals of later groups
    are evaluated at an integer `r` (no gradient through that choice). With
    `hard=True` that `r` follows the Gumbel-max path, an exact MVHG sample
    (or, with `stochastic=False`, the greedy sequential mode), where the
    FFT-based conditionals are exact to about 1e-13 absolute. With
    `hard=False` the counts are soft (`sum_j j soft_k(j)`), later
    conditionals use `round(r)` of the soft remainder and are restricted to
    `r - sum_{l>k} m_l <= j <= r`, so soft counts stay feasible
    (`0 <= n_k <= m_k`); the last count is the (fractional) remainder
    `N - sum_{k<K} n_k`, so the counts sum to `N`. At high temperatures soft
    paths can reach remaining counts deep in the tails, where the FFT pmfs
    are floored at the smallest float64: the conditionals stay finite and
    normalised but are then approximate.

    For K >= 4 the integer path (the `r` before each group) is computed first
    by a `tf.while_loop` that is never differentiated, then all K - 1 relaxed
    conditionals at once along it, with their gradient: the values of the
    group-by-group computation (bit for bit eagerly), without a loop in the
    gradient.

    Args:
      total_count: floating `Tensor` `[...]` of integer values `N`.
      group_sizes: floating `Tensor` `[..., K]` of integer values `m_k`.
      log_weights: floating `Tensor` `[..., K]`; sets the output dtype.
      num_samples: Python `int` or scalar int `Tensor` `S`.
      seed: stateless seed (shape-[2] integer tensor or Python int).
      max_count: static Python `int >= max(N)`; encodings have `L =
        max_count + 1` columns.
      temperature: positive floating `Tensor` broadcastable to `[...]`.
      hard: Python `bool`, straight-through one-hot (default `True`).
      stochastic: Python `bool`, add Gumbel noise (default `True`).
      name: Optional name scope.

    Returns:
      counts: `Tensor` `[S, ..., K]`.
      encodings: `Tensor` `[S, ..., K, L]`, row `k` the (relaxed) one-hot of
        `n_k`.
      Both are NaN for a batch member whose `N` is not an integer in
      `[0, sum_k m_k]`, whose `m_k` are not non-negative integers or whose
      log-weights are not finite: such values, known only at run time,
      escape the static checks.

    Raises:
      ValueError: If `temperature` is statically known and not positive.

    #### Examples

    ```python
    counts, enc = mvhg_sequential_sample(
        6., tf.fill([3], 6.), tf.math.log([1., 5., .2]), num_samples=4,
        seed=[1, 2], max_count=6, temperature=0.5)
    # counts: [4, 3], enc: [4, 3, 7]
    ```

    #### References

    [1]: Thomas M. Sutter, Laura Manduchi, Alain Ryser, Julia E. Vogt.
         Learning Group Importance using the Differentiable Hypergeometric
         Distribution. ICLR 2023.
    [2]: Thomas M. Sutter, Alain Ryser, Joram Liebeskind, Julia E. Vogt.
         Differentiable Random Partition Models. NeurIPS 2023.
    """
    with tf.name_scope(name or "mvhg_sequential_sample"):
        log_weights = tf.convert_to_tensor(log_weights, name="log_weights")
        dtype = log_weights.dtype
        total_count = tf.convert_to_tensor(total_count, dtype=dtype)
        group_sizes = tf.convert_to_tensor(group_sizes, dtype=dtype)
        # Before the conversion: a variable is checked at run time (NaN).
        arg_util.check_static_positive(temperature, "temperature")
        temperature = tf.convert_to_tensor(temperature, dtype=dtype)
        num_groups = tf.compat.dimension_value(log_weights.shape[-1])
        if num_groups is None:
            num_groups = tf.compat.dimension_value(group_sizes.shape[-1])
        if num_groups is None:
            raise ValueError("The number of groups K must be static.")
        length = int(tf.get_static_value(max_count)) + 1
        batch_shape = tf.broadcast_dynamic_shape(
            tf.shape(total_count),
            tf.broadcast_dynamic_shape(
                tf.broadcast_dynamic_shape(tf.shape(group_sizes)[:-1],
                                           tf.shape(log_weights)[:-1]),
                tf.shape(temperature)))
        full = tf.concat([batch_shape, [num_groups]], axis=0)
        flat = lambda x, shape: tf.reshape(tf.broadcast_to(x, shape), [-1])
        n = flat(tf.cast(total_count, tf.float64), batch_shape)        # [B]
        m = tf.reshape(tf.broadcast_to(tf.cast(group_sizes, tf.float64), full),
                       [-1, num_groups])                               # [B, K]
        a = tf.reshape(tf.broadcast_to(tf.cast(log_weights, tf.float64), full),
                       [-1, num_groups])                               # [B, K]
        tau = flat(tf.cast(temperature, tf.float64), batch_shape)      # [B]
        # Invalid parameters known only at run time: computed as zeros, NaN at the end.
        valid = (mvhg_util.valid_parameters(n, m, length - 1)
                 & mvhg_util.finite_log_weights(a) & (tau > 0.))       # [B]
        n, m = mvhg_util.safe_parameters(n, m, valid)
        a = mvhg_util.safe_log_weights(a, valid)
        tau = tf.where(valid, tau, tf.ones_like(tau))
        tau = tau[:, tf.newaxis, tf.newaxis]                           # [B,1,1]

        # Unbatched sizes [K] stay unbroadcast (log C(m, j) computed once).
        if group_sizes.shape.rank == 1:
            sizes_arg = tf.cast(group_sizes, tf.float64)
            _, sizes_arg = mvhg_util.safe_parameters(
                tf.zeros([], tf.float64), sizes_arg,
                mvhg_util.valid_parameters(tf.zeros([], tf.float64), sizes_arg))
        else:
            sizes_arg = m
        _, log_pmfs, log_suffix = mvhg_tilted_log_pmfs(
            n, sizes_arg, a, length - 1, first_row=1)  # log_suffix[:, k]: S_{k+1}
        batch_size = tf.shape(n)[0]
        shape = tf.stack([batch_size, num_samples])                    # [B, S]
        remaining_int = tf.broadcast_to(
            tf.cast(tf.round(n), tf.int32)[:, tf.newaxis], shape)      # [B, S]
        remaining = tf.broadcast_to(n[:, tf.newaxis], shape)           # [B, S]
        noise = None
        if stochastic and num_groups > 1:
            seed = seed_util.sanitize_seed(seed, salt="mvhg_sequential_sample")
            noise = sample_gumbel(
                tf.concat([[num_groups - 1], shape, [length]], axis=0),
                seed=seed, dtype=tf.float64)                   # [K-1, B, S, L]
        j = tf.range(length, dtype=tf.float64)
        suffix_sizes = tf.cumsum(m, axis=-1, reverse=True, exclusive=True)

        def conditional(k, remaining, remaining_int):
            """Group `k`'s count and encoding given the draws left, with gradient."""
            perturbed, soft = _conditional_step(
                k, log_pmfs, log_suffix, suffix_sizes, noise, tau,
                tf.stop_gradient(remaining), remaining_int, hard)
            if hard:
                first = _lowest_argmax(perturbed)
                y = straight_through(tf.one_hot(first, length, dtype=tf.float64), soft)
                remaining_int = remaining_int - first
            else:
                y = soft
            count = tf.reduce_sum(j * y, axis=-1)                     # [B, S]
            remaining = remaining - count
            if not hard:
                remaining_int = tf.cast(tf.round(tf.stop_gradient(remaining)), tf.int32)
            return count, y, remaining, remaining_int

        if num_groups - 1 < _MIN_LOOPED_GROUPS:
            counts, encodings = [], []
            for k in range(num_groups - 1):
                count, y, remaining, remaining_int = conditional(
                    k, remaining, remaining_int)
                counts.append(count)
                encodings.append(y)
        else:
            counts, encodings, remaining, remaining_int = _looped_conditionals(
                log_pmfs, log_suffix, suffix_sizes, noise, tau, remaining,
                remaining_int, num_samples, hard)
        # Last group: the remainder, one-hot with a straight-through slope.
        last = tf.clip_by_value(remaining_int, 0, length - 1)
        one_hot = tf.one_hot(last, length, dtype=tf.float64)
        up = tf.one_hot(last + 1, length, dtype=tf.float64)
        down = tf.one_hot(last - 1, length, dtype=tf.float64)
        at_top = tf.equal(last, length - 1)[..., tf.newaxis]
        slope = tf.where(at_top, one_hot - down, up - one_hot)
        delta = (remaining - tf.stop_gradient(remaining))[..., tf.newaxis]
        counts.append(remaining)
        encodings.append(one_hot + delta * slope)

        counts = tf.stack(counts, axis=-1)                     # [B, S, K]
        encodings = tf.stack(encodings, axis=-2)               # [B, S, K, L]
        counts = mvhg_util.nan_unless_valid(counts, valid)
        encodings = mvhg_util.nan_unless_valid(encodings, valid)
        counts = tf.transpose(counts, [1, 0, 2])
        encodings = tf.transpose(encodings, [1, 0, 2, 3])
        sample_batch = tf.concat([[num_samples], batch_shape], axis=0)
        counts = tf.reshape(counts, tf.concat([sample_batch, [num_groups]], 0))
        encodings = tf.reshape(
            encodings, tf.concat([sample_batch, [num_groups, length]], 0))
        return tf.cast(counts, dtype), tf.cast(encodings, dtype)


def _looped_conditionals(log_pmfs, log_suffix, suffix_sizes, noise, tau,
                         remaining, remaining_int, num_samples, hard):
    """The K - 1 conditionals for larger K: a loop without gradient, then one pass.

    1. The path of integer draws left, `r_k` before group `k` (with
       `hard=False` also the soft remainders), from a `tf.while_loop` over the
       conditionals on stop-gradient inputs: the sequential part, small and
       never differentiated.
    2. All K - 1 relaxed conditionals at once at that path, with their
       gradient: the values of the step-by-step computation, bit for bit
       eagerly, and no loop to differentiate (XLA compiles the gradient of a
       `tf.while_loop` into a second loop over stacked intermediates).

    Returns `(counts, encodings, remaining, remaining_int)` as the unrolled
    loop leaves them: lists of K - 1 `[B, S]` and `[B, S, L]` tensors, the
    (differentiable) remainder and its integer value.
    """
    num_groups = tf.compat.dimension_value(suffix_sizes.shape[-1])
    num_steps = num_groups - 1
    length = tf.compat.dimension_value(log_suffix.shape[-1])
    j = tf.range(length, dtype=tf.float64)
    fixed_pmfs = tf.stop_gradient(log_pmfs)
    fixed_suffix = tf.stop_gradient(log_suffix)
    fixed_noise = None if noise is None else tf.stop_gradient(noise)
    fixed_tau = tf.stop_gradient(tau)

    def body(k, remaining, remaining_int, int_ta, soft_ta):
        perturbed, soft = _conditional_step(
            k, fixed_pmfs, fixed_suffix, suffix_sizes, fixed_noise, fixed_tau,
            remaining, remaining_int, hard)
        if hard:
            remaining_int = remaining_int - _lowest_argmax(perturbed)
        else:
            remaining = remaining - tf.reduce_sum(j * soft, axis=-1)
            remaining_int = tf.cast(tf.round(remaining), tf.int32)
        return (k + 1, remaining, remaining_int,
                int_ta.write(k + 1, remaining_int), soft_ta.write(k + 1, remaining))

    fixed_remaining = tf.stop_gradient(remaining)
    loop_vars = (
        tf.constant(0), fixed_remaining, remaining_int,
        tf.TensorArray(tf.int32, size=num_groups,
                       element_shape=remaining_int.shape).write(0, remaining_int),
        tf.TensorArray(tf.float64, size=num_groups,
                       element_shape=remaining.shape).write(0, fixed_remaining))
    _, _, _, int_ta, soft_ta = tf.while_loop(
        lambda k, *_: k < num_steps, body, loop_vars, maximum_iterations=num_steps)
    path_int = tf.stop_gradient(int_ta.stack())                 # [K, B, S]
    path_soft = tf.stop_gradient(soft_ta.stack())               # [K, B, S]

    shape = tf.shape(remaining)                                 # [B, S]
    rows = lambda x: tf.reshape(tf.transpose(x[:, :num_steps], [1, 0, 2]),
                                [-1, length])                   # [(K-1) B, L]
    logits = mvhg_conditional_logits(
        rows(log_pmfs), rows(log_suffix),
        tf.reshape(path_int[:-1], tf.stack([-1, num_samples])))
    logits = tf.reshape(logits, tf.concat([[num_steps], shape, [length]], 0))
    rest = tf.transpose(suffix_sizes[:, :num_steps])[..., tf.newaxis, tf.newaxis]
    support, logits = _restrict(logits, path_soft[:-1], rest, hard)
    _, soft = _relax(logits, support, noise, tau)                # [K-1, B, S, L]
    if hard:
        first = path_int[:-1] - path_int[1:]                    # [K-1, B, S]
        y = straight_through(tf.one_hot(first, length, dtype=tf.float64), soft)
    else:
        y = soft
    step_counts = tf.reduce_sum(j * y, axis=-1)                 # [K-1, B, S]
    counts, encodings = [], []
    for k in range(num_steps):
        counts.append(step_counts[k])
        encodings.append(y[k])
        remaining = remaining - step_counts[k]
    return counts, encodings, remaining, path_int[-1]


def _conditional_step(k, log_pmfs, log_suffix, suffix_sizes, noise, tau,
                      soft_remaining, remaining_int, hard):
    """`(perturbed, soft)` of group `k`'s conditional at `remaining_int` draws left."""
    logits = mvhg_conditional_logits(
        _row(log_pmfs, k), _row(log_suffix, k), remaining_int)
    rest = _row(suffix_sizes, k)[:, tf.newaxis, tf.newaxis]
    support, logits = _restrict(logits, soft_remaining, rest, hard)
    return _relax(logits, support, None if noise is None else noise[k], tau)


def _restrict(logits, soft_remaining, rest, hard):
    """`(support, logits)` of a conditional `[..., L]`; soft counts kept feasible.

    With `hard=False`, `r - M_{>k} <= n_k <= r` for the soft remainder `r`
    (`soft_remaining`, `[...]`; `rest` is `M_{>k}`), falling back to the
    integer support where the two do not overlap.
    """
    neg_inf = tf.constant(-float("inf"), logits.dtype)
    support = logits > neg_inf
    if hard:
        return support, logits
    j = tf.range(_last_dim(logits), dtype=logits.dtype)
    soft_r = soft_remaining[..., tf.newaxis]
    feasible = support & (j <= soft_r) & (j >= soft_r - rest)
    support = tf.where(tf.reduce_any(feasible, axis=-1, keepdims=True), feasible, support)
    return support, tf.where(support, logits, neg_inf)


def _relax(logits, support, noise, temperature):
    """`(perturbed, soft)`: logits plus Gumbel `noise` (if any) and their tempered softmax."""
    neg_inf = tf.constant(-float("inf"), logits.dtype)
    perturbed = logits if noise is None else logits + noise
    safe = tf.where(support, perturbed, tf.zeros_like(perturbed))
    return perturbed, tf.nn.softmax(tf.where(support, safe / temperature, neg_inf))


def _lowest_argmax(perturbed):
    """The index of the largest entry of the last axis, ties to the lowest (Gumbel-max)."""
    length = _last_dim(perturbed)
    best = tf.reduce_max(perturbed, axis=-1, keepdims=True)
    return tf.reduce_min(
        tf.where(tf.equal(perturbed, best), tf.range(length), length), axis=-1)


def _last_dim(x):
    """The size of the last axis, a Python `int` when static."""
    return tf.compat.dimension_value(x.shape[-1]) or tf.shape(x)[-1]


def _row(values, k):
    """`values[:, k]` for a Python or a loop-variable `k`."""
    return values[:, k] if isinstance(k, int) else tf.gather(values, k, axis=1)
