"""Heat exchange on the foaming line: melt cooler (heat exchanger with static mixer),
transport delay, wall lag and the heat balance of an extruder barrel zone.

Pure functions only; temperatures in °C where the name says ``_c`` (differences in K).

Sources
-------
- Exchanger with a near-constant coolant temperature (condensing / high-flow coolant, or
  a thermal-oil circuit much larger than the melt stream): T_out = T_c + (T_in − T_c)·
  e^(−NTU), NTU = UA/(ṁ·c_p) - the C_r → 0 limit of the ε-NTU method
  (Incropera & DeWitt, *Fundamentals of Heat and Mass Transfer*, ch. 11).
- Melt c_p 1.8-2.2 kJ/(kg·K) (shared/PHYSICS.md).
- Barrel zone as a lumped heated steel mass m·c·dT/dt = P·u − h·A·(T − T_amb) + P_shear
  (shared/PHYSICS.md; Rauwendaal, *Polymer Extrusion*, ch. 5 on barrel heating). The step
  uses the exact solution for inputs held over the step (zero-order hold), so it is
  stable and exact for any dt (1 s scan or 60 s coarse step alike).
- Steel specific heat 480 J/(kg·K): handbook value for carbon / nitriding steel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEEL_HEAT_CAPACITY_J_KG_K: float = 480.0  # handbook (carbon steel ≈ 460-490)


@dataclass(frozen=True)
class BarrelZoneParameters:
    """Lumped parameters of one heated barrel zone.

    Time constant τ = C/(hA) [s]; full-power steady state T_amb + P/(hA).
    """

    heater_power_w: float
    heat_capacity_j_k: float
    heat_loss_coefficient_w_k: float

    @property
    def time_constant_s(self) -> float:
        """τ = m·c/(h·A) [s]."""
        return self.heat_capacity_j_k / self.heat_loss_coefficient_w_k


# Estimates for a 25-35 mm single-screw machine (shared/PHYSICS.md: 1.5-3 kW per zone,
# τ 5-15 min). # assumption: 6 kg of steel per zone (barrel OD ≈ 90 mm, bore 30 mm,
# zone length ≈ 150 mm → ≈ 6.7 kg) and hA = 4.5 W/K (band heater + insulation + natural
# convection), giving τ ≈ 10.7 min and a full-power steady state of ≈ 470 °C at 25 °C
# ambient - enough headroom for 340-360 °C PSU/PES melt temperatures at ≈ 70 % output.
DEFAULT_BARREL_ZONE = BarrelZoneParameters(
    heater_power_w=2000.0,
    heat_capacity_j_k=6.0 * STEEL_HEAT_CAPACITY_J_KG_K,
    heat_loss_coefficient_w_k=4.5,
)


def number_of_transfer_units(
    ua_w_k: float, mass_flow_kg_s: float, heat_capacity_j_kg_k: float
) -> float:
    """NTU = UA/(ṁ·c_p) [-]; infinite when the melt stands still (ṁ <= 0)."""
    if ua_w_k < 0.0 or heat_capacity_j_kg_k <= 0.0:
        raise ValueError("UA must be >= 0 and c_p > 0")
    if mass_flow_kg_s <= 0.0:
        return math.inf
    return ua_w_k / (mass_flow_kg_s * heat_capacity_j_kg_k)


def exchanger_outlet_temperature_c(
    inlet_temperature_c: float,
    coolant_temperature_c: float,
    ua_w_k: float,
    mass_flow_kg_s: float,
    heat_capacity_j_kg_k: float,
) -> float:
    """Melt outlet temperature with a near-constant coolant temperature [°C].

    T_out = T_c + (T_in − T_c)·e^(−NTU), NTU = UA/(ṁ·c_p). Steady state; combine with
    :func:`transport_delay_s` and :func:`step_first_order_lag` for the dynamics.
    """
    ntu = number_of_transfer_units(ua_w_k, mass_flow_kg_s, heat_capacity_j_kg_k)
    return coolant_temperature_c + (inlet_temperature_c - coolant_temperature_c) * math.exp(
        -ntu
    )


def exchanger_heat_duty_w(
    inlet_temperature_c: float,
    outlet_temperature_c: float,
    mass_flow_kg_s: float,
    heat_capacity_j_kg_k: float,
) -> float:
    """Heat removed from the melt Q̇ = ṁ·c_p·(T_in − T_out) [W]."""
    return mass_flow_kg_s * heat_capacity_j_kg_k * (inlet_temperature_c - outlet_temperature_c)


def transport_delay_s(volume_m3: float, flow_m3_s: float) -> float:
    """Plug-flow residence (dead) time V/Q [s]; infinite when the flow is zero or reversed."""
    if volume_m3 < 0.0:
        raise ValueError("volume must be >= 0")
    if flow_m3_s <= 0.0:
        return math.inf
    return volume_m3 / flow_m3_s


def first_order_lag_factor(dt_s: float, time_constant_s: float) -> float:
    """How far, as a fraction 1 − e^(−dt/τ), a first-order lag moves towards a held target
    in ``dt_s``: the plants precompute it per time constant and step ``y += (u − y)·f``."""
    return 1.0 - math.exp(-dt_s / time_constant_s)


def step_first_order_lag(
    value: float, target: float, time_constant_s: float, dt_s: float
) -> float:
    """Exact step of τ·dy/dt = u − y with u held over dt: y + (u − y)·(1 − e^(−dt/τ)).

    Used for the exchanger wall lag (minutes) and sensor lags; τ = 0 returns the target.
    """
    if time_constant_s < 0.0 or dt_s < 0.0:
        raise ValueError("time constant and dt must be >= 0")
    if time_constant_s == 0.0:
        return target
    return target + (value - target) * math.exp(-dt_s / time_constant_s)


def zone_steady_state_temperature_c(
    heater_power_w: float,
    heater_output_fraction: float,
    heat_loss_coefficient_w_k: float,
    ambient_temperature_c: float,
    shear_heating_w: float = 0.0,
) -> float:
    """Steady state of a barrel zone T_ss = T_amb + (P·u + P_shear)/(h·A) [°C]."""
    if heat_loss_coefficient_w_k <= 0.0:
        raise ValueError("hA must be > 0 for a steady state to exist")
    return ambient_temperature_c + (
        heater_power_w * heater_output_fraction + shear_heating_w
    ) / heat_loss_coefficient_w_k


def step_zone_temperature_c(
    temperature_c: float,
    heater_output_fraction: float,
    ambient_temperature_c: float,
    dt_s: float,
    zone: BarrelZoneParameters = DEFAULT_BARREL_ZONE,
    shear_heating_w: float = 0.0,
) -> float:
    """Barrel-zone temperature after dt [°C], exact for inputs held over the step.

    m·c·dT/dt = P_heater·u − h·A·(T − T_amb) + P_shear
    ⇒ T(t + dt) = T_ss + (T − T_ss)·e^(−dt/τ), τ = m·c/(h·A),
       T_ss = T_amb + (P·u + P_shear)/(h·A).
    u is the heater output fraction, clipped to [0, 1] (a heater cannot cool). With
    hA = 0 the zone integrates: T + (P·u + P_shear)·dt/(m·c).
    """
    if dt_s < 0.0:
        raise ValueError("dt must be >= 0")
    u = min(max(heater_output_fraction, 0.0), 1.0)
    heat_in_w = zone.heater_power_w * u + shear_heating_w
    if zone.heat_loss_coefficient_w_k == 0.0:
        return temperature_c + heat_in_w * dt_s / zone.heat_capacity_j_k
    steady_c = zone_steady_state_temperature_c(
        zone.heater_power_w, u, zone.heat_loss_coefficient_w_k, ambient_temperature_c,
        shear_heating_w,
    )
    return steady_c + (temperature_c - steady_c) * math.exp(-dt_s / zone.time_constant_s)
