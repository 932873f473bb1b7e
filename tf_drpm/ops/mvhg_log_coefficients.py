"""Log-space helpers for Fisher's multivariate noncentral hypergeometric law.

Notation: `K` groups with sizes `m_k` (`group_sizes`), weights
`w_k = exp(log_weights_k)` and `N` draws (`total_count`). The pmf is

```none
p(n) = prod_k C(m_k, n_k) w_k^n_k / P_N,     sum_k n_k = N,  0 <= n_k <= m_k
P_N  = [x^N] prod_k (1 + w_k x)^m_k
```

and the exact sequential conditionals (canonical order k = 1..K) are

```none
p(n_k = j | n_<k) = C(m_k, j) w_k^j G_{k+1}(r - j) / G_k(r),
G_k(t)            = [x^t] prod_{l >= k} (1 + w_l x)^m_l,   r = N - sum_{l<k} n_l.
```

Two exact ways to get these numbers live here:

* `mvhg_log_coefficients`: the log-space dynamic programme, `K` truncated
  polynomial products by `log_convolve`, `O(K N^2)`: exact to rounding in
  relative terms for every coefficient. The reference.
* `mvhg_tilted_log_pmfs` / `mvhg_log_normalizer`: exponential tilting plus
  FFT, `O(K N log N)`. For every `theta > 0`, the MVHG equals independent
  `X_k ~ Binomial(m_k, p_k)`, `p_k = theta w_k / (1 + theta w_k)`, conditioned
  on `sum_k X_k = N`, and

  ```none
  G_k(t) = P_theta(S_k = t) prod_{l>=k} (1 + theta w_l)^m_l / theta^t,
  S_k    = sum_{l >= k} X_l.
  ```

  `theta` is solved (under `stop_gradient`; every quantity below is
  `theta`-invariant) so that `E_theta[S_1] = N`. Then `P_theta(S_1 = N)` is the
  mode of a log-concave law (Darroch 1964), at least about
  `1 / sqrt(12 Var + 1)`, and the pmfs of the suffix sums `S_k` come from one
  batched real FFT of the binomial pmfs. FFT values carry an absolute error
  of about 1e-16 (as probabilities), so they are exact in relative terms
  wherever the tilted mass is not negligible: at `P_theta(S_1 = N)` (the
  normaliser) and on the bulk that sequential sampling visits. The FFT
  length `D >= N + 1 + x` with `x^2 >= 92 (N + x / 3)` makes the aliased
  and truncated mass below `exp(-46)` by Bernstein's inequality
  (`E_theta[S_k] <= N`, `Var_theta[S_k] <= N`).
"""

import math

import numpy as np
import tensorflow as tf

from tf_drpm.internal import mvhg_util
from tf_drpm.ops.log_convolve import log_convolve

__all__ = [
    "log_binomial_coefficients",
    "mvhg_conditional_logits",
    "mvhg_fft_length",
    "mvhg_log_coefficients",
    "mvhg_log_normalizer",
    "mvhg_log_tilt",
    "mvhg_mean",
    "mvhg_tilted_log_pmfs",
]

_NEG_INF = -float("inf")
_TINY64 = float(np.finfo(np.float64).tiny)


def _length(max_count):
    """Returns `max_count + 1` as a Python int when static, else a tensor."""
    static = tf.get_static_value(max_count)
    if static is not None:
        return int(static) + 1
    return tf.cast(max_count, tf.int32) + 1


def _fast_size(n):
    """Smallest `2^a 3^b 5^c >= n` (an FFT-friendly length)."""
    best = 1
    while best < n:
        best *= 2
    p3 = 1
    while p3 < 2 * n:
        p5 = p3
        while p5 < 2 * n:
            p2 = p5
            while p2 < n:
                p2 *= 2
            best = min(best, p2)
            p5 *= 5
        p3 *= 3
    return best


