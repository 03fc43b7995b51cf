"""Convective dryer: air temperature and the membrane's residual moisture at the exit.

Air (and duct) temperature, first order, integrated exactly:
    C·dT/dt = P_heater·u − G·(T − T_amb),  G = UA_loss + ṁ_exhaust·c_p,air (fan on)
The air heater is interlocked with the fan (assumption: standard air-heater protection;
with the fan off the heater delivers nothing and only UA_loss remains).

Drying: thin-layer (Lewis/Newton) model, moisture ratio MR = (X − X_e)/(X_0 − X_e) =
exp(−k·t) with an Arrhenius rate constant k(T) = k_ref·exp(−(E/R)(1/T − 1/T_ref)), the
usual empirical form for convective thin-layer drying (Lewis, Ind. Eng. Chem. 13 (1921)
427; Arrhenius k(T) e.g. in Doymaz's thin-layer drying studies). X is dry basis (kg
water / kg polymer).
# assumption: k_ref = 0.068 1/s at 80 °C with the fan on: a 3 m dryer at 2 m/min (90 s)
# takes a wet membrane (X_0 ≈ 3) to ≈ 1 % moisture; E = 30 kJ/mol (assumption, of the
# order of water's heat of vaporisation ~40 kJ/mol, as such fits usually give).
"""

from __future__ import annotations

import math

GAS_CONSTANT_J_MOL_K: float = 8.314462618
ZERO_CELSIUS_K: float = 273.15
AIR_CP_J_KG_K: float = 1006.0  # CRC Handbook, dry air near 20-100 °C
WATER_DENSITY_G_CM3: float = 0.998

DRYING_RATE_REF_PER_S: float = 0.068  # assumption: see module docstring
DRYING_REF_TEMPERATURE_C: float = 80.0
DRYING_ACTIVATION_J_MOL: float = 30000.0  # assumption: see module docstring
# assumption: still air (fan off) dries ten times slower (natural vs forced convection).
FAN_OFF_RATE_FACTOR: float = 0.1
# Udel polysulfone takes up 0.3 % water (24 h immersion, ASTM D570; Solvay Udel data sheet).
EQUILIBRIUM_MOISTURE_DRY_BASIS: float = 0.003


def air_temperature_step_c(temperature_c: float, dt_s: float, heat_capacity_j_k: float,
                           heater_power_w: float, conductance_w_k: float, ambient_c: float) -> float:
    """Exact first-order update of the dryer air temperature."""
    steady_c = ambient_c + heater_power_w / conductance_w_k
    return steady_c + (temperature_c - steady_c) * math.exp(-conductance_w_k / heat_capacity_j_k * dt_s)


def drying_rate_per_s(air_temperature_c: float, fan_on: bool) -> float:
    """Thin-layer drying constant k(T)."""
    temperature_k = air_temperature_c + ZERO_CELSIUS_K
    reference_k = DRYING_REF_TEMPERATURE_C + ZERO_CELSIUS_K
    rate = DRYING_RATE_REF_PER_S * math.exp(
        -DRYING_ACTIVATION_J_MOL / GAS_CONSTANT_J_MOL_K * (1.0 / temperature_k - 1.0 / reference_k))
    return rate if fan_on else rate * FAN_OFF_RATE_FACTOR


def wet_membrane_moisture_dry_basis(porosity: float, polymer_density_g_cm3: float) -> float:
    """Water in a membrane whose pores are full: porosity·ρ_w / ((1 − porosity)·ρ_p)."""
    return porosity * WATER_DENSITY_G_CM3 / ((1.0 - porosity) * polymer_density_g_cm3)


def exit_moisture_dry_basis(initial_dry_basis: float, rate_per_s: float, residence_s: float,
                            equilibrium_dry_basis: float = EQUILIBRIUM_MOISTURE_DRY_BASIS) -> float:
    """X at the exit after ``residence_s`` in the dryer (Lewis model)."""
    return equilibrium_dry_basis + (initial_dry_basis - equilibrium_dry_basis) * math.exp(-rate_per_s * residence_s)


def wet_basis_pct(dry_basis: float) -> float:
    """Moisture as percent of the wet mass: 100·X/(1 + X)."""
    return 100.0 * dry_basis / (1.0 + dry_basis)
