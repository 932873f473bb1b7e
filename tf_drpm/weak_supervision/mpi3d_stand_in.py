"""A procedurally rendered stand-in with mpi3d_toy's factor structure."""

import numpy as np

from tf_drpm.data import ground_truth_data

__all__ = ["MPI3DStandIn"]

_IMAGE_SIZE = 64
_OBJECT_COLORS = np.array(  # white, green, red, blue
    [[1.0, 1.0, 1.0], [0.1, 0.75, 0.15], [0.85, 0.1, 0.1], [0.1, 0.2, 0.9]],
    dtype=np.float32,
)
_BACKGROUND_COLORS = np.array(  # purple, sea green, salmon
    [[0.5, 0.3, 0.6], [0.18, 0.55, 0.34], [0.98, 0.5, 0.45]], dtype=np.float32
)
_ARM_COLOR = np.array([0.6, 0.6, 0.62], dtype=np.float32)
_FLOOR_COLOR = np.array([0.22, 0.22, 0.25], dtype=np.float32)
# Object shapes as regular polygons: (number of sides, apothem / radius,
# orientation of the first face normal). A circle has 0 sides.
_SHAPES = (
    (3, 0.5, 0.5 * np.pi),  # "cone", seen from the side: a triangle
    (4, 0.8, 0.0),  # "cube": a square
    (0, 1.0, 0.0),  # "cylinder", seen from the top: a disc
    (6, np.cos(np.pi / 6.0), 0.0),  # "hexagonal": a hexagon
)
_OBJECT_RADII = (3.5, 6.0)
_CAMERA_SHIFTS = (-6.0, 0.0, 6.0)  # vertical scene offset in pixels
_FIRST_ARM_ANGLES = np.deg2rad(np.linspace(-50.0, 50.0, 40))
_SECOND_ARM_ANGLES = np.deg2rad(np.linspace(-80.0, 80.0, 40))
_FIRST_ARM_LENGTH = 16.0
_SECOND_ARM_LENGTH = 12.0
_ARM_HALF_WIDTH = 1.6
_WINDOW = 18  # side of the square that holds the object, in pixels


class MPI3DStandIn(ground_truth_data.GroundTruthData):
    """Procedural 64x64x3 robot-arm scenes with mpi3d_toy's 7 factors.

    A STAND-IN, NOT THE BENCHMARK. mpi3d_toy (Gondal et al., 2019) is rendered
    from a 3D robot-arm scene and cannot be reproduced; this class only copies
    its factor structure `[4, 4, 2, 3, 3, 40, 40]` so that the weakly supervised
    experiments run offline and fast. Results obtained on it must be labelled as
    stand-in results, never as mpi3d numbers. Use
    `NpzGroundTruthData.mpi3d_toy(path)` for the real data.

    The factors (in mpi3d's order) and how they are drawn:

    0. object colour (4): white, green, red, blue.
    1. object shape (4): triangle ("cone"), square ("cube"), disc
       ("cylinder"), hexagon ("hexagonal").
    2. object size (2): radius 3.5 or 6 pixels.
    3. camera height (3): the scene (horizon, floor and arm) moves by -6, 0 or
       +6 pixels vertically.
    4. background colour (3): purple, sea green, salmon wall above the horizon.
    5. first arm angle (40): the lower arm segment turns from -50 to +50
       degrees around its shoulder.
    6. second arm angle (40): the upper segment turns from -80 to +80 degrees
       relative to the lower one; the object sits at its tip.

    Rendering is deterministic (the `random_state` of
    `sample_observations_from_factors` is not used) and anti-aliased with
    signed distance functions, so every change of every factor, including one
    step of an arm angle, changes pixel values. Images are float32 in [0, 1].

    `image_size=32` gives a low-resolution mode: the 64x64 rendering averaged
    over 2x2 blocks (the same scenes, a quarter of the pixels), for CPU runs
    where a 64x64 model cannot learn within the time budget.

    Args:
        image_size: 64 (default) or 32.

    Example:

    >>> data = MPI3DStandIn()
    >>> factors, images = data.sample(8, np.random.RandomState(0))
    >>> images.shape
    (8, 64, 64, 3)
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

    def __init__(self, image_size=_IMAGE_SIZE):
        if image_size not in (32, 64):
            raise ValueError(
                f"`image_size` must be 32 or 64. Received: image_size={image_size!r}"
            )
        self.image_size = int(image_size)

    @property
    def num_factors(self):
        return 7

    @property
    def factors_num_values(self):
        return [4, 4, 2, 3, 3, 40, 40]

    @property
    def observation_shape(self):
        return [self.image_size, self.image_size, 3]

    def sample_factors(self, num, random_state):
        """Samples factors uniformly, int64 array `[num, 7]`."""
        return ground_truth_data._uniform_factors(
            self.factors_num_values, num, random_state
        )

    def sample_observations_from_factors(self, factors, random_state):
        """Renders the images of `factors`; `random_state` is unused."""
        del random_state
        return self.render(factors)

    def render(self, factors):
        """Renders `factors` (int array `[num, 7]`) to float32 `[num, 64, 64, 3]`."""
        factors = ground_truth_data._checked_factors(
            factors, self.factors_num_values, self.factor_names)
        images = _render(factors)
        if self.image_size == _IMAGE_SIZE:
            return images
        block = _IMAGE_SIZE // self.image_size
        shape = (len(images), self.image_size, block, self.image_size, block, 3)
        return images.reshape(shape).mean(axis=(2, 4))


def _coverage(signed_distance):
    """Anti-aliased coverage of a shape from its signed distance in pixels."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _segment_distance(px, py, ax, ay, bx, by):
    """Distance from pixel centres to the segments a-b (broadcast)."""
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _polygon_distance(px, py, cx, cy, radius, shape_index):
    """Signed distance to the object polygons (per-example shape index)."""
    rx, ry = px - cx, py - cy  # [num, h, w]
    distance = np.hypot(rx, ry) - radius  # the disc
    for index, (sides, apothem_ratio, phase) in enumerate(_SHAPES):
        selected = np.flatnonzero(shape_index == index)
        if sides == 0 or selected.size == 0:
            continue
        sx, sy = rx[selected], ry[selected]
        polygon = None
        for side in range(sides):
            angle = phase + 2.0 * np.pi * side / sides
            projection = sx * np.cos(angle) + sy * np.sin(angle)
            polygon = projection if polygon is None else np.maximum(polygon, projection)
        distance[selected] = polygon - apothem_ratio * radius[selected]
    return distance