def mvhg_fft_length(max_count):
    """FFT length `D` used by `mvhg_tilted_log_pmfs` for `N = max_count`.

    #### Mathematical Details

    ```none
    x = ceil((92 / 3 + sqrt((92 / 3)^2 + 4 * 92 N)) / 2)   # x^2 >= 92 (N + x/3)
    D = smallest 2^a 3^b 5^c >= N + 1 + x
    ```

    Args:
      max_count: Python `int`, the largest number of draws `N`.

    Returns:
      fft_length: Python `int`.
    """
    n = int(max_count)
    c = 92. / 3.
    margin = math.ceil((c + math.sqrt(c * c + 4. * 92. * n)) / 2.)
    return _fast_size(n + 1 + margin)


def log_binomial_coefficients(group_sizes, length, name=None):
    """Log binomial coefficients `log C(m_k, j)` for `j = 0..length-1`.

    #### Mathematical Details

    ```none
    log C(m, j) = lgamma(m + 1) - lgamma(j + 1) - lgamma(m - j + 1)   j <= m
                = -inf                                                j > m
    ```

    (`lgamma(j + 1)` is a constant table when `length` is static; no
    cumulative sum, which XLA on CPU lowers to a quadratic reduce-window.)

    Args:
      group_sizes: A floating `Tensor` `[...]` of non-negative integer values.
      length: Python `int` or scalar integer `Tensor`, the number of
        coefficients.
      name: Optional name scope.

    Returns:
      log_binomial: A `Tensor` `[..., length]` of `group_sizes`' dtype.

    #### Examples

    ```python
    tf.exp(log_binomial_coefficients(tf.constant([3.]), 5))
    # [[1., 3., 3., 1., 0.]]                              # Shape [1, 5]
    ```
    """
    with tf.name_scope(name or "log_binomial_coefficients"):
        m = tf.stop_gradient(tf.convert_to_tensor(group_sizes))
        dtype = m.dtype
        j = tf.range(length, dtype=dtype)
        static_length = tf.get_static_value(length)
        if static_length is not None:
            log_j_factorial = tf.constant(
                [math.lgamma(i + 1.) for i in range(int(static_length))],
                dtype=dtype)
        else:
            log_j_factorial = tf.math.lgamma(j + 1.)
        m_ = m[..., tf.newaxis]
        valid = j <= m_
        rest = tf.where(valid, m_ - j, tf.zeros_like(m_ - j))
        log_c = (tf.math.lgamma(m_ + 1.) - log_j_factorial -
                 tf.math.lgamma(rest + 1.))
        return tf.where(valid, log_c, tf.constant(_NEG_INF, dtype))


def mvhg_log_coefficients(group_sizes, log_weights, max_count, name=None):
    """Exact log suffix coefficients `log G_k(t)` by a log-space programme.

    #### Mathematical Details

    ```none
    G_k(t)     = [x^t] prod_{l >= k} (1 + w_l x)^m_l,  t = 0..max_count
    G_{K+1}(t) = 1 if t == 0 else 0
    G_k        = (C(m_k, .) w_k^.) * G_{k+1}       (truncated convolution)
    ```

    Every term of every convolution is evaluated in log space
    (`log_convolve`), so each coefficient is exact to rounding in relative
    terms however small it is. Cost `O(K L^2)` time and `O(L^2)` memory per
    batch member, `L = max_count + 1`: the reference for the FFT path.

    Args:
      group_sizes: A floating `Tensor` `[..., K]` of non-negative integers.
      log_weights: A floating `Tensor` `[..., K]` of finite log-weights.
      max_count: Python `int` or scalar integer `Tensor`, the largest `t`.
      name: Optional name scope.

    Returns:
      log_suffix_coefficients: A `Tensor` `[..., K + 1, max_count + 1]`;
        entry `[..., k, t]` is `log G_{k+1}(t)` (0-based `k`), the last row
        is `log G_{K+1}` (`0` at `t = 0`, `-inf` elsewhere).

    #### Examples

    ```python
    log_g = mvhg_log_coefficients(tf.constant([2., 1.], tf.float64),
                                  tf.zeros([2], tf.float64), max_count=3)
    tf.exp(log_g)   # [[1, 3, 3, 1], [1, 1, 0, 0], [1, 0, 0, 0]]  Shape [3, 4]
    ```

    #### References

    [1]: Agner Fog. Sampling methods for Wallenius' and Fisher's noncentral
         hypergeometric distributions. Communications in Statistics -
         Simulation and Computation, 37(2), 2008.
    """
    with tf.name_scope(name or "mvhg_log_coefficients"):
        log_weights = tf.convert_to_tensor(log_weights, name="log_weights")
        dtype = log_weights.dtype
        group_sizes = tf.convert_to_tensor(
            group_sizes, dtype=dtype, name="group_sizes")
        shape = tf.broadcast_dynamic_shape(
            tf.shape(group_sizes), tf.shape(log_weights))
        group_sizes = tf.broadcast_to(group_sizes, shape)
        log_weights = tf.broadcast_to(log_weights, shape)
        num_groups = tf.compat.dimension_value(log_weights.shape[-1])
        if num_groups is None:
            raise ValueError("The number of groups K must be static.")
        length = _length(max_count)
        j = tf.range(length, dtype=dtype)
        log_factors = (log_binomial_coefficients(group_sizes, length) +
                       j * log_weights[..., tf.newaxis])       # [..., K, L]
        log_factors = tf.where(tf.math.is_finite(log_factors), log_factors,
                               tf.constant(_NEG_INF, dtype))
        last = tf.where(tf.equal(j, 0.), tf.zeros_like(j),
                        tf.constant(_NEG_INF, dtype))
        suffix = [tf.broadcast_to(last, tf.shape(log_factors[..., 0, :]))]
        for k in reversed(range(num_groups)):
            suffix.append(log_convolve(log_factors[..., k, :], suffix[-1]))
        return tf.stack(suffix[::-1], axis=-2)


