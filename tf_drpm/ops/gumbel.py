"""Stateless standard Gumbel noise."""

import numpy as np
import tensorflow as tf

from tf_drpm.internal import seed_util

__all__ = ["sample_gumbel"]


def sample_gumbel(shape, seed, dtype=tf.float32, name=None):
    """Draws standard Gumbel noise with a stateless seed.

    #### Mathematical Details

    ```none
    b ~ uniform random integer of p bits      (p = 23 for float32, 52 for float64)
    u = (b + 1/2) / 2^p                       # u in (0, 1), exactly representable
    g = -log(-log(u))                         # g ~ Gumbel(loc=0, scale=1)
    ```

    The uniform is built from random integer bits (Philox), because TF's
    floating-point stateless samplers give different streams under XLA than in
    eager and graph mode; integer bits agree everywhere, so eager, `tf.function`
    and `jit_compile=True` draw the same noise. `g` is finite: the lower tail
    is cut where `P(g < -log(-log(2^-(p+1))))`, about 6e-8 in float32 and
    2e-16 in float64, and the upper end is `-log(-log(1 - 2^-(p+1)))`.

    Args:
      shape: A 1-D integer tensor or Python list, the shape of the output.
      seed: A stateless seed: a shape-[2] integer tensor (or a Python int,
        which is turned into one by `tfp.random.sanitize_seed`).
      dtype: A floating `tf.DType`. Default: `tf.float32`.
      name: Optional name scope.

    Returns:
      gumbel: A `Tensor` of `shape` and `dtype`.

    #### Examples

    ```python
    g = sample_gumbel([4, 3], seed=[1, 2], dtype=tf.float64)  # Shape [4, 3]
    ```

    #### References

    [1]: Chris J. Maddison, Daniel Tarlow, Tom Minka. A* Sampling. NeurIPS 2014.
    """
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(
            f"`dtype` must be a floating dtype. Received: dtype={dtype.name}")
    if dtype not in (tf.float32, tf.float64):  # half precision: draw in float32
        return tf.cast(sample_gumbel(shape, seed, tf.float32, name), dtype)
    with tf.name_scope(name or "sample_gumbel"):
        seed = seed_util.sanitize_seed(seed)
        bits_dtype = tf.uint64 if dtype == tf.float64 else tf.uint32
        bits = tf.random.stateless_uniform(
            shape, seed=seed, minval=None, maxval=None, dtype=bits_dtype, alg="philox")
        uniform = _open_unit_interval(bits, dtype)
        return -tf.math.log(-tf.math.log(uniform))


def _open_unit_interval(bits, dtype):
    """Maps uniform random integer bits to `(b + 1/2) / 2^p` in the open interval (0, 1).

    `p` is the number of mantissa bits of `dtype` (23 or 52), so every value,
    `1 - 2^-(p+1)` included, is exactly representable and never rounds to 1.
    """
    total_bits = bits.dtype.size * 8
    mantissa_bits = np.finfo(dtype.as_numpy_dtype).nmant
    shifted = tf.bitwise.right_shift(bits, tf.constant(total_bits - mantissa_bits, bits.dtype))
    return (tf.cast(shifted, dtype) + 0.5) * (2.0 ** -mantissa_bits)
