"""tf_drpm.weak_supervision: weakly supervised VAEs (DRPM-VAE and baselines).

Section 5.2 of Sutter et al. (2023): pairs of images share an unknown subset
of their generative factors. One `WeakVAE` with four view aggregations (label,
adaptive, hypergeometric, DRPM), its encoder and decoder, the ground-truth data
(`MPI3DStandIn`, `LocalFactorGrid`, `NpzGroundTruthData`) and pair sampler, and
the metrics (ours and disentanglement_lib's).
"""

from tf_drpm.internal import optional_dependencies

optional_dependencies.require(
    "tf_drpm.weak_supervision", {"scipy": "scipy", "sklearn": "scikit-learn"})

from tf_drpm.weak_supervision.adaptive_aggregation import AdaptiveAggregation
from tf_drpm.weak_supervision.conv_gaussian_encoder import ConvGaussianEncoder
from tf_drpm.weak_supervision.deconv_decoder import DeconvDecoder
from tf_drpm.weak_supervision.disentanglement_lib_metrics import (
    DISENTANGLEMENT_LIB_METRICS,
)
from tf_drpm.weak_supervision.disentanglement_lib_metrics import (
    disentanglement_lib_scores,
)
from tf_drpm.weak_supervision.disentanglement_lib_metrics import encoder_representation
from tf_drpm.weak_supervision.disentanglement_lib_metrics import (
    metric_requirement_errors,
)
from tf_drpm.weak_supervision.hypergeometric_aggregation import (
    HypergeometricAggregation,
)
from tf_drpm.weak_supervision.label_aggregation import LabelAggregation
from tf_drpm.weak_supervision.local_factor_grid import LocalFactorGrid
from tf_drpm.weak_supervision.mpi3d_stand_in import MPI3DStandIn
from tf_drpm.weak_supervision.npz_ground_truth import NpzGroundTruthData
from tf_drpm.weak_supervision.partition_aggregation import PartitionAggregation
from tf_drpm.weak_supervision.view_aggregation import ViewAggregation
from tf_drpm.weak_supervision.weak_pairs import WeakPairSampler
from tf_drpm.weak_supervision.weak_supervision_metrics import linear_probe_score
from tf_drpm.weak_supervision.weak_supervision_metrics import num_shared_mse
from tf_drpm.weak_supervision.weak_supervision_metrics import partition_probe_scores
from tf_drpm.weak_supervision.weak_supervision_metrics import (
    shared_dimension_diagnostics,
)
from tf_drpm.weak_supervision.weak_supervision_metrics import (
    summarize_shared_dimension_diagnostics,
)
from tf_drpm.weak_supervision.weak_supervision_metrics import weak_supervision_scores
from tf_drpm.weak_supervision.weak_vae import WeakVAE

__all__ = [
    "AdaptiveAggregation",
    "ConvGaussianEncoder",
    "DISENTANGLEMENT_LIB_METRICS",
    "DeconvDecoder",
    "HypergeometricAggregation",
    "LabelAggregation",
    "LocalFactorGrid",
    "MPI3DStandIn",
    "NpzGroundTruthData",
    "PartitionAggregation",
    "ViewAggregation",
    "WeakPairSampler",
    "WeakVAE",
    "disentanglement_lib_scores",
    "encoder_representation",
    "linear_probe_score",
    "metric_requirement_errors",
    "num_shared_mse",
    "partition_probe_scores",
    "shared_dimension_diagnostics",
    "summarize_shared_dimension_diagnostics",
    "weak_supervision_scores",
]
