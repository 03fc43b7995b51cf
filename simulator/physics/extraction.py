"""Solvent–non-solvent exchange of the freshly cast film in the quench and wash baths.

Pure functions, units in the names.

Diffusivity of the solvent in water, Wilke–Chang (Wilke & Chang, AIChE J. 1 (1955) 264;
Poling, Prausnitz & O'Connell, *The Properties of Gases and Liquids*, 5th ed., 2001, eq. 11-9.4):
    D_AB = 7.4e-8·(φ·M_B)^0.5·T/(η_B·V_A^0.6)   [cm²/s; M_B g/mol, T K, η_B cP, V_A cm³/mol]
with the association factor φ = 2.6 for water, V_A the solute's molar volume at its normal
boiling point (Le Bas increments: C 14.8, H 3.7, O 7.4, N in amines 10.5-12.0, ring -11.5
for five atoms; Poling et al. Table 4-8). DMF in water at 25 °C: ≈ 1.2e-9 m²/s.

Water viscosity: η = 2.414e-5·10^(247.8/(T − 140)) Pa·s (T in K), the Vogel-type fit of
e.g. Al-Shemmeri, *Engineering Fluid Mechanics* (2012): 0.890 mPa·s at 25 °C (IAPWS 0.890).

In the nascent membrane the exchange runs through the liquid-filled pores:
D_eff = D·ε^1.5 (Bruggeman tortuosity; assumption: the pores of a > 70 % porous membrane
as a random packing). The film lies on its support: one face exchanges, the other is
closed, so it is Crank's plane sheet of half-thickness L = the film thickness (Crank, *The
Mathematics of Diffusion*, 2nd ed., 1975, eq. 4.18). Fraction of the excess solvent
(over the bath's) still in the film after t:
    F = Σ_n 8/((2n+1)²π²)·exp(−(2n+1)²π²·D_eff·t/(4L²))
and the diffusion time t_D = L²/D_eff (≈ 80 s for 254 µm at 25 °C: a 60 s quench
extracts ~85 %, not a fixed share).

The pore liquid is exchanged mass for mass (assumption: 1:1 counter-diffusion): the solvent
mass fraction of the pore liquid leaving a bath of solvent fraction c_bath is
    c_out = c_bath + (c_in − c_bath)·F
"""

from __future__ import annotations

import math

ZERO_CELSIUS_K: float = 273.15
WILKE_CHANG_CONSTANT: float = 7.4e-8  # Wilke & Chang 1955, cm²/s units as above
WATER_ASSOCIATION_FACTOR: float = 2.6  # Wilke & Chang 1955
WATER_MOLAR_MASS_G_MOL: float = 18.015
WATER_VISCOSITY_A_PA_S: float = 2.414e-5  # Vogel-type fit (Al-Shemmeri 2012)
WATER_VISCOSITY_B_K: float = 247.8
WATER_VISCOSITY_C_K: float = 140.0
BRUGGEMAN_EXPONENT: float = 1.5  # D_eff = D·ε^1.5 (Bruggeman); assumption for the nascent pores
SERIES_TERMS: int = 20
# assumption: porosity of the nascent and the finished membrane 0.8 (seed 000: bulk porosity > 70 %).
MEMBRANE_POROSITY: float = 0.8

# Molar volume at the normal boiling point by Le Bas increments (Poling et al. 2001, Table 4-8).
# assumption: an amide N counted as an amine N (10.5-12.0): 10.8.
LE_BAS_MOLAR_VOLUME_CM3_MOL: dict[str, float] = {
    "dmf": 3 * 14.8 + 7 * 3.7 + 7.4 + 10.8,  # C3H7NO: 88.5
    "dmac": 4 * 14.8 + 9 * 3.7 + 7.4 + 10.8,  # C4H9NO: 110.7
    "nmp": 5 * 14.8 + 9 * 3.7 + 7.4 + 10.8 - 11.5,  # C5H9NO, five-membered ring: 114.0
    "formic-acid": 14.8 + 2 * 3.7 + 7.4 + 12.0,  # HCOOH, acid O 12.0: 41.6
}


def water_viscosity_pa_s(temperature_c: float) -> float:
    temperature_k = temperature_c + ZERO_CELSIUS_K
    return WATER_VISCOSITY_A_PA_S * math.pow(10.0, WATER_VISCOSITY_B_K / (temperature_k - WATER_VISCOSITY_C_K))


def wilke_chang_diffusivity_m2_s(solute_molar_volume_cm3_mol: float, temperature_c: float) -> float:
    """Diffusivity of a dilute solute in water (Wilke–Chang), m²/s."""
    temperature_k = temperature_c + ZERO_CELSIUS_K
    viscosity_cp = water_viscosity_pa_s(temperature_c) * 1000.0
    d_cm2_s = (WILKE_CHANG_CONSTANT * math.sqrt(WATER_ASSOCIATION_FACTOR * WATER_MOLAR_MASS_G_MOL) * temperature_k
               / (viscosity_cp * math.pow(solute_molar_volume_cm3_mol, 0.6)))
    return d_cm2_s * 1.0e-4


def solvent_diffusivity_m2_s(solvent: str, temperature_c: float) -> float:
    """Wilke–Chang for a casting solvent by its canonical name (``dope.canonical_name``)."""
    try:
        volume = LE_BAS_MOLAR_VOLUME_CM3_MOL[solvent]
    except KeyError:
        raise ValueError(f"no molar volume for solvent {solvent!r} "
                         f"(known: {', '.join(sorted(LE_BAS_MOLAR_VOLUME_CM3_MOL))})") from None
    return wilke_chang_diffusivity_m2_s(volume, temperature_c)


def effective_diffusivity_m2_s(diffusivity_m2_s: float, porosity: float) -> float:
    """D_eff = D·ε^1.5 (Bruggeman)."""
    return diffusivity_m2_s * math.pow(porosity, BRUGGEMAN_EXPONENT)


def diffusion_time_s(thickness_um: float, effective_diffusivity_m2_s: float) -> float:
    """t_D = L²/D_eff."""
    thickness_m = thickness_um * 1e-6
    return thickness_m * thickness_m / effective_diffusivity_m2_s


def remaining_fraction(residence_s: float, diffusion_time: float) -> float:
    """Crank's plane sheet (one face closed): share of the excess solvent left after ``residence_s``."""
    if residence_s <= 0.0:
        return 1.0
    if diffusion_time <= 0.0:
        return 0.0
    tau = residence_s / diffusion_time
    total = 0.0
    for n in range(SERIES_TERMS):
        odd = 2 * n + 1
        term = 8.0 / (odd * odd * math.pi * math.pi) * math.exp(-odd * odd * math.pi * math.pi * tau / 4.0)
        total += term
        if term < 1e-12:
            break
    return min(total, 1.0)


def pore_solvent_out(solvent_in: float, bath_solvent: float, remaining: float) -> float:
    """c_out = c_bath + (c_in − c_bath)·F (mass fractions of the pore liquid)."""
    return bath_solvent + (solvent_in - bath_solvent) * remaining
