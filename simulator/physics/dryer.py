"""Convective dryer: air temperature, air humidity and the membrane's residual moisture.

Air (and duct) temperature, first order, integrated exactly:
    C·dT/dt = P_heater·u − G·(T − T_amb) − Q_web,  G = UA_loss + ṁ_exhaust·c_p,air (fan on)
where Q_web is what the web takes from the air: the latent heat of the water it gives off
and its sensible heating (``web_heat_load_w``). The air heater is interlocked with the fan
(assumption: standard air-heater protection; with the fan off the heater delivers nothing
and only UA_loss remains).

Air humidity: fresh hall air at humidity ratio Y_in is drawn through the dryer and
leaves as exhaust carrying the water the web gave off; the dryer air is taken as well
mixed at the exhaust state (assumption: recirculating dryer hood):
    Y = Y_in + ṁ_evap/ṁ_air       (kg water per kg dry air)
Psychrometrics (Geankoplis, *Transport Processes and Separation Process Principles*, 4th
ed., 2003, §9.3): Y = 0.622·p/(P − p); humid heat c_s = 1.005 + 1.88·Y kJ/(kg·K);
wet-bulb temperature from c_s·(T − T_wb) = λ·(Y_s(T_wb) − Y) (Lewis relation h/k_y ≈ c_s
for air–water, eq. 9.3-18). Saturation pressure: the Magnus form in :mod:`bath`.

Drying (Geankoplis §9.6–9.7): in the constant-rate period the web's surface is wet and
sits at the wet-bulb temperature; the flux is set by heat transfer from the air,
    N_c = h·(T − T_wb)/λ                       [kg/(m²·s)]
down to the critical moisture X_c; below it the rate falls linearly with X − X_e
(eq. 9.7-8), so after the constant-rate time t_c = m_s·(X_0 − X_c)/N_c the moisture falls
exponentially, X − X_e = (X_c − X_e)·exp(−N_c·(t − t_c)/(m_s·(X_c − X_e))). X is dry basis
(kg water / kg polymer) and m_s the polymer per m² of web (the water load per m² is
m_s·X_0). Heat-transfer coefficient for air flowing parallel to the web (eq. 9.6-9):
    h = 0.0204·G^0.8  [W/(m²·K); G = ρ·v in kg/(m²·h), 2450–29300, air 45–150 °C]
"""

from __future__ import annotations

import math

from simulator.physics import bath

ZERO_CELSIUS_K: float = 273.15
AIR_CP_J_KG_K: float = 1006.0  # CRC Handbook, dry air near 20-100 °C
WATER_DENSITY_G_CM3: float = 0.998  # CRC Handbook, 20 °C
ATMOSPHERE_KPA: float = 101.325
WATER_AIR_MOLAR_MASS_RATIO: float = 0.622  # 18.015/28.97 (Geankoplis eq. 9.3-3)
HUMID_HEAT_DRY_AIR_J_KG_K: float = 1005.0  # Geankoplis eq. 9.3-6
HUMID_HEAT_VAPOUR_J_KG_K: float = 1880.0  # Geankoplis eq. 9.3-6
AIR_GAS_CONSTANT_J_KG_K: float = 287.05  # dry air, ideal gas
PARALLEL_FLOW_HTC_COEFF: float = 0.0204  # Geankoplis eq. 9.6-9, SI, G in kg/(m²·h)
PARALLEL_FLOW_HTC_EXPONENT: float = 0.8  # Geankoplis eq. 9.6-9
# assumption: still air (fan off) over the web: free convection, ~5 W/(m²·K) (typical
# natural-convection coefficients for gases are 2-25 W/(m²·K), Incropera Table 1.1).
STILL_AIR_HTC_W_M2_K: float = 5.0
# assumption: critical moisture 0.5 kg/kg, ~15 % of what the pores of an 80 %-porous
# polysulfone membrane hold (X_0 ≈ 3.2): fine-porous solids keep a wet surface (constant
# rate) until their pores are largely empty (Geankoplis §9.7 on capillary flow in porous solids).
CRITICAL_MOISTURE_DRY_BASIS: float = 0.5
# Udel polysulfone takes up 0.3 % water (24 h immersion, ASTM D570; Solvay Udel data sheet).
EQUILIBRIUM_MOISTURE_DRY_BASIS: float = 0.003
# assumption: 1.2 kJ/(kg·K) for the dry polymer, typical of aromatic engineering
# thermoplastics near room temperature (1.0-1.3 kJ/(kg·K)); its share of the load is ~1 %.
POLYMER_CP_J_KG_K: float = 1200.0


def air_temperature_step_c(temperature_c: float, dt_s: float, heat_capacity_j_k: float,
                           heater_power_w: float, conductance_w_k: float, ambient_c: float) -> float:
    """Exact first-order update of the dryer air temperature (``heater_power_w`` net of the web's load)."""
    steady_c = ambient_c + heater_power_w / conductance_w_k
    return steady_c + (temperature_c - steady_c) * math.exp(-conductance_w_k / heat_capacity_j_k * dt_s)


def humidity_ratio_kg_kg(temperature_c: float, relative_humidity: float, pressure_kpa: float = ATMOSPHERE_KPA) -> float:
    """Y = 0.622·p/(P − p), p = RH·p_sat(T) (Geankoplis eq. 9.3-3)."""
    p_kpa = relative_humidity * bath.saturation_pressure_kpa(temperature_c)
    return WATER_AIR_MOLAR_MASS_RATIO * p_kpa / (pressure_kpa - p_kpa)