def mvhg_log_tilt(total_count, group_sizes, log_weights, name=None):
    """Solves `sum_k m_k sigmoid(u + log w_k) = N` for the log-tilt `u`.

    #### Mathematical Details

    `u = log theta` makes the tilted binomials `Binomial(m_k, sigmoid(u +
    log w_k))` have total mean `N`. Three rounds of a 64-point grid
    bisection on a bracket that provably holds the root (or its limit for
    `N = 0` and `N = sum m_k`) and two Newton steps; the result is under
    `stop_gradient`. Its precision only affects the FFT's numerical
    accuracy margin, never the exactness of the conditionals.

    Args:
      total_count: A float64 `Tensor` `[...]`.
      group_sizes: A float64 `Tensor` `[..., K]`.
      log_weights: A float64 `Tensor` `[..., K]`.
      name: Optional name scope.

    Returns:
      log_tilt: A float64 `Tensor` `[...]`.
    """
    with tf.name_scope(name or "mvhg_log_tilt"):
        n = tf.stop_gradient(total_count)
        m = tf.stop_gradient(group_sizes)
        a = tf.stop_gradient(log_weights)
        total = tf.reduce_sum(m, axis=-1)
        log_total = tf.math.log(tf.maximum(total, 1.))
        lo = -tf.reduce_max(a, axis=-1) - log_total - 40.
        hi = -tf.reduce_min(a, axis=-1) + log_total + 40.
        grid_size = 64
        steps = tf.range(grid_size + 1, dtype=a.dtype) / grid_size

        def mean_at(u):
            # u: [..., G]; returns [..., G]
            return tf.reduce_sum(
                m[..., tf.newaxis, :] *
                tf.sigmoid(u[..., tf.newaxis] + a[..., tf.newaxis, :]),
                axis=-1)

        for _ in range(3):
            grid = lo[..., tf.newaxis] + (hi - lo)[..., tf.newaxis] * steps
            below = tf.cast(mean_at(grid) < n[..., tf.newaxis], tf.int32)
            num_below = tf.reduce_sum(below, axis=-1)
            lo_idx = tf.maximum(num_below - 1, 0)
            hi_idx = tf.minimum(num_below, grid_size)
            new_lo = tf.gather(grid, lo_idx, batch_dims=len(lo.shape))
            new_hi = tf.gather(grid, hi_idx, batch_dims=len(lo.shape))
            lo, hi = new_lo, new_hi
        u = 0.5 * (lo + hi)
        for _ in range(2):
            p = tf.sigmoid(u[..., tf.newaxis] + a)
            f = tf.reduce_sum(m * p, axis=-1) - n
            df = tf.reduce_sum(m * p * (1. - p), axis=-1)
            ok = df > 0.
            step = tf.where(ok, f / tf.where(ok, df, tf.ones_like(df)), 0.)
            u = tf.clip_by_value(u - step, lo, hi)
        return tf.stop_gradient(u)


