"""The foaming line's soft sensors (seed 001): gas loading and the single-phase minimum
pressure, the foam leaving the die; and the interlocks whose limits come from the recipe.

The models are the simulator's pure physics (``simulator.physics.gas``, ``.foam``) and
material data (``simulator.physics.materials``): one model of the process, used by the
plant simulator to behave and by the controller to estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from controller.engine.soft_sensors import SoftSensor
from controller.lines.common import GEAR_PUMP_VOLUMETRIC_EFFICIENCY
from controller.lines.foaming.control import DIE_FREEZE_MARGIN_K, GAS_FLOW_SETPOINTS
from controller.lines.foaming.recipe import foaming_block
from controller.recipe.control import StandingAlarm
from controller.recipe.model import CompiledRecipe, LoopAction
from drivers.definition import LineDefinition
from simulator.physics import foam, gas, materials
from simulator.physics.gas import CO2_MOLAR_MASS_KG_MOL, WATER_MOLAR_MASS_KG_MOL


@dataclass(slots=True)
class FoamingGasSensor:
    """Gas loading of the melt and the single-phase minimum pressure (seed 001).

    Polymer throughput from melt pump 1's speed (displacement × speed × η_v × ρ), gas
    loading from the metering pumps' measured mass flows, P_min(T) = Σ r_i/H_i(T)
    (``simulator.physics.gas``) at the screw-tip melt temperature (injection stage) and
    at the exchanger outlet (second mixing stage). ``extruder.gas_min_pressure_bar`` is
    the recipe's factor × P_min at injection: the gas interlock compares the injection
    pressure with it, and the mixing-stage pressure with P_min at the exchanger outlet.
    """

    polymer: str
    displacement_cm3_rev: float
    pressure_factor: float
    volumetric_efficiency: float = GEAR_PUMP_VOLUMETRIC_EFFICIENCY
    _henry: tuple[gas.HenryCorrelation, gas.HenryCorrelation] = field(init=False)
    _density_kg_m3: float = field(init=False)

    def __post_init__(self) -> None:
        self._henry = materials.henry_correlations(self.polymer)
        self._density_kg_m3 = materials.melt_properties(self.polymer).melt_density_kg_m3

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("extruder.co2_wt_pct", "extruder.water_wt_pct", "melt_pump_1.throughput_kg_h",
                "extruder.single_phase_min_bar", "extruder.gas_min_pressure_bar",
                "heat_exchanger.single_phase_min_bar")

    def update(self, image: dict[str, float], dt_s: float) -> None:
        polymer_kg_h = (self.displacement_cm3_rev * 1e-6 * max(image.get("melt_pump_1.speed_rpm", 0.0), 0.0)
                        * 60.0 * self.volumetric_efficiency * self._density_kg_m3)
        co2_kg_h = max(image.get("co2_pump.mass_flow_g_min", 0.0), 0.0) * 0.06
        water_kg_h = max(image.get("water_pump.mass_flow_g_min", 0.0), 0.0) * 0.06
        total = polymer_kg_h + co2_kg_h + water_kg_h
        w_co2 = co2_kg_h / total if total > 1e-6 else 0.0
        w_water = water_kg_h / total if total > 1e-6 else 0.0
        if w_co2 + w_water >= 0.5:  # no melt to speak of: gas alone
            w_co2 = w_water = 0.0
            p_min_tip = p_min_hx = 1.0e4 if co2_kg_h + water_kg_h > 0.0 else 0.0
        else:
            fractions = (w_co2, w_water)
            p_min_tip = gas.minimum_single_phase_pressure_bar(
                fractions, self._henry, image.get("extruder.melt_temperature_c", 20.0) + 273.15)
            p_min_hx = gas.minimum_single_phase_pressure_bar(
                fractions, self._henry, image.get("heat_exchanger.melt_outlet_temperature_c", 20.0) + 273.15)
        image["extruder.co2_wt_pct"] = 100.0 * w_co2
        image["extruder.water_wt_pct"] = 100.0 * w_water
        image["melt_pump_1.throughput_kg_h"] = polymer_kg_h
        image["extruder.single_phase_min_bar"] = p_min_tip
        image["extruder.gas_min_pressure_bar"] = self.pressure_factor * p_min_tip
        image["heat_exchanger.single_phase_min_bar"] = p_min_hx


@dataclass(slots=True)
class FoamSensor:
    """Cell density, cell size and void fraction of the foam leaving the die
    (``simulator.physics.foam.estimate_foam``; its fitted constants are assumptions there).
    Reads the gas loading written by :class:`FoamingGasSensor` (run it first)."""

    polymer: str
    displacement_cm3_rev: float
    die_width_m: float
    die_land_length_m: float
    volumetric_efficiency: float = GEAR_PUMP_VOLUMETRIC_EFFICIENCY
    _density_kg_m3: float = field(init=False)

    def __post_init__(self) -> None:
        self._density_kg_m3 = materials.melt_properties(self.polymer).melt_density_kg_m3

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("die.foam_cell_density_per_cm3", "die.foam_cell_size_um", "die.foam_void_fraction_pct",
                "die.pressure_drop_rate_gpa_s")

    def update(self, image: dict[str, float], dt_s: float) -> None:
        flow_m3_s = (self.displacement_cm3_rev * 1e-6 * max(image.get("melt_pump_2.speed_rpm", 0.0), 0.0) / 60.0
                     * self.volumetric_efficiency)
        gap_m = image.get("die.gap_mm", 0.0) / 1000.0
        w_co2 = image.get("extruder.co2_wt_pct", 0.0) / 100.0
        w_water = image.get("extruder.water_wt_pct", 0.0) / 100.0
        if flow_m3_s <= 0.0 or gap_m <= 0.0:
            density = size = void = rate = 0.0
        else:
            estimate = foam.estimate_foam(
                die_pressure_drop_pa=max(image.get("die.melt_pressure_bar", 0.0), 0.0) * 1.0e5,
                die_land_length_m=self.die_land_length_m, die_width_m=self.die_width_m, die_gap_m=gap_m,
                flow_m3_s=flow_m3_s, die_temperature_c=image.get("die.melt_temperature_c", 20.0),
                gas_mass_fractions=(w_co2, w_water),
                gas_molar_masses_kg_mol=(CO2_MOLAR_MASS_KG_MOL, WATER_MOLAR_MASS_KG_MOL),
                polymer_density_kg_m3=self._density_kg_m3)
            density = estimate.cell_density_per_cm3
            size = estimate.cell_diameter_um if math.isfinite(estimate.cell_diameter_um) else 0.0
            void = 100.0 * estimate.void_fraction
            rate = estimate.pressure_drop_rate_gpa_s
        image["die.foam_cell_density_per_cm3"] = density
        image["die.foam_cell_size_um"] = size
        image["die.foam_void_fraction_pct"] = void
        image["die.pressure_drop_rate_gpa_s"] = rate


GAS_PRESSURE_ALARM_ID = "GAS_BELOW_SINGLE_PHASE"
DIE_FREEZE_ALARM_ID = "DIE_FREEZE"


def foaming_soft_sensors(recipe: CompiledRecipe, line: LineDefinition) -> list[SoftSensor]:
    """The foaming line's soft sensors for ``recipe``: gas loading and P_min (polymer from
    its materials, the gas-pressure factor from its formula), then the foam estimate."""
    polymer = foaming_block(recipe).polymer
    die = line.device("die").equipment
    return [
        FoamingGasSensor(polymer=polymer, displacement_cm3_rev=line.device("melt_pump_1").equipment[
            "displacement_cm3_rev"], pressure_factor=recipe.parameters["gas_pressure_factor"].value),
        FoamSensor(polymer=polymer, displacement_cm3_rev=line.device("melt_pump_2").equipment[
            "displacement_cm3_rev"], die_width_m=die["width_m"], die_land_length_m=die["land_length_m"]),
    ]


def foaming_interlocks(recipe: CompiledRecipe) -> list[StandingAlarm]:
    """The foaming line's interlocks that depend on the recipe (seed 001):

    - gas injection only while the injection stage is above the recipe's factor × P_min at
      the screw-tip temperature (PHYSICS.md: inject while P > 1.2-1.5 × P_min), the second
      mixing stage above P_min at the exchanger outlet (below it the gas comes out of
      solution before the die), and both melt pumps run;
    - melt at the die more than DIE_FREEZE_MARGIN_K below the foaming temperature (the
      production step's melt_cooling setpoint) holds the run (freeze-off).
    """
    factor = recipe.parameters["gas_pressure_factor"].value
    gas_pumps_on = "(co2_pump.running > 0.5 or water_pump.running > 0.5)"
    alarms = [StandingAlarm(
        GAS_PRESSURE_ALARM_ID,
        f"Gas injection interlock: melt pressure below {factor:g} x the single-phase minimum, or a melt pump "
        "stopped; CO2 and water closed", 1,
        f"{gas_pumps_on} and (melt_pump_1.inlet_pressure_bar < extruder.gas_min_pressure_bar or "
        "melt_pump_2.inlet_pressure_bar < heat_exchanger.single_phase_min_bar or "
        "melt_pump_1.running < 0.5 or melt_pump_2.running < 0.5)",
        2.0, "hold", force_safe=GAS_FLOW_SETPOINTS)]
    foaming_c = _production_setpoint(recipe, "melt_cooling")
    if foaming_c is not None:
        freeze_c = foaming_c - DIE_FREEZE_MARGIN_K
        alarms.append(StandingAlarm(
            DIE_FREEZE_ALARM_ID, f"Melt at the die below {freeze_c:g} degC, {DIE_FREEZE_MARGIN_K:g} K under the "
            "foaming temperature (freeze-off): run held, gas closed", 1,
            f"melt_pump_2.running > 0.5 and die.melt_temperature_c < {freeze_c:g}", 10.0, "hold",
            force_safe=GAS_FLOW_SETPOINTS))
    return alarms


def _production_setpoint(recipe: CompiledRecipe, loop: str) -> float | None:
    """The setpoint ``loop`` runs at in the recipe's (first) production step."""
    setpoint = None
    for step in recipe.steps:
        for action in step.actions:
            if isinstance(action, LoopAction) and action.loop == loop and action.setpoint is not None:
                setpoint = action.setpoint
        if step.production:
            return setpoint
    return None
