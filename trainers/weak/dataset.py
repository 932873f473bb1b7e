"""The ground-truth data set of the weak family, loaded once per process."""

import functools

import gin

from tf_drpm.weak_supervision import LocalFactorGrid
from tf_drpm.weak_supervision import MPI3DStandIn
from tf_drpm.weak_supervision import NpzGroundTruthData
from trainers.core.errors import SettingError

__all__ = ["bound_parameter", "ground_truth_dataset", "observation_shape"]


@gin.configurable("weak_dataset")
def ground_truth_dataset(name="mpi3d_stand_in", path=None, image_size=64):
    """The ground-truth data set of the weak family.

    Args:
        name: `"mpi3d_stand_in"` (procedural, offline; NOT the benchmark),
            `"local_factor_grid"` (procedural, offline; seven factors in
            seven tiles, each learnt within minutes: `gin/weak/truth.gin`),
            `"mpi3d_toy"` or `"dsprites"` (`.npz` files at `path`), or
            `"dummy_data"` (disentanglement_lib's `DummyData`, needs the
            `disentanglement-lib` package).
        path: the `.npz` file for `"mpi3d_toy"` / `"dsprites"`.
        image_size: `"mpi3d_stand_in"` only: 64, or 32 for its low-resolution
            mode (2x2 block means; the quick CPU protocol).

    Returns:
        An object with disentanglement_lib's `GroundTruthData` interface.
    """
    if name == "mpi3d_stand_in":
        return MPI3DStandIn(image_size)
    if name == "local_factor_grid":
        if image_size != 64:
            raise SettingError(
                "`weak_dataset.image_size` must be 64 for 'local_factor_grid'. "
                f"Received: image_size={image_size!r}")
        return LocalFactorGrid()
    if name in ("mpi3d_toy", "dsprites"):
        if not path:
            raise SettingError(
                f"`weak_dataset.path` must name the .npz file of {name}. Received: "
                f"path={path!r}")
        return _load_npz(name, path)
    if name == "dummy_data":
        # pylint: disable-next=g-import-not-at-top
        from disentanglement_lib.data.ground_truth import dummy_data
        return dummy_data.DummyData()
    raise SettingError(
        "`weak_dataset.name` must be one of 'mpi3d_stand_in', 'local_factor_grid', "
        f"'mpi3d_toy', 'dsprites', 'dummy_data'. Received: name={name!r}")


@functools.lru_cache(maxsize=1)
def _load_npz(name, path):
    """Loads an `.npz` data set once per process (model, data and evaluation)."""
    return getattr(NpzGroundTruthData, name)(path)


def observation_shape(data):
    """`data.observation_shape` with a channel axis."""
    shape = [int(s) for s in data.observation_shape]
    return tuple(shape + [1]) if len(shape) == 2 else tuple(shape)



def bound_parameter(name, default):
    """The gin binding `name` (e.g. "train.epochs"), or `default` if unbound."""
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default
