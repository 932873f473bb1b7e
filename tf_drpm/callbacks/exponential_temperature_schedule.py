"""Keras callback annealing relaxation temperatures exponentially."""

import math

import keras

__all__ = ["ExponentialTemperatureSchedule"]


class ExponentialTemperatureSchedule(keras.callbacks.Callback):
    """Anneals temperature variables as `max(final, initial * exp(-rate * step))`.

    The paper's schedule (Sutter et al., 2023): the temperature of the
    relaxations decays exponentially with the optimizer step `t` and is
    clipped at `final_temperature`:

    ```
    temperature_t = max(final_temperature, initial_temperature * exp(-rate * t))
    ```

    Give either `rate` or `decay_steps` (the step at which the final
    temperature is reached: `rate = log(initial / final) / decay_steps`). The
    step is the model optimizer's `iterations`, so a resumed run continues the
    schedule where it stopped. The temperature is assigned before every
    training batch.

    By default (`initial_temperature=None`) every temperature starts from its
    own layer's initial temperature (the `temperature` argument of a tf_drpm
    layer, its `initial_temperature` attribute), so two layers made with 2.0
    and 3.0 anneal from 2.0 and 3.0 (with `decay_steps`, each at its own rate,
    reaching `final_temperature` together). A float `initial_temperature`
    overrides them all.

    The temperature weights are looked up at the first training batch at which
    the model is built: a subclassed model that `fit` builds on its first batch
    works (that first batch then runs at the layers' own initial temperatures).

    Args:
        initial_temperature: Positive float, or `None` (default): each layer's
            own initial temperature.
        final_temperature: Positive float, at most every initial temperature.
            Default `0.5`.
        rate: Non-negative float decay rate per step, or `None`.
        decay_steps: Positive int, or `None` (default 100000 when `rate` is
            also `None`).
        variables: Optional list of scalar temperature variables, or of layers
            (or models) owning a weight `temperature`; a layer is resolved when
            it is built. Default: every layer of the model (the model included)
            with a weight named `"temperature"` (the convention of tf_drpm layers
            and models).

    Raises:
        ValueError: On a non-positive temperature, `final_temperature` above
            `initial_temperature`, both or a bad `rate` / `decay_steps`, or a
            `None` in `variables` (an unbuilt layer's `temperature`: pass the
            layer itself).

    Example:

    >>> schedule = ExponentialTemperatureSchedule(1.0, 0.5, decay_steps=1000)
    >>> schedule.temperature_at(1000)
    0.5
    """

    def __init__(self, initial_temperature=None, final_temperature=0.5, rate=None,
                 decay_steps=None, variables=None):
        super().__init__()
        _check_positive("final_temperature", final_temperature)
        if initial_temperature is not None:
            _check_positive("initial_temperature", initial_temperature)
            _check_order(initial_temperature, final_temperature)
        if rate is not None and decay_steps is not None:
            raise ValueError(
                "Give at most one of `rate` and `decay_steps`. "
                f"Received: rate={rate}, decay_steps={decay_steps}")
        if rate is None:
            decay_steps = 100000 if decay_steps is None else decay_steps
            if isinstance(decay_steps, bool) or not (
                    isinstance(decay_steps, int) and decay_steps > 0):
                raise ValueError(
                    f"Argument `decay_steps` must be a positive int. Received: decay_steps={decay_steps}")
        elif isinstance(rate, bool) or not (
                isinstance(rate, (int, float)) and math.isfinite(rate) and rate >= 0):
            raise ValueError(f"Argument `rate` must be a non-negative float. Received: rate={rate}")
        if variables is not None:
            variables = list(variables)
            if any(v is None for v in variables):
                raise ValueError(
                    "Argument `variables` holds None, e.g. the `temperature` of a layer that is "
                    "not built yet: pass the layer itself (`variables=[layer]`), whose weight is "
                    f"then looked up when it is built. Received: variables={variables}")
        self.initial_temperature = (None if initial_temperature is None
                                    else float(initial_temperature))
        self.final_temperature = float(final_temperature)
        self.decay_steps = decay_steps
        self.rate = None if rate is None else float(rate)
        if self.rate is None and self.initial_temperature is not None:
            self.rate = self._rate_from(self.initial_temperature)
        self._requested = variables
        self._targets = None  # [(variable, initial temperature, rate)] once resolved

    def _rate_from(self, initial_temperature):
        if self.decay_steps is None:
            return self.rate
        return math.log(initial_temperature / self.final_temperature) / self.decay_steps

    def temperature_at(self, step, initial_temperature=None):
        """The temperature at optimizer step `step` (a Python float).

        Args:
            step: The optimizer step.
            initial_temperature: The initial temperature of the variable;
                default: the schedule's `initial_temperature` (required when
                that is `None`).
        """
        if initial_temperature is None:
            initial_temperature = self.initial_temperature
        if initial_temperature is None:
            raise ValueError(
                "This schedule starts from each layer's own initial temperature: pass "
                "`initial_temperature`. Received: initial_temperature=None")
        rate = self._rate_from(initial_temperature)
        value = initial_temperature * math.exp(-rate * float(step))
        return max(self.final_temperature, value)

    def _owners(self):
        """(layer, temperature variable) for every layer of the model with one."""
        owners = []
        # Keras has no public recursive layer walk; `_flatten_layers` is it.
        for layer in self.model._flatten_layers(include_self=True):  # pylint: disable=protected-access
            variable = getattr(layer, "temperature", None)
            if hasattr(variable, "assign"):
                owners.append((layer, variable))
        return owners

    def _own_initial(self, variable, owner=None):
        """The initial temperature of `variable` (its owner's, unless overridden)."""
        if self.initial_temperature is not None:
            return self.initial_temperature
        candidates = [owner] if owner is not None else [
            layer for layer, v in self._owners() if v is variable]
        for layer in candidates:
            initial = getattr(layer, "initial_temperature", None)
            if isinstance(initial, (int, float)) and not isinstance(initial, bool):
                _check_positive(f"{layer.name}.initial_temperature", initial)
                _check_order(initial, self.final_temperature)
                return float(initial)
        raise ValueError(
            "Cannot tell the initial temperature of the variable "
            f"{getattr(variable, 'path', getattr(variable, 'name', variable))!r} (its "
            "layer has no `initial_temperature`): pass `initial_temperature=`. "
            "Received: initial_temperature=None")

    def _resolve(self):
        """Returns the targets, or None while a requested layer is not built."""
        if self._targets is not None:
            return self._targets
        pairs = []  # (variable, owner or None)
        if self._requested is None:
            pairs = [(variable, layer) for layer, variable in self._owners()]
            if not pairs:
                return None
        else:
            for item in self._requested:
                if hasattr(item, "assign"):
                    pairs.append((item, None))
                else:
                    variable = getattr(item, "temperature", None)
                    if not hasattr(variable, "assign"):
                        return None  # not built yet
                    pairs.append((variable, item))
        targets, seen = [], set()
        for variable, owner in pairs:
            if id(variable) in seen:
                continue
            if owner is not None and not hasattr(owner, "initial_temperature"):
                owner = None  # e.g. a model exposing its layer's variable
            seen.add(id(variable))
            initial = self._own_initial(variable, owner)
            targets.append((variable, initial, self._rate_from(initial)))
        self._targets = targets
        return targets

    def _assign(self):
        targets = self._resolve()
        if targets is None:
            return False
        step = float(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        for variable, initial, rate in targets:
            variable.assign(max(self.final_temperature, initial * math.exp(-rate * step)))
        return True

    def on_train_batch_begin(self, batch, logs=None):
        self._assign()

    def on_train_batch_end(self, batch, logs=None):
        # A model built by its first batch: the weights exist now; set the
        # value of the next step.
        if self._targets is None and not self._assign():
            raise ValueError(
                "ExponentialTemperatureSchedule found no weight named 'temperature' in the "
                "model (or a layer in `variables` is still not built); pass `variables=`.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._targets:
            logs["temperature"] = float(keras.ops.convert_to_numpy(self._targets[0][0]))


def _check_positive(arg_name, value):
    if isinstance(value, bool) or not (
            isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(
            f"Argument `{arg_name}` must be a positive float. Received: {arg_name}={value}")


def _check_order(initial_temperature, final_temperature):
    if final_temperature > initial_temperature:
        raise ValueError(
            "Argument `final_temperature` must not exceed `initial_temperature`. "
            f"Received: final_temperature={final_temperature}, "
            f"initial_temperature={initial_temperature}")
