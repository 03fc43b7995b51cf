"""The casting line's soft sensor: how much of its metastable lifetime a titrated dope has used.

The model is the simulator's pure physics (``simulator.physics.dope``): one model of the
process, used by the plant simulator to behave and by the controller to estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controller.lines.casting.recipe import DopeLayer
from controller.recipe.control import StandingAlarm
from simulator.physics import dope


@dataclass(slots=True)
class DopeLifetimeEstimator:
    """How much of its metastable lifetime a titrated dope has used.

    Composition from the charge (recipe) and the dosing totaliser; depth past the binodal
    from the cloud-point correlation at the measured dope temperature; ageing integrated
    with the same law the simulator uses (undisturbed dope ages at 1/lifetime, agitation
    redisperses). Seed 000: near the binodal the dispersion lasts weeks, deep inside it
    segregates in hours or minutes, and agitation redisperses it.
    """

    layer: DopeLayer
    aging: float = 0.0
    _curve: dope.CloudPointCurve = field(init=False)
    _polymer_kg: float = field(init=False)
    _solvent_kg: float = field(init=False)
    _non_solvent_g_ml: float = field(init=False)
    _keys: tuple[str, str, str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        layer = self.layer
        if layer.non_solvent is None:
            raise ValueError(f"layer {layer.index} has no non-solvent: nothing to estimate")
        self._curve = dope.cloud_point_curve(layer.polymer, layer.solvent, layer.non_solvent)
        self._polymer_kg = layer.charge_kg * layer.charge_polymer_wt_pct / 100.0
        self._solvent_kg = layer.charge_kg - self._polymer_kg
        self._non_solvent_g_ml = dope.NON_SOLVENTS[self._curve.non_solvent].density_g_cm3
        v = layer.vessel
        self._keys = (f"{v}.dosed_total_ml", f"{v}.temperature_c", f"{v}.agitator_speed_rpm",
                      f"{v}.metastable_life_used_pct", f"{v}.binodal_depth")

    @property
    def addresses(self) -> tuple[str, ...]:
        return self._keys[3:]

    def update(self, image: dict[str, float], dt_s: float) -> None:
        dosed_key, temperature_key, agitator_key, used_key, depth_key = self._keys
        non_solvent_kg = image.get(dosed_key, 0.0) * self._non_solvent_g_ml / 1000.0
        total_kg = self._polymer_kg + self._solvent_kg + non_solvent_kg
        depth = dope.binodal_depth(self._curve, self._polymer_kg / total_kg,
                                   non_solvent_kg / total_kg, image.get(temperature_key, 20.0))
        agitation = dope.agitation_fraction(image.get(agitator_key, 0.0))
        self.aging = dope.aging_step(self.aging, depth, agitation, dt_s)
        image[used_key] = 100.0 * self.aging
        image[depth_key] = depth if math.isfinite(depth) else -1.0


def lifetime_alarm(layer: DopeLayer) -> StandingAlarm:
    """The alarm (and hold) on a titrated dope past its metastable lifetime."""
    vessel = layer.vessel
    return StandingAlarm(
        f"DOPE_{layer.index}_LIFETIME_EXCEEDED",
        f"{vessel}: dope past its metastable lifetime; it segregates unless redispersed "
        "(seed 000) - agitate and check the absorbance before casting", 1,
        f"{vessel}.metastable_life_used_pct >= 100", 0.0, "hold")


def casting_soft_sensors(layers: tuple[DopeLayer, ...]) -> list[DopeLifetimeEstimator]:
    return [DopeLifetimeEstimator(layer) for layer in layers if layer.non_solvent is not None]


def lifetime_alarms(layers: tuple[DopeLayer, ...]) -> list[StandingAlarm]:
    return [lifetime_alarm(layer) for layer in layers if layer.non_solvent is not None]