def _tilted_binomial_log_pmfs(group_sizes, log_weights, log_tilt, length,
                              log_c=None):
    """`log Binomial(j; m_k, sigmoid(u + log w_k))`, `[..., K, length]`.

    `log_c` (broadcastable `log C(m_k, j)`) may be passed precomputed on the
    unbroadcast `group_sizes`.
    """
    dtype = log_weights.dtype
    j = tf.range(length, dtype=dtype)
    logit = log_tilt[..., tf.newaxis] + log_weights                # [..., K]
    log_p = -tf.nn.softplus(-logit)[..., tf.newaxis]
    log_q = -tf.nn.softplus(logit)[..., tf.newaxis]
    m = tf.stop_gradient(group_sizes)[..., tf.newaxis]
    if log_c is None:
        log_c = log_binomial_coefficients(group_sizes, length)
    valid = j <= m
    tail = tf.where(valid, m - j, tf.zeros_like(m - j))
    values = log_c + j * log_p + tail * log_q
    return tf.where(valid, values, tf.constant(_NEG_INF, dtype))


def mvhg_tilted_log_pmfs(total_count, group_sizes, log_weights, max_count,
                         first_row=0, name=None):
    """Tilted binomial log-pmfs and the log-pmfs of their suffix sums (FFT).

    #### Mathematical Details

    With `u = mvhg_log_tilt(N, m, log w)`, `p_k = sigmoid(u + log w_k)`,
    `X_k ~ Binomial(m_k, p_k)` independent and `S_k = sum_{l >= k} X_l`:

    ```none
    log_binomial_pmfs[..., k, j] = log P(X_k = j)           j = 0..L-1
    log_suffix_pmfs[..., k, t]   = log P(S_k = t)           t = 0..L-1
    log_suffix_pmfs[..., K, t]   = 0 if t == 0 else -inf    (empty sum)
    P(S_k = .) = irfft( prod_{l >= k} rfft(P(X_l = .)[:L], D) )[:L]
    ```

    (each pmf truncated to `j < L`, zero-padded to the FFT length `D`: the
    coefficients `t < L` of a product involve no larger `j`).

    All internal arithmetic is float64 and complex128. FFT values below the
    smallest normal float64 (round-off noise, about 1e-16 absolute at most)
    are floored there inside the support `t <= sum_{l>=k} m_l`; outside the
    support the log-pmf is exactly `-inf`. With `first_row >= K - 1` (the
    sampler at `K = 2`) no suffix sum needs an FFT: the one row left is the
    last group's own binomial log-pmf, `S_K = X_K`, exact in relative terms
    on its whole support, and the tilt is not solved for: `u = -mean_k log
    w_k`, which gives the same conditionals (any `theta` does) and keeps the
    logits of shifted log-weights near 0. The exact conditionals are

    ```none
    p(n_k = j | r) = P(X_k = j) P(S_{k+1} = r - j) / P(S_k = r)
    ```

    (`theta` cancels), see `mvhg_conditional_logits`. Gradients flow to
    `log_weights` through the binomial pmfs and the FFTs.

    Args:
      total_count: A floating `Tensor` `[...]` of integer values `N`.
      group_sizes: A floating `Tensor` `[..., K]` of integer values `m_k`.
      log_weights: A floating `Tensor` `[..., K]`.
      max_count: Python `int` (or a static scalar tensor) `>= max(N)`; sets
        `L = max_count + 1` and the FFT length.
      first_row: Python `int` in `[0, K]`; only the suffix rows
        `first_row..K` are computed and returned (the sequential sampler
        needs rows `1..K`).
      name: Optional name scope.

    Returns:
      log_tilt: float64 `Tensor` `[...]`, `u = log theta` (the solved tilt,
        or `-mean_k log w_k` when `first_row >= K - 1`).
      log_binomial_pmfs: float64 `Tensor` `[..., K, L]`.
      log_suffix_pmfs: float64 `Tensor` `[..., K + 1 - first_row, L]`, rows
        `first_row..K`.

    #### Examples

    ```python
    u, log_b, log_s = mvhg_tilted_log_pmfs(
        tf.constant(6.), tf.fill([3], 6.), tf.math.log([1., 5., .2]), 6)
    # u: [], log_b: [3, 7], log_s: [4, 7]
    ```
    """
    with tf.name_scope(name or "mvhg_tilted_log_pmfs"):
        num_groups = tf.compat.dimension_value(
            tf.convert_to_tensor(log_weights).shape[-1])
        if num_groups is None:
            num_groups = tf.compat.dimension_value(
                tf.convert_to_tensor(group_sizes).shape[-1])
        convolve = num_groups is None or first_row < num_groups - 1
        (batch_shape, group_sizes, num_groups, length, fft_length, log_tilt,
         log_pmfs) = _tilted_setup(total_count, group_sizes, log_weights,
                                   max_count, solve_tilt=convolve)
        t = tf.range(length, dtype=tf.float64)
        empty = tf.where(tf.equal(t, 0.), tf.zeros_like(t),
                         tf.constant(_NEG_INF, tf.float64))
        empty = tf.broadcast_to(
            empty, tf.concat([batch_shape, [1, length]], axis=0))
        if not convolve:
            rows = [log_pmfs[..., num_groups - 1:, :]] if first_row < num_groups else []
            return log_tilt, log_pmfs, tf.concat(rows + [empty], axis=-2)
        spectra = tf.signal.rfft(
            tf.exp(log_pmfs[..., first_row:, :]),
            fft_length=[fft_length])                   # [..., K - first_row, F]
        suffix = [None] * num_groups
        running = spectra[..., num_groups - 1 - first_row, :]
        suffix[num_groups - 1] = running
        for k in reversed(range(first_row, num_groups - 1)):
            running = running * spectra[..., k - first_row, :]
            suffix[k] = running
        suffix = tf.stack(suffix[first_row:], axis=-2)          # [..., R, F]
        pmfs = tf.signal.irfft(suffix, fft_length=[fft_length])[..., :length]
        # Support of S_k: t <= sum_{l >= k} m_l.
        sizes = tf.stop_gradient(group_sizes)
        suffix_sizes = tf.cumsum(sizes, axis=-1, reverse=True)  # [..., K]
        suffix_sizes = suffix_sizes[..., first_row:]
        in_support = t <= suffix_sizes[..., tf.newaxis]
        log_suffix = tf.where(
            in_support, tf.math.log(tf.maximum(pmfs, _TINY64)),
            tf.constant(_NEG_INF, tf.float64))
        log_suffix = tf.concat([log_suffix, empty], axis=-2)
        return log_tilt, log_pmfs, log_suffix


