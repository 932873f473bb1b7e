"""Checks of arguments shared by tf_drpm ops, distributions and layers (internal).

Static checks raise `ValueError` naming the argument and the value received;
`positive_assertion` is the run-time check behind `validate_args=True` for a
value known only in the graph (a variable or a `tf.function` argument).
"""

import numpy as np
import tensorflow as tf

from tf_drpm.internal import dtype_util

__all__ = [
    "check_bool",
    "check_int",
    "check_static_positive",
    "positive_assertion",
]


def check_bool(value, arg_name, allow_none=False):
    """Returns `value` as a Python bool; raises `ValueError` unless it is one."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        expected = "a Python bool or None" if allow_none else "a Python bool"
        raise ValueError(
            f"Argument `{arg_name}` must be {expected}. Received: {arg_name}={value!r}")
    return bool(value)


def check_int(value, arg_name, minimum):
    """Returns `value` as a Python int; raises `ValueError` unless an int >= minimum."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
            or value < minimum):
        raise ValueError(
            f"Argument `{arg_name}` must be an integer >= {minimum}. "
            f"Received: {arg_name}={value!r}")
    return int(value)


def check_static_positive(value, arg_name):
    """Raises `ValueError` if `value` is statically known and not all positive.

    Variables (and other references) are skipped: their value can change, so
    they are checked at run time (`positive_assertion`).
    """
    if value is None or dtype_util.is_ref(value):
        return
    static = tf.get_static_value(value)
    if static is not None and not np.all(np.asarray(static) > 0):
        raise ValueError(
            f"Argument `{arg_name}` must be positive. Received: {arg_name}={static}")


def positive_assertion(value, arg_name):
    """A run-time assertion that every entry of `value` is positive."""
    return tf.debugging.assert_positive(
        tf.convert_to_tensor(value), message=f"Argument `{arg_name}` must be positive")
