"""tf_drpm.multitask: DRPM-MTL and uniform loss scaling (ULS).

Section 5.3 of Sutter et al. (2023): a DRPM decides how many neurons of a
shared representation each task gets. The partition layer (`TaskPartition`),
the two models, their encoders and heads, a probe of the size gradients, and the Multi-X and CelebA data.
"""

from tf_drpm.multitask.celeba import CELEBA_ATTRIBUTES
from tf_drpm.multitask.celeba import celeba_pipeline
from tf_drpm.multitask.celeba import celeba_task_names
from tf_drpm.multitask.celeba import load_celeba
from tf_drpm.multitask.celeba import preprocess_celeba
from tf_drpm.multitask.drpm_multitask import DRPMMultitask
from tf_drpm.multitask.multi_digit import compose_canvas
from tf_drpm.multitask.multi_digit import drop_pixels
from tf_drpm.multitask.multi_digit import make_multi_digit
from tf_drpm.multitask.multi_digit import multi_digit_dataset
from tf_drpm.multitask.multi_lenet import MultiLeNet
from tf_drpm.multitask.multi_lenet_head import MultiLeNetHead
from tf_drpm.multitask.resnet18_encoder import ResNet18Encoder
from tf_drpm.multitask.size_gradient_probe import SizeGradientProbe
from tf_drpm.multitask.task_partition import TaskPartition
from tf_drpm.multitask.uniform_loss_scaling import UniformLossScaling

__all__ = [
    "CELEBA_ATTRIBUTES",
    "DRPMMultitask",
    "MultiLeNet",
    "MultiLeNetHead",
    "ResNet18Encoder",
    "SizeGradientProbe",
    "TaskPartition",
    "UniformLossScaling",
    "celeba_pipeline",
    "celeba_task_names",
    "compose_canvas",
    "drop_pixels",
    "load_celeba",
    "make_multi_digit",
    "multi_digit_dataset",
    "preprocess_celeba",
]