def _tilted_setup(total_count, group_sizes, log_weights, max_count,
                  solve_tilt=True):
    """Shared set-up: float64 parameters, the tilt and the binomial log-pmfs.

    Returns `(batch_shape, group_sizes [..., K], K, L, D, log_tilt [...],
    log_pmfs [..., K, L])`, the pmfs truncated to `j < L` (an FFT of length
    `D` zero-pads them). With `solve_tilt=False` (no FFT follows) the tilt is
    `-mean_k log w_k` and `D = L`.
    """
    log_weights = tf.cast(tf.convert_to_tensor(log_weights), tf.float64)
    group_sizes = tf.cast(tf.convert_to_tensor(group_sizes), tf.float64)
    total_count = tf.cast(tf.convert_to_tensor(total_count), tf.float64)
    batch_shape = tf.broadcast_dynamic_shape(
        tf.shape(total_count),
        tf.broadcast_dynamic_shape(tf.shape(group_sizes)[:-1],
                                   tf.shape(log_weights)[:-1]))
    num_groups = tf.compat.dimension_value(log_weights.shape[-1])
    if num_groups is None:
        num_groups = tf.compat.dimension_value(group_sizes.shape[-1])
    if num_groups is None:
        raise ValueError("The number of groups K must be static.")
    full = tf.concat([batch_shape, [num_groups]], axis=0)
    static_max = tf.get_static_value(max_count)
    if static_max is None:
        raise ValueError(
            "`max_count` must be static (a Python int or a constant). "
            f"Received: max_count={max_count}")
    length = int(static_max) + 1
    fft_length = mvhg_fft_length(int(static_max)) if solve_tilt else length
    # log C(m_k, j) on the unbroadcast sizes (often shared by the batch). Only
    # j < L: coefficients t < L of a product need no larger j (rfft pads).
    log_c = log_binomial_coefficients(group_sizes, length)
    log_weights = tf.broadcast_to(log_weights, full)
    group_sizes = tf.broadcast_to(group_sizes, full)
    total_count = tf.broadcast_to(total_count, batch_shape)
    if solve_tilt:
        log_tilt = mvhg_log_tilt(total_count, group_sizes, log_weights)
    else:
        log_tilt = -tf.reduce_mean(tf.stop_gradient(log_weights), axis=-1)
    log_pmfs = _tilted_binomial_log_pmfs(
        group_sizes, log_weights, log_tilt, length,
        log_c=log_c)                                           # [..., K, L]
    return (batch_shape, group_sizes, num_groups, length, fft_length,
            log_tilt, log_pmfs)


