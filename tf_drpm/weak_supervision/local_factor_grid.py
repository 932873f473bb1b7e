"""A ground truth whose seven factors each own one tile of the image."""

import numpy as np

from tf_drpm.data import ground_truth_data

__all__ = ["LocalFactorGrid"]

_IMAGE_SIZE = 64
_FACTORS_NUM_VALUES = (4, 4, 2, 3, 3, 10, 10)
# The tile of each factor, (top, bottom, left, right) in pixels: three tiles of
# 22 rows above two of 20 rows, then two full-width strips of 11 rows. The
# tiles cover the image exactly once.
_TILES = (
    (0, 22, 0, 21),  # 0. object colour
    (0, 22, 21, 42),  # 1. object shape
    (0, 22, 42, 64),  # 2. object size
    (22, 42, 0, 32),  # 3. camera height
    (22, 42, 32, 64),  # 4. background colour
    (42, 53, 0, 64),  # 5. first arm angle
    (53, 64, 0, 64),  # 6. second arm angle
)
# Colour ramps that switch one RGB channel fully on per step, so that every
# channel of the tile is a step function of the value (see the class).
_OBJECT_COLORS = np.array(  # black, red, yellow, white
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]],
    dtype=np.float32,
)
_BACKGROUND_COLORS = np.array(  # blue, magenta, white
    [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=np.float32
)
# Object shapes, each containing the previous one (distances from the centre
# of the shape tile, in pixels): a vertical stick, a cross, a disc, a square.
_STICK_HALF_WIDTH = 2.5
_ARM_HALF_LENGTH = 8.5
_SHAPE_HALF_SIZE = 9.5  # the disc's radius and the square's half side
_DISC_RADII = (4.0, 9.0)  # object size
_FLOOR_HEIGHTS = (5, 10, 15)  # camera height: rows of floor out of 20
_GAUGE_MARGIN = 2  # the arm gauges start 2 pixels from the left edge
_GAUGE_STEP = 6  # and grow by 6 pixels per value: 6 to 60 pixels long


class LocalFactorGrid(ground_truth_data.GroundTruthData):
    """Procedural 64x64x3 images in which every factor draws its own tile.

    A ground truth built to be learnt, for the weakly supervised experiments:
    a VAE learns each of its factors within minutes on a CPU, so that what the
    models make of the pairs (their estimate of the number of shared factors,
    the probes of their shared and independent dims) is not limited by an
    encoder that never learnt the factors, as it is on `MPI3DStandIn` at the
    quick budget. It keeps mpi3d_toy's factor names and cardinalities except
    for the two arm angles, which take 10 values instead of 40; it draws no
    scene and is not an mpi3d stand-in.

    The image is cut into seven disjoint tiles, one per factor (`factor_region`);
    a factor changes the pixels of its tile and of no other. Every pixel is 0
    or 1 in every channel. The factors (in mpi3d's order) and how they are
    drawn:

    0. object colour (4), rows 0-21 x columns 0-20: the tile is filled with
       black, red, yellow or white.
    1. object shape (4), rows 0-21 x columns 21-41: a white shape on black,
       centred: a vertical stick (5 pixels wide, 18 high), a cross (the
       stick and its horizontal twin), a disc of radius 9.5 or a square (19
       wide, 20 high).
    2. object size (2), rows 0-21 x columns 42-63: a white disc of radius 4
       or 9 pixels on black.
    3. camera height (3), rows 22-41 x columns 0-31: a white floor filling the
       bottom 5, 10 or 15 of the tile's 20 rows, black above it.
    4. background colour (3), rows 22-41 x columns 32-63: the tile is filled
       with blue, magenta or white.
    5. first arm angle (10), rows 42-52, full width: a white gauge from
       column 2, 6 * (value + 1) pixels long, on black.
    6. second arm angle (10), rows 53-63, full width: the same gauge.

    Why a VAE learns every factor quickly:

    * local and separable: no factor hides or moves another, so each is
      learnt on its own;
    * strong: any two values of a factor differ by at least 198 fully
      changed pixel channels (of 12,288), far more reconstruction loss than
      the few nats of KL its code costs;
    * ordered: every factor's pixels are monotone in its value (a pixel
      channel that is on at one value stays on at the higher ones: the colour
      ramps switch on one channel per step, each shape contains the previous
      one, the floor and the gauges grow). One latent dim read by a monotone
      decoder holds the factor, values in order. With unordered values
      (equidistant colours, a triangle in four orientations) a Label-VAE
      learnt none of the three colour and shape factors well in 450 steps:
      one dim then needs a non-monotone decoder, and the mean image is a
      long-lived saddle;
    * coarse: a gauge step is 6 pixels. The arm angles take 10 values rather
      than mpi3d's 40 (steps of 1.5 pixels and 3.7 nats per factor, slow to
      learn and to resolve with a linear probe).

    Rendering is deterministic (`random_state` of
    `sample_observations_from_factors` is not used) and images are float32
    in {0, 1}.

    Example:

    >>> data = LocalFactorGrid()
    >>> factors, images = data.sample(8, np.random.RandomState(0))
    >>> images.shape
    (8, 64, 64, 3)
    >>> data.factors_num_values
    [4, 4, 2, 3, 3, 10, 10]
    """

    factor_names = (
        "object_color",
        "object_shape",
        "object_size",
        "camera_height",
        "background_color",
        "first_arm_angle",
        "second_arm_angle",
    )

    @property
    def num_factors(self):
        return len(_FACTORS_NUM_VALUES)

    @property
    def factors_num_values(self):
        return list(_FACTORS_NUM_VALUES)

    @property
    def observation_shape(self):
        return [_IMAGE_SIZE, _IMAGE_SIZE, 3]

    def factor_region(self, factor):
        """The pixels factor `factor` may change: bool array `[64, 64]`."""
        if (isinstance(factor, bool) or not isinstance(factor, (int, np.integer))
                or not 0 <= factor < self.num_factors):
            raise ValueError(
                f"`factor` must be an int in [0, {self.num_factors - 1}]. "
                f"Received: factor={factor!r}")
        top, bottom, left, right = _TILES[factor]
        region = np.zeros([_IMAGE_SIZE, _IMAGE_SIZE], dtype=bool)
        region[top:bottom, left:right] = True
        return region

    def sample_factors(self, num, random_state):
        """Samples factors uniformly, int64 array `[num, 7]`."""
        return ground_truth_data._uniform_factors(
            self.factors_num_values, num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        """Renders the images of `factors`; `random_state` is unused."""
        del random_state
        return self.render(factors)

    def render(self, factors):
        """Renders `factors` (int array `[num, 7]`) to float32 `[num, 64, 64, 3]`."""
        factors = ground_truth_data._checked_factors(
            factors, self.factors_num_values, self.factor_names)
        return _render(factors)


def _tile_grid(factor):
    """Pixel-centre coordinates (x, y) of a factor's tile, `[h, w]` each."""
    top, bottom, left, right = _TILES[factor]
    y = np.arange(top, bottom, dtype=np.float32) + 0.5
    x = np.arange(left, right, dtype=np.float32) + 0.5
    return np.meshgrid(x, y, indexing="xy")


def _tile_center(factor):
    top, bottom, left, right = _TILES[factor]
    return 0.5 * (left + right), 0.5 * (top + bottom)


def _shapes(index):
    """Masks `[num, h, w]` of the shape tile: a stick (0), a cross (1), a disc
    (2) or a square (3); each shape contains the previous ones."""
    x, y = _tile_grid(1)
    cx, cy = _tile_center(1)
    u, v = np.abs(x - cx), np.abs(y - cy)
    stick = (u <= _STICK_HALF_WIDTH) & (v <= _ARM_HALF_LENGTH)
    cross = stick | ((v <= _STICK_HALF_WIDTH) & (u <= _ARM_HALF_LENGTH))
    disc = np.hypot(u, v) <= _SHAPE_HALF_SIZE
    square = (u <= _SHAPE_HALF_SIZE) & (v <= _SHAPE_HALF_SIZE)
    return np.stack([stick, cross, disc, square])[index]


def _render(factors):
    num = factors.shape[0]
    image = np.zeros([num, _IMAGE_SIZE, _IMAGE_SIZE, 3], dtype=np.float32)

    def fill(factor, colors):  # colours [num, 3] over the whole tile
        top, bottom, left, right = _TILES[factor]
        image[:, top:bottom, left:right, :] = colors[:, np.newaxis, np.newaxis, :]

    def draw(factor, mask):  # white where mask [num, h, w], black elsewhere
        top, bottom, left, right = _TILES[factor]
        image[:, top:bottom, left:right, :] = mask[..., np.newaxis]

    fill(0, _OBJECT_COLORS[factors[:, 0]])
    draw(1, _shapes(factors[:, 1]))
    x, y = _tile_grid(2)
    cx, cy = _tile_center(2)
    radius = np.asarray(_DISC_RADII, np.float32)[factors[:, 2]].reshape(num, 1, 1)
    draw(2, np.hypot(x - cx, y - cy) <= radius)
    top, bottom = _TILES[3][:2]
    rows = np.arange(bottom - top).reshape(1, -1, 1)
    floor = np.asarray(_FLOOR_HEIGHTS)[factors[:, 3]].reshape(num, 1, 1)
    width = _TILES[3][3] - _TILES[3][2]
    draw(3, np.broadcast_to(rows >= (bottom - top) - floor,
                             (num, bottom - top, width)))
    fill(4, _BACKGROUND_COLORS[factors[:, 4]])
    for factor in (5, 6):
        top, bottom = _TILES[factor][:2]
        columns = np.arange(_IMAGE_SIZE).reshape(1, 1, -1)
        end = _GAUGE_MARGIN + _GAUGE_STEP * (factors[:, factor] + 1)
        gauge = (columns >= _GAUGE_MARGIN) & (columns < end.reshape(num, 1, 1))
        draw(factor, np.broadcast_to(gauge, (num, bottom - top, _IMAGE_SIZE)))
    return image
