"""A `tf.data` pipeline whose batches are sets to partition."""

import numpy as np
import tensorflow as tf

__all__ = ["num_set_batches", "set_batches"]


def num_set_batches(num_examples, batch_size, drop_remainder=True):
    """Number of batches per epoch of `set_batches`."""
    if drop_remainder:
        return num_examples // batch_size
    return -(-num_examples // batch_size)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def set_batches(features, batch_size, labels=None, shuffle=True, seed=0,
                drop_remainder=True, initial_epoch=0, epochs=None, map_fn=None,
                augment_fn=None, num_augmented_views=1):
    """Batches of examples, each batch one set for the partition model.

    The DRPM partitions a whole batch, so every training batch must have the
    same size `batch_size`: with `drop_remainder=True` (the default, for
    training) the last incomplete batch of each epoch is dropped.

    Epoch `e` visits the examples in the order of a stateless permutation
    seeded by `(seed, e)`. The dataset covers epochs `initial_epoch, ...,
    epochs - 1` (forever when `epochs` is None) back to back, so with
    `fit(steps_per_epoch=num_set_batches(...))` a run resumed at epoch `e`
    sees exactly the batches an uninterrupted run sees.

    Args:
        features: array `[N, ...]` (or a dict of such arrays).
        batch_size: positive int, the set size n (the global batch size).
        labels: optional array `[N]`; then elements are `(features, labels)`.
        shuffle: shuffle each epoch (False: sequential order).
        seed: int seed for the shuffles and augmentations.
        drop_remainder: drop each epoch's last incomplete batch.
        initial_epoch: first epoch index (int >= 0).
        epochs: end epoch index (exclusive), or None for an endless stream.
        map_fn: optional `features_batch -> features_batch`, applied per batch
            (e.g. cast to float and flatten).
        augment_fn: optional hook `(features_batch, seed) -> view` with a
            stateless shape-[2] int32 `seed`; the features become the tuple
            `(features, view_1, ..., view_v)` with `v = num_augmented_views`.
        num_augmented_views: number of augmented views (>= 1).

    Returns:
        A `tf.data.Dataset` of batches.

    Raises:
        ValueError: on a non-positive `batch_size`, mismatched lengths, or an
            empty epoch (fewer than `batch_size` examples with
            `drop_remainder=True`).
    """
    _check_positive_int(batch_size, "batch_size")
    _check_positive_int(num_augmented_views, "num_augmented_views")
    flat = tf.nest.flatten(features)
    num_examples = int(np.shape(flat[0])[0])
    for array in flat[1:] + ([labels] if labels is not None else []):
        if int(np.shape(array)[0]) != num_examples:
            raise ValueError(
                "All arrays must have the same first dimension. "
                f"Received: lengths {num_examples} and {int(np.shape(array)[0])}")
    if num_set_batches(num_examples, batch_size, drop_remainder) < 1:
        raise ValueError(
            f"An epoch has no batch: {num_examples} examples with "
            f"batch_size={batch_size} and drop_remainder={drop_remainder}.")
    if initial_epoch < 0 or (epochs is not None and epochs < initial_epoch):
        raise ValueError(
            "Need 0 <= initial_epoch <= epochs. "
            f"Received: initial_epoch={initial_epoch}, epochs={epochs}")

    features = tf.nest.map_structure(tf.convert_to_tensor, features)
    if labels is not None:
        labels = tf.convert_to_tensor(labels)
    base_seed = tf.constant([int(seed) % (2**31 - 1), 0], tf.int32)

    if epochs is None:
        epoch_ids = tf.data.Dataset.counter(start=initial_epoch)
    else:
        epoch_ids = tf.data.Dataset.range(initial_epoch, epochs)

    def epoch_indices(epoch):
        epoch_seed = tf.random.experimental.stateless_fold_in(
            base_seed, tf.cast(epoch, tf.int32))
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(
                tf.range(num_examples, dtype=tf.int64), seed=epoch_seed)
        else:
            order = tf.range(num_examples, dtype=tf.int64)
        batches = tf.data.Dataset.from_tensor_slices(order).batch(
            batch_size, drop_remainder=drop_remainder)
        # Each batch carries a stateless seed for its augmentations.
        return batches.enumerate().map(
            lambda step, idx: (idx, tf.random.experimental.stateless_fold_in(
                tf.random.experimental.stateless_fold_in(epoch_seed, 1),
                tf.cast(step, tf.int32))))

    def gather(indices, batch_seed):
        x = tf.nest.map_structure(lambda a: tf.gather(a, indices), features)
        if map_fn is not None:
            x = map_fn(x)
        if augment_fn is not None:
            view_seeds = tf.random.experimental.stateless_split(
                batch_seed, num_augmented_views)
            x = (x,) + tuple(augment_fn(x, view_seeds[v])
                             for v in range(num_augmented_views))
        if labels is not None:
            return x, tf.gather(labels, indices)
        return x

    dataset = epoch_ids.flat_map(epoch_indices)
    if epochs is not None:
        # flat_map hides the length; state it so Keras knows the epoch size.
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(
            (epochs - initial_epoch)
            * num_set_batches(num_examples, batch_size, drop_remainder)))
    dataset = dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
