"""tf_drpm.distributions."""

from tf_drpm.distributions.differentiable_random_partition import (
    DifferentiableRandomPartition,
)
from tf_drpm.distributions.multivariate_noncentral_hypergeometric import (
    MultivariateNoncentralHypergeometric,
)
from tf_drpm.distributions.relaxed_multivariate_noncentral_hypergeometric import (
    RelaxedMultivariateNoncentralHypergeometric,
)
from tf_drpm.distributions.relaxed_plackett_luce import RelaxedPlackettLuce

DRPM = DifferentiableRandomPartition
MVHG = MultivariateNoncentralHypergeometric
RelaxedMVHG = RelaxedMultivariateNoncentralHypergeometric

__all__ = [
    "DRPM",
    "DifferentiableRandomPartition",
    "MVHG",
    "MultivariateNoncentralHypergeometric",
    "RelaxedMVHG",
    "RelaxedMultivariateNoncentralHypergeometric",
    "RelaxedPlackettLuce",
]
