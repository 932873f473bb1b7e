"""tf_drpm.evaluation."""

from tf_drpm.evaluation.clustering_metrics import adjusted_rand_index
from tf_drpm.evaluation.clustering_metrics import cluster_accuracy
from tf_drpm.evaluation.clustering_metrics import clustering_scores
from tf_drpm.evaluation.clustering_metrics import contingency_matrix
from tf_drpm.evaluation.clustering_metrics import normalized_mutual_info

__all__ = [
    "adjusted_rand_index",
    "cluster_accuracy",
    "clustering_scores",
    "contingency_matrix",
    "normalized_mutual_info",
]
