"""The casting-line plant (seeds 000 and 003) as a simpy simulation.

``CastingPlant`` is a :class:`simulator.plant.SimulatedPlant` (simpy time, seeded noise, the
read/write paths, the faults): each device has a small model (``_Device`` subclasses) that
serves its true values and noise sigmas; the tick at time t integrates every model over
[t, t + step_s] with the pure physics of ``simulator.physics``. Its faults are
:class:`simulator.casting.faults.CastingFaults`.

Building a ``DopeCharge`` from a recipe layer (``controller.recipe.model.DopeLayer``, whose
fractions are of the final, titrated dope):
    DopeCharge(polymer=layer.polymer, solvent=layer.solvent, non_solvent=layer.non_solvent,
               polymer_wt_pct=layer.charge_polymer_wt_pct,  # w_p / (1 - w_ns)
               mass_kg=layer.charge_kg, temperature_c=20.0)
e.g. seed 000 Example VIII (9.5/15.5/75): the charge is 11.24 % PSf in DMF, titrated
with 2-methyl-2-butanol by the vessel's dosing pump.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from drivers.definition import DeviceSpec, LineDefinition
from simulator.casting.faults import CastingFaults
from simulator.physics import bath, dope, dope_path, dryer, extraction, film, heat_exchange, pumps, vessel
from simulator.plant import SimulatedPlant

AMBIENT_C: float = 20.0
# assumption: hall air at 50 % relative humidity.
AIR_RELATIVE_HUMIDITY: float = 0.5
# assumption: mains make-up/wash water at 15 °C.
MAKEUP_WATER_C: float = 15.0


@dataclass(frozen=True, slots=True)
class DopeCharge:
    """What is charged into a dope vessel before titration: polymer dissolved in solvent
    (``polymer_wt_pct`` of this charge), and the non-solvent the dosing pump will add
    (None: a stable dope, the dosing line is empty)."""

    polymer: str
    solvent: str
    non_solvent: str | None
    polymer_wt_pct: float
    mass_kg: float
    temperature_c: float


@dataclass(frozen=True, slots=True)
class CastingParameters:
    """Model constants of the casting plant not in the line's equipment data.
    Every value is an assumption for a pilot line unless its comment gives a source."""

    # actuator time constants / rates
    pump_time_constant_s: float = 2.0  # assumption: servo gear-pump drive
    belt_time_constant_s: float = 3.0  # assumption: belt drive with inertia
    agitator_time_constant_s: float = 3.0  # assumption
    dosing_time_constant_s: float = 1.0  # assumption: diaphragm/gear dosing pump
    makeup_valve_time_constant_s: float = 2.0  # assumption: control valve stroke
    knife_gap_rate_um_s: float = 50.0  # assumption: motorised micrometer adjusters
    absorbance_probe_time_constant_s: float = 5.0  # assumption: probe window/flow cell
    # dope feed: pump slip rated per Zenith (97-99.5 %), line and filter resistances
    pump_rated_speed_rpm: float = 50.0  # assumption
    pump_rated_pressure_rise_pa: float = 5.0e5  # assumption: 5 bar rated dope duty
    pump_rated_viscosity_pa_s: float = 0.3  # = dope.VISCOSITY_REF_PA_S
    slot_land_length_m: float = 0.010  # assumption: 10 mm applicator land
    feed_line_length_m: float = 3.0  # assumption
    feed_line_diameter_m: float = 0.008  # assumption
    # assumption: candle filter, 2 bar at 150 cm3/min of 0.3 Pa·s dope: K = ΔP/(μ·Q)
    filter_resistance_per_m3: float = 2.0e5 / (0.3 * 2.5e-6)
    # dope vessel
    vessel_wall_heat_capacity_j_k: float = 60000.0  # assumption: ~120 kg stainless at 0.5 kJ/(kg·K)
    jacket_heat_capacity_j_k: float = 15.0 * 4186.0  # assumption: 15 kg of jacket water
    jacket_ua_still_w_k: float = 80.0  # assumption: natural convection inside
    jacket_ua_agitated_w_k: float = 250.0  # assumption: ~0.8 m2 wetted at ~300 W/(m2·K)
    agitator_full_rpm: float = dope.FULL_AGITATION_RPM
    dope_loss_ua_w_k: float = 3.0  # assumption: insulated vessel
    jacket_loss_ua_w_k: float = 5.0  # assumption: insulated jacket
    jacket_max_c: float = 120.0  # casting_profiles.py: pressurised-water jacket to 120 °C (thermostat)
    # quench and wash baths
    bath_ua_w_k: float = 30.0  # assumption: ~4 m2 of lightly insulated walls
    bath_surface_m2: float = 1.0  # assumption: 2 m x 0.5 m open surface of a 400 L bath
    bath_level_at_weir_pct: float = 90.0  # assumption: level gauge spans to above the weir
    bath_heater_cutout_c: float = 95.0  # assumption: over-temperature cutout
    # dryer
    dryer_heat_capacity_j_k: float = 20000.0  # assumption: ducts and heater, τ ≈ 3 min
    dryer_loss_ua_w_k: float = 15.0  # assumption
    dryer_exhaust_kg_s: float = 0.1  # assumption: exhaust air with the fan on
    membrane_porosity: float = extraction.MEMBRANE_POROSITY  # seed 000: bulk porosity > 70 %
    # drives: below this the drive reports standstill and stops (assumption: a drive's zero-speed
    # window, ~0.1 % of full scale)
    pump_standstill_rpm: float = 0.05
    belt_standstill_m_min: float = 0.005
    # dope path walls (heaters and dope-side conductances are equipment data of the line)
    pump_head_heat_capacity_j_k: float = 6.0 * heat_exchange.STEEL_HEAT_CAPACITY_J_KG_K  # assumption: ~6 kg head
    pump_head_loss_ua_w_k: float = 1.5  # assumption: insulated head, ~0.15 m2 at ~10 W/(m2·K) bare
    filter_heat_capacity_j_k: float = 8.0 * heat_exchange.STEEL_HEAT_CAPACITY_J_KG_K  # assumption: ~8 kg housing
    filter_loss_ua_w_k: float = 2.0  # assumption
    # assumption: 3 m of 10 x 1 mm stainless tube (~0.7 kg) with trace cable and cladding: ~500 J/K
    feed_line_heat_capacity_j_k: float = 500.0
    # assumption: traced line under thin cladding in the hall, ~1 W/(m·K) over 3 m
    feed_line_loss_ua_w_k: float = 3.0
    applicator_heat_capacity_j_k: float = 15.0 * heat_exchange.STEEL_HEAT_CAPACITY_J_KG_K  # assumption: ~15 kg
    applicator_loss_ua_w_k: float = 4.0  # assumption: body over the belt, partly insulated
    # assumption: support plate under the belt at the knife, ~20 kg of steel, open to the hall
    support_heat_capacity_j_k: float = 20.0 * heat_exchange.STEEL_HEAT_CAPACITY_J_KG_K
    support_loss_ua_w_k: float = 15.0


@dataclass(frozen=True, slots=True)
class _FilmLayer:
    """One layer of the film laid on the belt in a step: its streams and its polymer's density."""

    solvent: str  # canonical name
    solvent_kg_s: float
    non_solvent_kg_s: float
    polymer_kg_s: float
    polymer_density_g_cm3: float


