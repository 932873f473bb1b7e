"""tf_drpm.models."""
