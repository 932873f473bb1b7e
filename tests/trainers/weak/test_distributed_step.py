"""The weak family's smoke steps on one device, 2 mirrored CPUs and 2 workers.

`trainers.core.distributed_step` runs `gin/tests/weak_smoke.gin` (batch 2,
2 steps, Adam) through the shared trainer; the losses of every step and the
weights and optimizer slots after the first step and after the run must agree
to 1e-5. The latent noise, the HG sizes and the DRPM's Gumbel noise are
indexed by the global pair. The runs are float64: at initialisation the two
views are almost the same, so the DRPM-VAE's order scores `log(kl + eps)`
with `kl` ~ 4e-3 (a difference of nearly equal terms) amplify the float32
rounding of the replicas' smaller convolutions into ~4e-4 relative gradient
differences (Adam then moves some weights by up to its learning rate, 1e-4);
in float64 the runs agree to ~1e-12. Label, Ada and HG agree in float32 too.
"""

import pytest

from tests.trainers.core import distributed_step_util as util


class WeakDRPMDistributedTest(util.DistributedStepTestCase):

    FAMILY = "weak"
    METHODS = ("drpm",)
    DTYPE = "float64"


@pytest.mark.slow
class WeakBaselinesDistributedTest(util.DistributedStepTestCase):

    FAMILY = "weak"
    METHODS = ("label", "adaptive", "hg")
    DTYPE = "float64"


@pytest.mark.slow
class WeakBaselinesFloat32DistributedTest(util.DistributedStepTestCase):

    FAMILY = "weak"
    METHODS = ("label", "adaptive", "hg")


if __name__ == "__main__":
    import tensorflow as tf

    tf.test.main()
