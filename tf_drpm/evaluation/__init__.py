"""tf_drpm.evaluation."""

from tf_drpm.evaluation.clustering_metrics import adjusted_rand_index
from tf_drpm.evaluation.clustering_metrics import cluster_accuracy
from tf_drpm.evaluation.clustering_metrics import clustering_scores
from tf_drpm.evaluation.clustering_metrics import contingency_matrix
from tf_drpm.evaluation.clustering_metrics import normalized_mutual_info
from tf_drpm.evaluation.disentanglement_lib_metrics import DISENTANGLEMENT_LIB_METRICS
from tf_drpm.evaluation.disentanglement_lib_metrics import disentanglement_lib_scores
from tf_drpm.evaluation.disentanglement_lib_metrics import encoder_representation
from tf_drpm.evaluation.weak_supervision_metrics import linear_probe_score
from tf_drpm.evaluation.weak_supervision_metrics import num_shared_mse
from tf_drpm.evaluation.weak_supervision_metrics import partition_probe_scores
from tf_drpm.evaluation.weak_supervision_metrics import shared_dimension_diagnostics
from tf_drpm.evaluation.weak_supervision_metrics import (
    summarize_shared_dimension_diagnostics,
)
from tf_drpm.evaluation.weak_supervision_metrics import weak_supervision_scores

__all__ = [
    "adjusted_rand_index",
    "cluster_accuracy",
    "clustering_scores",
    "contingency_matrix",
    "normalized_mutual_info",
    "DISENTANGLEMENT_LIB_METRICS",
    "disentanglement_lib_scores",
    "encoder_representation",
    "linear_probe_score",
    "num_shared_mse",
    "partition_probe_scores",
    "shared_dimension_diagnostics",
    "summarize_shared_dimension_diagnostics",
    "weak_supervision_scores",
]
