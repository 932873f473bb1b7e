"""A `.keras` file round trip of a layer (the check every tf_drpm layer gets)."""

import os

import keras
import numpy as np

__all__ = ["check_keras_file_round_trip"]


def check_keras_file_round_trip(test, layer, inputs, **call_kwargs):
    """Saves a functional model around `layer` to `.keras`, loads it, compares.

    The restored layer has the same class and config, and the model gives the
    same outputs on `inputs` (call the layer deterministically: `call_kwargs`,
    e.g. `training=False`).

    Args:
        test: the `tf.test.TestCase`.
        layer: an unbuilt Keras layer.
        inputs: a NumPy array `[batch, ...]`.
        **call_kwargs: passed to the layer's call.

    Returns:
        The restored layer.
    """
    symbolic = keras.Input(inputs.shape[1:], dtype=str(inputs.dtype))
    model = keras.Model(symbolic, layer(symbolic, **call_kwargs))
    expected = model(inputs)
    path = os.path.join(test.get_temp_dir(), f"{layer.name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    restored_layer = restored.get_layer(layer.name)
    test.assertIsInstance(restored_layer, type(layer))
    test.assertEqual(restored_layer.get_config(), layer.get_config())
    actual = restored(inputs)
    if isinstance(expected, dict):
        test.assertEqual(set(actual), set(expected))
        for key in expected:
            test.assertAllClose(actual[key], expected[key], msg=key)
    else:
        test.assertAllClose(actual, expected)
    for weight, restored_weight in zip(layer.weights, restored_layer.weights):
        test.assertAllClose(np.asarray(weight), np.asarray(restored_weight), msg=weight.path)
    return restored_layer
