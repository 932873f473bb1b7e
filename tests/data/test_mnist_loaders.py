"""Tests of tf_drpm/data/fashion_mnist.py and mnist.py (IDX directories, errors)."""

import os
from unittest import mock

import numpy as np
import tensorflow as tf

from tests.data.test_idx_reader import write_idx
from tf_drpm.data import fashion_mnist
from tf_drpm.data import mnist


def make_idx_dir(directory, num_train=6, num_test=4, compress=True, seed=0):
    """Writes small random IDX splits; returns the arrays written."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.RandomState(seed)
    suffix = ".gz" if compress else ""
    arrays = {}
    for split, prefix, n in (("train", "train", num_train), ("test", "t10k", num_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
        arrays[split] = (images, labels)
    return arrays


class FashionMnistLoaderTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        env = mock.patch.dict(os.environ)
        env.start()
        self.addCleanup(env.stop)
        os.environ.pop(fashion_mnist.ENV_VAR, None)
        os.environ.pop(mnist.ENV_VAR, None)
        self.empty_tfds = os.path.join(self.get_temp_dir(), "empty_tfds")
        os.makedirs(self.empty_tfds, exist_ok=True)

    def test_data_dir_argument(self):
        directory = os.path.join(self.get_temp_dir(), "fm_arg")
        arrays = make_idx_dir(directory, compress=True)
        for split in ("train", "test"):
            images, labels = fashion_mnist.load_fashion_mnist(split, data_dir=directory)
            self.assertEqual(images.dtype, np.uint8)
            self.assertEqual(labels.dtype, np.int64)
            np.testing.assert_array_equal(images, arrays[split][0])
            np.testing.assert_array_equal(labels, arrays[split][1])

    def test_env_var_and_precedence(self):
        env_dir = os.path.join(self.get_temp_dir(), "fm_env")
        arg_dir = os.path.join(self.get_temp_dir(), "fm_arg2")
        env_arrays = make_idx_dir(env_dir, compress=False, seed=1)
        arg_arrays = make_idx_dir(arg_dir, compress=True, seed=2)
        os.environ[fashion_mnist.ENV_VAR] = env_dir
        _, labels = fashion_mnist.load_fashion_mnist("test")
        np.testing.assert_array_equal(labels, env_arrays["test"][1])
        _, labels = fashion_mnist.load_fashion_mnist("test", data_dir=arg_dir)
        np.testing.assert_array_equal(labels, arg_arrays["test"][1])

    def test_debian_directory(self):
        debian = os.path.join(self.get_temp_dir(), "debian")
        arrays = make_idx_dir(debian)
        with mock.patch.object(fashion_mnist, "DEBIAN_DIR", debian):
            images, _ = fashion_mnist.load_fashion_mnist("train", tfds_data_dir=self.empty_tfds)
        np.testing.assert_array_equal(images, arrays["train"][0])

    def test_nothing_found_names_three_ways(self):
        missing = os.path.join(self.get_temp_dir(), "does_not_exist")
        with mock.patch.object(fashion_mnist, "DEBIAN_DIR", missing):
            with self.assertRaises(FileNotFoundError) as ctx:
                fashion_mnist.load_fashion_mnist("test", tfds_data_dir=self.empty_tfds)
        message = str(ctx.exception)
        self.assertIn("TF_DRPM_FASHION_MNIST_DIR", message)
        self.assertIn("data_dir=", message)
        self.assertIn("apt-get install dataset-fashion-mnist", message)
        self.assertIn("tensorflow_datasets 'fashion_mnist'", message)
        self.assertIn("download=True", message)

    def test_explicit_directory_without_files(self):
        with self.assertRaisesRegex(FileNotFoundError,
                                    "data_dir='.*empty_tfds' does not hold"):
            fashion_mnist.load_fashion_mnist("train", data_dir=self.empty_tfds)

    def test_truncated_file_names_it_and_the_ways_to_a_good_copy(self):
        directory = os.path.join(self.get_temp_dir(), "fm_truncated")
        make_idx_dir(directory, compress=True)
        path = os.path.join(directory, "t10k-images-idx3-ubyte.gz")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:-40])
        with self.assertRaisesRegex(ValueError, "(?s)" + path + ".*truncated.*apt-get install "
                                    "--reinstall.*tensorflow_datasets"):
            fashion_mnist.load_fashion_mnist("test", data_dir=directory)

    def test_bad_split(self):
        with self.assertRaisesRegex(ValueError, "Received: split='validation'"):
            fashion_mnist.load_fashion_mnist("validation")

    def test_mnist_env_var_and_error(self):
        directory = os.path.join(self.get_temp_dir(), "mnist_env")
        arrays = make_idx_dir(directory, seed=3)
        os.environ[mnist.ENV_VAR] = directory
        images, labels = mnist.load_mnist("train")
        np.testing.assert_array_equal(images, arrays["train"][0])
        np.testing.assert_array_equal(labels, arrays["train"][1])
        del os.environ[mnist.ENV_VAR]
        with self.assertRaises(FileNotFoundError) as ctx:
            mnist.load_mnist("train", tfds_data_dir=self.empty_tfds)
        message = str(ctx.exception)
        for way in ("data_dir=", "TF_DRPM_MNIST_DIR", "tensorflow_datasets 'mnist'"):
            self.assertIn(way, message)

    def test_real_debian_fashion_mnist_test_split(self):
        if fashion_mnist._idx_splits.idx_paths(fashion_mnist.DEBIAN_DIR, "test") is None:
            self.skipTest("Debian's dataset-fashion-mnist is not installed")
        images, labels = fashion_mnist.load_fashion_mnist("test")
        self.assertEqual(images.shape, (10000, 28, 28))
        # The Fashion-MNIST test set is balanced: 1000 images per class.
        np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)
        np.testing.assert_array_equal(labels[:10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])


if __name__ == "__main__":
    tf.test.main()
