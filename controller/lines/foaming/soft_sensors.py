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
from controller.lines.foaming.control import DIE_FREEZE_MARGIN_K, GAS_FLOW_SETPOINTS
from controller.lines.foaming.recipe import foaming_block
from controller.recipe.control import StandingAlarm
from controller.recipe.model import CompiledRecipe, LoopAction
from drivers.definition import LineDefinition
from simulator.physics import foam, gas, materials, pumps, rheology, screw
from simulator.physics.gas import CO2_MOLAR_MASS_KG_MOL, WATER_MOLAR_MASS_KG_MOL

# assumption: the shear rate at which the melt's viscosity sets the gear pumps' slip
# (the simulator evaluates it on its factor-2 grid, 8 1/s; the sensor at 10 1/s: model
# mismatch as on a real line)
SLIP_SHEAR_RATE_1_S: float = 10.0
# assumption: above 5 wt % CO2 the Chow model leaves its range; the plasticisation is held there
MAX_PLASTICISING_CO2_FRACTION: float = 0.05
# The foam is being made at the recipe's conditions while melt pump 2 runs, the gas flows
# at half its planned rate or more and the melt at the die is within this of the foaming
# temperature. # assumption: 5 K (the cool_to_foaming step settles within 3 K).
FOAMING_TEMPERATURE_WINDOW_K: float = 5.0
FOAMING_GAS_SHARE: float = 0.5


def melt_pump_efficiency(slip_coefficient_m3: float, displacement_cm3_rev: float, speed_rpm: float,
                         pressure_rise_bar: float, viscosity_pa_s: float) -> float:
    """η_v = Q/(D·N) of a gear pump by its slip model (simulator.physics.pumps), in [0, 1]."""
    if speed_rpm <= 0.0:
        return 0.0
    return min(pumps.volumetric_efficiency(displacement_cm3_rev, speed_rpm, pressure_rise_bar * 1.0e5,
                                           viscosity_pa_s, slip_coefficient_m3), 1.0)


@dataclass(slots=True)
class FoamingGasSensor:
    """Gas loading of the melt and the single-phase minimum pressure (seed 001).

    Polymer throughput from melt pump 1 (D·N·η_v·ρ) with η_v from the pump's slip model:
    slip C_s·ΔP/μ with C_s from the pump's rating (equipment data), ΔP its measured
    pressure rise and μ the melt viscosity at the screw-tip temperature, plasticised by
    the CO2 loading of the previous scan. Gas loading from the metering pumps' measured mass
    flows, P_min(T) = Σ r_i/H_i(T) (``simulator.physics.gas``) at the screw tip (injection
    stage), the exchanger outlet (second mixing stage) and the die.
    ``extruder.gas_min_pressure_bar`` is the recipe's gas factor × P_min at injection,
    ``die.gas_min_pressure_bar`` its die factor × P_min at the die melt temperature.
    """

    polymer: str
    displacement_cm3_rev: float
    pressure_factor: float
    die_pressure_factor: float
    rating: pumps.MeltPumpRating = field(default_factory=pumps.MeltPumpRating)
    _henry: tuple[gas.HenryCorrelation, gas.HenryCorrelation] = field(init=False)
    _melt: rheology.PolymerProperties = field(init=False)
    _slip_m3: float = field(init=False)
    _co2_fraction: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._henry = materials.henry_correlations(self.polymer)
        self._melt = materials.melt_properties(self.polymer)
        self._slip_m3 = self.rating.slip_coefficient_m3(self.displacement_cm3_rev)

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("extruder.co2_wt_pct", "extruder.water_wt_pct", "melt_pump_1.throughput_kg_h",
                "melt_pump_1.volumetric_efficiency_pct", "extruder.single_phase_min_bar",
                "extruder.gas_min_pressure_bar", "heat_exchanger.single_phase_min_bar", "die.single_phase_min_bar",
                "die.gas_min_pressure_bar")

    def update(self, image: dict[str, float], dt_s: float) -> None:
        speed_rpm = max(image.get("melt_pump_1.speed_rpm", 0.0), 0.0)
        tip_c = image.get("extruder.melt_temperature_c", 20.0)
        if speed_rpm > 0.0 and tip_c > self._melt.glass_transition_c + 20.0:
            viscosity = rheology.melt_viscosity_pa_s(self._melt, tip_c + 273.15, SLIP_SHEAR_RATE_1_S,
                                                     min(self._co2_fraction, MAX_PLASTICISING_CO2_FRACTION))
            rise_bar = image.get("melt_pump_1.outlet_pressure_bar", 0.0) - image.get("melt_pump_1.inlet_pressure_bar", 0.0)
            efficiency = melt_pump_efficiency(self._slip_m3, self.displacement_cm3_rev, speed_rpm, rise_bar, viscosity)
        else:  # stopped, or no melt to speak of
            efficiency = self.rating.volumetric_efficiency if speed_rpm > 0.0 else 0.0
        polymer_kg_h = self.displacement_cm3_rev * 1e-6 * speed_rpm * 60.0 * efficiency * self._melt.melt_density_kg_m3
        co2_kg_h = max(image.get("co2_pump.mass_flow_g_min", 0.0), 0.0) * 0.06
        water_kg_h = max(image.get("water_pump.mass_flow_g_min", 0.0), 0.0) * 0.06
        total = polymer_kg_h + co2_kg_h + water_kg_h
        w_co2 = co2_kg_h / total if total > 1e-6 else 0.0
        w_water = water_kg_h / total if total > 1e-6 else 0.0
        if w_co2 + w_water >= 0.5:  # no melt to speak of: gas alone
            w_co2 = w_water = 0.0
            p_min_tip = p_min_hx = p_min_die = 1.0e4 if co2_kg_h + water_kg_h > 0.0 else 0.0
        else:
            fractions = (w_co2, w_water)
            p_min_tip = gas.minimum_single_phase_pressure_bar(fractions, self._henry, tip_c + 273.15)
            p_min_hx = gas.minimum_single_phase_pressure_bar(
                fractions, self._henry, image.get("heat_exchanger.melt_outlet_temperature_c", 20.0) + 273.15)
            p_min_die = gas.minimum_single_phase_pressure_bar(
                fractions, self._henry, image.get("die.melt_temperature_c", 20.0) + 273.15)
        self._co2_fraction = w_co2
        image["extruder.co2_wt_pct"] = 100.0 * w_co2
        image["extruder.water_wt_pct"] = 100.0 * w_water
        image["melt_pump_1.throughput_kg_h"] = polymer_kg_h
        image["melt_pump_1.volumetric_efficiency_pct"] = 100.0 * efficiency
        image["extruder.single_phase_min_bar"] = p_min_tip
        image["extruder.gas_min_pressure_bar"] = self.pressure_factor * p_min_tip
        image["heat_exchanger.single_phase_min_bar"] = p_min_hx
        image["die.single_phase_min_bar"] = p_min_die
        image["die.gas_min_pressure_bar"] = self.die_pressure_factor * p_min_die


