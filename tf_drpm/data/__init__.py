"""tf_drpm.data: data utilities shared by the experiments.

The IDX reader and the (Fashion-)MNIST loaders, disentanglement_lib's
`GroundTruthData` interface, and set batches (a batch is one set).
"""

from tf_drpm.data.fashion_mnist import load_fashion_mnist
from tf_drpm.data.ground_truth_data import GroundTruthData
from tf_drpm.data.idx_reader import read_idx
from tf_drpm.data.mnist import load_mnist
from tf_drpm.data.set_batches import num_set_batches
from tf_drpm.data.set_batches import set_batches

__all__ = [
    "GroundTruthData",
    "load_fashion_mnist",
    "load_mnist",
    "num_set_batches",
    "read_idx",
    "set_batches",
]
