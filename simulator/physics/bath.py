"""Quench and wash baths: heat balance, water evaporation, solvent build-up and the weir.

Pure functions, units in the names.

Heat balance (shared/PHYSICS.md, Casting line):
    M·c_p·dT/dt = P_heater·u − UA·(T − T_amb) − evaporation(T)
                  − ṁ_mk·c_p·(T − T_mk) + C_in·(T_in − T)
where C_in = ṁ·c_p of the dope/web entering at T_in. Evaporation is linearised about the
temperature at the start of the step, which makes the step a linear first-order ODE that
is integrated exactly (exponential update): stable for any time step, 1 s or 60 s alike.

Evaporation from the open surface: Carrier's pool equation as given in the ASHRAE
Handbook – HVAC Applications (ch. "Places of Assembly", natatoriums):
    w = A·(p_w − p_a)·(0.089 + 0.0782·V)/Y     [kg/s; A m², p kPa, V m/s, Y kJ/kg]
Saturation pressure by the Magnus form of Alduchov & Eskridge (J. Appl. Meteor. 35, 1996):
    p_sat = 0.61094·exp(17.625·T/(T + 243.04))  [kPa, T in °C]

Solvent build-up: with DMF entering at ṁ_s, make-up water ṁ_w, water evaporating at ṁ_e
and everything else leaving at the bath composition (weir overflow, liquid dragged out
in the web's pores), the mass fraction c obeys
    M·dc/dt = ṁ_s − c·(ṁ_s + ṁ_w − ṁ_e)
which is PHYSICS.md's M·dc/dt = ṁ_s − ṁ_overflow·c with the overflow counting every
stream that leaves at c. Also integrated exactly. DMF evaporation is neglected
(assumption: DMF boils at 153 °C; its vapour pressure at 20–60 °C is ~0.4–3 kPa of a
small surface fraction, against water's 2–20 kPa).
"""

from __future__ import annotations

import math

WATER_CP_J_KG_K: float = 4186.0  # CRC Handbook, liquid water near 20 °C
WATER_DENSITY_KG_L: float = 0.998  # CRC Handbook, 20 °C
WATER_LATENT_HEAT_KJ_KG: float = 2430.0  # CRC Handbook: 2454 kJ/kg at 20 °C, 2407 at 40 °C
CARRIER_STILL_AIR_COEFF: float = 0.089  # ASHRAE, Carrier equation
CARRIER_VELOCITY_COEFF: float = 0.0782  # ASHRAE, Carrier equation, per m/s air velocity
MAGNUS_A_KPA: float = 0.61094  # Alduchov & Eskridge 1996
MAGNUS_B: float = 17.625
MAGNUS_C_C: float = 243.04


def saturation_pressure_kpa(temperature_c: float) -> float:
    """Water vapour saturation pressure (Magnus, Alduchov & Eskridge 1996)."""
    return MAGNUS_A_KPA * math.exp(MAGNUS_B * temperature_c / (temperature_c + MAGNUS_C_C))


def saturation_pressure_slope_kpa_k(temperature_c: float) -> float:
    """d p_sat / dT of the Magnus form."""
    denominator = temperature_c + MAGNUS_C_C
    return saturation_pressure_kpa(temperature_c) * MAGNUS_B * MAGNUS_C_C / (denominator * denominator)


def evaporation_kg_s(
    area_m2: float,
    water_temperature_c: float,
    air_temperature_c: float,
    air_relative_humidity: float,
    air_velocity_m_s: float = 0.0,
) -> float:
    """Carrier's pool evaporation (ASHRAE); negative means condensation onto the surface."""
    p_air_kpa = air_relative_humidity * saturation_pressure_kpa(air_temperature_c)
    coefficient = (CARRIER_STILL_AIR_COEFF + CARRIER_VELOCITY_COEFF * air_velocity_m_s) / WATER_LATENT_HEAT_KJ_KG
    return area_m2 * (saturation_pressure_kpa(water_temperature_c) - p_air_kpa) * coefficient


def evaporation_heat_w(evaporation_rate_kg_s: float) -> float:
    return evaporation_rate_kg_s * WATER_LATENT_HEAT_KJ_KG * 1000.0


def first_order_step(value: float, steady_value: float, rate_per_s: float, dt_s: float) -> float:
    """Exact update of dx/dt = −rate·(x − x_ss) over dt: x_ss + (x − x_ss)·e^(−rate·dt)."""
    return steady_value + (value - steady_value) * math.exp(-rate_per_s * dt_s)