@dataclass(slots=True)
class ExtruderEnergySensor:
    """Specific energy of the main drive, E = P_shaft/ṁ [kWh/kg] (simulator.physics.screw):
    the measured shaft power over the polymer throughput of melt pump 1 (written by
    :class:`FoamingGasSensor`; run it first). A single-screw line takes 0.1-0.3 kWh/kg."""

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("extruder.specific_energy_kwh_kg",)

    def update(self, image: dict[str, float], dt_s: float) -> None:
        image["extruder.specific_energy_kwh_kg"] = screw.specific_energy_kwh_kg(
            1000.0 * max(image.get("extruder.shaft_power_kw", 0.0), 0.0),
            max(image.get("melt_pump_1.throughput_kg_h", 0.0), 0.0) / 3600.0)


@dataclass(slots=True)
class FoamSensor:
    """Cell density, cell size and its spread, void fraction and open-cell content of the
    foam leaving the die (``simulator.physics.foam``; its fitted constants, gas retention
    included, are assumptions there), every scan, and whether they lie in the recipe's
    product class. The spread takes the single-phase minimum at the die (the nucleation
    window opens there) and CO2's diffusivity, the main blowing agent's, at the die melt's
    distance above its Tg (``gas.diffusivity_above_glass_m2_s``).

    The die flow is melt pump 2's delivery by its slip model (pressure rise, viscosity at
    the exchanger outlet). ``die.foam_in_spec`` is 1 when the estimate lies in the class
    (seed 001 claims 1-3: cell size, void >= 75 %, open cells >= 80 %, pore-size spread
    <= 10 %) and the melt is
    single-phase with the recipe's margin up to the die lips (the class assumes cells
    nucleated at the lips: ``die.melt_pressure_bar`` >= ``die.gas_min_pressure_bar``).
    ``die.foaming`` says foam is being made at the recipe's conditions (see
    FOAMING_TEMPERATURE_WINDOW_K). Reads what :class:`FoamingGasSensor` writes (run it first).
    """

    polymer: str
    displacement_cm3_rev: float
    die_width_m: float
    die_land_length_m: float
    product_class: foam.ProductClass | None
    foaming_temperature_c: float | None
    planned_gas_g_min: float
    rating: pumps.MeltPumpRating = field(default_factory=pumps.MeltPumpRating)
    gas_retention_fraction: float = foam.DEFAULT_GAS_RETENTION_FRACTION
    _melt: rheology.PolymerProperties = field(init=False)
    _slip_m3: float = field(init=False)

    def __post_init__(self) -> None:
        self._melt = materials.melt_properties(self.polymer)
        self._slip_m3 = self.rating.slip_coefficient_m3(self.displacement_cm3_rev)

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("die.foam_cell_density_per_cm3", "die.foam_cell_size_um", "die.foam_void_fraction_pct",
                "die.foam_open_cell_pct", "die.foam_pore_spread_pct", "die.pressure_drop_rate_gpa_s", "die.foaming",
                "die.foam_in_spec")

    def _flow_m3_s(self, image: dict[str, float], w_co2: float) -> float:
        speed_rpm = max(image.get("melt_pump_2.speed_rpm", 0.0), 0.0)
        melt_c = image.get("heat_exchanger.melt_outlet_temperature_c", 20.0)
        if speed_rpm <= 0.0 or melt_c <= self._melt.glass_transition_c + 20.0:
            return 0.0
        viscosity = rheology.melt_viscosity_pa_s(self._melt, melt_c + 273.15, SLIP_SHEAR_RATE_1_S,
                                                 min(w_co2, MAX_PLASTICISING_CO2_FRACTION))
        rise_bar = image.get("melt_pump_2.outlet_pressure_bar", 0.0) - image.get("melt_pump_2.inlet_pressure_bar", 0.0)
        efficiency = melt_pump_efficiency(self._slip_m3, self.displacement_cm3_rev, speed_rpm, rise_bar, viscosity)
        return self.displacement_cm3_rev * 1e-6 * speed_rpm / 60.0 * efficiency

    def update(self, image: dict[str, float], dt_s: float) -> None:
        w_co2 = image.get("extruder.co2_wt_pct", 0.0) / 100.0
        w_water = image.get("extruder.water_wt_pct", 0.0) / 100.0
        flow_m3_s = self._flow_m3_s(image, w_co2)
        gap_m = image.get("die.gap_mm", 0.0) / 1000.0
        die_c = image.get("die.melt_temperature_c", 20.0)
        if flow_m3_s <= 0.0 or gap_m <= 0.0:
            density = size = void = open_cells = spread = rate = 0.0
            in_class = False
        else:
            estimate = foam.estimate_foam(
                die_pressure_drop_pa=max(image.get("die.melt_pressure_bar", 0.0), 0.0) * 1.0e5,
                die_land_length_m=self.die_land_length_m, die_width_m=self.die_width_m, die_gap_m=gap_m,
                flow_m3_s=flow_m3_s, die_temperature_c=die_c, gas_mass_fractions=(w_co2, w_water),
                gas_molar_masses_kg_mol=(CO2_MOLAR_MASS_KG_MOL, WATER_MOLAR_MASS_KG_MOL),
                polymer_density_kg_m3=self._melt.melt_density_kg_m3,
                saturation_pressure_pa=image.get("die.single_phase_min_bar", 0.0) * gas.PA_PER_BAR,
                gas_diffusivity_m2_s=gas.diffusivity_above_glass_m2_s(
                    gas.CO2_DIFFUSIVITY_MELT, die_c + 273.15, self._melt.glass_transition_k),
                gas_retention_fraction=self.gas_retention_fraction)
            density = estimate.cell_density_per_cm3
            size = estimate.cell_diameter_um if math.isfinite(estimate.cell_diameter_um) else foam.MAX_CELL_SIZE_UM
            void = 100.0 * estimate.void_fraction
            open_cells = 100.0 * foam.open_cell_fraction(estimate.void_fraction)
            spread = 100.0 * estimate.pore_spread_fraction
            rate = estimate.pressure_drop_rate_gpa_s
            classes = (self.product_class,) if self.product_class is not None else tuple(foam.PRODUCT_CLASSES.values())
            in_class = any(foam.in_product_class(estimate, c) for c in classes)
        single_phase = image.get("die.melt_pressure_bar", 0.0) >= image.get("die.gas_min_pressure_bar", 0.0)
        gas_g_min = image.get("co2_pump.mass_flow_g_min", 0.0) + image.get("water_pump.mass_flow_g_min", 0.0)
        at_temperature = (self.foaming_temperature_c is None
                          or abs(die_c - self.foaming_temperature_c) <= FOAMING_TEMPERATURE_WINDOW_K)
        foaming = (image.get("melt_pump_2.running", 0.0) > 0.5 and self.planned_gas_g_min > 0.0
                   and gas_g_min >= FOAMING_GAS_SHARE * self.planned_gas_g_min and at_temperature)
        image["die.foam_cell_density_per_cm3"] = density
        image["die.foam_cell_size_um"] = size
        image["die.foam_void_fraction_pct"] = void
        image["die.foam_open_cell_pct"] = open_cells
        image["die.foam_pore_spread_pct"] = spread
        image["die.pressure_drop_rate_gpa_s"] = rate
        image["die.foaming"] = 1.0 if foaming else 0.0
        image["die.foam_in_spec"] = 1.0 if in_class and single_phase else 0.0


