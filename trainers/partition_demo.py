"""Samples a few DRPM partitions and prints them with their exact probabilities.

  python -m trainers.partition_demo --num_elements 8 --num_subsets 3 --num_samples 5
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import numpy as np  # noqa: E402

from tf_drpm.distributions import DRPM  # noqa: E402
from tf_drpm.distributions import RelaxedDRPM  # noqa: E402

__all__ = ["main"]

_NUM_ELEMENTS = flags.DEFINE_integer("num_elements", 8, "Number of elements n.")
_NUM_SUBSETS = flags.DEFINE_integer("num_subsets", 3, "Number of subsets K.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 5, "Partitions to sample.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of parameters and samples.")


def _format(partition):
    return "  ".join("{" + ",".join(str(i) for i in np.flatnonzero(row)) + "}" for row in partition)


def main(argv):
    del argv
    rng = np.random.RandomState(_SEED.value)
    log_weights = rng.randn(_NUM_SUBSETS.value)
    log_scores = 2.0 * rng.randn(_NUM_ELEMENTS.value)
    drpm = DRPM(log_weights, log_scores)
    samples = drpm.sample(_NUM_SAMPLES.value, seed=[_SEED.value, 1])
    log_probs = drpm.log_prob(samples).numpy()
    lower, upper = (b.numpy() for b in drpm.log_prob_bounds(samples))
    print(f"DRPM with K={_NUM_SUBSETS.value} subsets of n={_NUM_ELEMENTS.value} elements")
    print("log_weights =", np.round(log_weights, 2))
    print("log_scores  =", np.round(log_scores, 2))
    print(f"{'partition (subsets S_1 .. S_K)':<44} {'p(Y) exact':>12} "
          f"{'Lemma 4.2 lower':>16} {'upper':>12}")
    for y, lp, lo, up in zip(samples.numpy(), log_probs, lower, upper):
        print(f"{_format(y):<44} {np.exp(lp):12.4e} {np.exp(lo):16.4e} {np.exp(up):12.4e}")
    mode = RelaxedDRPM(log_weights, log_scores, temperature=1.0).noiseless_partition()
    print(f"noiseless partition (no Gumbel noise): {_format(mode.numpy())}  "
          f"p = {np.exp(drpm.log_prob(mode).numpy()):.4e}")


if __name__ == "__main__":
    app.run(main)
