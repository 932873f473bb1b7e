"""tf_drpm.clustering: DRPM variational clustering (DRPM-VC) and its baselines.

Section 5.1 of Sutter et al. (2023): a batch of images is one set, partitioned
into clusters by a DRPM. Models (`DRPMVC`, `VaDE`), the auto-encoder and its
contrastive pretraining, the Gaussian mixture prior, its refit callback and the
GMM baselines, the clustering metrics and their callback, and a synthetic
image set for smoke tests.
"""

from tf_drpm.internal import optional_dependencies

optional_dependencies.require(
    "tf_drpm.clustering", {"scipy": "scipy", "sklearn": "scikit-learn"})

from tf_drpm.clustering.bar_images import bar_images
from tf_drpm.clustering.clustering_evaluation import ClusteringEvaluation
from tf_drpm.clustering.clustering_evaluation import evaluate_clustering
from tf_drpm.clustering.clustering_metrics import adjusted_rand_index
from tf_drpm.clustering.clustering_metrics import cluster_accuracy
from tf_drpm.clustering.clustering_metrics import clustering_scores
from tf_drpm.clustering.clustering_metrics import contingency_matrix
from tf_drpm.clustering.clustering_metrics import normalized_mutual_info
from tf_drpm.clustering.contrastive_pretraining import ContrastivePretraining
from tf_drpm.clustering.drpm_variational_clustering import DRPMVC
from tf_drpm.clustering.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.clustering.gmm_baselines import encode_means
from tf_drpm.clustering.gmm_baselines import latent_gmm_priors
from tf_drpm.clustering.gmm_baselines import pixel_gmm_predictions
from tf_drpm.clustering.mlp_autoencoder import MLPAutoencoder
from tf_drpm.clustering.prior_refit import PriorRefit
from tf_drpm.clustering.vade import VaDE

__all__ = [
    "ClusteringEvaluation",
    "ContrastivePretraining",
    "DRPMVC",
    "GaussianMixturePrior",
    "MLPAutoencoder",
    "PriorRefit",
    "VaDE",
    "adjusted_rand_index",
    "bar_images",
    "cluster_accuracy",
    "clustering_scores",
    "contingency_matrix",
    "encode_means",
    "evaluate_clustering",
    "latent_gmm_priors",
    "normalized_mutual_info",
    "pixel_gmm_predictions",
]
