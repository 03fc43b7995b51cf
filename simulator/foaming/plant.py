"""The extrusion-foaming plant (seed 001) as a simpy simulation.

``FoamingPlant`` is a :class:`simulator.plant.SimulatedPlant` (simpy time, seeded noise, the
read/write paths, the faults): the tick at time t integrates the melt path over
[t, t + step_s] with the pure physics of ``simulator.physics``; each device serves its true
values through its own truth function, and its noise sigma by the tag's unit suffix (a true
value of exactly 0.0, a stopped drive or no flow, reads 0 without noise). Its faults are
:class:`simulator.foaming.faults.FoamingFaults`.

The melt path: extruder (the screw model of ``simulator.physics.screw``: drag minus
pressure flow of the metering section, its viscous dissipation and pressure work, the
plastication power, the polymer's sensible heat and the shear heat in each barrel zone's
balance, the melt temperature at the tip from them) → volume 1
(screw tip, injection stage; CO2 and water metering pumps) → melt pump 1 → volume 2
(heat exchanger with static mixer, the second mixing stage) → melt pump 2 → volume 3 →
slit die. Pressures between the pumps use the stiff-safe steps of
``simulator.physics.melt_flow``; the exchanger outlet is NTU with a plug-flow transport
delay and a wall lag; the gas is dissolved while the injection pressure stays above the
single-phase minimum P_min(T) of ``simulator.physics.gas``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from drivers.definition import DeviceSpec, LineDefinition
from simulator.foaming.faults import FoamingFaults
from simulator.physics import gas, heat_exchange, materials, melt_flow, pumps, rheology, screw
from simulator.plant import SimulatedPlant

AMBIENT_C: float = 20.0
DELAY_BUFFER_STEPS: int = 1024  # longest exchanger transport delay modelled, in steps
# assumption: a "melt" holding half its mass as gas is gas with polymer in it, not a
# solution: Henry's law (r = w/(1 − Σw) per gram of polymer) is not applied past it
GAS_ONLY_FRACTION: float = 0.5
NO_SINGLE_PHASE_BAR: float = 1.0e4  # stands for "no pressure dissolves it" (above every transducer)
@dataclass(frozen=True, slots=True)
class FoamingParameters:
    """Model constants not in the line's equipment data; each an assumption unless sourced."""

    rupture_disc_bar: float = 600.0  # assumption: rupture discs above the 500 bar transducer range
    compressibility_1_pa: float = 7.0e-10  # PHYSICS.md: 0.5-1e-9 1/Pa (verify); mid value
    volume_1_m3: float = 0.3e-3  # assumption: screw tip, adapter and injection section
    volume_3_m3: float = 0.2e-3  # assumption: pump 2 to die lips
    screw_time_constant_s: float = 3.0  # assumption: main drive
    pump_time_constant_s: float = 2.0  # assumption: servo melt-pump drives
    metering_time_constant_s: float = 2.0  # assumption: piston metering pumps
    tip_time_constant_s: float = 60.0  # assumption: melt residence in the tip plus the thermocouple's lag
    # assumption: thermal conductivity of PSU/PES melts, 0.2 W/(m K) (solid PSU is quoted at
    # 0.22-0.26 W/(m K) on datasheets; not read for the melt): barrel-to-melt heat transfer
    # by simulator.physics.screw.wiped_barrel_heat_transfer_w_m2_k over each zone's bore
    melt_conductivity_w_m_k: float = 0.2
    # assumption: pellets in the feed zone touch the barrel at points: a third of that
    feed_zone_contact_share: float = 0.3
    exchanger_wall_time_constant_s: float = 120.0  # PHYSICS.md: wall lag of minutes
    coolant_time_constant_s: float = 180.0  # assumption: oil temperature-control unit
    coolant_flow_l_min: float = 20.0  # assumption: circulation pump delivery
    ua_without_coolant_fraction: float = 0.1  # assumption: stagnant oil still conducts a little
    die_melt_time_constant_s: float = 30.0  # assumption
    die_wall_share: float = 0.3  # assumption: die walls condition 30 % of the melt temperature
    die_gap_rate_mm_s: float = 0.05  # assumption: motorised lip adjusters
    blocked_die_gap_fraction: float = 0.15  # fault: a blocked die leaves 15 % of its gap
    molten_margin_k: float = 90.0  # assumption: the screw conveys melt from Tg + 90 K ...
    molten_span_k: float = 20.0  # ... fully from Tg + 110 K
    needle_pressure_drop_bar: float = 5.0  # assumption: injection needles at full flow
    head_cooled_c: float = 5.0  # assumption: chilled pump heads
    head_uncooled_c: float = 45.0  # assumption: compression heat without head cooling
    head_time_constant_s: float = 120.0  # assumption
    co2_vapour_lock_c: float = 31.1  # CO2 critical temperature 304.1 K (gas.CO2_CRITICAL_TEMPERATURE_K)


