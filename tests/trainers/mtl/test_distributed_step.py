"""The multitask family's smoke steps on one device, 2 mirrored CPUs and 2 workers.

`trainers.core.distributed_step` runs `gin/tests/mtl_smoke.gin` (batch 16,
2 epochs of 2 steps, Adam, dropout in the MultiLeNet encoder and heads)
through the shared trainer; the losses of every step and the weights and
optimizer slots after the first step and after the run must agree to 1e-5
(float32). The dropout masks (and, with `stochastic=True`, the DRPM's Gumbel
noise) are indexed by the global example, so two replicas draw the masks of
one device.
"""

import pytest

from tests.trainers.core import distributed_step_util as util


class DRPMMultitaskDistributedTest(util.DistributedStepTestCase):

    FAMILY = "mtl"
    METHODS = ("drpm",)


class UniformLossScalingDistributedTest(util.DistributedStepTestCase):

    FAMILY = "mtl"
    METHODS = ("uls",)


@pytest.mark.slow
class StochasticDRPMMultitaskDistributedTest(util.DistributedStepTestCase):
    """Gumbel noise in the DRPM's sizes and order (off in the paper)."""

    FAMILY = "mtl"
    METHODS = ("drpm",)
    GIN_PARAMS = ("mtl_model.stochastic = True",)


if __name__ == "__main__":
    import tensorflow as tf

    tf.test.main()
