"""The disentanglement_lib `GroundTruthData` interface."""

import numpy as np

__all__ = ["GroundTruthData"]


class GroundTruthData:
    """Data set generated in two steps: discrete factors, then observations.

    This is the interface of `disentanglement_lib.data.ground_truth.
    ground_truth_data.GroundTruthData` (Locatello et al., 2019), kept verbatim so
    that any object with these members works with `tf_drpm.data`, including
    disentanglement_lib's own data set classes (`DummyData`, `MPI3D`,
    `DSprites`, ...). Nothing in `tf_drpm` checks `isinstance`; duck typing is
    enough. Subclasses implement the three properties and the two sampling
    methods; `sample` and `sample_observations` are derived from them.

    All randomness comes from the explicit `random_state`
    (`np.random.RandomState`) argument; implementations must not touch the
    global `np.random` state.

    Factors are integer arrays of shape `[num, num_factors]` whose column `j`
    takes values in `{0, ..., factors_num_values[j] - 1}`. Observations are float
    arrays of shape `[num] + observation_shape` with values in `[0, 1]`.
    """

    @property
    def num_factors(self):
        """Number of ground-truth factors of variation."""
        raise NotImplementedError()

    @property
    def factors_num_values(self):
        """List with the number of distinct values of each factor."""
        raise NotImplementedError()

    @property
    def observation_shape(self):
        """Shape of one observation, e.g. `[64, 64, 3]`."""
        raise NotImplementedError()

    def sample_factors(self, num, random_state):
        """Samples a batch of factors, int array `[num, num_factors]`."""
        raise NotImplementedError()

    def sample_observations_from_factors(self, factors, random_state):
        """Samples a batch of observations given a batch of factors."""
        raise NotImplementedError()

    def sample(self, num, random_state):
        """Samples a batch of factors and the matching observations."""
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num, random_state):
        """Samples a batch of observations."""
        return self.sample(num, random_state)[1]


def _uniform_factors(factors_num_values, num, random_state):
    """Uniform factors, one column per factor, drawn from `random_state`."""
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"`num` must be a non-negative int. Received: num={num!r}")
    factors = np.zeros((num, len(factors_num_values)), dtype=np.int64)
    for j, num_values in enumerate(factors_num_values):
        factors[:, j] = random_state.randint(num_values, size=num)
    return factors


def _checked_factors(factors, factors_num_values, factor_names=None):
    """`factors` as an int64 array `[num, num_factors]`, or a `ValueError`
    naming the first entry outside its factor's values."""
    factors = np.asarray(factors)
    num_factors = len(factors_num_values)
    if factors.ndim != 2 or factors.shape[1] != num_factors:
        raise ValueError(f"`factors` must have shape [num, {num_factors}]. "
                         f"Received: factors.shape={factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"`factors` must be integers. Received: factors.dtype={factors.dtype}")
    upper = np.asarray(factors_num_values)
    outside = (factors < 0) | (factors >= upper)
    if np.any(outside):
        row, column = np.argwhere(outside)[0]
        name = f" ({factor_names[column]})" if factor_names else ""
        raise ValueError(f"Factor {column}{name} must lie in [0, {upper[column] - 1}]. "
                         f"Received: factors[{row}, {column}]={factors[row, column]}")
    return factors.astype(np.int64)