def _single(line: LineDefinition, kind: str) -> DeviceSpec:
    found = line.devices_of_kind(kind)
    if len(found) != 1:
        raise ValueError(f"a foaming line has one {kind}, {line.name} has {len(found)}")
    return found[0]


class FoamingPlant(SimulatedPlant):
    """Simulated extrusion-foaming line. Implements ``drivers.sim_transport.PlantPort``."""

    NOISE_ON_ZERO: ClassVar[bool] = False  # a true 0.0 (drive stopped, no flow) reads exactly 0
    faults: FoamingFaults

    def __init__(self, line: LineDefinition, seed: int = 0, step_s: float = 1.0,
                 parameters: FoamingParameters | None = None, polymer: str = "PSU", noise_scale: float = 1.0) -> None:
        if line.kind != "foaming":
            raise ValueError(f"{line.name} is a {line.kind} line, not a foaming line")
        super().__init__(line, seed=seed, step_s=step_s, faults=FoamingFaults(line), noise_scale=noise_scale)
        self.parameters = p = parameters or FoamingParameters()

        ext = _single(line, "extruder")
        melt_pumps = line.devices_of_kind("melt_pump")
        if len(melt_pumps) != 2:
            raise ValueError("a foaming line has two melt pumps")
        hx = _single(line, "melt_heat_exchanger")
        die = _single(line, "slit_die")
        co2 = _single(line, "co2_metering_pump")
        water = _single(line, "water_metering_pump")
        self._names = {"extruder": ext.name, "pump_1": melt_pumps[0].name, "pump_2": melt_pumps[1].name,
                       "exchanger": hx.name, "die": die.name, "co2": co2.name, "water": water.name}
        # the true values of each device, by a truth function per device
        self._truths: dict[str, Callable[[], dict[str, float]]] = {
            ext.name: self._extruder_truth, melt_pumps[0].name: self._melt_pump_1_truth,
            melt_pumps[1].name: self._melt_pump_2_truth, co2.name: self._co2_pump_truth,
            water.name: self._water_pump_truth, hx.name: self._exchanger_truth, die.name: self._die_truth}
        unknown = [s.name for s in line.devices if s.name not in self._truths]
        if unknown:
            raise ValueError(f"no simulator model for {', '.join(unknown)}")
        self._zone_count = sum(1 for t in ext.profile.tags if t.name.endswith("_heater_output_pct"))
        self._die_zone_count = sum(1 for t in die.profile.tags if t.name.endswith("_heater_output_pct"))
        self._zone_tags = tuple(f"zone_{i + 1}_temperature_c" for i in range(self._zone_count))
        self._die_zone_tags = tuple(f"zone_{i + 1}_temperature_c" for i in range(self._die_zone_count))

        # equipment
        self._barrel_zone = heat_exchange.BarrelZoneParameters(
            heater_power_w=1000.0 * ext.equipment.get("zone_heater_power_kw", 2.0),
            heat_capacity_j_k=heat_exchange.DEFAULT_BARREL_ZONE.heat_capacity_j_k,
            heat_loss_coefficient_w_k=heat_exchange.DEFAULT_BARREL_ZONE.heat_loss_coefficient_w_k)
        self._die_zone = heat_exchange.BarrelZoneParameters(
            heater_power_w=1000.0 * die.equipment.get("zone_heater_power_kw", 1.5),
            heat_capacity_j_k=heat_exchange.DEFAULT_BARREL_ZONE.heat_capacity_j_k,
            heat_loss_coefficient_w_k=heat_exchange.DEFAULT_BARREL_ZONE.heat_loss_coefficient_w_k)
        e = ext.equipment
        self.screw = screw.ScrewGeometry(
            diameter_m=e.get("screw_diameter_mm", 30.0) / 1000.0,
            metering_depth_m=e.get("metering_depth_mm", 3.5) / 1000.0,
            metering_length_m=e.get("metering_length_mm", 180.0) / 1000.0,
            helix_angle_rad=math.radians(e.get("helix_angle_deg", math.degrees(screw.SQUARE_PITCH_HELIX_ANGLE_RAD))),
            flight_width_m=e.get("flight_width_mm", 3.0) / 1000.0,
            flight_clearance_m=e.get("flight_clearance_mm", 0.1) / 1000.0)
        self._motor_rated_power_w = 1000.0 * e.get("motor_rated_power_kw", 7.5)
        self._motor_rated_speed_rpm = e.get("motor_rated_speed_rpm", 150.0)
        self._zone_area_m2 = math.pi * self.screw.diameter_m * e.get("zone_length_mm", 180.0) / 1000.0
        if self._zone_count < 3:
            raise ValueError("the extruder model needs 3 barrel zones or more (feed, melting, metering)")
        self._zone_area_shares = [p.feed_zone_contact_share if i == 0 else 1.0 for i in range(self._zone_count)]
        self._d1_cm3_rev = melt_pumps[0].equipment.get("displacement_cm3_rev", 10.0)
        self._d2_cm3_rev = melt_pumps[1].equipment.get("displacement_cm3_rev", 10.0)
        # melt pump slip from each pump's rating (equipment data, pumps.MeltPumpRating)
        self._slip1_m3 = pumps.MeltPumpRating.from_equipment(melt_pumps[0].equipment).slip_coefficient_m3(
            self._d1_cm3_rev)
        self._slip2_m3 = pumps.MeltPumpRating.from_equipment(melt_pumps[1].equipment).slip_coefficient_m3(
            self._d2_cm3_rev)
        self._ua_w_k = hx.equipment.get("ua_w_k", 150.0)
        self._volume_2_m3 = hx.equipment.get("melt_volume_l", 1.5) / 1000.0
        self._mixer_length_m = hx.equipment.get("mixer_length_m", 0.5)
        self._mixer_diameter_m = hx.equipment.get("mixer_diameter_m", 0.035)
        self._mixer_factor = hx.equipment.get("mixer_factor", melt_flow.KENICS_PRESSURE_DROP_FACTOR)
        self.die_width_m = die.equipment.get("width_m", 0.2)
        self.die_land_length_m = die.equipment.get("land_length_m", 0.010)

        # state
        self.set_polymer(polymer)
        self.zones_c = [AMBIENT_C] * self._zone_count
        self.die_zones_c = [AMBIENT_C] * self._die_zone_count
        self.screw_rpm = 0.0
        self.tip_c = AMBIENT_C
        self.p1_bar = self.p2_bar = self.p3_bar = 0.0
        self.n1_rpm = self.n2_rpm = 0.0
        self.q_ext_m3_s = self.q1_m3_s = self.q2_m3_s = 0.0
        self.hx_drop_bar = 0.0
        self.co2_g_min = self.water_g_min = 0.0
        self.co2_head_c = self.water_head_c = AMBIENT_C
        self.coolant_c = AMBIENT_C
        self.coolant_flow_l_min = 0.0
        self.hx_in_c = self.hx_out_c = AMBIENT_C
        self._delay = [AMBIENT_C] * DELAY_BUFFER_STEPS
        self._delay_co2 = [0.0] * DELAY_BUFFER_STEPS  # CO2 fraction carried through the exchanger
        self.mixer_co2_fraction = 0.0
        self._delay_index = 0
        self.die_melt_c = AMBIENT_C
        self.die_gap_mm = 0.0
        self.co2_fraction = self.water_fraction = 0.0
        self.single_phase_min_bar = 0.0
        self.gas_undissolved = False
        self.motor_load_pct = 0.0
        self.shaft_power_w = 0.0
        self.metering = screw.MeteringPower(0.0, 0.0, 0.0, 0.0)
        self.zone_polymer_c = [AMBIENT_C] * self._zone_count  # polymer leaving each barrel zone
        self.zone_to_polymer_w = [0.0] * self._zone_count  # heat each zone's barrel gives the polymer
        self._molten = 0.0
        self._metering_viscosity_pa_s = self.polymer.zero_shear_viscosity_pa_s
        self._viscosity_cache: dict[tuple[int, int, int], float] = {}

        self._screw_lag = heat_exchange.first_order_lag_factor(step_s, p.screw_time_constant_s)
        self._pump_lag = heat_exchange.first_order_lag_factor(step_s, p.pump_time_constant_s)
        self._metering_lag = heat_exchange.first_order_lag_factor(step_s, p.metering_time_constant_s)
        self._tip_lag = heat_exchange.first_order_lag_factor(step_s, p.tip_time_constant_s)
        self._wall_lag = heat_exchange.first_order_lag_factor(step_s, p.exchanger_wall_time_constant_s)
        self._coolant_lag = heat_exchange.first_order_lag_factor(step_s, p.coolant_time_constant_s)
        self._die_lag = heat_exchange.first_order_lag_factor(step_s, p.die_melt_time_constant_s)
        self._head_lag = heat_exchange.first_order_lag_factor(step_s, p.head_time_constant_s)
        self._composition_lag = heat_exchange.first_order_lag_factor(step_s, 30.0)  # assumption: mixing in the injection section
        self._gap_step_mm = p.die_gap_rate_mm_s * step_s

    def set_polymer(self, name: str) -> None:
        """The polymer fed to the hopper (PSU or PES)."""
        self.polymer = materials.melt_properties(name)
        self._henry = materials.henry_correlations(name)
        self._viscosity_cache = {}
        self._metering_viscosity_cache: dict[tuple[int, int], tuple[float, float]] = {}

    # ----------------------------------------------------------------- SimulatedPlant
    def _truth(self, device: str) -> Mapping[str, float]:
        return self._truths[device]()

    def _truth_function(self, device: str) -> Callable[[], Mapping[str, float]]:
        return self._truths[device]

    # ----------------------------------------------------------------- truth per device
    def _extruder_truth(self) -> dict[str, float]:
        t = dict(zip(self._zone_tags, self.zones_c, strict=True))
        t.update(screw_speed_rpm=self.screw_rpm, motor_load_pct=self.motor_load_pct,
                 melt_pressure_bar=self.p1_bar, melt_temperature_c=self.tip_c,
                 running=1.0 if self.screw_rpm > 0.5 else 0.0, shaft_power_kw=self.shaft_power_w / 1000.0)
        return t

    def _melt_pump_1_truth(self) -> dict[str, float]:
        return {"speed_rpm": self.n1_rpm, "inlet_pressure_bar": self.p1_bar,
                "outlet_pressure_bar": self.p2_bar + self.hx_drop_bar,
                "running": 1.0 if self.n1_rpm > 0.2 else 0.0}

    def _melt_pump_2_truth(self) -> dict[str, float]:
        return {"speed_rpm": self.n2_rpm, "inlet_pressure_bar": self.p2_bar, "outlet_pressure_bar": self.p3_bar,
                "running": 1.0 if self.n2_rpm > 0.2 else 0.0}

    def _metering_pump_truth(self, flow_g_min: float, head_c: float) -> dict[str, float]:
        return {"mass_flow_g_min": flow_g_min,
                "discharge_pressure_bar": self.p1_bar + self.parameters.needle_pressure_drop_bar * flow_g_min / 100.0,
                "head_temperature_c": head_c,
                "running": 1.0 if flow_g_min > 0.05 else 0.0}

    def _co2_pump_truth(self) -> dict[str, float]:
        return self._metering_pump_truth(self.co2_g_min, self.co2_head_c)

    def _water_pump_truth(self) -> dict[str, float]:
        return self._metering_pump_truth(self.water_g_min, self.water_head_c)

    def _exchanger_truth(self) -> dict[str, float]:
        return {"coolant_temperature_c": self.coolant_c, "coolant_flow_l_min": self.coolant_flow_l_min,
                "melt_inlet_temperature_c": self.hx_in_c, "melt_outlet_temperature_c": self.hx_out_c,
                "pressure_drop_bar": self.hx_drop_bar}

    def _die_truth(self) -> dict[str, float]:
        t = dict(zip(self._die_zone_tags, self.die_zones_c, strict=True))
        t.update(melt_pressure_bar=self.p3_bar, melt_temperature_c=self.die_melt_c, gap_mm=self.die_gap_mm)
        return t

    # ----------------------------------------------------------------- plant state for tests and the HMI
    def melt_state(self) -> dict[str, float]:
        return {"co2_wt_pct": 100.0 * self.co2_fraction, "water_wt_pct": 100.0 * self.water_fraction,
                "single_phase_min_bar": self.single_phase_min_bar,
                "gas_undissolved": 1.0 if self.gas_undissolved else 0.0,
                "throughput_kg_h": self.q2_m3_s * self.polymer.melt_density_kg_m3 * 3600.0}

    # ----------------------------------------------------------------- simulation
    def _viscosity_pa_s(self, temperature_c: float, co2_fraction: float, shear_rate_1_s: float) -> float:
        """Carreau viscosity, cached on 0.5 K, 0.1 wt % CO2 and a factor-2 shear-rate grid."""
        rate_key = int(math.log2(shear_rate_1_s)) if shear_rate_1_s > 1.0 else 0
        # assumption: above 5 wt % (gas piling up in a stopped melt) the Chow model leaves
        # its range; the plasticisation is held at its 5 wt % value.
        co2_fraction = min(co2_fraction, 0.05)
        key = (int(temperature_c * 2.0), int(co2_fraction * 1000.0), rate_key)
        value = self._viscosity_cache.get(key)
        if value is None:
            t_c = max(key[0] / 2.0, self.polymer.glass_transition_c + 20.0)
            value = rheology.melt_viscosity_pa_s(self.polymer, t_c + 273.15, float(1 << rate_key) if rate_key else 0.0,
                                                 key[1] / 1000.0)
            if len(self._viscosity_cache) > 50000:
                self._viscosity_cache.clear()
            self._viscosity_cache[key] = value
        return value

    def _power_law(self, temperature_c: float, co2_fraction: float) -> tuple[float, float]:
        """(K, n) of the high-shear Carreau branch η ≈ η0·(λγ̇)^(n−1): K = η0·λ^(n−1)."""
        eta0 = self._viscosity_pa_s(temperature_c, co2_fraction, 0.0)
        n = self.polymer.carreau_power_law_index
        lam = self.polymer.carreau_relaxation_time_s * eta0 / self.polymer.zero_shear_viscosity_pa_s
        return eta0 * lam ** (n - 1.0), n

    def _step(self, dt: float) -> None:
        p = self.parameters
        f = self.faults
        n = self._names
        ext = self.commands[n["extruder"]]
        die_cmd = self.commands[n["die"]]
        polymer = self.polymer
        rho = polymer.melt_density_kg_m3
        cp = polymer.melt_heat_capacity_j_kg_k

        # --- barrel zones: heater, losses and the heat the polymer takes (its sensible heat
        # less the shear heat released in it; the flow and screw speed of the last step)
        self._barrel_polymer()
        ext_failed = n["extruder"] in f.failed_heaters
        for i in range(self._zone_count):
            u = 0.0 if ext_failed else ext[f"zone_{i + 1}_heater_output_pct"] / 100.0
            self.zones_c[i] = heat_exchange.step_zone_temperature_c(self.zones_c[i], u, AMBIENT_C, dt, self._barrel_zone,
                                                                    -self.zone_to_polymer_w[i])
        die_failed = n["die"] in f.failed_heaters
        for i in range(self._die_zone_count):
            u = 0.0 if die_failed else die_cmd[f"zone_{i + 1}_heater_output_pct"] / 100.0
            self.die_zones_c[i] = heat_exchange.step_zone_temperature_c(self.die_zones_c[i], u, AMBIENT_C, dt,
                                                                        self._die_zone)

        # --- drives
        self.screw_rpm += (ext["screw_speed_setpoint_rpm"] - self.screw_rpm) * self._screw_lag
        self.n1_rpm += (self.commands[n["pump_1"]]["speed_setpoint_rpm"] - self.n1_rpm) * self._pump_lag
        self.n2_rpm += (self.commands[n["pump_2"]]["speed_setpoint_rpm"] - self.n2_rpm) * self._pump_lag
        gap_error = die_cmd["gap_setpoint_mm"] - self.die_gap_mm
        step = self._gap_step_mm
        self.die_gap_mm += step if gap_error > step else -step if gap_error < -step else gap_error

        # --- melt temperature at the screw tip: the polymer leaving the metering zone
        self.tip_c += (self.zone_polymer_c[-1] - self.tip_c) * self._tip_lag
        # the metering channel conveys melt by the temperature of the polymer entering it
        molten = (self.zone_polymer_c[-2] - polymer.glass_transition_c - p.molten_margin_k) / p.molten_span_k
        molten = 0.0 if molten < 0.0 else 1.0 if molten > 1.0 else molten

        # --- metering pumps (heads, flows)
        for key in ("co2", "water"):
            name = n[key]
            cmd = self.commands[name]
            cooled = cmd["head_cooling_on"] > 0.5 and name not in f.head_cooling_failed
            head_target = p.head_cooled_c if cooled else p.head_uncooled_c
            if key == "co2":
                self.co2_head_c += (head_target - self.co2_head_c) * self._head_lag
                target = cmd["mass_flow_setpoint_g_min"]
                if self.co2_head_c > p.co2_vapour_lock_c:
                    target *= 0.3  # assumption: supercritical CO2 in the head, metering lost
                self.co2_g_min += (target - self.co2_g_min) * self._metering_lag
            else:
                self.water_head_c += (head_target - self.water_head_c) * self._head_lag
                self.water_g_min += (cmd["mass_flow_setpoint_g_min"] - self.water_g_min) * self._metering_lag

        # --- composition and the single-phase condition at the injection stage
        polymer_kg_s = self.q_ext_m3_s * rho
        gas_kg_s = (self.co2_g_min + self.water_g_min) / 60000.0
        total = polymer_kg_s + gas_kg_s
        co2_target = self.co2_g_min / 60000.0 / total if total > 1e-9 else 0.0
        water_target = self.water_g_min / 60000.0 / total if total > 1e-9 else 0.0
        self.co2_fraction += (co2_target - self.co2_fraction) * self._composition_lag
        self.water_fraction += (water_target - self.water_fraction) * self._composition_lag
        w_co2 = self.co2_fraction
        if w_co2 + self.water_fraction >= GAS_ONLY_FRACTION:
            # gas metered with (almost) no melt: free gas fills the injection section; no
            # pressure of this line dissolves it (Henry's law needs a polymer to dissolve in)
            self.single_phase_min_bar = NO_SINGLE_PHASE_BAR
        elif w_co2 > 1e-5 or self.water_fraction > 1e-5:
            self.single_phase_min_bar = gas.minimum_single_phase_pressure_bar(
                (w_co2, self.water_fraction), self._henry, self.tip_c + 273.15)
        else:
            self.single_phase_min_bar = 0.0
        self.gas_undissolved = self.single_phase_min_bar > 0.0 and self.p1_bar < self.single_phase_min_bar
        # free gas in the pump-1 gear pockets displaces melt (assumption: delivery falls with the deficit)
        free_gas = 0.5 * (1.0 - self.p1_bar / self.single_phase_min_bar) if self.gas_undissolved else 0.0

        # --- viscosities
        mu1 = self._viscosity_pa_s(self.tip_c, w_co2, 10.0)
        hx_mean_c = 0.5 * (self.hx_in_c + self.hx_out_c)
        mu2 = self._viscosity_pa_s(hx_mean_c, self.mixer_co2_fraction, 2.0)

        # --- volume 1: extruder drag minus pressure flow in, melt pump 1 out
        pa = melt_flow.PA_PER_BAR
        c_p = screw.pressure_flow_conductance_m3_s_pa(self.screw, self._metering_viscosity_pa_s)
        drag = 0.0 if f.feed_starved else molten * screw.drag_flow_m3_s(self.screw, self.screw_rpm)
        self._molten = molten
        q_ext = drag - c_p * self.p1_bar * pa
        ext_slope = c_p * pa
        if q_ext < 0.0:  # the screw does not pump backwards (flights full of solid or empty)
            q_ext, ext_slope = 0.0, 0.0
        p1_out = self.p2_bar + self.hx_drop_bar
        slip1 = pumps.slip_conductance_m3_s_pa(self._slip1_m3, mu1)
        q1 = pumps.gear_pump_flow_m3_s(self._d1_cm3_rev, self.n1_rpm, (p1_out - self.p1_bar) * pa, mu1,
                                       self._slip1_m3, 1.0 - free_gas)
        self.p1_bar = melt_flow.step_pressure_linearised_bar(
            self.p1_bar, q_ext, q1, ext_slope + slip1 * pa, p.volume_1_m3, p.compressibility_1_pa, dt)
        q1 = pumps.gear_pump_flow_m3_s(self._d1_cm3_rev, self.n1_rpm, (p1_out - self.p1_bar) * pa, mu1,
                                       self._slip1_m3, 1.0 - free_gas)
        if self.p1_bar <= 0.0 and q1 > q_ext:  # pump 1 starves: it cannot take more than arrives
            q1 = q_ext
        self.q_ext_m3_s = q_ext

        # --- volume 2: exchanger and mixer between the pumps
        slip2 = pumps.slip_conductance_m3_s_pa(self._slip2_m3, mu2)
        q2 = pumps.gear_pump_flow_m3_s(self._d2_cm3_rev, self.n2_rpm, (self.p3_bar - self.p2_bar) * pa, mu2,
                                       self._slip2_m3)
        self.p2_bar = melt_flow.step_pressure_linearised_bar(
            self.p2_bar, q1, q2, (slip1 + slip2) * pa, self._volume_2_m3, p.compressibility_1_pa, dt)
        self.p2_bar = min(self.p2_bar, p.rupture_disc_bar)
        if self.p2_bar <= 0.0 and q2 > q1:  # pump 2 starves
            q2 = q1
        q2 = max(q2, 0.0)
        q1 = max(q1, 0.0)
        self.q1_m3_s, self.q2_m3_s = q1, q2
        self.hx_drop_bar = melt_flow.static_mixer_pressure_drop_pa(
            q1, mu2, self._mixer_length_m, self._mixer_diameter_m, self._mixer_factor) / pa

        # --- volume 3: melt pump 2 into the slit die
        gap_m = max(self.die_gap_mm, 0.01) / 1000.0
        if f.die_blocked:
            gap_m *= p.blocked_die_gap_fraction
        k_die, n_die = self._power_law(self.die_melt_c, self.mixer_co2_fraction)
        self.p3_bar = melt_flow.step_pressure_into_slit_die_bar(
            self.p3_bar, q2, p.volume_3_m3, p.compressibility_1_pa, dt, self.die_width_m, gap_m,
            self.die_land_length_m, k_die, n_die)
        if self.p3_bar > p.rupture_disc_bar:
            self.p3_bar = p.rupture_disc_bar

        # --- exchanger: coolant, NTU outlet, transport delay, wall lag
        hx = self.commands[n["exchanger"]]
        coolant_on = hx["coolant_pump_on"] > 0.5 and not f.coolant_failed
        self.coolant_flow_l_min += ((p.coolant_flow_l_min if coolant_on else 0.0) - self.coolant_flow_l_min) \
            * self._pump_lag
        coolant_target = hx["coolant_setpoint_c"] if coolant_on else self.hx_out_c
        self.coolant_c += (coolant_target - self.coolant_c) * self._coolant_lag
        self.hx_in_c = self.tip_c + pumps.temperature_rise_k(max(p1_out - self.p1_bar, 0.0) * pa, rho, cp)
        ua = self._ua_w_k * (1.0 if coolant_on else p.ua_without_coolant_fraction)
        outlet = heat_exchange.exchanger_outlet_temperature_c(self.hx_in_c, self.coolant_c, ua, q1 * rho, cp)
        delay = self._delay
        index = self._delay_index
        delay[index] = outlet
        # standing melt: no plug flow, it follows the coolant through the wall lag alone
        delay_steps = int(self._volume_2_m3 / q1 / dt) if q1 > 1e-9 else 0
        if delay_steps > DELAY_BUFFER_STEPS - 1:
            delay_steps = DELAY_BUFFER_STEPS - 1
        delayed = delay[(index - delay_steps) % DELAY_BUFFER_STEPS]
        self._delay_co2[index] = w_co2
        self.mixer_co2_fraction = self._delay_co2[(index - delay_steps) % DELAY_BUFFER_STEPS]
        self._delay_index = (index + 1) % DELAY_BUFFER_STEPS
        self.hx_out_c += (delayed - self.hx_out_c) * self._wall_lag

        # --- die melt temperature
        die_wall_c = sum(self.die_zones_c) / self._die_zone_count
        if q2 > 1e-9:
            die_target = (1.0 - p.die_wall_share) * self.hx_out_c + p.die_wall_share * die_wall_c
        else:
            die_target = die_wall_c
        self.die_melt_c += (die_target - self.die_melt_c) * self._die_lag

    def _metering_viscosities_pa_s(self, temperature_c: float) -> tuple[float, float]:
        """Neat-melt viscosity in the metering channel (at V_b/H) and in the flight clearance
        (at V_b/δ): the gas is injected downstream of the metering section."""
        polymer = self.polymer
        # cached on a 0.1 K and 0.1 rpm grid (the shear rates follow the screw speed)
        key = (int(max(temperature_c, polymer.glass_transition_c + 20.0) * 10.0), int(self.screw_rpm * 10.0))
        value = self._metering_viscosity_cache.get(key)
        if value is None:
            t_k = key[0] / 10.0 + 273.15
            rpm = key[1] / 10.0
            value = (rheology.melt_viscosity_pa_s(polymer, t_k, screw.channel_shear_rate_1_s(self.screw, rpm)),
                     rheology.melt_viscosity_pa_s(polymer, t_k, screw.flight_shear_rate_1_s(self.screw, rpm)))
            if len(self._metering_viscosity_cache) > 50000:
                self._metering_viscosity_cache.clear()
            self._metering_viscosity_cache[key] = value
        return value

    def _barrel_polymer(self) -> None:
        """The polymer along the barrel and the drive's power, quasi-steady per zone.

        Zones 1 to n−1 convey and melt (zone 1 holds pellets, poor contact): in each the
        drive supplies the share PLASTICATION_SHARE (simulator.physics.screw) of the
        enthalpy that would bring the polymer entering it to the zone's barrel temperature;
        zone n meters (viscous dissipation of the screw model). Each zone: ṁ·Δh = hA·(T_zone
        − T_out) + P_shear, so the barrel gives the polymer hA·(T_zone − T_out), negative
        when shear heat makes the melt hotter than the barrel. Shaft power = plastication
        + metering (dissipation + pressure work); the motor load is its torque of rated.
        """
        polymer = self.polymer
        tg = polymer.glass_transition_c
        cp_solid = polymer.solid_heat_capacity_j_kg_k
        cp_melt = polymer.melt_heat_capacity_j_kg_k
        flow_kg_s = self.q_ext_m3_s * polymer.melt_density_kg_m3
        last = self._zone_count - 1
        h = screw.polymer_enthalpy_j_kg(AMBIENT_C, tg, cp_solid, cp_melt)
        plastication_w = 0.0
        ua_w_k = self._zone_area_m2 * screw.wiped_barrel_heat_transfer_w_m2_k(
            self.screw_rpm, self.parameters.melt_conductivity_w_m_k, polymer.melt_density_kg_m3, cp_melt,
            self.screw.metering_depth_m)
        metering = screw.MeteringPower(0.0, 0.0, 0.0, 0.0)
        for i in range(self._zone_count):
            if i == last:
                mu, mu_flight = self._metering_viscosities_pa_s(
                    screw.temperature_from_enthalpy_c(h, tg, cp_solid, cp_melt))
                self._metering_viscosity_pa_s = mu
                if self.screw_rpm > 0.1 and self._molten > 0.0:
                    full = screw.metering_power(self.screw, self.screw_rpm, self.p1_bar * melt_flow.PA_PER_BAR, mu,
                                                mu_flight)
                    # a drive delivers at most 150 % of its rated torque (then it trips on a real line)
                    most_w = 1.5 * self._motor_rated_power_w * self.screw_rpm / self._motor_rated_speed_rpm
                    scale = self._molten * min(1.0, most_w / full.shaft_w) if full.shaft_w > 0.0 else 0.0
                    metering = screw.MeteringPower(*(scale * x for x in (
                        full.channel_dissipation_w, full.flight_dissipation_w, full.pressure_work_w)),
                        full.throttle_ratio)
                shear_w = metering.dissipation_w
            else:
                h_barrel = screw.polymer_enthalpy_j_kg(self.zones_c[i], tg, cp_solid, cp_melt)
                shear_w = screw.plastication_power_w(flow_kg_s, h_barrel - h)
                plastication_w += shear_w
            h = screw.zone_outlet_enthalpy_j_kg(h, flow_kg_s, ua_w_k * self._zone_area_shares[i], self.zones_c[i], shear_w, tg,
                                                cp_solid, cp_melt)
            out_c = screw.temperature_from_enthalpy_c(h, tg, cp_solid, cp_melt)
            self.zone_polymer_c[i] = out_c
            self.zone_to_polymer_w[i] = ua_w_k * self._zone_area_shares[i] * (self.zones_c[i] - out_c)
        self.metering = metering
        self.shaft_power_w = plastication_w + metering.shaft_w
        self.motor_load_pct = min(screw.motor_load_pct(self.shaft_power_w, self.screw_rpm, self._motor_rated_power_w,
                                                       self._motor_rated_speed_rpm), 150.0)
