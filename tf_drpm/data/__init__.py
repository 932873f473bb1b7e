"""tf_drpm.data."""

from tf_drpm.data.celeba import CELEBA_ATTRIBUTES
from tf_drpm.data.celeba import celeba_pipeline
from tf_drpm.data.celeba import celeba_task_names
from tf_drpm.data.celeba import load_celeba
from tf_drpm.data.celeba import preprocess_celeba
from tf_drpm.data.fashion_mnist import load_fashion_mnist
from tf_drpm.data.ground_truth_data import GroundTruthData
from tf_drpm.data.idx_reader import read_idx
from tf_drpm.data.mnist import load_mnist
from tf_drpm.data.mpi3d_stand_in import MPI3DStandIn
from tf_drpm.data.multi_digit import compose_canvas
from tf_drpm.data.multi_digit import drop_pixels
from tf_drpm.data.multi_digit import make_multi_digit
from tf_drpm.data.multi_digit import multi_digit_dataset
from tf_drpm.data.npz_ground_truth import NpzGroundTruthData
from tf_drpm.data.set_batches import num_set_batches
from tf_drpm.data.set_batches import set_batches
from tf_drpm.data.weak_pairs import WeakPairSampler

__all__ = [
    "load_fashion_mnist",
    "load_mnist",
    "num_set_batches",
    "read_idx",
    "set_batches",
    "CELEBA_ATTRIBUTES",
    "celeba_pipeline",
    "celeba_task_names",
    "load_celeba",
    "preprocess_celeba",
    "compose_canvas",
    "drop_pixels",
    "make_multi_digit",
    "multi_digit_dataset",
    "GroundTruthData",
    "MPI3DStandIn",
    "NpzGroundTruthData",
    "WeakPairSampler",
]