def _render(factors):
    num = factors.shape[0]
    dtype = np.float32
    grid = np.arange(_IMAGE_SIZE, dtype=dtype) + 0.5
    py, px = np.meshgrid(grid, grid, indexing="ij")  # [H, W]
    px, py = px[np.newaxis], py[np.newaxis]

    def column(j, table):
        values = np.asarray(table, dtype=dtype)[factors[:, j]]
        return values.reshape(num, 1, 1)

    shift = column(3, _CAMERA_SHIFTS)
    first_angle = column(5, _FIRST_ARM_ANGLES)
    second_angle = column(6, _SECOND_ARM_ANGLES) + first_angle
    radius = column(2, _OBJECT_RADII)
    shape_index = factors[:, 1]

    # Wall above the horizon, floor below it; the floor darkens with depth.
    horizon = 30.0 + shift
    floor = _coverage(horizon - py)[..., np.newaxis]  # [num, H, W, 1]
    depth = np.clip((py - horizon) / 40.0, 0.0, 1.0)[..., np.newaxis]
    wall = _BACKGROUND_COLORS[factors[:, 4]].reshape(num, 1, 1, 3)
    floor_color = _FLOOR_COLOR * (1.0 - 0.4 * depth)
    image = wall * (1.0 - floor) + floor_color * floor

    # Two-segment arm on a pedestal.
    shoulder_x, shoulder_y = 32.0, 46.0 + shift
    elbow_x = shoulder_x + _FIRST_ARM_LENGTH * np.sin(first_angle)
    elbow_y = shoulder_y - _FIRST_ARM_LENGTH * np.cos(first_angle)
    tip_x = elbow_x + _SECOND_ARM_LENGTH * np.sin(second_angle)
    tip_y = elbow_y - _SECOND_ARM_LENGTH * np.cos(second_angle)
    pedestal = (
        _segment_distance(px, py, shoulder_x, shoulder_y, shoulder_x, shoulder_y + 14.0)
        - 2.5
    )
    arm = (
        np.minimum(
            _segment_distance(px, py, shoulder_x, shoulder_y, elbow_x, elbow_y),
            _segment_distance(px, py, elbow_x, elbow_y, tip_x, tip_y),
        )
        - _ARM_HALF_WIDTH
    )
    joints = (
        np.minimum(
            np.hypot(px - elbow_x, py - elbow_y),
            np.hypot(px - shoulder_x, py - shoulder_y),
        )
        - 2.2
    )
    arm_alpha = _coverage(np.minimum(np.minimum(pedestal, arm), joints))
    shade = 0.85 + 0.15 * np.cos(first_angle)  # the segment catches light
    arm_color = _ARM_COLOR * shade[..., np.newaxis]
    arm_alpha = arm_alpha[..., np.newaxis]
    image = image * (1.0 - arm_alpha) + arm_color * arm_alpha

    # The object held at the tip, with a thin dark outline, drawn in a window
    # around the tip that contains it whole (radius + outline + antialiasing).
    size = _WINDOW
    left = np.clip(np.floor(tip_x).astype(np.int64) - size // 2, 0, _IMAGE_SIZE - size)
    top = np.clip(np.floor(tip_y).astype(np.int64) - size // 2, 0, _IMAGE_SIZE - size)
    offsets = np.arange(size)
    rows = top.reshape(num, 1) + offsets  # [num, size]
    cols = left.reshape(num, 1) + offsets
    batch = np.arange(num).reshape(num, 1, 1)
    window = image[batch, rows[:, :, np.newaxis], cols[:, np.newaxis, :]]
    wx = cols[:, np.newaxis, :].astype(dtype) + 0.5
    wy = rows[:, :, np.newaxis].astype(dtype) + 0.5
    object_distance = _polygon_distance(wx, wy, tip_x, tip_y, radius, shape_index)
    outline = _coverage(object_distance - 0.8)[..., np.newaxis]
    window = window * (1.0 - outline) + 0.1 * outline
    body = _coverage(object_distance)[..., np.newaxis]
    color = _OBJECT_COLORS[factors[:, 0]].reshape(num, 1, 1, 3)
    window = window * (1.0 - body) + color * body
    image[batch, rows[:, :, np.newaxis], cols[:, np.newaxis, :]] = window
    return np.clip(image, 0.0, 1.0).astype(np.float32)
