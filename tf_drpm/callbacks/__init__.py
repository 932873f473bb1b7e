"""tf_drpm.callbacks: Keras callbacks."""

from tf_drpm.callbacks.exponential_temperature_schedule import (
    ExponentialTemperatureSchedule,
)

__all__ = ["ExponentialTemperatureSchedule"]