def _polymer_density_g_cm3(layers: list[_FilmLayer]) -> float:
    """Density of the film's polymer (of the layers together: mass over the sum of volumes)."""
    mass = sum(layer.polymer_kg_s for layer in layers)
    return mass / sum(layer.polymer_kg_s / layer.polymer_density_g_cm3 for layer in layers)


def _drive_step(speed: float, target: float, lag: float, standstill: float) -> float:
    """A drive following its setpoint with a first-order lag that reaches it: within the
    drive's zero-speed window of the setpoint it is there (a lag alone never reaches 0)."""
    speed += (target - speed) * lag
    return target if abs(target - speed) < standstill else speed


class _Device:
    """Base of the device models: the commands last written (the plant's own dict for the
    device) and the true values of its measured tags (their noise is the profiles')."""

    def __init__(self, spec: DeviceSpec, commands: dict[str, float]) -> None:
        self.name = spec.name
        self.spec = spec
        self.commands = commands
        self.truth: dict[str, float] = {}
        self.heater_failed = False

    def measure(self) -> dict[str, float]:
        """Fill ``truth`` with the true value of every measured/status tag and return it."""
        raise NotImplementedError


class _Vessel(_Device):
    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters) -> None:
        super().__init__(spec, commands)
        self.jacket_power_w = 1000.0 * spec.equipment.get("jacket_power_kw", 6.0)
        self.temperature_c = AMBIENT_C
        self.jacket_c = AMBIENT_C
        self.agitator_rpm = 0.0
        self.dosing_ml_min = 0.0
        self.dosed_total_ml = 0.0
        self.polymer_kg = 0.0
        self.solvent_kg = 0.0
        self.non_solvent_kg = 0.0
        self.charge: DopeCharge | None = None
        self.curve: dope.CloudPointCurve | None = None
        self.non_solvent_density_g_cm3 = 0.0
        self.polymer_density_g_cm3 = 1.24
        self.solvent_density_g_cm3 = 0.944
        self.solvent_name = "dmf"  # canonical (dope.canonical_name), set by the charge
        self.depth = -math.inf
        self.aging = 0.0
        self.segregated = 0.0
        self.absorbance_au = 0.0
        self.viscosity_pa_s = dope.VISCOSITY_REF_PA_S
        self.density_g_cm3 = 1.0
        self.heater_failed = False

    @property
    def mass_kg(self) -> float:
        return self.polymer_kg + self.solvent_kg + self.non_solvent_kg

    def measure(self) -> dict[str, float]:
        t = self.truth
        t["temperature_c"] = self.temperature_c
        t["jacket_temperature_c"] = self.jacket_c
        t["agitator_speed_rpm"] = self.agitator_rpm
        t["absorbance"] = self.absorbance_au
        t["dosing_flow_ml_min"] = self.dosing_ml_min
        t["dosed_total_ml"] = self.dosed_total_ml
        t["mass_kg"] = self.mass_kg
        return t


class _Pump(_Device):
    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters, vessel_: _Vessel,
                 slot: int) -> None:
        super().__init__(spec, commands)
        self.vessel = vessel_
        self.slot = slot
        self.displacement_cm3_rev = spec.equipment.get("displacement_cm3_rev", 3.0)
        self.slip_m3 = pumps.slip_coefficient_m3(self.displacement_cm3_rev, p.pump_rated_speed_rpm,
                                                 p.pump_rated_pressure_rise_pa, p.pump_rated_viscosity_pa_s)
        self.speed_rpm = 0.0
        self.flow_cm3_min = 0.0
        self.pressure_bar = 0.0
        self.stalled = False
        self.pumped_total_cm3 = 0.0
        eq = spec.equipment
        # heat-traced path zones: (name, wall capacity, loss, heater W, dope UA, holdup cm3)
        self.zones: list[tuple[str, float, float, float, float, float]] = [
            ("head", p.pump_head_heat_capacity_j_k, p.pump_head_loss_ua_w_k, eq.get("head_heater_w", 200.0),
             eq.get("head_dope_ua_w_k", 10.0), eq.get("head_holdup_cm3", 5.0)),
            ("filter", p.filter_heat_capacity_j_k, p.filter_loss_ua_w_k, eq.get("filter_heater_w", 300.0),
             eq.get("filter_dope_ua_w_k", 15.0), eq.get("filter_holdup_cm3", 100.0)),
            ("line", p.feed_line_heat_capacity_j_k, p.feed_line_loss_ua_w_k, eq.get("line_heater_w", 90.0),
             eq.get("line_dope_ua_w_k", 6.2), eq.get("line_holdup_cm3", 151.0)),
        ]
        self.wall_c = [AMBIENT_C] * len(self.zones)
        self.dope_c = [AMBIENT_C] * len(self.zones)
        self.line_heater_failed = False

    def measure(self) -> dict[str, float]:
        t = self.truth
        t["speed_rpm"] = self.speed_rpm
        t["discharge_pressure_bar"] = self.pressure_bar
        t["flow_ml_min"] = self.flow_cm3_min
        t["running"] = 1.0 if self.speed_rpm > 0.1 else 0.0
        for (name, *_), wall in zip(self.zones, self.wall_c, strict=True):
            t[f"{name}_temperature_c"] = wall
        return t


