"""Pairs of observations that share a subset of their ground-truth factors."""

import numpy as np
import tensorflow as tf

__all__ = ["WeakPairSampler"]


class WeakPairSampler:
    """Samples weakly supervised pairs `(x1, x2)` from ground-truth data.

    Two modes, exactly one of which is chosen:

    * `num_shared_factors=n_s` (DRPM paper, section 5.2): each pair shares
      exactly `n_s` factors, chosen uniformly at random per pair, and differs in
      EVERY other factor: the second value is drawn uniformly from the values
      different from the first. Factors with a single value can only be
      shared; they count towards `n_s`.
    * `num_changed_factors=k` (disentanglement_lib's `simple_dynamics`,
      Locatello et al., 2020): per pair, `k_observed = k` (or, for `k = -1`,
      uniform in `[1, F - 1]`), then `random_state.choice([1, k_observed])`
      factors are chosen without replacement and changed. Two fixes against
      the original: the new values come from `random_state` (the original uses
      the global `np.random`), and a changed factor always takes a DIFFERENT
      value (the original can redraw the old one).

    All randomness comes from the `random_state` passed to `sample`; the data
    set's own sampling methods receive the same state. `ground_truth_data` is
    any object with disentanglement_lib's `GroundTruthData` interface.

    Args:
        ground_truth_data: the data set (`num_factors`, `factors_num_values`,
            `sample_factors`, `sample_observations_from_factors`).
        num_shared_factors: integer in `[#single-valued factors, F]`.
        num_changed_factors: integer in `[1, #multi-valued factors]`, or -1.

    Example:

    >>> sampler = WeakPairSampler(MPI3DStandIn(), num_shared_factors=3)
    >>> pairs = sampler.sample(16, np.random.RandomState(0))
    >>> pairs["x1"].shape, pairs["shared"].sum(axis=1)  # ((16, 64, 64, 3), [3, ...])
    """

    def __init__(
        self, ground_truth_data, num_shared_factors=None, num_changed_factors=None
    ):
        if (num_shared_factors is None) == (num_changed_factors is None):
            raise ValueError(
                "Pass exactly one of `num_shared_factors` and `num_changed_factors`. "
                f"Received: num_shared_factors={num_shared_factors}, "
                f"num_changed_factors={num_changed_factors}"
            )
        self.ground_truth_data = ground_truth_data
        self._num_values = np.asarray(ground_truth_data.factors_num_values, np.int64)
        num_factors = int(ground_truth_data.num_factors)
        if self._num_values.shape != (num_factors,) or np.any(self._num_values < 1):
            raise ValueError(
                "`ground_truth_data.factors_num_values` must hold num_factors="
                f"{num_factors} positive integers. Received: "
                f"factors_num_values={list(ground_truth_data.factors_num_values)}"
            )
        self._variable = np.flatnonzero(self._num_values > 1)
        self._constant = np.flatnonzero(self._num_values == 1)
        self.num_shared_factors = num_shared_factors
        self.num_changed_factors = num_changed_factors
        if num_shared_factors is not None:
            if not (len(self._constant) <= num_shared_factors <= num_factors):
                raise ValueError(
                    f"`num_shared_factors` must lie in [{len(self._constant)}, "
                    f"{num_factors}] (single-valued factors are always shared). "
                    f"Received: num_shared_factors={num_shared_factors}"
                )
        elif num_changed_factors != -1 and not (
            1 <= num_changed_factors <= len(self._variable)
        ):
            raise ValueError(
                "`num_changed_factors` must be -1 or lie in "
                f"[1, {len(self._variable)}] (factors with more than one value). "
                f"Received: num_changed_factors={num_changed_factors}"
            )
        elif num_changed_factors == -1 and len(self._variable) < 2:
            raise ValueError(
                "`num_changed_factors=-1` needs at least two factors with more "
                "than one value. Received: "
                f"factors_num_values={self._num_values.tolist()}"
            )

    @property
    def num_factors(self):
        return len(self._num_values)

    def sample_factor_pairs(self, num, random_state):
        """Samples factor pairs.

        Returns:
            factors1, factors2: int64 arrays `[num, F]`.
            label: int64 `[num]`, the index of one changed factor per pair
                (uniform among the changed ones; the last one drawn in the
                `num_changed_factors` mode, as in disentanglement_lib), -1 when
                the pair shares every factor.
        """
        factors1 = np.asarray(
            self.ground_truth_data.sample_factors(num, random_state), dtype=np.int64
        )
        if self.num_shared_factors is not None:
            changed, label = self._changed_exactly(num, random_state)
        else:
            changed, label = self._changed_dynamics(num, random_state)
        # A uniform non-zero offset modulo the number of values gives a uniform
        # new value among the other values.
        offsets = 1 + np.floor(
            random_state.random_sample((num, self.num_factors)) * (self._num_values - 1)
        ).astype(np.int64)
        factors2 = np.where(changed, (factors1 + offsets) % self._num_values, factors1)
        return factors1, factors2, label

    def sample(self, num, random_state):
        """Samples `num` pairs.

        Returns:
            A dict with `x1`, `x2` (float32 `[num] + observation_shape`),
            `factors1`, `factors2` (int64 `[num, F]`), `shared` (bool
            `[num, F]`, True where the pair agrees) and `label` (int64 `[num]`,
            see `sample_factor_pairs`).
        """
        factors1, factors2, label = self.sample_factor_pairs(num, random_state)
        data = self.ground_truth_data
        x1 = data.sample_observations_from_factors(factors1, random_state)
        x2 = data.sample_observations_from_factors(factors2, random_state)
        return {
            "x1": np.asarray(x1, dtype=np.float32),
            "x2": np.asarray(x2, dtype=np.float32),
            "factors1": factors1,
            "factors2": factors2,
            "shared": factors1 == factors2,
            "label": label,
        }

    def as_dataset(self, batch_size, seed):
        """An endless `tf.data.Dataset` of batched pair dicts.

        Elements are dicts with `x1`, `x2` (float32), `label` (int32 `[B]`) and
        `shared` (float32 `[B, F]`). The generator owns
        `np.random.RandomState(seed)`, so iterating the data set again replays
        the same pairs. Batches are prefetched, so rendering overlaps training.
        """
        shape = [batch_size] + list(self.ground_truth_data.observation_shape)
        if len(shape) == 2:
            shape = shape + [1]
        num_factors = self.num_factors

        def generator():
            random_state = np.random.RandomState(seed)
            while True:
                pairs = self.sample(batch_size, random_state)
                yield {
                    "x1": pairs["x1"].reshape(shape),
                    "x2": pairs["x2"].reshape(shape),
                    "label": pairs["label"].astype(np.int32),
                    "shared": pairs["shared"].astype(np.float32),
                }

        signature = {
            "x1": tf.TensorSpec(shape, tf.float32),
            "x2": tf.TensorSpec(shape, tf.float32),
            "label": tf.TensorSpec([batch_size], tf.int32),
            "shared": tf.TensorSpec([batch_size, num_factors], tf.float32),
        }
        dataset = tf.data.Dataset.from_generator(generator, output_signature=signature)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _changed_exactly(self, num, random_state):
        """Changes all but `num_shared_factors` factors, uniformly chosen."""
        num_free_shared = self.num_shared_factors - len(self._constant)
        changed = np.zeros((num, self.num_factors), dtype=bool)
        keys = random_state.random_sample((num, len(self._variable)))
        ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
        changed[:, self._variable] = ranks >= num_free_shared
        return changed, _pick_changed(changed, random_state)

    def _changed_dynamics(self, num, random_state):
        """disentanglement_lib's `simple_dynamics` choice of changed factors."""
        changed = np.zeros((num, self.num_factors), dtype=bool)
        label = np.empty(num, dtype=np.int64)
        for row in range(num):
            if self.num_changed_factors == -1:
                k_observed = random_state.randint(1, len(self._variable))
            else:
                k_observed = self.num_changed_factors
            num_changed = random_state.choice([1, k_observed])
            indices = self._variable[
                random_state.choice(len(self._variable), num_changed, replace=False)
            ]
            changed[row, indices] = True
            label[row] = indices[-1]
        return changed, label


def _pick_changed(changed, random_state):
    """One changed index per row, uniform; -1 for rows without changes."""
    keys = np.where(changed, random_state.random_sample(changed.shape), -1.0)
    label = np.argmax(keys, axis=1).astype(np.int64)
    return np.where(changed.any(axis=1), label, -1)
