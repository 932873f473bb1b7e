"""Makes Keras and tf_drpm objects configurable by gin (library code never imports gin).

Importing this module registers, under their module paths:

* `keras.optimizers.{Adam, AdamW, SGD, RMSprop, Adagrad, Nadam}` and the
  learning-rate schedules `keras.optimizers.schedules.{ExponentialDecay,
  CosineDecay, PiecewiseConstantDecay}`;
* the callbacks `keras.callbacks.{EarlyStopping, TerminateOnNaN, CSVLogger}`
  (for `train.extra_callbacks`);
* every public class of `tf_drpm.callbacks`, `tf_drpm.layers`, `tf_drpm.models`
  and the experiment packages `tf_drpm.clustering`, `tf_drpm.weak_supervision`,
  `tf_drpm.multitask` (as `tf_drpm.callbacks.ExponentialTemperatureSchedule`, ...);
* `trainers.core.strategy.get_strategy` is configurable as `get_strategy`.

Bind a class without parentheses where the trainer must create it itself (the
optimizer: `train.optimizer = @keras.optimizers.AdamW`), with parentheses for
an instance (`@tf_drpm.callbacks.ExponentialTemperatureSchedule()`).
"""

import importlib

import gin
import keras

__all__ = ["register_module_classes"]

_OPTIMIZERS = ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Nadam")
_SCHEDULES = ("ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay")
_CALLBACKS = ("EarlyStopping", "TerminateOnNaN", "CSVLogger")
_REGISTERED = set()


def _register(obj, name, module):
    key = f"{module}.{name}"
    if key in _REGISTERED:
        return
    gin.external_configurable(obj, name=name, module=module)
    _REGISTERED.add(key)


def register_module_classes(module, module_name):
    """Registers every class listed in `module.__all__` under `module_name`."""
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name, None)
        if isinstance(obj, type):
            _register(obj, name, module_name)


for _name in _OPTIMIZERS:
    _register(getattr(keras.optimizers, _name), _name, "keras.optimizers")
for _name in _SCHEDULES:
    _register(getattr(keras.optimizers.schedules, _name), _name,
              "keras.optimizers.schedules")
for _name in _CALLBACKS:
    _register(getattr(keras.callbacks, _name), _name, "keras.callbacks")
for _sub in ("callbacks", "layers", "models", "clustering", "weak_supervision", "multitask"):
    register_module_classes(importlib.import_module(f"tf_drpm.{_sub}"), f"tf_drpm.{_sub}")