class _Knife(_Device):
    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters, slots: int) -> None:
        super().__init__(spec, commands)
        self.width_m = spec.equipment.get("width_m", 0.3)
        self.gaps_um = [0.0] * slots
        self.setpoint_names = [f"gap_{i}_setpoint_um" for i in range(1, slots + 1)]
        self.gap_names = [f"gap_{i}_um" for i in range(1, slots + 1)]
        self.wet_thickness_um = 0.0
        eq = spec.equipment
        self.land_m = eq.get("knife_land_mm", 2.0) / 1000.0
        self.bead_length_m = eq.get("bead_length_mm", 20.0) / 1000.0
        self.bead_height_max_m = eq.get("bead_height_max_mm", 30.0) / 1000.0
        self.heater_w = eq.get("heater_w", 500.0)
        self.dope_ua_w_k = eq.get("dope_ua_w_k", 20.0)
        self.holdup_cm3 = eq.get("holdup_cm3", 50.0)
        self.bead_cm3 = [0.0] * slots
        self.bead_level_mm = [0.0] * slots
        self.overflow_cm3_min = 0.0
        self.film_total_cm3 = 0.0
        self.overflow_total_cm3 = 0.0
        self.wall_c = AMBIENT_C
        self.dope_c = [AMBIENT_C] * slots
        self.level_names = [f"bead_{i}_level_mm" for i in range(1, slots + 1)]

    def measure(self) -> dict[str, float]:
        t = self.truth
        for name, gap in zip(self.gap_names, self.gaps_um, strict=True):
            t[name] = gap
        t["wet_thickness_um"] = self.wet_thickness_um
        for name, level in zip(self.level_names, self.bead_level_mm, strict=True):
            t[name] = level
        t["overflow_ml_min"] = self.overflow_cm3_min
        t["temperature_c"] = self.wall_c
        return t


class _Belt(_Device):
    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters) -> None:
        super().__init__(spec, commands)
        self.speed_m_min = 0.0
        self.length_m = 0.0
        self.stopped = False
        self.plate_heater_w = spec.equipment.get("plate_heater_w", 1000.0)
        self.temperature_c = AMBIENT_C

    def measure(self) -> dict[str, float]:
        t = self.truth
        t["line_speed_m_min"] = self.speed_m_min
        t["temperature_c"] = self.temperature_c
        t["length_m"] = self.length_m
        t["running"] = 1.0 if self.speed_m_min > 0.01 else 0.0
        return t


class _Bath(_Device):
    """Quench or wash bath (both: heater, weir, solvent build-up)."""

    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters,
                 failed_heaters: set[str]) -> None:
        super().__init__(spec, commands)
        self.failed_heaters = failed_heaters  # the plant's faults: the set is kept, never replaced
        volume_l = spec.equipment.get("volume_l", 400.0)
        self.heater_power_w = 1000.0 * spec.equipment.get("heater_power_kw", 10.0)
        self.web_path_m = spec.equipment.get("web_path_m", 2.0)
        self.weir_mass_kg = volume_l * bath.WATER_DENSITY_KG_L
        self.liquid_kg = self.weir_mass_kg
        self.heat_capacity_per_kg = bath.WATER_CP_J_KG_K  # assumption: DMF-water mixture taken as water
        self.temperature_c = AMBIENT_C
        self.solvent_fraction = 0.0
        self.non_solvent_fraction = 0.0  # the dope's non-solvent (an alcohol, hexane); the rest is water
        self.water_in_l_min = 0.0
        self.overflow_l_min = 0.0
        self.heater_failed = False
        self.has_makeup_readback = spec.profile.has_tag("makeup_water_flow_l_min")
        self.water_setpoint = ("makeup_water_flow_setpoint_l_min" if self.has_makeup_readback
                               else "water_flow_setpoint_l_min")
        self.level_at_weir_pct = p.bath_level_at_weir_pct

    def measure(self) -> dict[str, float]:
        t = self.truth
        t["temperature_c"] = self.temperature_c
        t["dmf_fraction_wt_pct"] = 100.0 * self.solvent_fraction
        if self.has_makeup_readback:
            self.heater_failed = self.name in self.failed_heaters  # the current monitor sees a fault at once
            t["heater_fault"] = 1.0 if self.heater_failed and self.commands["heater_output_pct"] > 0.0 else 0.0
            t["makeup_water_flow_l_min"] = self.water_in_l_min
            t["overflow_l_min"] = self.overflow_l_min
            t["level_pct"] = self.level_at_weir_pct * self.liquid_kg / self.weir_mass_kg
        return t