def saturation_humidity_kg_kg(temperature_c: float, pressure_kpa: float = ATMOSPHERE_KPA) -> float:
    return humidity_ratio_kg_kg(temperature_c, 1.0, pressure_kpa)


def humid_heat_j_kg_k(humidity_kg_kg: float) -> float:
    """c_s = 1.005 + 1.88·Y kJ/(kg dry air·K) (Geankoplis eq. 9.3-6)."""
    return HUMID_HEAT_DRY_AIR_J_KG_K + HUMID_HEAT_VAPOUR_J_KG_K * humidity_kg_kg


def wet_bulb_temperature_c(air_c: float, humidity_kg_kg: float) -> float:
    """T_wb from c_s·(T − T_wb) = λ·(Y_s(T_wb) − Y), by bisection (the residual rises with T_wb)."""
    latent_j_kg = bath.WATER_LATENT_HEAT_KJ_KG * 1000.0
    cs = humid_heat_j_kg_k(humidity_kg_kg)
    low, high = -20.0, air_c
    for _ in range(40):  # 2^-40 of the bracket: far below a thermometer's resolution
        middle = 0.5 * (low + high)
        residual = latent_j_kg * (saturation_humidity_kg_kg(middle) - humidity_kg_kg) - cs * (air_c - middle)
        if residual > 0.0:
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)


def exhaust_humidity_kg_kg(inlet_humidity_kg_kg: float, evaporation_kg_s: float, air_kg_s: float) -> float:
    """Y = Y_in + ṁ_evap/ṁ_air (water balance of the air)."""
    return inlet_humidity_kg_kg + evaporation_kg_s / air_kg_s if air_kg_s > 0.0 else inlet_humidity_kg_kg


def air_density_kg_m3(air_c: float, pressure_kpa: float = ATMOSPHERE_KPA) -> float:
    return pressure_kpa * 1000.0 / (AIR_GAS_CONSTANT_J_KG_K * (air_c + ZERO_CELSIUS_K))


def parallel_flow_htc_w_m2_k(air_velocity_m_s: float, air_c: float) -> float:
    """h = 0.0204·G^0.8 with G = ρ·v in kg/(m²·h) (Geankoplis eq. 9.6-9)."""
    mass_velocity_kg_m2_h = air_density_kg_m3(air_c) * air_velocity_m_s * 3600.0
    return PARALLEL_FLOW_HTC_COEFF * math.pow(mass_velocity_kg_m2_h, PARALLEL_FLOW_HTC_EXPONENT)


def constant_rate_flux_kg_m2_s(htc_w_m2_k: float, air_c: float, wet_bulb_c: float) -> float:
    """N_c = h·(T − T_wb)/λ (Geankoplis eq. 9.6-7); none from air at or below the wet bulb."""
    return max(htc_w_m2_k * (air_c - wet_bulb_c), 0.0) / (bath.WATER_LATENT_HEAT_KJ_KG * 1000.0)


def wet_membrane_moisture_dry_basis(porosity: float, polymer_density_g_cm3: float) -> float:
    """Water in a membrane whose pores are full: porosity·ρ_w / ((1 − porosity)·ρ_p)."""
    return porosity * WATER_DENSITY_G_CM3 / ((1.0 - porosity) * polymer_density_g_cm3)


def exit_moisture_dry_basis(initial_dry_basis: float, flux_kg_m2_s: float, polymer_kg_m2: float,
                            residence_s: float, critical_dry_basis: float = CRITICAL_MOISTURE_DRY_BASIS,
                            equilibrium_dry_basis: float = EQUILIBRIUM_MOISTURE_DRY_BASIS) -> float:
    """X after ``residence_s``: constant rate N_c down to X_c, then the linear falling rate."""
    if flux_kg_m2_s <= 0.0 or polymer_kg_m2 <= 0.0 or initial_dry_basis <= equilibrium_dry_basis:
        return initial_dry_basis
    critical = min(critical_dry_basis, initial_dry_basis)
    constant_s = polymer_kg_m2 * (initial_dry_basis - critical) / flux_kg_m2_s
    if residence_s <= constant_s:
        return initial_dry_basis - flux_kg_m2_s * residence_s / polymer_kg_m2
    falling_time_constant_s = polymer_kg_m2 * (critical - equilibrium_dry_basis) / flux_kg_m2_s
    return equilibrium_dry_basis + (critical - equilibrium_dry_basis) * math.exp(
        -(residence_s - constant_s) / falling_time_constant_s)


def web_heat_load_w(evaporation_kg_s: float, water_in_kg_s: float, polymer_kg_s: float, web_in_c: float,
                    wet_bulb_c: float, air_c: float) -> float:
    """What the web takes from the air: latent ṁ_evap·λ, plus the water it brings heated to
    the wet bulb and the polymer heated to the air temperature (sensible)."""
    latent_w = bath.evaporation_heat_w(evaporation_kg_s)
    sensible_w = (water_in_kg_s * bath.WATER_CP_J_KG_K * (wet_bulb_c - web_in_c)
                  + polymer_kg_s * POLYMER_CP_J_KG_K * (air_c - web_in_c))
    return latent_w + sensible_w


def wet_basis_pct(dry_basis: float) -> float:
    """Moisture as percent of the wet mass: 100·X/(1 + X)."""
    return 100.0 * dry_basis / (1.0 + dry_basis)