def mvhg_log_normalizer(total_count, group_sizes, log_weights, max_count=None,
                        name=None):
    """Exact `log P_N = log [x^N] prod_k (1 + w_k x)^m_k` (tilting + FFT).

    #### Mathematical Details

    ```none
    log P_N = -N u + sum_k m_k softplus(u + log w_k) + log P_theta(S_1 = N)
    ```

    with `u = log theta` from `mvhg_log_tilt` (so `N` is the mode of `S_1`
    and `P_theta(S_1 = N)` is not small) and `P_theta(S_1 = N)` from the FFT
    of the tilted binomial pmfs. Relative accuracy about 1e-13 for any
    finite log-weights (checked against `mvhg_log_coefficients`).
    `d log P_N / d log w_k = E[n_k]`.

    Args:
      total_count: A floating `Tensor` `[...]` of integer values.
      group_sizes: A floating `Tensor` `[..., K]` of integer values.
      log_weights: A floating `Tensor` `[..., K]`; its dtype is the output
        dtype (internally float64).
      max_count: Optional static Python `int` `>= max(total_count)`; default
        the static value of `max(total_count)` (which must then be known).
      name: Optional name scope.

    Returns:
      log_normalizer: A `Tensor` `[...]` (broadcast batch shape).

    #### Examples

    ```python
    mvhg_log_normalizer(6., [6., 6., 6.], tf.math.log([1., 5., .2]))  # Shape []
    ```
    """
    with tf.name_scope(name or "mvhg_log_normalizer"):
        log_weights = tf.convert_to_tensor(log_weights, name="log_weights")
        dtype = log_weights.dtype
        total_count = tf.convert_to_tensor(total_count, dtype=dtype)
        group_sizes = tf.convert_to_tensor(group_sizes, dtype=dtype)
        if max_count is None:
            max_count = _static_max_count(total_count)
        finite = mvhg_util.finite_log_weights(log_weights)
        log_weights = mvhg_util.safe_log_weights(log_weights, finite)
        (_, m, _, _, fft_length, log_tilt, log_pmfs) = _tilted_setup(
            total_count, group_sizes, log_weights, max_count)
        # P_theta(S_1 = t): one inverse FFT of the product of all spectra.
        spectra = tf.signal.rfft(tf.exp(log_pmfs), fft_length=[fft_length])
        # A static loop, not reduce_prod: the gradient of a complex
        # reduce_prod uses Cumprod, which XLA does not support.
        total_spectrum = spectra[..., 0, :]
        for k in range(1, spectra.shape[-2]):
            total_spectrum = total_spectrum * spectra[..., k, :]
        pmf = tf.signal.irfft(total_spectrum, fft_length=[fft_length])
        n = tf.broadcast_to(tf.cast(total_count, tf.float64),
                            tf.shape(log_tilt))
        a = tf.cast(log_weights, tf.float64)
        index = tf.clip_by_value(tf.cast(tf.round(n), tf.int32), 0, fft_length - 1)
        mass = _gather_last(pmf, index)
        log_mass = tf.math.log(tf.maximum(mass, _TINY64))
        result = (-n * log_tilt +
                  tf.reduce_sum(m * tf.nn.softplus(log_tilt[..., tf.newaxis] +
                                                   a), axis=-1) +
                  log_mass)
        # Invalid parameters known only at run time: NaN, not a number.
        valid = mvhg_util.valid_parameters(n, m, tf.get_static_value(max_count)) & finite
        result = mvhg_util.nan_unless_valid(
            result, tf.broadcast_to(valid, tf.shape(result)))
        return tf.cast(result, dtype)


