"""Gear metering pump: delivered flow with slip, speed for a flow, shaft torque.

The one gear-pump model of the project (dope pumps of the casting line; melt pumps may
reuse it). Pure functions, SI inside, units in every name.

Model (shared/PHYSICS.md, Pumps; Zenith, "Volumetric Efficiency of Gear Pumps"):
    Q = D·N − C_s·ΔP/μ
The slip flow C_s·ΔP/μ leaks back through the gear/housing clearances: it grows with
the pressure rise and falls with viscosity (laminar leakage, so C_s has units of m³).
Zenith quote 97–99.5 % volumetric efficiency at rated conditions; the slip coefficient
is derived here from an efficiency at a rated point rather than guessed directly.
Torque = D·ΔP/(2π·η_mech) (PHYSICS.md).
"""

from __future__ import annotations

import math

CM3_PER_M3: float = 1.0e6
SECONDS_PER_MINUTE: float = 60.0

# Zenith "Volumetric Efficiency of Gear Pumps": 97-99.5 % at rated conditions; mid-range.
RATED_VOLUMETRIC_EFFICIENCY: float = 0.985
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


def theoretical_flow_cm3_min(displacement_cm3_rev: float, speed_rpm: float) -> float:
    """D·N: what the gears sweep, without slip."""
    return displacement_cm3_rev * speed_rpm


def delivered_flow_cm3_min(
    displacement_cm3_rev: float,
    speed_rpm: float,
    pressure_rise_pa: float,
    viscosity_pa_s: float,
    slip_coefficient_m3: float,
) -> float:
    """Q = D·N − C_s·ΔP/μ, never negative (a stopped pump holding pressure passes no
    forward flow; back-leakage into the vessel is not modelled)."""
    slip_cm3_min = slip_coefficient_m3 * pressure_rise_pa / viscosity_pa_s * CM3_PER_M3 * SECONDS_PER_MINUTE
    flow = displacement_cm3_rev * speed_rpm - slip_cm3_min
    return flow if flow > 0.0 else 0.0


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
    """T = D·ΔP/(2π·η_mech), D in m³/rev (PHYSICS.md, Pumps)."""
    return displacement_cm3_rev / CM3_PER_M3 * pressure_rise_pa / (2.0 * math.pi * mechanical_efficiency)
