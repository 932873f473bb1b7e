"""Ground-truth data backed by an image array indexed by its factors."""

import os

import numpy as np

from tf_drpm.data import ground_truth_data

__all__ = ["NpzGroundTruthData"]

MPI3D_TOY_FACTOR_SIZES = (4, 4, 2, 3, 3, 40, 40)
DSPRITES_FACTOR_SIZES = (1, 3, 6, 40, 32, 32)


class NpzGroundTruthData(ground_truth_data.GroundTruthData):
    """Images stored in factor order, e.g. the mpi3d_toy and dSprites files.

    The image of the factor combination `(f_0, ..., f_{F-1})` is
    `images[sum_j f_j * prod_{i > j} factor_sizes[i]]` (row-major order), the
    layout of both `mpi3d_toy.npz` and `dsprites_ndarray_co1sh3sc6or40x32y32_
    64x64.npz`, and the indexing of disentanglement_lib's `MPI3D` and
    `DSprites` classes. Factors not listed in `latent_factor_indices` are
    nuisance factors: they are drawn uniformly from `random_state` whenever an
    observation is sampled, exactly as disentanglement_lib's
    `SplitDiscreteStateSpace` does.

    Nothing is downloaded: the user passes the path of a file they have. Use
    the constructors `mpi3d_toy(path)` and `dsprites(path)` for the two
    published files, or `from_npz` / the plain constructor for anything laid
    out the same way.

    Args:
        images: array `[prod(factor_sizes), H, W]` or `[prod(factor_sizes), H,
            W, C]` (any array-like indexable by an integer array, e.g. a
            `np.memmap`).
        factor_sizes: number of values of every factor, in storage order.
        latent_factor_indices: the factors exposed as ground-truth factors.
            Defaults to all of them.
        scale: multiplier turning stored values into [0, 1] floats (1/255 for
            uint8 pictures, 1 for dSprites' 0/1 masks).

    Example:

    >>> data = NpzGroundTruthData.mpi3d_toy("/data/mpi3d_toy/mpi3d_toy.npz")
    >>> data.factors_num_values
    [4, 4, 2, 3, 3, 40, 40]
    """

    def __init__(self, images, factor_sizes, latent_factor_indices=None, scale=1.0):
        factor_sizes = [int(size) for size in factor_sizes]
        if not factor_sizes or min(factor_sizes) < 1:
            raise ValueError(
                "`factor_sizes` must be a non-empty list of positive integers. "
                f"Received: factor_sizes={factor_sizes}"
            )
        num_images = int(np.prod(factor_sizes))
        if images.ndim not in (3, 4) or images.shape[0] != num_images:
            raise ValueError(
                "`images` must have shape [prod(factor_sizes), H, W(, C)] = "
                f"[{num_images}, ...] for factor_sizes={factor_sizes}. Received: "
                f"images.shape={tuple(images.shape)}"
            )
        if latent_factor_indices is None:
            latent_factor_indices = list(range(len(factor_sizes)))
        latent_factor_indices = [int(i) for i in latent_factor_indices]
        if any(i < 0 or i >= len(factor_sizes) for i in latent_factor_indices) or (
            len(set(latent_factor_indices)) != len(latent_factor_indices)
        ):
            raise ValueError(
                "`latent_factor_indices` must be distinct indices into "
                f"factor_sizes (length {len(factor_sizes)}). Received: "
                f"latent_factor_indices={latent_factor_indices}"
            )
        self._images = images
        self._factor_sizes = factor_sizes
        self._latent_factor_indices = latent_factor_indices
        self._nuisance_factor_indices = [
            i for i in range(len(factor_sizes)) if i not in latent_factor_indices
        ]
        self._factor_bases = (num_images // np.cumprod(factor_sizes)).astype(np.int64)
        self._scale = float(scale)
        shape = list(images.shape[1:])
        self._observation_shape = shape if len(shape) == 3 else shape + [1]

    @classmethod
    def from_npz(
        cls, path, images_key, factor_sizes, latent_factor_indices=None, scale=1.0
    ):
        """Loads `images_key` of the `.npz` file at `path` (no pickles)."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"No such .npz file. Received: path={path!r}. tf_drpm never "
                "downloads data; pass the path of a file you have."
            )
        with np.load(path, allow_pickle=False) as archive:
            if images_key not in archive.files:
                raise ValueError(
                    f"The file has no array named {images_key!r} (it holds "
                    f"{archive.files}). Received: images_key={images_key!r}"
                )
            images = archive[images_key]
        return cls(images, factor_sizes, latent_factor_indices, scale)

    @classmethod
    def mpi3d_toy(cls, path, factor_sizes=MPI3D_TOY_FACTOR_SIZES):
        """mpi3d_toy (Gondal et al., 2019) from `mpi3d_toy.npz` (key `images`).

        Factors: object colour, object shape, object size, camera height,
        background colour, first and second arm angle. The file of the
        NeurIPS 2019 challenge has sizes `[4, 4, 2, 3, 3, 40, 40]` (460,800
        images); later releases use 6 colours and 6 shapes, pass
        `factor_sizes=[6, 6, 2, 3, 3, 40, 40]` for those.
        """
        return cls.from_npz(path, "images", factor_sizes, scale=1.0 / 255.0)

    @classmethod
    def dsprites(cls, path, latent_factor_indices=(1, 2, 3, 4, 5)):
        """dSprites (Matthey et al., 2017) from its `.npz` file (key `imgs`).

        Storage factors: colour (1), shape (3), scale (6), orientation (40),
        x (32), y (32); by default the five non-constant ones are the
        ground-truth factors, as in disentanglement_lib's `dsprites_full`.
        """
        return cls.from_npz(
            path, "imgs", DSPRITES_FACTOR_SIZES, latent_factor_indices, scale=1.0
        )

    @property
    def num_factors(self):
        return len(self._latent_factor_indices)

    @property
    def factors_num_values(self):
        return [self._factor_sizes[i] for i in self._latent_factor_indices]

    @property
    def observation_shape(self):
        return list(self._observation_shape)

    def sample_factors(self, num, random_state):
        """Samples the ground-truth factors uniformly, `[num, num_factors]`."""
        return ground_truth_data._uniform_factors(
            self.factors_num_values, num, random_state
        )

    def sample_observations_from_factors(self, factors, random_state):
        """Looks the images up; nuisance factors are drawn from `random_state`."""
        factors = ground_truth_data._checked_factors(factors, self.factors_num_values)
        num = factors.shape[0]
        all_factors = np.zeros((num, len(self._factor_sizes)), dtype=np.int64)
        all_factors[:, self._latent_factor_indices] = factors
        for i in self._nuisance_factor_indices:
            all_factors[:, i] = random_state.randint(self._factor_sizes[i], size=num)
        indices = all_factors @ self._factor_bases
        observations = np.asarray(self._images[indices], dtype=np.float32)
        if self._scale != 1.0:
            observations = observations * np.float32(self._scale)
        return observations.reshape([num] + self._observation_shape)
