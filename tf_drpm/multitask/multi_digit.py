"""Noisy Multi-X: two overlapping 28x28 images per example (MultiMNIST style).

Builds the noisyMultiMNIST data of Sutter et al. (2023, appendix C.3.1) from any
source of 28x28 grey-scale images (MNIST, Fashion-MNIST, ...):

* every source image is the *left* image of exactly one example; its *right*
  partner is drawn uniformly at random from the same split (a fixed pairing,
  drawn with `numpy.random.RandomState` from `seed`, identical for every noise
  ratio);
* each pixel of the right image is set to zero with probability `noise_ratio`
  (alpha) before the overlay, so only the right task gets harder; alpha = 1
  makes the right task unsolvable;
* on a 36x36 canvas the left image goes to rows/columns [0:28, 0:28], the right
  image to [6:34, 6:34]; the overlap is the pixel-wise maximum;
* the canvas is resized to 28x28 (bilinear with anti-aliasing,
  `tf.image.resize(..., antialias=True)`, close to `skimage.transform.resize`
  used by the reference code) and rounded to uint8;
* labels are `(left_label, right_label)`.

The built arrays can be cached as `.npz` files in a directory given by the
caller; the file name holds a fingerprint of the source arrays, the noise ratio
and the seed.
"""

import hashlib
import os
import tempfile

import numpy as np
import tensorflow as tf

from tf_drpm.data.set_batches import set_batches

__all__ = [
    "CANVAS_SIZE",
    "LEFT_OFFSET",
    "RIGHT_OFFSET",
    "compose_canvas",
    "drop_pixels",
    "make_multi_digit",
    "multi_digit_dataset",
]

CANVAS_SIZE = 36
LEFT_OFFSET = 0
RIGHT_OFFSET = 6
_SOURCE_SIZE = 28
_CHUNK = 4096


def compose_canvas(left, right):
    """Places a left and a right 28x28 image on a 36x36 canvas (pixel-wise max).

    Args:
        left: Array `[..., 28, 28]`, the left images.
        right: Array `[..., 28, 28]` (same shape), the right images.

    Returns:
        canvas: float32 array `[..., 36, 36]` with `left` at [0:28, 0:28] and
            `right` at [6:34, 6:34]; where they overlap ([6:28, 6:28]) the
            canvas holds the pixel-wise maximum.
    """
    left = np.asarray(left, dtype=np.float32)
    right = np.asarray(right, dtype=np.float32)
    _check_source_shape(left, "left")
    if right.shape != left.shape:
        raise ValueError(
            "`left` and `right` must have the same shape. Received: "
            f"left.shape={left.shape}, right.shape={right.shape}"
        )
    batch_shape = left.shape[:-2]
    left_canvas = np.zeros(batch_shape + (CANVAS_SIZE, CANVAS_SIZE), np.float32)
    right_canvas = np.zeros_like(left_canvas)
    lo, ro, s = LEFT_OFFSET, RIGHT_OFFSET, _SOURCE_SIZE
    left_canvas[..., lo : lo + s, lo : lo + s] = left
    right_canvas[..., ro : ro + s, ro : ro + s] = right
    return np.maximum(left_canvas, right_canvas)


def drop_pixels(images, noise_ratio, random_state):
    """Sets each pixel to zero independently with probability `noise_ratio`.

    Args:
        images: Array `[..., H, W]`.
        noise_ratio: Python float in [0, 1], the drop probability alpha.
        random_state: `numpy.random.RandomState` that draws the mask.

    Returns:
        The images with dropped pixels (same dtype and shape).
    """
    noise_ratio = _check_noise_ratio(noise_ratio)
    images = np.asarray(images)
    # uniform in [0, 1): alpha = 0 keeps every pixel, alpha = 1 drops every pixel.
    keep = random_state.uniform(size=images.shape) >= noise_ratio
    return np.where(keep, images, np.zeros_like(images))


