"""tf_drpm.layers."""

from tf_drpm.layers.adaptive_aggregation import AdaptiveAggregation
from tf_drpm.layers.conv_gaussian_encoder import ConvGaussianEncoder
from tf_drpm.layers.deconv_decoder import DeconvDecoder
from tf_drpm.layers.hypergeometric_aggregation import HypergeometricAggregation
from tf_drpm.layers.label_aggregation import LabelAggregation
from tf_drpm.layers.partition_aggregation import PartitionAggregation
from tf_drpm.layers.random_partition import RandomPartition
from tf_drpm.layers.relaxed_sort import RelaxedSort
from tf_drpm.layers.task_partition import TaskPartition
from tf_drpm.layers.view_aggregation import ViewAggregation

__all__ = [
    "RandomPartition",
    "RelaxedSort",
    "AdaptiveAggregation",
    "ConvGaussianEncoder",
    "DeconvDecoder",
    "HypergeometricAggregation",
    "LabelAggregation",
    "PartitionAggregation",
    "ViewAggregation",
    "TaskPartition",
]
