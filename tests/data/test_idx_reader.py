"""Tests of tf_drpm/data/idx_reader.py on generated IDX bytes."""

import gzip
import os
import struct

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from tf_drpm.data.idx_reader import read_idx


def idx_bytes(array, type_code=0x08):
    """Encodes `array` as IDX bytes (big-endian), written independently of the reader."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", s) for s in array.shape)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return header + big_endian.tobytes()


def write_idx(path, array, type_code=0x08, compress=None):
    data = idx_bytes(array, type_code)
    if compress if compress is not None else path.endswith(".gz"):
        data = gzip.compress(data)
    with open(path, "wb") as f:
        f.write(data)


class ReadIdxTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.named_parameters(
        ("uint8_images_raw", np.uint8, 0x08, (3, 4, 5), False),
        ("uint8_images_gz", np.uint8, 0x08, (3, 4, 5), True),
        ("uint8_labels_gz", np.uint8, 0x08, (7,), True),
        ("int32_raw", np.int32, 0x0C, (2, 3), False),
        ("float32_gz", np.float32, 0x0D, (4,), True),
        ("float64_raw", np.float64, 0x0E, (2, 2), False),
    )
    def test_round_trip(self, dtype, type_code, shape, compress):
        rng = np.random.RandomState(0)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            array = rng.randint(max(info.min, -1000), min(info.max, 1000) + 1,
                                size=shape).astype(dtype)
        else:
            array = rng.normal(size=shape).astype(dtype)
        path = os.path.join(self.get_temp_dir(), f"a-{type_code}-{compress}" +
                            (".gz" if compress else ""))
        write_idx(path, array, type_code, compress)
        result = read_idx(path)
        self.assertEqual(result.shape, shape)
        self.assertEqual(result.dtype, np.dtype(dtype))
        self.assertTrue(result.dtype.isnative)
        np.testing.assert_array_equal(result, array)

    def test_gzip_detected_by_content(self):
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
        path = os.path.join(self.get_temp_dir(), "no-suffix-but-gzipped")
        write_idx(path, array, compress=True)
        np.testing.assert_array_equal(read_idx(path), array)

    def test_known_bytes(self):
        # Magic 0x00000801 (uint8, 1-D), size 3, data 7 8 9.
        path = os.path.join(self.get_temp_dir(), "labels-idx1-ubyte")
        with open(path, "wb") as f:
            f.write(b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08\x09")
        np.testing.assert_array_equal(read_idx(path), [7, 8, 9])

    def test_bad_magic(self):
        path = os.path.join(self.get_temp_dir(), "bad")
        with open(path, "wb") as f:
            f.write(b"\x01\x00\x08\x01\x00\x00\x00\x01\x00")
        with self.assertRaisesRegex(ValueError, "bad magic number"):
            read_idx(path)

    def test_unknown_type_code(self):
        path = os.path.join(self.get_temp_dir(), "badtype")
        with open(path, "wb") as f:
            f.write(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
        with self.assertRaisesRegex(ValueError, "Unknown IDX type code 0x07"):
            read_idx(path)

    def test_truncated_data(self):
        path = os.path.join(self.get_temp_dir(), "short")
        data = idx_bytes(np.zeros((2, 3), np.uint8))[:-1]
        with open(path, "wb") as f:
            f.write(data)
        with self.assertRaisesRegex(ValueError, r"declares shape \(2, 3\)"):
            read_idx(path)


    def test_truncated_gzip_names_the_file(self):
        path = os.path.join(self.get_temp_dir(), "t10k-images-idx3-ubyte.gz")
        write_idx(path, np.zeros((4, 28, 28), np.uint8), compress=True)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
        with self.assertRaisesRegex(
                ValueError, f"{path}.*truncated or corrupt.*Replace it with a good copy"):
            read_idx(path)


if __name__ == "__main__":
    tf.test.main()
