"""tf_drpm.clustering: DRPM variational clustering (DRPM-VC) and its baselines.

Section 5.1 of Sutter et al. (2023): a batch of images is one set, partitioned
into clusters by a DRPM. Models (`DRPMVC`, `VaDE`), the auto-encoder and its
contrastive pretraining, the Gaussian mixture prior and the clustering metrics.
"""

from tf_drpm.clustering.clustering_metrics import adjusted_rand_index
from tf_drpm.clustering.clustering_metrics import cluster_accuracy
from tf_drpm.clustering.clustering_metrics import clustering_scores
from tf_drpm.clustering.clustering_metrics import contingency_matrix
from tf_drpm.clustering.clustering_metrics import normalized_mutual_info
from tf_drpm.clustering.contrastive_pretraining import ContrastivePretraining
from tf_drpm.clustering.drpm_variational_clustering import DRPMVC
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder
from tf_drpm.clustering.vade import VaDE

__all__ = [
    "ContrastivePretraining",
    "DRPMVC",
    "GaussianMixturePrior",
    "MLPAutoencoder",
    "VaDE",
    "adjusted_rand_index",
    "cluster_accuracy",
    "clustering_scores",
    "contingency_matrix",
    "normalized_mutual_info",
]
