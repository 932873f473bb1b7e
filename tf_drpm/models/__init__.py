"""tf_drpm.models: the base of the experiment models and its loss scaling.

`LossModel` holds the one train and test step of every model in the
experiment packages; `scale_loss` is the one loss-scaling helper under
`tf.distribute`.
"""

from tf_drpm.models.loss_model import LossModel
from tf_drpm.models.loss_scaling import scale_loss

__all__ = ["LossModel", "scale_loss"]