def bath_temperature_step_c(
    temperature_c: float,
    dt_s: float,
    heat_capacity_j_k: float,
    heater_power_w: float,
    ua_w_k: float,
    ambient_c: float,
    evaporation_area_m2: float,
    air_relative_humidity: float,
    makeup_kg_s: float,
    makeup_temperature_c: float,
    inflow_heat_rate_w_k: float,
    inflow_temperature_c: float,
    air_velocity_m_s: float = 0.0,
) -> float:
    """Bath temperature after ``dt_s`` (exact for the balance linearised at the start).

    ``heater_power_w`` is the delivered power (P·u); ``inflow_heat_rate_w_k`` is ṁ·c_p of
    the dope/web entering at ``inflow_temperature_c``.
    """
    evaporation_coeff = (CARRIER_STILL_AIR_COEFF + CARRIER_VELOCITY_COEFF * air_velocity_m_s) \
        * evaporation_area_m2 * 1000.0  # W per kPa of vapour-pressure difference
    p_air_kpa = air_relative_humidity * saturation_pressure_kpa(ambient_c)
    evaporation_w = evaporation_coeff * (saturation_pressure_kpa(temperature_c) - p_air_kpa)
    evaporation_slope_w_k = evaporation_coeff * saturation_pressure_slope_kpa_k(temperature_c)
    makeup_w_k = makeup_kg_s * WATER_CP_J_KG_K
    conductance_w_k = ua_w_k + makeup_w_k + inflow_heat_rate_w_k + evaporation_slope_w_k
    source_w = (
        heater_power_w
        + ua_w_k * ambient_c
        + makeup_w_k * makeup_temperature_c
        + inflow_heat_rate_w_k * inflow_temperature_c
        - evaporation_w
        + evaporation_slope_w_k * temperature_c
    )
    return first_order_step(temperature_c, source_w / conductance_w_k,
                            conductance_w_k / heat_capacity_j_k, dt_s)


def bath_steady_state_c(
    heater_power_w: float,
    ua_w_k: float,
    ambient_c: float,
    evaporation_area_m2: float,
    air_relative_humidity: float,
    makeup_kg_s: float = 0.0,
    makeup_temperature_c: float = 15.0,
    inflow_heat_rate_w_k: float = 0.0,
    inflow_temperature_c: float = 20.0,
    air_velocity_m_s: float = 0.0,
) -> float:
    """Temperature at which the bath balance is zero (Newton on the full balance).
    With no evaporation area this is T_amb + P/UA weighted with the other streams."""
    temperature_c = ambient_c + heater_power_w / (ua_w_k + makeup_kg_s * WATER_CP_J_KG_K + inflow_heat_rate_w_k)
    temperature_c = min(temperature_c, 99.0)
    for _ in range(50):
        evaporation_w = evaporation_heat_w(evaporation_kg_s(
            evaporation_area_m2, temperature_c, ambient_c, air_relative_humidity, air_velocity_m_s))
        balance_w = (heater_power_w - ua_w_k * (temperature_c - ambient_c) - evaporation_w
                     - makeup_kg_s * WATER_CP_J_KG_K * (temperature_c - makeup_temperature_c)
                     + inflow_heat_rate_w_k * (inflow_temperature_c - temperature_c))
        slope_w_k = -(ua_w_k + makeup_kg_s * WATER_CP_J_KG_K + inflow_heat_rate_w_k
                      + (CARRIER_STILL_AIR_COEFF + CARRIER_VELOCITY_COEFF * air_velocity_m_s)
                      * evaporation_area_m2 * 1000.0 * saturation_pressure_slope_kpa_k(temperature_c))
        step_k = balance_w / slope_w_k
        temperature_c -= step_k
        if abs(step_k) < 1e-9:
            break
    return temperature_c


def solvent_fraction_step(
    solvent_fraction: float,
    dt_s: float,
    liquid_mass_kg: float,
    solvent_in_kg_s: float,
    water_in_kg_s: float,
    evaporation_rate_kg_s: float,
) -> float:
    """Solvent mass fraction after ``dt_s``: M·dc/dt = ṁ_s − c·(ṁ_s + ṁ_w − ṁ_e), exact
    for M and the streams constant over the step; clamped to 0..1."""
    net_inflow_kg_s = solvent_in_kg_s + water_in_kg_s - evaporation_rate_kg_s
    if abs(net_inflow_kg_s) * dt_s < 1e-9 * liquid_mass_kg:
        fraction = solvent_fraction + (solvent_in_kg_s - solvent_fraction * net_inflow_kg_s) * dt_s / liquid_mass_kg
    else:
        fraction = first_order_step(solvent_fraction, solvent_in_kg_s / net_inflow_kg_s,
                                    net_inflow_kg_s / liquid_mass_kg, dt_s)
    if fraction < 0.0:
        return 0.0
    return fraction if fraction < 1.0 else 1.0


def solvent_steady_fraction(solvent_in_kg_s: float, water_in_kg_s: float, evaporation_rate_kg_s: float) -> float:
    """c at steady state: ṁ_s/(ṁ_s + ṁ_w − ṁ_e)."""
    return solvent_in_kg_s / (solvent_in_kg_s + water_in_kg_s - evaporation_rate_kg_s)


def weir_liquid_mass_kg(liquid_mass_kg: float, weir_mass_kg: float, net_inflow_kg_s: float, dt_s: float) -> float:
    """Liquid held after ``dt_s`` in a bath whose level is set by an overflow weir: it
    rises or falls with the net inflow and cannot rise above the weir (the rest
    overflows); never below empty. Overflow over the step = net inflow − change/dt."""
    mass_kg = liquid_mass_kg + net_inflow_kg_s * dt_s
    if mass_kg > weir_mass_kg:
        return weir_mass_kg
    return mass_kg if mass_kg > 0.0 else 0.0
