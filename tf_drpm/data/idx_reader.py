"""Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not."""

import gzip
import zlib

import numpy as np

__all__ = ["read_idx"]

# IDX type codes -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Reads an IDX file into a numpy array.

    The IDX format (LeCun et al.) is a 4-byte magic number `0x00 0x00 <type>
    <num_dims>`, then `num_dims` big-endian uint32 sizes, then the data in
    row-major order. Files ending in `.gz` (or starting with the gzip magic
    bytes) are decompressed.

    Args:
        path: path of the file.

    Returns:
        A numpy array of shape `sizes`, in native byte order (uint8 for images
        and labels).

    Raises:
        ValueError: if the file is not a well-formed IDX file (bad magic
            number, unknown type code, a size that does not match the data, or
            a truncated or corrupt gzip stream); the message names the file.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(
                f"The IDX file {path!r} is truncated or corrupt ({type(e).__name__}: {e}). "
                "Replace it with a good copy.") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"Not an IDX file (bad magic number). Received: path={path!r}")
    type_code, num_dims = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(
            f"Unknown IDX type code 0x{type_code:02x} in {path!r}; expected one of "
            f"{sorted(hex(c) for c in _IDX_DTYPES)}.")
    header_size = 4 + 4 * num_dims
    if len(raw) < header_size:
        raise ValueError(f"Truncated IDX header in {path!r}.")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=num_dims, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise ValueError(
            f"The IDX file {path!r} declares shape {shape} ({expected} bytes of data) but "
            f"holds {len(raw) - header_size} bytes: it is truncated or corrupt. Replace it "
            "with a good copy.")
    data = np.frombuffer(raw, dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)
