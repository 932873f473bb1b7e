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

    Args:
        initial_temperature: Positive float. Default `1.0`.
        final_temperature: Positive float, at most `initial_temperature`.
            Default `0.5`.
        rate: Non-negative float decay rate per step, or `None`.
        decay_steps: Positive int, or `None` (default 100000 when `rate` is
            also `None`).
        variables: Optional list of scalar variables to assign. Default: every
            model weight whose name is `"temperature"` (the convention of
            tf_drpm layers and models).

    Example:

    >>> schedule = ExponentialTemperatureSchedule(1.0, 0.5, decay_steps=1000)
    >>> schedule.temperature_at(1000)
    0.5
    """

    def __init__(self, initial_temperature=1.0, final_temperature=0.5, rate=None,
                 decay_steps=None, variables=None):
        super().__init__()
        for arg_name, value in (("initial_temperature", initial_temperature),
                                ("final_temperature", final_temperature)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Argument `{arg_name}` must be a positive float. Received: {arg_name}={value}")
        if final_temperature > initial_temperature:
            raise ValueError(
                "Argument `final_temperature` must not exceed `initial_temperature`. "
                f"Received: final_temperature={final_temperature}, "
                f"initial_temperature={initial_temperature}")
        if rate is not None and decay_steps is not None:
            raise ValueError(
                "Give at most one of `rate` and `decay_steps`. "
                f"Received: rate={rate}, decay_steps={decay_steps}")
        if rate is None:
            decay_steps = 100000 if decay_steps is None else decay_steps
            if not (isinstance(decay_steps, int) and decay_steps > 0):
                raise ValueError(
                    f"Argument `decay_steps` must be a positive int. Received: decay_steps={decay_steps}")
            rate = math.log(initial_temperature / final_temperature) / decay_steps
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"Argument `rate` must be a non-negative float. Received: rate={rate}")
        self.initial_temperature = float(initial_temperature)
        self.final_temperature = float(final_temperature)
        self.rate = float(rate)
        self._variables = None if variables is None else list(variables)

    def temperature_at(self, step):
        """The temperature at optimizer step `step` (a Python float)."""
        value = self.initial_temperature * math.exp(-self.rate * float(step))
        return max(self.final_temperature, value)

    def _temperature_variables(self):
        if self._variables is None:
            self._variables = [w for w in self.model.weights
                               if w.name.split("/")[-1].split(":")[0] == "temperature"]
            if not self._variables:
                raise ValueError(
                    "ExponentialTemperatureSchedule found no weight named 'temperature' in the "
                    "model; pass `variables=`.")
        return self._variables

    def on_train_batch_begin(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        value = self.temperature_at(step)
        for variable in self._temperature_variables():
            variable.assign(value)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._variables:
            logs["temperature"] = float(keras.ops.convert_to_numpy(self._variables[0]))
