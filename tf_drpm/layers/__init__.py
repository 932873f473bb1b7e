"""tf_drpm.layers: Keras 3 layers returning tensors."""

from tf_drpm.layers.random_partition import RandomPartition
from tf_drpm.layers.relaxed_sort import RelaxedSort

__all__ = ["RandomPartition", "RelaxedSort"]