GAS_PRESSURE_ALARM_ID = "GAS_BELOW_SINGLE_PHASE"
DIE_FREEZE_ALARM_ID = "DIE_FREEZE"
DIE_PRESSURE_ALARM_ID = "DIE_BELOW_SINGLE_PHASE"
FOAM_QUALITY_ALARM_ID = "FOAM_OUT_OF_SPEC"
# The die-pressure interlock and the quality alarm judge the same scans (the quality check
# includes the single-phase margin at the die), so both are raised together when the die
# pressure is lost. # assumption: 30 s, so the die pressure may recover after a restart
# (pumps back up while the gas ramps in) without tripping; the gas interlock (2 s) guards
# the injection and mixing stages meanwhile.
QUALITY_DELAY_S: float = 30.0


def foaming_soft_sensors(recipe: CompiledRecipe, line: LineDefinition) -> list[SoftSensor]:
    """The foaming line's soft sensors for ``recipe``: gas loading and P_min (polymer from
    its materials, the pressure factors from its formula), then the foam estimate checked
    against the recipe's product class."""
    block = foaming_block(recipe)
    die = line.device("die").equipment
    pump_1 = line.device("melt_pump_1").equipment
    pump_2 = line.device("melt_pump_2").equipment
    planned_gas_g_min = sum(recipe.parameters[p].value for p in ("co2_flow", "water_flow") if p in recipe.parameters)
    return [
        FoamingGasSensor(polymer=block.polymer, displacement_cm3_rev=pump_1["displacement_cm3_rev"],
                         pressure_factor=recipe.parameters["gas_pressure_factor"].value,
                         die_pressure_factor=die_pressure_factor(recipe),
                         rating=pumps.MeltPumpRating.from_equipment(pump_1)),
        ExtruderEnergySensor(),
        FoamSensor(polymer=block.polymer, displacement_cm3_rev=pump_2["displacement_cm3_rev"],
                   die_width_m=die["width_m"], die_land_length_m=die["land_length_m"],
                   product_class=foam.PRODUCT_CLASSES.get(block.product_class or ""),
                   foaming_temperature_c=_production_setpoint(recipe, "melt_cooling"),
                   planned_gas_g_min=planned_gas_g_min, rating=pumps.MeltPumpRating.from_equipment(pump_2)),
    ]


