"""tf_drpm.internal."""

__all__ = []
