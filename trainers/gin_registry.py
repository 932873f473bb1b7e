"""Makes Keras and tf_drpm objects configurable by gin (library code never imports gin).

Importing this module registers, under their module paths:

* `keras.optimizers.{Adam, AdamW, SGD, RMSprop, Adagrad, Nadam}` and the
  learning-rate schedules `keras.optimizers.schedules.{ExponentialDecay,
  CosineDecay, PiecewiseConstantDecay}`;
* every public class of `tf_drpm.callbacks`, `tf_drpm.layers` and
  `tf_drpm.models` (as `tf_drpm.callbacks.ExponentialTemperatureSchedule`, ...);
* `trainers.strategy.get_strategy` is configurable as `get_strategy`.

Bind a class without parentheses where the trainer must create it itself (the
optimizer: `train.optimizer = @keras.optimizers.AdamW`), with parentheses for
an instance (`@tf_drpm.callbacks.ExponentialTemperatureSchedule()`).
"""

import gin
import keras

import tf_drpm

__all__ = ["register_module_classes"]

_OPTIMIZERS = ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Nadam")
_SCHEDULES = ("ExponentialDecay", "CosineDecay", "PiecewiseConstantDecay")
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
for _sub in ("callbacks", "layers", "models"):
    _mod = getattr(tf_drpm, _sub, None)
    if _mod is None:
        try:
            _mod = __import__(f"tf_drpm.{_sub}", fromlist=["_"])
        except ImportError:
            _mod = None
    if _mod is not None:
        register_module_classes(_mod, f"tf_drpm.{_sub}")
