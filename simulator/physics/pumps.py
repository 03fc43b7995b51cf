"""Gear pump: delivered flow with slip, speed for a flow, shaft torque, temperature rise.

The one gear-pump model of the project: the dope pumps of the casting line
(``simulator.casting.plant``) and the melt pumps of the foaming line (``simulator.foaming.plant``).
Pure functions, SI inside, units in every name (displacements in cm³/rev, as pumps are
sold).

Model (shared/PHYSICS.md, Pumps; Zenith, "Volumetric Efficiency of Gear Pumps"):
    Q = D·N − C_s·ΔP/μ
The slip flow C_s·ΔP/μ leaks back through the gear/housing clearances: it grows with
the pressure rise and falls with viscosity (laminar leakage, so C_s has units of m³).
Zenith quote 97–99.5 % volumetric efficiency at rated conditions; the slip coefficient
is derived here from an efficiency at a rated point rather than guessed directly.
Torque = D·ΔP/(2π·η_mech); temperature rise ΔT = ΔP/(ρ·c_p) (PHYSICS.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

CM3_PER_M3: float = 1.0e6
SECONDS_PER_MINUTE: float = 60.0

# Zenith "Volumetric Efficiency of Gear Pumps": 97-99.5 % at rated conditions; mid-range.
RATED_VOLUMETRIC_EFFICIENCY: float = 0.985
# Zenith "Volumetric Efficiency of Gear Pumps" (via PHYSICS.md): 97-99.5 % at rated
# conditions. The mid value is used to size the slip of the foaming line's melt pumps.
MELT_PUMP_RATED_VOLUMETRIC_EFFICIENCY: float = 0.98
# assumption: mechanical efficiency of a precision gear pump at low speed (bearing and
# gear-mesh friction); 0.85-0.95 is typical of metering pumps, mid value taken.
MECHANICAL_EFFICIENCY: float = 0.90


def slip_coefficient_m3(
    displacement_cm3_rev: float,
    rated_speed_rpm: float,
    rated_pressure_rise_pa: float,
    rated_viscosity_pa_s: float,
    volumetric_efficiency: float = RATED_VOLUMETRIC_EFFICIENCY,
) -> float:
    """C_s [m³] such that Q = η_v·D·N at the rated speed, pressure rise and viscosity."""
    if rated_pressure_rise_pa <= 0.0:
        raise ValueError("rated pressure rise must be positive")
    theoretical_m3_s = displacement_cm3_rev * rated_speed_rpm / CM3_PER_M3 / SECONDS_PER_MINUTE
    slip_m3_s = (1.0 - volumetric_efficiency) * theoretical_m3_s
    return slip_m3_s * rated_viscosity_pa_s / rated_pressure_rise_pa


@dataclass(frozen=True, slots=True)
class MeltPumpRating:
    """The point a melt pump's volumetric efficiency is quoted at; it fixes the slip
    coefficient C_s, so the pump's delivery at any speed, pressure rise and viscosity follows.

    Defaults: η_v 0.98 (Zenith 97-99.5 %, PHYSICS.md); # assumption: quoted at 30 rpm, a
    200 bar rise and 5000 Pa·s (mid-range PEP-II speed, a typical melt-pump differential and
    a polyolefin-like test melt). Equipment data may override each (``rated_*`` keys).
    """

    volumetric_efficiency: float = MELT_PUMP_RATED_VOLUMETRIC_EFFICIENCY
    speed_rpm: float = 30.0
    pressure_rise_bar: float = 200.0
    viscosity_pa_s: float = 5000.0

    @classmethod
    def from_equipment(cls, equipment: Mapping[str, float]) -> MeltPumpRating:
        """From a melt pump's equipment data (``rated_volumetric_efficiency``,
        ``rated_speed_rpm``, ``rated_pressure_rise_bar``, ``rated_viscosity_pa_s``)."""
        default = cls()
        return cls(volumetric_efficiency=equipment.get("rated_volumetric_efficiency", default.volumetric_efficiency),
                   speed_rpm=equipment.get("rated_speed_rpm", default.speed_rpm),
                   pressure_rise_bar=equipment.get("rated_pressure_rise_bar", default.pressure_rise_bar),
                   viscosity_pa_s=equipment.get("rated_viscosity_pa_s", default.viscosity_pa_s))

    def slip_coefficient_m3(self, displacement_cm3_rev: float) -> float:
        """C_s [m³] of a pump of ``displacement_cm3_rev`` with this rating."""
        return slip_coefficient_m3(displacement_cm3_rev, self.speed_rpm, self.pressure_rise_bar * 1.0e5,
                                   self.viscosity_pa_s, self.volumetric_efficiency)


def theoretical_flow_cm3_min(displacement_cm3_rev: float, speed_rpm: float) -> float:
    """D·N: what the gears sweep, without slip."""
    return displacement_cm3_rev * speed_rpm


def slip_conductance_m3_s_pa(slip_coefficient_m3: float, viscosity_pa_s: float) -> float:
    """C_s/μ [m³/(s·Pa)]: slip flow per pascal of pressure rise, i.e. −dQ/dΔP."""
    if viscosity_pa_s <= 0.0:
        raise ValueError("viscosity must be positive")
    return slip_coefficient_m3 / viscosity_pa_s


def gear_pump_flow_m3_s(
    displacement_cm3_rev: float,
    speed_rpm: float,
    pressure_rise_pa: float,
    viscosity_pa_s: float,
    slip_coefficient_m3: float,
    filled_fraction: float = 1.0,
) -> float:
    """Q = φ·D·N − C_s·ΔP/μ [m³/s], signed: a stopped pump with ΔP > 0 leaks backwards
    (negative Q), which is physical. ΔP = p_out − p_in; φ is the fraction of the gear
    pockets filled with liquid (1 unless free gas displaces it)."""
    swept_m3_s = displacement_cm3_rev / CM3_PER_M3 * speed_rpm / SECONDS_PER_MINUTE * filled_fraction
    return swept_m3_s - slip_conductance_m3_s_pa(slip_coefficient_m3, viscosity_pa_s) * pressure_rise_pa


def delivered_flow_cm3_min(
    displacement_cm3_rev: float,
    speed_rpm: float,
    pressure_rise_pa: float,
    viscosity_pa_s: float,
    slip_coefficient_m3: float,
) -> float:
    """Q = D·N − C_s·ΔP/μ [cm³/min], never negative (a stopped pump holding pressure
    passes no forward flow; back-leakage into the vessel is not modelled)."""
    flow_m3_s = gear_pump_flow_m3_s(
        displacement_cm3_rev, speed_rpm, pressure_rise_pa, viscosity_pa_s, slip_coefficient_m3
    )
    return flow_m3_s * CM3_PER_M3 * SECONDS_PER_MINUTE if flow_m3_s > 0.0 else 0.0


def flow_into_linear_resistance_cm3_min(
    displacement_cm3_rev: float,
    speed_rpm: float,
    resistance_pa_s_per_m3: float,
    slip_coefficient_m3: float,
) -> float:
    """Delivered flow when the discharge pressure is itself Newtonian-resistive,
    ΔP = μ·K·Q (K in 1/m³, e.g. 12L/(W·H³) of a slot plus 128L/(πD⁴) of a pipe; the
    argument is K, the resistance per unit viscosity). Solving Q = D·N − C_s·μ·K·Q/μ
    gives Q = D·N/(1 + C_s·K): viscosity cancels for a Newtonian dope."""
    return displacement_cm3_rev * speed_rpm / (1.0 + slip_coefficient_m3 * resistance_pa_s_per_m3)


def volumetric_efficiency(
    displacement_cm3_rev: float,
    speed_rpm: float,
    pressure_rise_pa: float,
    viscosity_pa_s: float,
    slip_coefficient_m3: float,
) -> float:
    """η_v = Q / (D·N); 0 for a stopped pump."""
    theoretical = displacement_cm3_rev * speed_rpm
    if theoretical <= 0.0:
        return 0.0
    return delivered_flow_cm3_min(
        displacement_cm3_rev, speed_rpm, pressure_rise_pa, viscosity_pa_s, slip_coefficient_m3
    ) / theoretical


def speed_for_flow_rpm(
    flow_cm3_min: float, displacement_cm3_rev: float, volumetric_efficiency: float
) -> float:
    """N = Q/(D·η_v): the speed to command for a wanted flow (PHYSICS.md, Casting line)."""
    if displacement_cm3_rev <= 0.0 or volumetric_efficiency <= 0.0:
        raise ValueError("displacement and volumetric efficiency must be positive")
    return flow_cm3_min / (displacement_cm3_rev * volumetric_efficiency)


def shaft_torque_n_m(
    displacement_cm3_rev: float,
    pressure_rise_pa: float,
    mechanical_efficiency: float = MECHANICAL_EFFICIENCY,
) -> float:
    """T = D·ΔP/(2π·η_mech) [N·m] (PHYSICS.md, Pumps)."""
    if not 0.0 < mechanical_efficiency <= 1.0:
        raise ValueError("mechanical efficiency must lie in (0, 1]")
    return displacement_cm3_rev / CM3_PER_M3 * pressure_rise_pa / (2.0 * math.pi * mechanical_efficiency)


def temperature_rise_k(
    pressure_rise_pa: float, density_kg_m3: float, heat_capacity_j_kg_k: float
) -> float:
    """Adiabatic liquid temperature rise across a pump ΔT = ΔP/(ρ·c_p) [K].

    All pumping work dissipated into the liquid; ≈ 0.5 K/MPa for ρ = 1000 kg/m³,
    c_p = 2 kJ/(kg·K) (shared/PHYSICS.md).
    """
    return pressure_rise_pa / (density_kg_m3 * heat_capacity_j_kg_k)
