"""tf_drpm.models."""

from tf_drpm.models.weak_vae import WeakVAE

__all__ = [
    "WeakVAE",
]
