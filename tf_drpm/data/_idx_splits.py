"""Private helpers shared by the MNIST-style loaders (IDX directories and TFDS)."""

import os

import numpy as np

from tf_drpm.data.idx_reader import read_idx

__all__ = []

SPLITS = ("train", "test")
_PREFIX = {"train": "train", "test": "t10k"}


def check_split(split):
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: split={split!r}")


def idx_paths(directory, split):
    """Returns (images_path, labels_path) found in `directory`, or None."""
    found = []
    for kind, dims in (("images", 3), ("labels", 1)):
        base = os.path.join(directory, f"{_PREFIX[split]}-{kind}-idx{dims}-ubyte")
        for candidate in (base + ".gz", base):
            if os.path.isfile(candidate):
                found.append(candidate)
                break
        else:
            return None
    return tuple(found)


def expected_file_names(split):
    return [f"{_PREFIX[split]}-images-idx3-ubyte[.gz]", f"{_PREFIX[split]}-labels-idx1-ubyte[.gz]"]


def load_idx_split(directory, split):
    """Loads (images uint8 [N, 28, 28], labels int64 [N]) from an IDX directory, or None."""
    paths = idx_paths(directory, split)
    if paths is None:
        return None
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"IDX files in {directory!r} do not hold [N, H, W] images and [N] labels. "
            f"Received: images.shape={images.shape}, labels.shape={labels.shape}")
    return images.astype(np.uint8), labels.astype(np.int64)


def load_tfds_split(name, split, tfds_data_dir, download):
    """Loads a TFDS split when it is prepared (or `download`); None otherwise."""
    try:
        import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    except ImportError:
        return None
    builder = tfds.builder(name, data_dir=tfds_data_dir)
    prepared = os.path.isfile(os.path.join(builder.data_dir, "dataset_info.json"))
    if not prepared:
        if not download:
            return None
        builder.download_and_prepare()
    data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
    images = np.asarray(data["image"], np.uint8)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return images, np.asarray(data["label"], np.int64)
