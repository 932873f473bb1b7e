"""MNIST as numpy arrays, from IDX files or TensorFlow Datasets."""

from tf_drpm.data import fashion_mnist as _fashion_mnist

__all__ = ["load_mnist"]

ENV_VAR = "TF_DRPM_MNIST_DIR"


def load_mnist(split="train", data_dir=None, tfds_data_dir=None, download=False):
    """Loads an MNIST split (LeCun et al., 1998).

    Sources, in order: `data_dir`, else the directory in the environment
    variable `TF_DRPM_MNIST_DIR` (IDX files `train-images-idx3-ubyte[.gz]`,
    `train-labels-idx1-ubyte[.gz]`, `t10k-...`); then TensorFlow Datasets
    `mnist`, when prepared under `tfds_data_dir` (default: `TFDS_DATA_DIR` or
    `~/tensorflow_datasets`) or downloaded when `download=True`.

    Args:
        split: "train" (60000 images) or "test" (10000 images).
        data_dir: optional directory of the IDX files.
        tfds_data_dir: optional TFDS data directory.
        download: allow TFDS to download and prepare the data set.

    Returns:
        images: uint8 array [N, 28, 28].
        labels: int64 array [N] with values in 0..9.

    Raises:
        ValueError: on an unknown `split`.
        FileNotFoundError: when no source has the data; the message names the
            ways to provide it.
    """
    return _fashion_mnist._load(  # pylint: disable=protected-access
        "mnist", split, data_dir, tfds_data_dir, download, ENV_VAR, None)
