"""tf_drpm.models."""

from tf_drpm.models.contrastive_pretraining import ContrastivePretraining
from tf_drpm.models.drpm_multitask import DRPMMultitask
from tf_drpm.models.drpm_variational_clustering import DRPMVC
from tf_drpm.models.gaussian_mixture_prior import GaussianMixturePrior
from tf_drpm.models.mlp_autoencoder import MLPAutoencoder
from tf_drpm.models.multi_lenet import MultiLeNet
from tf_drpm.models.multi_lenet_head import MultiLeNetHead
from tf_drpm.models.resnet18_encoder import ResNet18Encoder
from tf_drpm.models.uniform_loss_scaling import UniformLossScaling
from tf_drpm.models.vade import VaDE
from tf_drpm.models.weak_vae import WeakVAE

__all__ = [
    "WeakVAE",
    "DRPMMultitask",
    "MultiLeNet",
    "MultiLeNetHead",
    "ResNet18Encoder",
    "UniformLossScaling",
    "ContrastivePretraining",
    "DRPMVC",
    "GaussianMixturePrior",
    "MLPAutoencoder",
    "VaDE",
]
