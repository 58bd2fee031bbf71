"""The one interface every thermal source implements, so the monitor never knows which it polls."""

from __future__ import annotations

from typing import Literal, Protocol

from pytest_qlab.thermal.model import ThermalSample

Measure = Literal["drive temperature", "thermal pressure", "CPU speed limit"]
READ_TIMEOUT_S = 10.0
"""For programs run on every sample: a hung smartctl must not stall the monitor for long."""


class ThermalBackend(Protocol):
    """A source of readings. `read` is called from the monitor's thread only; it returns None
    (and sets `problem`) rather than raising when nothing could be read."""

    @property
    def name(self) -> str:
        """ "kind:location", as in DriveInfo.temperature_sensor: "hwmon:/sys/.../temp1_input"."""
        ...

    @property
    def measures(self) -> Measure: ...

    @property
    def problem(self) -> str | None:
        """Why the latest `read` returned None; None after a good read."""
        ...

    def read(self) -> ThermalSample | None: ...
