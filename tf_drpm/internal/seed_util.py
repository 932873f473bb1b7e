"""Seed handling shared by tf_drpm ops, distributions and layers."""

import tensorflow as tf
import tensorflow_probability as tfp

__all__ = ["sanitize_seed", "split_seed"]


def sanitize_seed(seed, salt=None, name=None):
    """Returns a stateless seed: a shape-[2] `int32` tensor.

    Accepts what `tfp.random.sanitize_seed` accepts (`None`, a Python int, a
    shape-[2] integer tensor) and also the `int64` shape-[2] state returned by
    `keras.random.SeedGenerator.next()`, which is cast to `int32`.

    Args:
        seed: `None`, a Python int, or a shape-[2] integer tensor.
        salt: Optional string mixed into the seed (see `tfp.random.sanitize_seed`).
        name: Optional name scope.

    Returns:
        seed: A shape-[2] `int32` tensor.
    """
    if seed is not None and not isinstance(seed, int):
        seed_tensor = tf.convert_to_tensor(seed)
        if seed_tensor.dtype.is_integer and seed_tensor.dtype != tf.int32:
            seed = tf.cast(seed_tensor, tf.int32)
    return tfp.random.sanitize_seed(seed, salt=salt, name=name)


def split_seed(seed, n=2, salt=None, name=None):
    """Splits `seed` into `n` independent stateless seeds (shape [n, 2])."""
    return tfp.random.split_seed(sanitize_seed(seed), n=n, salt=salt, name=name)
