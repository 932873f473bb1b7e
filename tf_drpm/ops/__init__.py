"""tf_drpm.ops."""

from tf_drpm.ops.gumbel import sample_gumbel
from tf_drpm.ops.log_convolve import log_convolve
from tf_drpm.ops.mvhg_log_coefficients import log_binomial_coefficients
from tf_drpm.ops.mvhg_log_coefficients import mvhg_conditional_logits
from tf_drpm.ops.mvhg_log_coefficients import mvhg_log_coefficients
from tf_drpm.ops.mvhg_log_coefficients import mvhg_log_normalizer
from tf_drpm.ops.mvhg_log_coefficients import mvhg_mean
from tf_drpm.ops.mvhg_log_coefficients import mvhg_tilted_log_pmfs
from tf_drpm.ops.mvhg_sequential_sample import mvhg_sequential_sample
from tf_drpm.ops.neural_sort import hard_sort_permutation
from tf_drpm.ops.neural_sort import neural_sort
from tf_drpm.ops.neural_sort import pairwise_abs_rowsum
from tf_drpm.ops.ordered_blocks_log_prob import ordered_blocks_log_prob
from tf_drpm.ops.plackett_luce_log_prob import plackett_luce_log_prob
from tf_drpm.ops.plackett_luce_log_prob import ranked_log_prob
from tf_drpm.ops.soft_sort_partition import hard_sort_partition
from tf_drpm.ops.soft_sort_partition import soft_sort_partition
from tf_drpm.ops.soft_sort_partition import sort_partition
from tf_drpm.ops.straight_through import straight_through
from tf_drpm.ops.subset_masks import subset_masks

__all__ = [
    "hard_sort_partition",
    "hard_sort_permutation",
    "log_binomial_coefficients",
    "log_convolve",
    "mvhg_conditional_logits",
    "mvhg_log_coefficients",
    "mvhg_log_normalizer",
    "mvhg_mean",
    "mvhg_sequential_sample",
    "mvhg_tilted_log_pmfs",
    "neural_sort",
    "ordered_blocks_log_prob",
    "pairwise_abs_rowsum",
    "plackett_luce_log_prob",
    "ranked_log_prob",
    "sample_gumbel",
    "soft_sort_partition",
    "sort_partition",
    "straight_through",
    "subset_masks",
]
