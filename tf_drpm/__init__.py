"""tf_drpm: the Differentiable Random Partition Model for TensorFlow and Keras 3.

The core, with imports pointing one way:

* `tf_drpm.ops`: pure tensor functions (NeuralSort, Gumbel noise, subset masks,
  MVHG polynomial coefficients, partition block probabilities).
* `tf_drpm.distributions`: TensorFlow Probability distributions, exact (`DRPM`,
  `MVHG`) and relaxed (`RelaxedDRPM`, `RelaxedMVHG`, `RelaxedPlackettLuce`;
  their `exact` property is the distribution they relax).
* `tf_drpm.layers`: Keras 3 layers returning tensors (`RandomPartition`,
  `RelaxedSort`); `tf_drpm.callbacks`: the temperature schedule.
* `tf_drpm.models`: `LossModel`, the one train step of every model, and
  `scale_loss`.

Over it, one package per experiment of the paper (import them explicitly):
`tf_drpm.clustering` (DRPM-VC), `tf_drpm.weak_supervision` (DRPM-VAE) and
`tf_drpm.multitask` (DRPM-MTL); `tf_drpm.data` holds the data utilities they
share.
"""

from tf_drpm import callbacks
from tf_drpm import distributions
from tf_drpm import layers
from tf_drpm import models
from tf_drpm import ops

__all__ = ["callbacks", "distributions", "layers", "models", "ops"]
__version__ = "0.1.0"