def die_pressure_factor(recipe: CompiledRecipe) -> float:
    """The recipe's margin on P_min at the die (``die_pressure_factor``; its gas factor if absent)."""
    parameter = recipe.parameters.get("die_pressure_factor") or recipe.parameters["gas_pressure_factor"]
    return parameter.value


def foaming_interlocks(recipe: CompiledRecipe) -> list[StandingAlarm]:
    """The foaming line's interlocks and alarms that depend on the recipe (seed 001):

    - gas injection only while the injection stage is above the recipe's factor × P_min at
      the screw-tip temperature (PHYSICS.md: inject while P > 1.2-1.5 × P_min), the second
      mixing stage above P_min at the exchanger outlet (below it the gas comes out of
      solution before the die), and both melt pumps run;
    - while foaming, the die pressure above the recipe's die factor × P_min at the die melt
      temperature: below it the gas leaves solution inside the die instead of at the lips
      (coarse, uncontrolled cells); the run is held and the gas closed;
    - while foaming, the foam estimate outside the recipe's product class raises the
      quality alarm (annunciated; the product made meanwhile is off-spec);
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
    alarms.append(StandingAlarm(
        DIE_PRESSURE_ALARM_ID,
        f"Die-pressure interlock: die pressure below {die_pressure_factor(recipe):g} x the single-phase minimum at "
        "the die melt temperature (gas leaves solution before the lips): run held, CO2 and water closed", 1,
        "die.foaming > 0.5 and die.melt_pressure_bar < die.gas_min_pressure_bar", QUALITY_DELAY_S, "hold",
        force_safe=GAS_FLOW_SETPOINTS))
    product = foaming_block(recipe).product_class or "seed 001 (claims 2-3)"
    alarms.append(StandingAlarm(
        FOAM_QUALITY_ALARM_ID,
        f"Foam estimate outside the {product} class (cell size, void >= 75 %, open cells >= 80 %, pore-size "
        "spread <= 10 %, single-phase melt to the die lips)", 2,
        "die.foaming > 0.5 and die.foam_in_spec < 0.5", QUALITY_DELAY_S, "none"))
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
