"""tf_drpm.layers: Keras 3 layers returning tensors."""

from tf_drpm.layers.global_batch_dropout import GlobalBatchDropout
from tf_drpm.layers.global_batch_normalization import GlobalBatchNormalization
from tf_drpm.layers.global_batch_spatial_dropout2d import GlobalBatchSpatialDropout2D
from tf_drpm.layers.random_partition import RandomPartition
from tf_drpm.layers.relaxed_sort import RelaxedSort

__all__ = [
    "GlobalBatchDropout",
    "GlobalBatchNormalization",
    "GlobalBatchSpatialDropout2D",
    "RandomPartition",
    "RelaxedSort",
]
