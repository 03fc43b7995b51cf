"""The casting line's soft sensors: how much of its metastable lifetime a titrated dope has
used, how deep past its binodal the dope is at the coldest point of its path to the knife,
and the quality of the membrane cast from it (pore size, water permeability, bubble point:
``controller.lines.casting.membrane_quality``).

The model is the simulator's pure physics (``simulator.physics.dope``): one model of the
process, used by the plant simulator to behave and by the controller to estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controller.lines.casting import membrane_quality
from controller.lines.casting.recipe import DopeLayer
from controller.recipe.control import StandingAlarm
from drivers.definition import LineDefinition
from simulator.physics import dope, dope_path

PATH_ZONES: tuple[str, ...] = ("head", "filter", "line")


@dataclass(frozen=True, slots=True)
class DopeCharge:
    """A titrated layer's dope: the charge (recipe) plus the non-solvent dosed so far."""

    curve: dope.CloudPointCurve
    polymer_kg: float
    solvent_kg: float
    non_solvent_g_ml: float

    @classmethod
    def of(cls, layer: DopeLayer) -> DopeCharge:
        if layer.non_solvent is None:
            raise ValueError(f"layer {layer.index} has no non-solvent: nothing to estimate")
        curve = dope.cloud_point_curve(layer.polymer, layer.solvent, layer.non_solvent)
        polymer_kg = layer.charge_kg * layer.charge_polymer_wt_pct / 100.0
        return cls(curve, polymer_kg, layer.charge_kg - polymer_kg, dope.NON_SOLVENTS[curve.non_solvent].density_g_cm3)

    def mass_fractions(self, dosed_ml: float) -> tuple[float, float]:
        """(polymer, non-solvent) mass fractions after ``dosed_ml`` of non-solvent."""
        non_solvent_kg = dosed_ml * self.non_solvent_g_ml / 1000.0
        total_kg = self.polymer_kg + self.solvent_kg + non_solvent_kg
        return self.polymer_kg / total_kg, non_solvent_kg / total_kg


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
    _charge: DopeCharge = field(init=False)
    _keys: tuple[str, str, str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        self._charge = DopeCharge.of(self.layer)
        v = self.layer.vessel
        self._keys = (f"{v}.dosed_total_ml", f"{v}.temperature_c", f"{v}.agitator_speed_rpm",
                      f"{v}.metastable_life_used_pct", f"{v}.binodal_depth")

    @property
    def addresses(self) -> tuple[str, ...]:
        return self._keys[3:]

    def update(self, image: dict[str, float], dt_s: float) -> None:
        dosed_key, temperature_key, agitator_key, used_key, depth_key = self._keys
        w_p, w_ns = self._charge.mass_fractions(image.get(dosed_key, 0.0))
        depth = dope.binodal_depth(self._charge.curve, w_p, w_ns, image.get(temperature_key, 20.0))
        agitation = dope.agitation_fraction(image.get(agitator_key, 0.0))
        self.aging = dope.aging_step(self.aging, depth, agitation, dt_s)
        image[used_key] = 100.0 * self.aging
        image[depth_key] = depth if math.isfinite(depth) else -1.0


@dataclass(slots=True)
class DopePathEstimator:
    """The dope's temperature along its path and its depth past the binodal at the coldest
    point: vessel → pump head → filter → feed line → applicator (each a well-mixed zone at
    steady state from its measured wall temperature and the metered flow,
    ``simulator.physics.dope_path``) → support (the film takes its temperature).
    Composition from the charge and the dosing totaliser, as the lifetime estimator."""

    layer: DopeLayer
    zone_ua_w_k: tuple[float, ...]  # dope-side conductances: head, filter, line, applicator
    _charge: DopeCharge = field(init=False)
    _polymer_g_ml: float = field(init=False)
    _solvent_g_ml: float = field(init=False)

    def __post_init__(self) -> None:
        layer = self.layer
        self._charge = DopeCharge.of(layer)
        self._polymer_g_ml = dope.POLYMER_DENSITY_G_CM3[dope.canonical_name(layer.polymer)]
        self._solvent_g_ml = dope.SOLVENT_DENSITY_G_CM3[dope.canonical_name(layer.solvent)]

    @property
    def addresses(self) -> tuple[str, ...]:
        n = self.layer.index
        return (f"casting_knife.layer_{n}_path_min_temperature_c", f"casting_knife.layer_{n}_binodal_depth")

    def update(self, image: dict[str, float], dt_s: float) -> None:
        layer = self.layer
        vessel, pump = layer.vessel, layer.pump
        w_p, w_ns = self._charge.mass_fractions(image.get(f"{vessel}.dosed_total_ml", 0.0))
        density = dope.dope_density_g_cm3(w_p, w_ns, self._polymer_g_ml, self._solvent_g_ml,
                                          self._charge.non_solvent_g_ml)
        flow_heat_w_k = image.get(f"{pump}.flow_ml_min", 0.0) * density / 60000.0 * dope.DOPE_CP_J_KG_K
        walls = [image.get(f"{pump}.{zone}_temperature_c", 20.0) for zone in PATH_ZONES]
        walls.append(image.get("casting_knife.temperature_c", 20.0))
        path = dope_path.predicted_path_temperatures_c(image.get(f"{vessel}.temperature_c", 20.0),
                                                       zip(walls, self.zone_ua_w_k, strict=True), flow_heat_w_k,
                                                       image.get("support_belt.temperature_c", 20.0))
        coldest = min(path)
        depth = dope.binodal_depth(self._charge.curve, w_p, w_ns, coldest)
        temperature_key, depth_key = self.addresses
        image[temperature_key] = coldest
        image[depth_key] = depth if math.isfinite(depth) else -1.0


@dataclass(slots=True)
class MembraneQualityEstimator:
    """Pore diameter, water permeability and bubble point of the membrane cast from a layer's
    dope, from its depth past the binodal at the knife (``membrane_quality``); runs after
    the layer's :class:`DopePathEstimator`, whose depth it reads."""

    layer: DopeLayer

    @property
    def addresses(self) -> tuple[str, ...]:
        n = self.layer.index
        return (f"casting_knife.layer_{n}_pore_diameter_nm", f"casting_knife.layer_{n}_water_permeability_cm_min_psi",
                f"casting_knife.layer_{n}_bubble_point_psi")

    def update(self, image: dict[str, float], dt_s: float) -> None:
        quality = membrane_quality.membrane_quality(image.get(f"casting_knife.layer_{self.layer.index}_binodal_depth", -1.0))
        pore_key, permeability_key, bubble_key = self.addresses
        image[pore_key] = quality.pore_diameter_um * 1000.0
        image[permeability_key] = quality.water_permeability_cm_min_psi
        image[bubble_key] = quality.bubble_point_psi


def quality_estimators(layers: tuple[DopeLayer, ...]) -> list[MembraneQualityEstimator]:
    return [MembraneQualityEstimator(layer) for layer in layers if layer.non_solvent is not None]


def spinodal_alarm(layer: DopeLayer, margin: float) -> StandingAlarm:
    """Alarm and hold while the slot is open and the dope at the knife is predicted past the
    spinodal or within ``margin`` of it (seed 000: past the spinodal no membrane can be cast)."""
    threshold = dope.SPINODAL_DEPTH - margin
    return StandingAlarm(
        f"DOPE_{layer.index}_NEAR_SPINODAL",
        f"layer {layer.index}: the dope on its way to the knife is predicted within {margin:g} of its spinodal "
        f"(depth >= {threshold:.3f}): a cold spot on its path; heat the path before casting (seed 000)", 1,
        f"casting_knife.gap_{layer.slot}_setpoint_um > 0 and casting_knife.layer_{layer.index}_binodal_depth >= "
        f"{threshold:.4f}", 0.0, "hold")


def path_estimators(layers: tuple[DopeLayer, ...], definition: LineDefinition) -> list[DopePathEstimator]:
    knife = definition.devices_of_kind("casting_knife")[0]
    out = []
    for layer in layers:
        if layer.non_solvent is None:
            continue
        eq = definition.device(layer.pump).equipment
        ua = tuple(eq.get(f"{zone}_dope_ua_w_k", 10.0) for zone in PATH_ZONES) + (knife.equipment.get("dope_ua_w_k", 20.0),)
        out.append(DopePathEstimator(layer, ua))
    return out


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
