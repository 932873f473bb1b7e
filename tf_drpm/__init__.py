"""tf_drpm: the Differentiable Random Partition Model for TensorFlow and Keras 3.

Subpackages, with imports pointing one way:

* `tf_drpm.ops`: pure tensor functions (NeuralSort, Gumbel noise, subset masks,
  MVHG polynomial coefficients, partition block probabilities).
* `tf_drpm.distributions`: TensorFlow Probability distributions (`MVHG`,
  `RelaxedMVHG`, `RelaxedPlackettLuce`, `DRPM`).
* `tf_drpm.layers`: Keras 3 layers returning tensors (`RandomPartition`,
  `RelaxedSort`).
* `tf_drpm.callbacks`: Keras callbacks (temperature annealing).
* `tf_drpm.models`: `keras.Model` subclasses with their own `train_step`.
* `tf_drpm.data` and `tf_drpm.evaluation`: data pipelines and metrics.
"""

from tf_drpm import callbacks
from tf_drpm import distributions
from tf_drpm import layers
from tf_drpm import ops

__all__ = ["callbacks", "distributions", "layers", "ops"]
__version__ = "0.1.0"
