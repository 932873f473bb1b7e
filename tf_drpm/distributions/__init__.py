"""tf_drpm.distributions: exact distributions and their relaxations.

| exact (discrete, `log_prob`)    | relaxed (gradients through samples)       |
|---------------------------------|-------------------------------------------|
| `DRPM` (partitions)             | `RelaxedDRPM`                             |
| `MVHG` (subset sizes)           | `RelaxedMVHG`                             |
| `tfd.PlackettLuce` (orders)     | `RelaxedPlackettLuce`                     |

Each relaxed class has an `exact` property returning the distribution it
relaxes; with `hard=True` its forward values are exact samples of it.
"""

from tf_drpm.distributions.differentiable_random_partition import (
    DifferentiableRandomPartition,
)
from tf_drpm.distributions.multivariate_noncentral_hypergeometric import (
    MultivariateNoncentralHypergeometric,
)
from tf_drpm.distributions.relaxed_differentiable_random_partition import (
    RelaxedDifferentiableRandomPartition,
)
from tf_drpm.distributions.relaxed_multivariate_noncentral_hypergeometric import (
    RelaxedMultivariateNoncentralHypergeometric,
)
from tf_drpm.distributions.relaxed_plackett_luce import RelaxedPlackettLuce

DRPM = DifferentiableRandomPartition
MVHG = MultivariateNoncentralHypergeometric
RelaxedDRPM = RelaxedDifferentiableRandomPartition
RelaxedMVHG = RelaxedMultivariateNoncentralHypergeometric

__all__ = [
    "DRPM",
    "DifferentiableRandomPartition",
    "MVHG",
    "MultivariateNoncentralHypergeometric",
    "RelaxedDRPM",
    "RelaxedDifferentiableRandomPartition",
    "RelaxedMVHG",
    "RelaxedMultivariateNoncentralHypergeometric",
    "RelaxedPlackettLuce",
]
