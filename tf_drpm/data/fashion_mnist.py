"""Fashion-MNIST as numpy arrays, from IDX files or TensorFlow Datasets."""

import os

from tf_drpm.data import _idx_splits

__all__ = ["load_fashion_mnist"]

ENV_VAR = "TF_DRPM_FASHION_MNIST_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
               "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_fashion_mnist(split="train", data_dir=None, tfds_data_dir=None, download=False):
    """Loads a Fashion-MNIST split (Xiao et al., 2017).

    Sources, in order:

    1. `data_dir`, else the directory in the environment variable
       `TF_DRPM_FASHION_MNIST_DIR`: IDX files `train-images-idx3-ubyte[.gz]`,
       `train-labels-idx1-ubyte[.gz]`, `t10k-...` (a directory given this way
       must hold them);
    2. Debian's `dataset-fashion-mnist` package,
       `/usr/share/datasets/fashion-mnist` (`apt-get install dataset-fashion-mnist`);
    3. TensorFlow Datasets `fashion_mnist`, when it is prepared under
       `tfds_data_dir` (default: `TFDS_DATA_DIR` or `~/tensorflow_datasets`),
       or downloaded when `download=True`.

    Args:
        split: "train" (60000 images) or "test" (10000 images).
        data_dir: optional directory of the IDX files.
        tfds_data_dir: optional TFDS data directory.
        download: allow TFDS to download and prepare the data set.

    Returns:
        images: uint8 array [N, 28, 28].
        labels: int64 array [N] with values in 0..9 (see `CLASS_NAMES`).

    Raises:
        ValueError: on an unknown `split`.
        FileNotFoundError: when no source has the data; the message names the
            three ways to provide it.
    """
    return _load("fashion_mnist", split, data_dir, tfds_data_dir, download,
                 ENV_VAR, DEBIAN_DIR)


def _load(name, split, data_dir, tfds_data_dir, download, env_var, debian_dir):
    _idx_splits.check_split(split)
    explicit = data_dir or os.environ.get(env_var) or None
    if explicit:
        source = "data_dir" if data_dir else f"${env_var}"
        result = _load_idx(name, explicit, split, env_var, debian_dir)
        if result is None:
            raise FileNotFoundError(
                f"{source}={explicit!r} does not hold "
                f"{_idx_splits.expected_file_names(split)}. " + _ways(name, env_var, debian_dir))
        return result
    if debian_dir is not None:
        result = _load_idx(name, debian_dir, split, env_var, debian_dir)
        if result is not None:
            return result
    result = _idx_splits.load_tfds_split(name, split, tfds_data_dir, download)
    if result is not None:
        return result
    raise FileNotFoundError(f"{name} ({split}) not found. " + _ways(name, env_var, debian_dir))


def _load_idx(name, directory, split, env_var, debian_dir):
    """`load_idx_split`, with the ways to get a good copy added to a bad-file error."""
    try:
        return _idx_splits.load_idx_split(directory, split)
    except ValueError as e:
        raise ValueError(f"{e} " + _ways(name, env_var, debian_dir)) from e


def _ways(name, env_var, debian_dir):
    ways = [f"(1) pass data_dir= or set the environment variable {env_var} to a "
            "directory of the IDX files (*-images-idx3-ubyte[.gz], *-labels-idx1-ubyte[.gz])"]
    if debian_dir is not None:
        ways.append(f"(2) install Debian's package (`apt-get install dataset-{name.replace('_', '-')}`; "
                    f"`apt-get install --reinstall ...` repairs a damaged copy), which provides "
                    f"{debian_dir}")
    ways.append(f"({len(ways) + 1}) prepare tensorflow_datasets '{name}' in a TFDS data_dir "
                "(tfds_data_dir= or $TFDS_DATA_DIR), or pass download=True where the "
                "internet is reachable")
    return "Ways to provide it: " + "; ".join(ways) + "."
