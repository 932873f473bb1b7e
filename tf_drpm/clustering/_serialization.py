"""Serialization shared by the clustering models (internal)."""

import keras

__all__ = ["from_config_with_autoencoder", "images_of"]


def from_config_with_autoencoder(cls, config):
    """`from_config` for models whose config nests a serialized `autoencoder`."""
    config = dict(config)
    config["autoencoder"] = keras.saving.deserialize_keras_object(config["autoencoder"])
    return cls(**config)


def images_of(data):
    """The images of a batch element: `data`, or its first item."""
    return data[0] if isinstance(data, (tuple, list)) else data