class _Dryer(_Device):
    def __init__(self, spec: DeviceSpec, commands: dict[str, float], p: CastingParameters) -> None:
        super().__init__(spec, commands)
        self.heater_power_w = 1000.0 * spec.equipment.get("heater_power_kw", 15.0)
        self.length_m = spec.equipment.get("length_m", 8.0)
        self.air_velocity_m_s = spec.equipment.get("air_velocity_m_s", 6.0)
        self.air_c = AMBIENT_C
        self.moisture_pct = 0.0
        self.humidity_kg_kg = dryer.humidity_ratio_kg_kg(AMBIENT_C, AIR_RELATIVE_HUMIDITY)
        self.evaporation_kg_s = 0.0
        self.web_load_w = 0.0
        self.water_load_kg_m2 = 0.0
        self.wet_bulb_c = AMBIENT_C
        self.heater_failed = False

    def measure(self) -> dict[str, float]:
        t = self.truth
        t["air_temperature_c"] = self.air_c
        t["moisture_out_pct"] = self.moisture_pct
        return t


class CastingPlant(SimulatedPlant):
    """Simulated casting line: dope vessels → gear pumps → applicator on the support belt
    → quench bath → wash bath → dryer. Implements ``drivers.sim_transport.PlantPort``."""

    NOISE_ON_ZERO: ClassVar[bool] = True  # every measured tag with a sigma is noisy, 0.0 included
    faults: CastingFaults

    def __init__(self, line: LineDefinition, seed: int = 0, step_s: float = 1.0,
                 parameters: CastingParameters | None = None, noise_scale: float = 1.0) -> None:
        if line.kind != "casting":
            raise ValueError(f"{line.name} is a {line.kind} line, not a casting line")
        super().__init__(line, seed=seed, step_s=step_s, faults=CastingFaults(line), noise_scale=noise_scale)
        self.parameters = p = parameters or CastingParameters()
        cmd = self.commands
        failed = self.faults.failed_heaters

        self._vessels = [_Vessel(s, cmd[s.name], p) for s in line.devices_of_kind("dope_vessel")]
        knives = line.devices_of_kind("casting_knife")
        belts = line.devices_of_kind("support_belt")
        if len(knives) != 1 or len(belts) != 1:
            raise ValueError("a casting line has one applicator and one support belt")
        slots = sum(1 for t in knives[0].profile.tags if t.name.endswith("_setpoint_um"))
        self._knife = _Knife(knives[0], cmd[knives[0].name], p, slots)
        self._belt = _Belt(belts[0], cmd[belts[0].name], p)
        self._pumps: list[_Pump] = []
        for index, spec in enumerate(line.devices_of_kind("dope_pump")):
            layer = int(spec.equipment.get("layer", index + 1))
            if not 1 <= layer <= len(self._vessels) or layer > slots:
                raise ValueError(f"{spec.name}: layer {layer} has no vessel or applicator slot")
            self._pumps.append(_Pump(spec, cmd[spec.name], p, self._vessels[layer - 1], layer))
        quench = line.devices_of_kind("quench_bath")
        wash = line.devices_of_kind("wash_bath")
        dryers = line.devices_of_kind("dryer")
        self._quench = _Bath(quench[0], cmd[quench[0].name], p, failed) if quench else None
        self._wash = _Bath(wash[0], cmd[wash[0].name], p, failed) if wash else None
        self._dryer = _Dryer(dryers[0], cmd[dryers[0].name], p) if dryers else None
        devices: list[_Device] = [*self._vessels, *self._pumps, self._knife, self._belt]
        devices += [d for d in (self._quench, self._wash, self._dryer) if d is not None]
        self._devices: dict[str, _Device] = {d.name: d for d in devices}
        unknown = [s.name for s in line.devices if s.name not in self._devices]
        if unknown:
            raise ValueError(f"no simulator model for {', '.join(unknown)}")

        # constants of the step
        self._pump_lag = heat_exchange.first_order_lag_factor(step_s, p.pump_time_constant_s)
        self._belt_lag = heat_exchange.first_order_lag_factor(step_s, p.belt_time_constant_s)
        self._agitator_lag = heat_exchange.first_order_lag_factor(step_s, p.agitator_time_constant_s)
        self._dosing_lag = heat_exchange.first_order_lag_factor(step_s, p.dosing_time_constant_s)
        self._valve_lag = heat_exchange.first_order_lag_factor(step_s, p.makeup_valve_time_constant_s)
        self._probe_lag = heat_exchange.first_order_lag_factor(step_s, p.absorbance_probe_time_constant_s)
        self._gap_step_um = p.knife_gap_rate_um_s * step_s
        self._residual_solvent = 0.0  # of the pore liquid leaving the wash (true value, for tests)
        self._line_resistance = (film.pipe_resistance_per_m3(p.feed_line_length_m, p.feed_line_diameter_m)
                                 + p.filter_resistance_per_m3)

    # ----------------------------------------------------------------- SimulatedPlant
    def _truth(self, device: str) -> Mapping[str, float]:
        return self._devices[device].measure()

    def _truth_function(self, device: str) -> Callable[[], Mapping[str, float]]:
        return self._devices[device].measure

    # ----------------------------------------------------------------- plant operations
    def charge_dope(self, vessel_name: str, charge: DopeCharge) -> None:
        """Fill a dope vessel with ``charge`` (replaces its content, resets the totaliser)."""
        model = self._devices.get(vessel_name)
        if not isinstance(model, _Vessel):
            raise ValueError(f"{vessel_name} is not a dope vessel")
        if not 0.0 < charge.polymer_wt_pct < 100.0 or charge.mass_kg < 0.0:
            raise ValueError(f"implausible charge {charge}")
        polymer = dope.canonical_name(charge.polymer)
        solvent = dope.canonical_name(charge.solvent)
        curve = None
        non_solvent_density = 0.0
        if charge.non_solvent is not None:
            curve = dope.cloud_point_curve(polymer, solvent, charge.non_solvent)
            non_solvent_density = dope.NON_SOLVENTS[curve.non_solvent].density_g_cm3
        elif polymer not in dope.POLYMER_DENSITY_G_CM3 or solvent not in dope.SOLVENT_DENSITY_G_CM3:
            raise ValueError(f"no dope data for {charge.polymer}/{charge.solvent}")
        # A stable dope (no non-solvent) of another polymer takes the PSf/DMF viscosity
        # correlation (assumption: no viscosity data for the seed 003 dopes here).
        model.charge = charge
        model.curve = curve
        model.non_solvent_density_g_cm3 = non_solvent_density
        model.polymer_density_g_cm3 = dope.POLYMER_DENSITY_G_CM3[polymer]
        model.solvent_density_g_cm3 = dope.SOLVENT_DENSITY_G_CM3[solvent]
        model.solvent_name = solvent
        model.polymer_kg = charge.mass_kg * charge.polymer_wt_pct / 100.0
        model.solvent_kg = charge.mass_kg - model.polymer_kg
        model.non_solvent_kg = 0.0
        model.temperature_c = charge.temperature_c
        model.dosed_total_ml = 0.0
        model.aging = 0.0
        model.segregated = 0.0
        self._update_dope_state(model, 0.0, 0.0)
        model.absorbance_au = dope.measured_absorbance_au(model.depth, model.segregated)

    def fill_quench_bath(self, dmf_wt_pct: float, temperature_c: float = AMBIENT_C) -> None:
        """Fill the quench bath to the weir with a DMF/water mixture (seed 000 prefers 20 %)."""
        if self._quench is None:
            raise ValueError("this line has no quench bath")
        if not 0.0 <= dmf_wt_pct <= 100.0:
            raise ValueError("dmf_wt_pct is 0..100")
        self._quench.liquid_kg = self._quench.weir_mass_kg
        self._quench.solvent_fraction = dmf_wt_pct / 100.0
        self._quench.non_solvent_fraction = 0.0
        self._quench.temperature_c = temperature_c

    def dope_state(self, vessel_name: str) -> dict[str, float]:
        """Composition and phase state of a vessel's dope (for tests, HMI and reports)."""
        model = self._devices[vessel_name]
        if not isinstance(model, _Vessel):
            raise ValueError(f"{vessel_name} is not a dope vessel")
        mass = model.mass_kg
        return {
            "mass_kg": mass,
            "polymer_wt_pct": 100.0 * model.polymer_kg / mass if mass > 0 else 0.0,
            "non_solvent_wt_pct": 100.0 * model.non_solvent_kg / mass if mass > 0 else 0.0,
            "binodal_depth": model.depth,
            "aging": model.aging,
            "segregated_fraction": model.segregated,
            "viscosity_pa_s": model.viscosity_pa_s,
            "castable": 1.0 if dope.castable(model.depth, model.segregated) else 0.0,
        }

    def knife_dope_state(self) -> dict[int, dict[str, float]]:
        """Per layer, the true state of the dope on its way to and just past the knife: the
        coldest dope temperature along its path (pump head, filter, feed line, applicator,
        support) and its depth past the binodal there. assumption: spinodal demixing is
        fast, so the coldest point of the path counts, even if the dope is warmed again."""
        out: dict[int, dict[str, float]] = {}
        for pump in self._pumps:
            v = pump.vessel
            path = [*pump.dope_c, self._knife.dope_c[pump.slot - 1], self._belt.temperature_c]
            coldest = min(path)
            depth = -math.inf
            if v.curve is not None and v.mass_kg > 0.0:
                depth = dope.binodal_depth(v.curve, v.polymer_kg / v.mass_kg, v.non_solvent_kg / v.mass_kg, coldest)
            out[pump.slot] = {"coldest_temperature_c": coldest, "binodal_depth": depth,
                              "past_spinodal": 1.0 if dope.past_spinodal(depth) else 0.0}
        return out

    def dope_balance_cm3(self) -> dict[str, float]:
        """Cumulative dope volumes since the plant was built: pumped, laid on the belt as film,
        run over into the catch pan, and held in the beads now (pumped = film + overflow + beads)."""
        k = self._knife
        return {"pumped": sum(p.pumped_total_cm3 for p in self._pumps), "film": k.film_total_cm3,
                "overflow": k.overflow_total_cm3, "beads": sum(k.bead_cm3)}

    def bath_composition(self, bath_name: str) -> dict[str, float]:
        """Mass fractions (wt%) of a bath's liquid: the dope's solvent, its non-solvent, water."""
        model = self._devices.get(bath_name)
        if not isinstance(model, _Bath):
            raise ValueError(f"{bath_name} is not a bath")
        return {"solvent_wt_pct": 100.0 * model.solvent_fraction,
                "non_solvent_wt_pct": 100.0 * model.non_solvent_fraction,
                "water_wt_pct": 100.0 * (1.0 - model.solvent_fraction - model.non_solvent_fraction)}

    def residual_solvent_wt_pct(self) -> float:
        """True solvent content of the liquid in the web's pores as it leaves the wash (wt%)."""
        return 100.0 * self._residual_solvent

    def dryer_state(self) -> dict[str, float]:
        """The dryer's true air humidity and wet bulb, the water it takes off the web and its load."""
        d = self._dryer
        if d is None:
            raise ValueError("this line has no dryer")
        return {"humidity_kg_kg": d.humidity_kg_kg, "wet_bulb_c": d.wet_bulb_c,
                "evaporation_kg_s": d.evaporation_kg_s, "web_load_w": d.web_load_w,
                "water_load_kg_m2": d.water_load_kg_m2, "air_c": d.air_c}

    # ----------------------------------------------------------------- simulation
    def _exchange(self, layers: list[_FilmLayer], thickness_um: float,
                  line_speed_m_min: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """(solvent, non-solvent) kg/s the film gives to the quench and to the wash bath: each
        layer's pore liquid exchanged towards the bath's composition by Crank's sheet over the
        residence time on the bath's web path (``simulator.physics.extraction``)."""
        quench_solvent = quench_non_solvent = wash_solvent = wash_non_solvent = 0.0
        liquid_total = residual = 0.0
        porosity = self.parameters.membrane_porosity
        for layer in layers:
            liquid = layer.solvent_kg_s + layer.non_solvent_kg_s
            c_solvent, c_non_solvent = layer.solvent_kg_s / liquid, layer.non_solvent_kg_s / liquid
            for b in (self._quench, self._wash):
                if b is None:
                    continue
                diffusivity = extraction.effective_diffusivity_m2_s(
                    extraction.solvent_diffusivity_m2_s(layer.solvent, b.temperature_c), porosity)
                residence_s = b.web_path_m / line_speed_m_min * 60.0 if line_speed_m_min > 0.0 else math.inf
                remaining = extraction.remaining_fraction(residence_s,
                                                          extraction.diffusion_time_s(thickness_um, diffusivity))
                solvent_out = extraction.pore_solvent_out(c_solvent, b.solvent_fraction, remaining)
                non_solvent_out = extraction.pore_solvent_out(c_non_solvent, b.non_solvent_fraction, remaining)
                if b is self._quench:
                    quench_solvent += liquid * (c_solvent - solvent_out)
                    quench_non_solvent += liquid * (c_non_solvent - non_solvent_out)
                else:
                    wash_solvent += liquid * (c_solvent - solvent_out)
                    wash_non_solvent += liquid * (c_non_solvent - non_solvent_out)
                c_solvent, c_non_solvent = solvent_out, non_solvent_out
            liquid_total += liquid
            residual += liquid * c_solvent
        self._residual_solvent = residual / liquid_total if liquid_total > 0.0 else 0.0
        return (quench_solvent, quench_non_solvent), (wash_solvent, wash_non_solvent)

    def _update_dope_state(self, v: _Vessel, agitation: float, dt_s: float) -> None:
        mass = v.mass_kg
        if mass <= 0.0:
            v.depth = -math.inf
            return
        w_p = v.polymer_kg / mass
        w_ns = v.non_solvent_kg / mass
        v.viscosity_pa_s = dope.dope_viscosity_pa_s(w_p, v.temperature_c)
        if v.curve is None:
            v.depth = -math.inf
            v.density_g_cm3 = 1.0 / (w_p / v.polymer_density_g_cm3 + (1.0 - w_p) / v.solvent_density_g_cm3)
            return
        v.density_g_cm3 = dope.dope_density_g_cm3(w_p, w_ns, v.polymer_density_g_cm3, v.solvent_density_g_cm3,
                                                   v.non_solvent_density_g_cm3)
        v.depth = depth = dope.binodal_depth(v.curve, w_p, w_ns, v.temperature_c)
        if dt_s > 0.0:
            v.segregated = dope.segregation_step(v.segregated, v.aging, depth, agitation, dt_s)
            v.aging = dope.aging_step(v.aging, depth, agitation, dt_s)

    def _step(self, dt: float) -> None:
        p = self.parameters
        faults = self.faults
        failed = faults.failed_heaters
        # --- dope vessels: agitator, dosing, jacket heat balance, phase state
        for v in self._vessels:
            cmd = v.commands
            v.agitator_rpm += (cmd["agitator_speed_setpoint_rpm"] - v.agitator_rpm) * self._agitator_lag
            dosing_target = cmd["dosing_flow_setpoint_ml_min"] if v.curve is not None else 0.0
            v.dosing_ml_min += (dosing_target - v.dosing_ml_min) * self._dosing_lag
            if v.dosing_ml_min > 1e-9:
                dosed_ml = v.dosing_ml_min * dt / 60.0
                v.dosed_total_ml += dosed_ml
                v.non_solvent_kg += dosed_ml * v.non_solvent_density_g_cm3 / 1000.0
            heat_w, cool_w_k = vessel.jacket_split_range(cmd["jacket_output_pct"], v.jacket_power_w)
            v.heater_failed = v.name in failed
            if v.heater_failed or v.jacket_c >= p.jacket_max_c:
                heat_w = 0.0
            ua = vessel.agitated_jacket_ua_w_k(p.jacket_ua_still_w_k, p.jacket_ua_agitated_w_k,
                                               v.agitator_rpm, p.agitator_full_rpm)
            v.temperature_c, v.jacket_c = vessel.vessel_jacket_step(
                v.temperature_c, v.jacket_c, dt,
                v.mass_kg * dope.DOPE_CP_J_KG_K + p.vessel_wall_heat_capacity_j_k,
                p.jacket_heat_capacity_j_k, ua, p.dope_loss_ua_w_k, p.jacket_loss_ua_w_k, AMBIENT_C,
                heat_w, cool_w_k)
            if v.charge is not None:
                self._update_dope_state(v, dope.agitation_fraction(v.agitator_rpm), dt)
                target = dope.measured_absorbance_au(v.depth, v.segregated)
                v.absorbance_au += (target - v.absorbance_au) * self._probe_lag

        # --- applicator gaps move at a finite rate
        knife = self._knife
        gap_step = self._gap_step_um
        for i, name in enumerate(knife.setpoint_names):
            error = knife.commands[name] - knife.gaps_um[i]
            knife.gaps_um[i] += gap_step if error > gap_step else -gap_step if error < -gap_step else error

        # --- belt
        belt = self._belt
        if faults.belt_stopped:
            belt.speed_m_min = 0.0
        else:
            belt.speed_m_min = _drive_step(belt.speed_m_min, belt.commands["line_speed_setpoint_m_min"], self._belt_lag,
                                           p.belt_standstill_m_min)
        line_speed = belt.speed_m_min
        belt.length_m += line_speed * dt / 60.0

        # --- dope pumps through their heat-traced path into the applicator slots' beads
        stalled = faults.stalled_pumps
        failed_trace = faults.failed_trace_heaters
        width = knife.width_m
        film_cm3_min = 0.0
        dope_kg_s = 0.0
        dope_heat_w_k = 0.0
        dope_heat_w = 0.0
        film_layers: list[_FilmLayer] = []
        applicator_heat_w = 0.0  # what the applicator's wall gives to the dope (for its balance)
        knife.overflow_cm3_min = 0.0
        for pump in self._pumps:
            pump.stalled = pump.name in stalled
            if pump.stalled:
                pump.speed_rpm = 0.0
            else:
                pump.speed_rpm = _drive_step(pump.speed_rpm, pump.commands["speed_setpoint_rpm"], self._pump_lag,
                                             p.pump_standstill_rpm)
            v = pump.vessel
            slot = pump.slot - 1
            flow = 0.0
            if v.mass_kg > 0.0 and pump.speed_rpm > 0.0:
                gap_m = knife.gaps_um[slot] * 1e-6
                if gap_m < 1e-6:
                    gap_m = 1e-6
                resistance = film.slot_resistance_per_m3(p.slot_land_length_m, width, gap_m) + self._line_resistance
                flow = pumps.flow_into_linear_resistance_cm3_min(
                    pump.displacement_cm3_rev, pump.speed_rpm, resistance, pump.slip_m3)
                mass_kg = flow * v.density_g_cm3 * dt / 60000.0
                if mass_kg >= v.mass_kg:  # runs empty within this step
                    flow *= v.mass_kg / mass_kg
                    v.polymer_kg = v.solvent_kg = v.non_solvent_kg = 0.0
                else:
                    keep = 1.0 - mass_kg / v.mass_kg
                    v.polymer_kg *= keep
                    v.solvent_kg *= keep
                    v.non_solvent_kg *= keep
                pump.pressure_bar = v.viscosity_pa_s * resistance * flow / 6.0e7 / 1.0e5
            else:
                pump.pressure_bar = 0.0
            pump.flow_cm3_min = flow
            pump.pumped_total_cm3 += flow * dt / 60.0
            # the dope's path: pump head, filter, feed line (heat tracing), then the applicator
            density = v.density_g_cm3 if v.mass_kg > 0.0 else 1.0
            flow_heat_w_k = flow * density / 60000.0 * dope.DOPE_CP_J_KG_K
            pump.line_heater_failed = pump.name in failed_trace
            inlet_c = v.temperature_c
            for i, (name, wall_cap, loss, heater_w, ua, holdup) in enumerate(pump.zones):
                output = pump.commands[f"{name}_heater_output_pct"]
                power = 0.0 if name == "line" and pump.line_heater_failed else heater_w * output / 100.0
                pump.wall_c[i], pump.dope_c[i] = dope_path.zone_step_c(
                    pump.wall_c[i], pump.dope_c[i], dt, wall_cap, holdup * density / 1000.0 * dope.DOPE_CP_J_KG_K,
                    power, loss, ua, flow_heat_w_k, inlet_c, AMBIENT_C)
                inlet_c = pump.dope_c[i]
            # the applicator's manifold for this slot (its wall is shared by the slots)
            dope_cap = knife.holdup_cm3 * density / 1000.0 * dope.DOPE_CP_J_KG_K
            before = knife.dope_c[slot]
            _, knife.dope_c[slot] = dope_path.zone_step_c(
                knife.wall_c, before, dt, 1e12, dope_cap, 0.0, 0.0, knife.dope_ua_w_k, flow_heat_w_k, inlet_c, AMBIENT_C)
            applicator_heat_w += knife.dope_ua_w_k * (knife.wall_c - knife.dope_c[slot])
            # the bead behind the knife: what it does not pass runs over the edges
            viscosity = dope.dope_viscosity_pa_s(v.polymer_kg / v.mass_kg if v.mass_kg > 0.0 else 0.1,
                                                 knife.dope_c[slot])
            knife.bead_cm3[slot], knife_flow, overflow = film.bead_step(
                knife.bead_cm3[slot], flow, knife.gaps_um[slot], line_speed, width, viscosity, knife.land_m,
                density * 1000.0, knife.bead_length_m, knife.bead_height_max_m, dt)
            knife.bead_level_mm[slot] = knife.bead_cm3[slot] / (width * knife.bead_length_m * 1.0e6) * 1000.0
            knife.overflow_cm3_min += overflow
            film_cm3_min += knife_flow
            layer_kg_s = knife_flow * density / 60000.0
            dope_kg_s += layer_kg_s
            dope_heat_w_k += layer_kg_s * dope.DOPE_CP_J_KG_K
            dope_heat_w += layer_kg_s * dope.DOPE_CP_J_KG_K * belt.temperature_c
            total = v.mass_kg
            if total > 0.0 and layer_kg_s > 0.0:
                film_layers.append(_FilmLayer(v.solvent_name, layer_kg_s * v.solvent_kg / total,
                                              layer_kg_s * v.non_solvent_kg / total, layer_kg_s * v.polymer_kg / total,
                                              v.polymer_density_g_cm3))
        # film on the belt: h = q/(W·U); the gauge reads nothing on a stopped belt
        wet = film.layer_wet_thickness_um(film_cm3_min, width, line_speed)
        knife.wet_thickness_um = wet if wet < 2000.0 else 2000.0
        knife.film_total_cm3 += film_cm3_min * dt / 60.0
        knife.overflow_total_cm3 += knife.overflow_cm3_min * dt / 60.0
        dope_c = dope_heat_w / dope_heat_w_k if dope_heat_w_k > 0.0 else AMBIENT_C
        # applicator body and support plate
        heater_w = knife.heater_w * knife.commands["heater_output_pct"] / 100.0
        knife.wall_c += dt * (heater_w - p.applicator_loss_ua_w_k * (knife.wall_c - AMBIENT_C) - applicator_heat_w) \
            / p.applicator_heat_capacity_j_k
        plate_w = belt.plate_heater_w * belt.commands["heater_output_pct"] / 100.0
        belt.temperature_c += dt * (plate_w - p.support_loss_ua_w_k * (belt.temperature_c - AMBIENT_C)) \
            / p.support_heat_capacity_j_k

        # --- quench and wash baths: the film's solvent and non-solvent exchanged for bath water
        quench, wash = self._quench, self._wash
        to_quench, to_wash = self._exchange(film_layers, knife.wet_thickness_um, line_speed)
        # what the web carries out of the quench into the wash: its liquid, taken as water at the quench temperature
        # (assumption: the precipitated film's pores hold as much liquid as the dope had, mostly water by then)
        web_heat_w_k = dope_kg_s * bath.WATER_CP_J_KG_K
        quench_c = quench.temperature_c if quench is not None else AMBIENT_C
        for b, (solvent_in, non_solvent_in), heat_in_w_k, inflow_c in (
                (quench, to_quench, dope_heat_w_k, dope_c), (wash, to_wash, web_heat_w_k, quench_c)):
            if b is None:
                continue
            cmd = b.commands
            b.water_in_l_min += (cmd[b.water_setpoint] - b.water_in_l_min) * self._valve_lag
            water_kg_s = b.water_in_l_min * bath.WATER_DENSITY_KG_L / 60.0
            b.heater_failed = b.name in failed
            heater_w = 0.0 if b.heater_failed or b.temperature_c >= p.bath_heater_cutout_c \
                else b.heater_power_w * cmd["heater_output_pct"] / 100.0
            evaporation_kg_s = bath.evaporation_kg_s(p.bath_surface_m2, b.temperature_c, AMBIENT_C,
                                                     AIR_RELATIVE_HUMIDITY)
            b.temperature_c = bath.bath_temperature_step_c(
                b.temperature_c, dt, b.liquid_kg * b.heat_capacity_per_kg + 1.0, heater_w, p.bath_ua_w_k,
                AMBIENT_C, p.bath_surface_m2, AIR_RELATIVE_HUMIDITY, water_kg_s, MAKEUP_WATER_C,
                heat_in_w_k, inflow_c)
            if b.liquid_kg > 0.0:
                # each species: M·dc/dt = ṁ_i − c·(everything in − evaporation); the rest of the bath is water
                b.solvent_fraction = bath.solvent_fraction_step(
                    b.solvent_fraction, dt, b.liquid_kg, solvent_in, water_kg_s + non_solvent_in, evaporation_kg_s)
                b.non_solvent_fraction = bath.solvent_fraction_step(
                    b.non_solvent_fraction, dt, b.liquid_kg, non_solvent_in, water_kg_s + solvent_in, evaporation_kg_s)
            # the web drags out as much liquid as the solvent it brings in (pores refill)
            net_kg_s = water_kg_s - evaporation_kg_s
            new_kg = bath.weir_liquid_mass_kg(b.liquid_kg, b.weir_mass_kg, net_kg_s, dt)
            overflow_kg_s = net_kg_s - (new_kg - b.liquid_kg) / dt
            b.liquid_kg = new_kg
            b.overflow_l_min = overflow_kg_s * 60.0 / bath.WATER_DENSITY_KG_L if overflow_kg_s > 0.0 else 0.0

        # --- dryer: the washed web's water taken off by the air (sensible and latent load on the air)
        d = self._dryer
        if d is not None:
            cmd = d.commands
            fan_on = cmd["fan_on"] > 0.5
            d.heater_failed = d.name in failed
            heater_w = d.heater_power_w * cmd["heater_output_pct"] / 100.0 if fan_on and not d.heater_failed else 0.0
            air_kg_s = p.dryer_exhaust_kg_s if fan_on else 0.0
            conductance = p.dryer_loss_ua_w_k + air_kg_s * dryer.AIR_CP_J_KG_K
            polymer_kg_s = sum(layer.polymer_kg_s for layer in film_layers)
            d.evaporation_kg_s = d.web_load_w = d.water_load_kg_m2 = 0.0
            if polymer_kg_s > 0.0 and line_speed > 0.0:
                web_in_c = wash.temperature_c if wash is not None else AMBIENT_C
                x0 = dryer.wet_membrane_moisture_dry_basis(p.membrane_porosity, _polymer_density_g_cm3(film_layers))
                polymer_kg_m2 = polymer_kg_s / (width * line_speed / 60.0)
                d.water_load_kg_m2 = polymer_kg_m2 * x0
                htc = dryer.parallel_flow_htc_w_m2_k(d.air_velocity_m_s, d.air_c) if fan_on \
                    else dryer.STILL_AIR_HTC_W_M2_K
                d.wet_bulb_c = dryer.wet_bulb_temperature_c(d.air_c, d.humidity_kg_kg)
                flux = dryer.constant_rate_flux_kg_m2_s(htc, d.air_c, d.wet_bulb_c)
                residence_s = d.length_m / line_speed * 60.0
                x = dryer.exit_moisture_dry_basis(x0, flux, polymer_kg_m2, residence_s)
                d.evaporation_kg_s = polymer_kg_s * (x0 - x)
                d.web_load_w = dryer.web_heat_load_w(d.evaporation_kg_s, polymer_kg_s * x0, polymer_kg_s, web_in_c,
                                                     d.wet_bulb_c, d.air_c)
                target = dryer.wet_basis_pct(x)
                time_constant = residence_s if residence_s > 5.0 else 5.0
            else:
                target = 0.0  # assumption: no membrane under the gauge reads 0
                time_constant = 30.0
            # well-mixed hood at the exhaust state; fan off: the hall's air (assumption)
            d.humidity_kg_kg = dryer.exhaust_humidity_kg_kg(dryer.humidity_ratio_kg_kg(AMBIENT_C, AIR_RELATIVE_HUMIDITY),
                                                            d.evaporation_kg_s, air_kg_s)
            d.air_c = dryer.air_temperature_step_c(d.air_c, dt, p.dryer_heat_capacity_j_k, heater_w - d.web_load_w,
                                                   conductance, AMBIENT_C)
            d.moisture_pct += (target - d.moisture_pct) * heat_exchange.first_order_lag_factor(dt, time_constant)