def mvhg_mean(total_count, group_sizes, log_weights, max_count=None,
              name=None):
    """Exact mean `E[n_k]` of the MVHG (tilting + FFT).

    #### Mathematical Details

    ```none
    E[n_k] = sum_j j P(X_k = j) P(S_{-k} = N - j) / P(S_1 = N)
    ```

    with the tilted binomials `X_k` of `mvhg_tilted_log_pmfs` and
    `S_{-k} = sum_{l != k} X_l`; the numerator is the coefficient `N` of
    `irfft(rfft(j P(X_k = j)) prod_{l != k} rfft(P(X_l = .)))`. Absolute
    accuracy about `1e-13 N`. NaN where `N` is not an integer in
    `[0, sum_k m_k]` (or the `m_k` are not non-negative integers).

    Args:
      total_count: A floating `Tensor` `[...]` of integer values.
      group_sizes: A floating `Tensor` `[..., K]` of integer values.
      log_weights: A floating `Tensor` `[..., K]`.
      max_count: Optional static Python `int` `>= max(total_count)`.
      name: Optional name scope.

    Returns:
      mean: A `Tensor` `[..., K]` of `log_weights`' dtype.

    #### Examples

    ```python
    mvhg_mean(6., [6., 6., 6.], tf.math.log([1., 5., .2]))  # ~[1.58, 4.01, 0.41]
    ```
    """
    with tf.name_scope(name or "mvhg_mean"):
        log_weights = tf.convert_to_tensor(log_weights, name="log_weights")
        dtype = log_weights.dtype
        total_count = tf.convert_to_tensor(total_count, dtype=dtype)
        group_sizes = tf.convert_to_tensor(group_sizes, dtype=dtype)
        if max_count is None:
            max_count = _static_max_count(total_count)
        a = tf.cast(log_weights, tf.float64)
        m = tf.cast(group_sizes, tf.float64)
        n = tf.cast(total_count, tf.float64)
        batch_shape = tf.broadcast_dynamic_shape(
            tf.shape(n), tf.broadcast_dynamic_shape(tf.shape(m)[:-1],
                                                    tf.shape(a)[:-1]))
        num_groups = tf.compat.dimension_value(a.shape[-1])
        full = tf.concat([batch_shape, [num_groups]], axis=0)
        a = tf.broadcast_to(a, full)
        m = tf.broadcast_to(m, full)
        n = tf.broadcast_to(n, batch_shape)
        length = int(tf.get_static_value(max_count)) + 1
        # Invalid parameters known only at run time: computed as zeros, NaN at the end.
        valid = mvhg_util.valid_parameters(n, m, length - 1) & mvhg_util.finite_log_weights(a)
        n, m = mvhg_util.safe_parameters(n, m, valid)
        a = mvhg_util.safe_log_weights(a, valid)
        fft_length = mvhg_fft_length(length - 1)
        log_tilt = mvhg_log_tilt(n, m, a)
        pmfs = tf.exp(_tilted_binomial_log_pmfs(m, a, log_tilt, length))
        j = tf.range(length, dtype=tf.float64)
        spectra = tf.signal.rfft(pmfs, fft_length=[fft_length])
        weighted = tf.signal.rfft(j * pmfs, fft_length=[fft_length])
        ones = tf.ones_like(spectra[..., 0, :])
        prefix = [ones]
        for k in range(num_groups - 1):
            prefix.append(prefix[-1] * spectra[..., k, :])
        suffix = [ones]
        for k in reversed(range(1, num_groups)):
            suffix.append(suffix[-1] * spectra[..., k, :])
        suffix = suffix[::-1]
        others = tf.stack([p * s for p, s in zip(prefix, suffix)], axis=-2)
        numerators = tf.signal.irfft(weighted * others,
                                     fft_length=[fft_length])  # [..., K, D]
        totals = tf.signal.irfft(others[..., 0, :] * spectra[..., 0, :],
                                 fft_length=[fft_length])      # [..., D]
        index = tf.cast(tf.round(n), tf.int32)
        numerator = _gather_last(
            numerators, tf.broadcast_to(index[..., tf.newaxis], full[:]))
        denominator = _gather_last(totals, index)
        mean = numerator / denominator[..., tf.newaxis]
        mean = tf.clip_by_value(mean, 0., m)
        mean = mvhg_util.nan_unless_valid(mean, valid)
        return tf.cast(mean, dtype)