def make_multi_digit(
    images, labels, noise_ratio=0.0, seed=0, cache_dir=None, name="multi",
    left_classes=None,
):
    """Builds (or loads from the cache) a noisy Multi-X split.

    Args:
        images: uint8 (or float in [0, 255]) array `[N, 28, 28]`, the source
            images of one split.
        labels: Integer array `[N]`, their labels.
        noise_ratio: Python float in [0, 1]: probability that a pixel of the
            right image is set to zero before the overlay.
        seed: Python int. Fixes the pairing (the same for every
            `noise_ratio`) and, through a separate stream, the noise masks.
        cache_dir: Optional directory. When given, the result is read from /
            written to `<cache_dir>/<name>_<fingerprint>_noise<alpha>_seed<seed>.npz`.
        name: Python str used as the cache file prefix.
        left_classes: Optional sequence of labels. When given, the left image
            of each of the N examples is drawn uniformly (with replacement,
            from a third stream of `seed`) from the source images with one of
            these labels, so the left task can be made easy (e.g. two classes
            that are easy to tell apart) while the right images still come
            from every class. Default `None`: every source image is the left
            image of exactly one example.

    Returns:
        images: uint8 array `[N, 28, 28]`, the resized overlays.
        labels: int64 array `[N, 2]`, columns (left label, right label).
        partners: int64 array `[N]`, index of the right image of each example.
    """
    if left_classes is not None:
        left_classes = sorted(int(c) for c in left_classes)
        if not np.isin(left_classes, labels).all():
            raise ValueError(
                "Every label in `left_classes` must occur in `labels`. Received: "
                f"left_classes={left_classes}"
            )
    images = np.asarray(images)
    labels = np.asarray(labels)
    _check_source_shape(images, "images")
    if images.ndim != 3:
        raise ValueError(
            f"`images` must have shape [N, 28, 28]. Received: images.shape={images.shape}"
        )
    if labels.shape != images.shape[:1]:
        raise ValueError(
            "`labels` must have shape [N] matching `images`. Received: "
            f"labels.shape={labels.shape}, images.shape={images.shape}"
        )
    noise_ratio = _check_noise_ratio(noise_ratio)
    seed = int(seed)

    path = None
    if cache_dir is not None:
        fingerprint = hashlib.sha1(
            np.ascontiguousarray(images).tobytes()
            + np.ascontiguousarray(labels).tobytes()
        ).hexdigest()[:16]
        left = "" if left_classes is None else "_left" + "-".join(map(str, left_classes))
        path = os.path.join(
            cache_dir,
            f"{name}_{fingerprint}{left}_noise{noise_ratio:.4f}_seed{seed}.npz",
        )
        if os.path.exists(path):
            with np.load(path) as cached:
                return cached["images"], cached["labels"], cached["partners"]

    pair_seed, noise_seed, left_seed = np.random.SeedSequence(seed).generate_state(3)
    num_examples = images.shape[0]
    partners = np.random.RandomState(pair_seed).randint(
        0, num_examples, size=num_examples
    ).astype(np.int64)
    noise_state = np.random.RandomState(noise_seed)
    if left_classes is not None:
        lefts = np.random.RandomState(left_seed).choice(
            np.flatnonzero(np.isin(labels, left_classes)), size=num_examples)
    else:
        lefts = np.arange(num_examples)

    out = np.empty((num_examples, _SOURCE_SIZE, _SOURCE_SIZE), np.uint8)
    for start in range(0, num_examples, _CHUNK):
        stop = min(start + _CHUNK, num_examples)
        left = images[lefts[start:stop]].astype(np.float32)
        right = images[partners[start:stop]].astype(np.float32)
        right = drop_pixels(right, noise_ratio, noise_state)
        canvas = compose_canvas(left, right)[..., np.newaxis]  # [b, 36, 36, 1]
        resized = tf.image.resize(
            canvas, (_SOURCE_SIZE, _SOURCE_SIZE), method="bilinear", antialias=True
        ).numpy()[..., 0]
        out[start:stop] = np.clip(np.round(resized), 0, 255).astype(np.uint8)
    pair_labels = np.stack([labels[lefts], labels[partners]], axis=-1).astype(np.int64)

    if path is not None:
        os.makedirs(cache_dir, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(suffix=".npz", dir=cache_dir)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=out, labels=pair_labels, partners=partners)
        os.replace(tmp_path, path)
    return out, pair_labels, partners


def multi_digit_dataset(
    images,
    labels,
    batch_size,
    shuffle=False,
    seed=0,
    drop_remainder=False,
    mean=None,
    stddev=None,
    initial_epoch=0,
    epochs=None,
):
    """A `tf.data.Dataset` of `(image [28, 28, 1] float32, labels [2] int32)`.

    With `shuffle`, epoch `e` visits the examples in the order of a stateless
    permutation seeded by `(seed, e)` (`tf_drpm.data.set_batches`), and the
    dataset covers epochs `initial_epoch .. epochs - 1` back to back (one
    epoch by default): with `fit(steps_per_epoch=num_set_batches(N,
    batch_size, drop_remainder))` a run resumed at epoch `e` sees exactly the
    batches of an uninterrupted run.

    Args:
        images: uint8 array `[N, 28, 28]` from `make_multi_digit`.
        labels: Integer array `[N, 2]`.
        batch_size: Python int.
        shuffle: Whether to shuffle each epoch (seeded by `(seed, epoch)`).
        seed: Python int, shuffle seed.
        drop_remainder: Whether to drop the last incomplete batch.
        mean: Optional float; subtracted after scaling to [0, 1].
        stddev: Optional float; divides after subtracting `mean`.
        initial_epoch: First epoch index (with `shuffle`).
        epochs: End epoch index, exclusive (with `shuffle`); default
            `initial_epoch + 1`.

    Returns:
        A batched `tf.data.Dataset`.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
    if stddev is not None and stddev <= 0:
        raise ValueError(f"`stddev` must be positive. Received: stddev={stddev}")
    images = np.asarray(images)
    labels = np.asarray(labels)

    def _scale(x, y):
        x = tf.cast(x, tf.float32)[..., tf.newaxis] / 255.0
        if mean is not None:
            x = x - mean
        if stddev is not None:
            x = x / stddev
        return x, tf.cast(y, tf.int32)

    if shuffle:
        ds = set_batches(
            images, batch_size, labels=labels, seed=seed, drop_remainder=drop_remainder,
            initial_epoch=initial_epoch,
            epochs=initial_epoch + 1 if epochs is None else epochs,
        )
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.map(_scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def _check_source_shape(images, arg_name):
    if images.ndim < 2 or images.shape[-2:] != (_SOURCE_SIZE, _SOURCE_SIZE):
        raise ValueError(
            f"`{arg_name}` must have shape [..., 28, 28]. "
            f"Received: {arg_name}.shape={images.shape}"
        )


def _check_noise_ratio(noise_ratio):
    noise_ratio = float(noise_ratio)
    if not 0.0 <= noise_ratio <= 1.0:
        raise ValueError(
            f"`noise_ratio` must be in [0, 1]. Received: noise_ratio={noise_ratio}"
        )
    return noise_ratio
