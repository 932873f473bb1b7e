"""Small dtype helpers shared by tf_drpm ops and distributions.

These replace the private `tensorflow_probability.python.internal.dtype_util`
and `tensor_util` helpers with a few lines built on public APIs.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

__all__ = [
        "common_dtype",
        "convert_nonref_to_tensor",
        "element_mask",
        "eps",
        "is_ref",
        "masked_logit",
        "tiny",
        "wide_dtype",
]

_HALF_DTYPES = (tf.float16, tf.bfloat16)


def _dtype_of(value):
    """Returns the `tf.DType` of a tensor-like `value`, or `None` for Python."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, complex)):
        return None
    if isinstance(value, (list, tuple)):
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return None
    return tf.as_dtype(dtype)


def common_dtype(args, dtype_hint=None):
    """Returns the common floating `tf.DType` of `args`.

    Python numbers, lists and `None` carry no dtype and are skipped; tensors,
    variables and NumPy arrays must all agree.

    Args:
        args: A list of tensors, variables, NumPy arrays, Python numbers or `None`.
        dtype_hint: The `tf.DType` returned when no argument carries a dtype.
            Default: `tf.float32`.

    Returns:
        dtype: A `tf.DType`.

    Raises:
        TypeError: If two arguments carry different dtypes, or the common
            dtype is not floating point.
    """
    dtype = None
    for value in args:
        value_dtype = _dtype_of(value)
        if value_dtype is None:
            continue
        if value_dtype.is_integer or value_dtype.is_bool:
            # Integer arrays (e.g. `np.array([1, 2])`) follow the others.
            continue
        if dtype is None:
            dtype = value_dtype
        elif dtype != value_dtype:
            raise TypeError(
                "Arguments must share one dtype. "
                f"Received: {dtype.name} and {value_dtype.name}.")
    if dtype is None:
        dtype = tf.as_dtype(dtype_hint or tf.float32)
    if not dtype.is_floating:
        raise TypeError(
            f"Expected a floating dtype. Received: dtype={dtype.name}.")
    return dtype


def is_ref(value):
    """Returns `True` if `value` is a variable-like object to keep unconverted."""
    if isinstance(value, (tf.Variable, tfp.util.DeferredTensor)):
        return True
    return (isinstance(value, tf.Module) and hasattr(value, "dtype") and
            hasattr(value, "shape"))


def convert_nonref_to_tensor(value, dtype, name=None):
    """Converts `value` to a `Tensor` of `dtype`, keeping variables as they are.

    Keeping `tf.Variable`s (and `tfp.util.DeferredTensor`s) unconverted lets a
    distribution read their current value each time it is used, as TFP does.

    Args:
        value: A tensor-like value, a `tf.Variable` or `None`.
        dtype: The `tf.DType` to convert to.
        name: Optional name of the converted tensor.

    Returns:
        tensor: `value` itself if it is a variable, else a `Tensor` (or `None`).

    Raises:
        TypeError: If a variable's dtype differs from `dtype`.
    """
    if value is None:
        return None
    if is_ref(value):
        if tf.as_dtype(value.dtype) != tf.as_dtype(dtype):
            raise TypeError(
                f"Argument `{name}` must have dtype "
                f"{tf.as_dtype(dtype).name}. "
                f"Received: dtype={tf.as_dtype(value.dtype).name}.")
        return value
    return tf.convert_to_tensor(value, dtype=dtype, name=name)


def tiny(dtype):
    """Smallest positive normal number of `dtype` (a Python float)."""
    return float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).tiny)


def eps(dtype):
    """Machine epsilon of `dtype` (a Python float)."""
    return float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).eps)


def wide_dtype(dtype):
    """The dtype in which counts, ranks and positions are held: float32 for
    half precision, else `dtype`.

    float16 holds every integer only up to 2048 and bfloat16 up to 256, so
    subset sizes, their cumulative sums and rank positions of larger sets are
    computed in float32 and only the results are cast back (mixed precision).
    """
    dtype = tf.as_dtype(dtype)
    return tf.float32 if dtype in _HALF_DTYPES else dtype


def masked_logit(dtype):
    """A finite, very negative value for masked-out logits and log-scores.

    `exp(masked_logit - x)` is 0 for any ordinary `x`, and sums and
    differences of a few of them stay finite (unlike `-inf`, whose
    arithmetic gives NaN values and gradients). A Python float.
    """
    return -float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).max) / 16.


def element_mask(mask, shape):
    """`mask` as a boolean `Tensor` broadcast to `shape`, or None."""
    if mask is None:
        return None
    return tf.broadcast_to(tf.convert_to_tensor(mask, tf.bool), shape)