def mvhg_conditional_logits(log_binomial_pmf, log_suffix_pmf, remaining,
                            name=None):
    """Unnormalised log conditionals `log p(n_k = j | r)`, `j = 0..L-1`.

    #### Mathematical Details

    ```none
    logits[j] = log P(X_k = j) + log P(S_{k+1} = r - j)   for j <= r
              = -inf                                       otherwise
    ```

    Equal to `log p(n_k = j | n_<k)` up to a constant in `j` (see
    `mvhg_tilted_log_pmfs`); `-inf` outside the support. The shifted,
    reversed window of the suffix pmf is one gather per row; no gradient
    flows to `remaining`.

    Args:
      log_binomial_pmf: float `Tensor` `[B, L]`, group `k`'s row of
        `log_binomial_pmfs`.
      log_suffix_pmf: float `Tensor` `[B, L]`, row `k + 1` of
        `log_suffix_pmfs`.
      remaining: integer `Tensor` `[B, S]`, the draws left `r` (in `[0, L)`)
        for `S` samples per batch member.
      name: Optional name scope.

    Returns:
      logits: `Tensor` `[B, S, L]`.
    """
    with tf.name_scope(name or "mvhg_conditional_logits"):
        length = tf.compat.dimension_value(log_suffix_pmf.shape[-1])
        if length is None:
            length = tf.shape(log_suffix_pmf)[-1]
        dtype = log_suffix_pmf.dtype
        reversed_pmf = tf.reverse(log_suffix_pmf, axis=[-1])
        padded = tf.concat(
            [reversed_pmf, tf.fill(tf.shape(reversed_pmf),
                                   tf.constant(_NEG_INF, dtype))],
            axis=-1)                                            # [B, 2L]
        remaining = tf.clip_by_value(tf.cast(remaining, tf.int32), 0,
                                     length - 1)
        window = _shifted_windows(padded, length - 1 - remaining, length)
        return log_binomial_pmf[:, tf.newaxis, :] + window    # [B, S, L]


def _shifted_windows(values, offsets, length):
    """`values[b, offsets[b, s] + t]`, `t < length`: `[B, 2L]`, `[B, S]` -> `[B, S, L]`.

    The gradient is a gather too (of the zero-padded upstream), not the
    scatter-add of `tf.gather`'s gradient, which XLA on CPU runs serially;
    each entry receives the same upstream values.
    """
    index = offsets[..., tf.newaxis] + tf.range(length)               # [B, S, L]

    @tf.custom_gradient
    def windows(values):
        def grad(upstream):
            # d values[b, p] = sum_s upstream[b, s, p - offsets[b, s]] (if in range).
            zeros = tf.zeros_like(upstream)
            extended = tf.concat([zeros, upstream, zeros], axis=-1)   # [B, S, 3L]
            back = (length - offsets)[..., tf.newaxis] + tf.range(2 * length)
            shifted = tf.gather(extended, back, batch_dims=2)         # [B, S, 2L]
            return tf.reduce_sum(shifted, axis=1)
        return tf.gather(values, index, batch_dims=1), grad

    return windows(values)


def _gather_last(values, index):
    """`values[..., index]` with `index` of shape `values.shape[:-1]`."""
    return tf.gather(values, index[..., tf.newaxis],
                     batch_dims=len(index.shape))[..., 0]


def _static_max_count(total_count):
    value = tf.get_static_value(total_count)
    if value is None:
        raise ValueError(
            "`total_count` must be statically known (or `max_count` given) "
            "to size the support. Received: a dynamic total_count tensor.")
    return int(np.round(np.max(value))) if np.size(value) else 0

