"""Physical blowing agents in the melt: Henry's-law solubility of CO2 and water, the
minimum pressure that keeps them in one phase, and their diffusivities.

Pure functions only. Henry constants H are by mass: grams of gas per gram of polymer per
MPa [1/MPa]; mass fractions w (gas per gram of mixture) are converted to mass ratios
r = w/(1 − Σw) before Henry's law is applied.

Sources
-------
- Sato et al., Fluid Phase Equilib. 125 (1996) 129 (CO2, N2 in PS, 373-453 K, up to
  20 MPa: "isothermal solubilities ... increase almost linearly with pressure", CO2
  solubility falls with T); Sato et al., Fluid Phase Equilib. (1999) (CO2, N2 in PP,
  HDPE, PS: "A linear relationship between ln(1/K_p) and (T_c/T)² was obtained for each
  system"; diffusion coefficients of N2 and CO2 in molten PP/HDPE at 453 K "had an order
  of magnitude of 10⁻⁹ m²/s"); Sato et al., J. Supercrit. Fluids 19 (2001) 187
  (solubility and diffusion of CO2 in molten PS, 373-473 K, up to 20 MPa). All three
  abstracts were checked with the `search` tool; the tabulated Henry constants and
  diffusivities themselves were NOT read (see the "verify" notes below).
- T_c(CO2) = 304.1 K (Sato et al.; NIST 304.13 K); T_c(H2O) = 647.096 K (IAPWS-95).

No published melt solubility of CO2 or water in PSU or PES was found: the PSU/PES
records below EXTRAPOLATE the PS correlation (CO2) or rest on stated assumptions (water).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

GAS_CONSTANT_J_MOL_K: float = 8.314462618  # CODATA 2018
PA_PER_MPA: float = 1.0e6
PA_PER_BAR: float = 1.0e5

CO2_CRITICAL_TEMPERATURE_K: float = 304.1  # Sato et al. 1996/1999; NIST: 304.13 K
WATER_CRITICAL_TEMPERATURE_K: float = 647.096  # IAPWS-95
CO2_MOLAR_MASS_KG_MOL: float = 44.0095e-3  # IUPAC atomic weights
WATER_MOLAR_MASS_KG_MOL: float = 18.015e-3  # IUPAC atomic weights


@dataclass(frozen=True)
class HenryCorrelation:
    """Henry constant by mass, ln(1/H) = intercept + slope·(T_c/T)², H in 1/MPa.

    The form is Sato et al.'s (1999): ln(1/K_p) linear in (T_c/T)². ``extrapolated`` is
    True when the record is used outside the polymer/temperature range it was set for.
    """

    gas: str
    polymer: str
    intercept: float
    slope: float
    critical_temperature_k: float
    molar_mass_kg_mol: float
    extrapolated: bool
    source: str


def henry_correlation_from_two_points(
    gas: str,
    polymer: str,
    critical_temperature_k: float,
    molar_mass_kg_mol: float,
    temperature_1_k: float,
    henry_1_per_mpa: float,
    temperature_2_k: float,
    henry_2_per_mpa: float,
    source: str,
    extrapolated: bool = False,
) -> HenryCorrelation:
    """Line ln(1/H) = a + b·(T_c/T)² through two (T, H) points."""
    x1 = (critical_temperature_k / temperature_1_k) ** 2
    x2 = (critical_temperature_k / temperature_2_k) ** 2
    if x1 == x2:
        raise ValueError("the two temperatures must differ")
    y1 = math.log(1.0 / henry_1_per_mpa)
    y2 = math.log(1.0 / henry_2_per_mpa)
    slope = (y2 - y1) / (x2 - x1)
    return HenryCorrelation(
        gas=gas,
        polymer=polymer,
        intercept=y1 - slope * x1,
        slope=slope,
        critical_temperature_k=critical_temperature_k,
        molar_mass_kg_mol=molar_mass_kg_mol,
        extrapolated=extrapolated,
        source=source,
    )


# CO2 in molten PS. Anchor 1: H(473.15 K) = 0.0035 g/(g·MPa) - shared/PHYSICS.md value
# "≈ 0.0035 at 180-200 °C" (verify): consistent with Sato et al. 1996/2001 in form and
# trend, the tabulated number was not read. Anchor 2: # assumption: H(373.15 K) = 0.0060,
# chosen so that solubility falls with T as Sato et al. report; it sets the slope.
CO2_IN_POLYSTYRENE = henry_correlation_from_two_points(
    gas="CO2",
    polymer="PS",
    critical_temperature_k=CO2_CRITICAL_TEMPERATURE_K,
    molar_mass_kg_mol=CO2_MOLAR_MASS_KG_MOL,
    temperature_1_k=373.15,
    henry_1_per_mpa=0.0060,
    temperature_2_k=473.15,
    henry_2_per_mpa=0.0035,
    source="Sato et al. 1996/1999/2001 (form, trend); H(473 K) 0.0035 (verify); "
    "H(373 K) 0.0060 assumption",
)

# CO2 in molten PSU / PES: no published melt data (Raje et al. 2023 measured CO2 sorption
# of PESU/PEG blends, values not read). # assumption: the PS line is extrapolated to
# 290-360 °C unchanged. Glassy PSU sorbs more CO2 than glassy PS, so this is likely
# conservative (low solubility → high P_min). Gives ≈ 3.5-4 wt % at 150 bar, 290-360 °C.
CO2_IN_POLYSULFONE = HenryCorrelation(
    gas="CO2",
    polymer="PSU",
    intercept=CO2_IN_POLYSTYRENE.intercept,
    slope=CO2_IN_POLYSTYRENE.slope,
    critical_temperature_k=CO2_CRITICAL_TEMPERATURE_K,
    molar_mass_kg_mol=CO2_MOLAR_MASS_KG_MOL,
    extrapolated=True,
    source="EXTRAPOLATED from the CO2/PS correlation; no PSU melt data",
)
CO2_IN_POLYETHERSULFONE = HenryCorrelation(
    gas="CO2",
    polymer="PES",
    intercept=CO2_IN_POLYSTYRENE.intercept,
    slope=CO2_IN_POLYSTYRENE.slope,
    critical_temperature_k=CO2_CRITICAL_TEMPERATURE_K,
    molar_mass_kg_mol=CO2_MOLAR_MASS_KG_MOL,
    extrapolated=True,
    source="EXTRAPOLATED from the CO2/PS correlation; no PES melt data",
)

# Water in molten PSU / PES. # assumption throughout: no melt data found. Reasoning:
# room-temperature equilibrium water uptake is ~0.8 wt % (PSU) and ~2 wt % (PES)
# (datasheet-level, not verified); if uptake at unit water activity stays of that order
# in the melt, where the steam saturation pressure at 340 °C is ≈ 14.6 MPa (steam
# tables), H ≈ 0.01-0.02/14.6 ≈ 0.001-0.0015 1/MPa at 613 K. Solubility is assumed to
# halve from 473 K to 613 K (sets the slope).
WATER_IN_POLYSULFONE = henry_correlation_from_two_points(
    gas="H2O",
    polymer="PSU",
    critical_temperature_k=WATER_CRITICAL_TEMPERATURE_K,
    molar_mass_kg_mol=WATER_MOLAR_MASS_KG_MOL,
    temperature_1_k=473.15,
    henry_1_per_mpa=0.0020,
    temperature_2_k=613.15,
    henry_2_per_mpa=0.0010,
    source="assumption (order of magnitude from room-temperature water uptake)",
    extrapolated=True,
)
WATER_IN_POLYETHERSULFONE = henry_correlation_from_two_points(
    gas="H2O",
    polymer="PES",
    critical_temperature_k=WATER_CRITICAL_TEMPERATURE_K,
    molar_mass_kg_mol=WATER_MOLAR_MASS_KG_MOL,
    temperature_1_k=473.15,
    henry_1_per_mpa=0.0030,
    temperature_2_k=613.15,
    henry_2_per_mpa=0.0015,
    source="assumption (order of magnitude from room-temperature water uptake)",
    extrapolated=True,
)


def henry_constant_per_mpa(correlation: HenryCorrelation, temperature_k: float) -> float:
    """H(T) = exp(−[a + b·(T_c/T)²])  [g gas/(g polymer·MPa)]."""
    if temperature_k <= 0.0:
        raise ValueError("temperature must be positive kelvin")
    x = (correlation.critical_temperature_k / temperature_k) ** 2
    return math.exp(-(correlation.intercept + correlation.slope * x))


def mass_fraction_to_mass_ratio(mass_fraction: float, total_gas_mass_fraction: float) -> float:
    """r = w/(1 − Σw): grams of this gas per gram of polymer."""
    if not 0.0 <= total_gas_mass_fraction < 1.0:
        raise ValueError("total gas mass fraction must lie in [0, 1)")
    return mass_fraction / (1.0 - total_gas_mass_fraction)


def saturation_mass_ratio(
    correlation: HenryCorrelation, temperature_k: float, pressure_pa: float
) -> float:
    """Henry's law by mass: r_sat = H(T)·P [g gas/g polymer], P in Pa converted to MPa."""
    return henry_constant_per_mpa(correlation, temperature_k) * max(pressure_pa, 0.0) / PA_PER_MPA


def saturation_mass_fraction(
    correlation: HenryCorrelation, temperature_k: float, pressure_pa: float
) -> float:
    """Saturation mass fraction w_sat = r_sat/(1 + r_sat) of a single gas [-]."""
    r = saturation_mass_ratio(correlation, temperature_k, pressure_pa)
    return r / (1.0 + r)


def minimum_single_phase_pressure_pa(
    mass_fractions: Sequence[float],
    correlations: Sequence[HenryCorrelation],
    temperature_k: float,
) -> float:
    """Lowest pressure that keeps all dissolved gases in solution [Pa].

    P_min(T) = Σ_i r_i/H_i(T), r_i = w_i/(1 − Σw) (each gas at the partial pressure its
    own Henry law needs; ideal mixing, no co-solubility effects - # assumption).
    Inject only while the melt pressure is safely above P_min (≈ 1.2-1.5 × P_min).
    """
    if len(mass_fractions) != len(correlations):
        raise ValueError("one correlation per gas mass fraction")
    if any(w < 0.0 for w in mass_fractions):
        raise ValueError("mass fractions must be >= 0")
    total = sum(mass_fractions)
    pressure_mpa = sum(
        mass_fraction_to_mass_ratio(w, total) / henry_constant_per_mpa(c, temperature_k)
        for w, c in zip(mass_fractions, correlations, strict=True)
    )
    return pressure_mpa * PA_PER_MPA


def minimum_single_phase_pressure_bar(
    mass_fractions: Sequence[float],
    correlations: Sequence[HenryCorrelation],
    temperature_k: float,
) -> float:
    """:func:`minimum_single_phase_pressure_pa` in bar."""
    return minimum_single_phase_pressure_pa(mass_fractions, correlations, temperature_k) / (
        PA_PER_BAR
    )


# ------------------------------------------------------------------------ diffusion


@dataclass(frozen=True)
class DiffusivityRecord:
    """Arrhenius diffusivity D(T) = D_ref·exp[−(E_a/R)·(1/T − 1/T_ref)] of a gas in a melt."""

    gas: str
    polymer: str
    reference_diffusivity_m2_s: float
    reference_temperature_k: float
    activation_energy_j_mol: float
    source: str
    # Tg of the polymer the record was measured in: another melt is read at the same
    # distance above its own Tg (see :func:`diffusivity_above_glass_m2_s`).
    reference_glass_transition_k: float


# Sato et al. 1999: CO2 and N2 in molten HDPE/PP at 453 K diffuse with D ~ 1e-9 m²/s
# (order of magnitude); Sato et al. 2001 measured CO2 in molten PS (value not read), so
# 1e-9 m²/s at 473 K for CO2/PS is an order-of-magnitude value (verify).
# assumption: E_a = 30 kJ/mol (typical of gas diffusion in rubbery/molten polymers);
# applied to PSU/PES by extrapolation.
CO2_DIFFUSIVITY_MELT = DiffusivityRecord(
    gas="CO2",
    polymer="PS (used for PSU/PES by extrapolation)",
    reference_diffusivity_m2_s=1.0e-9,
    reference_temperature_k=473.15,
    activation_energy_j_mol=30.0e3,
    source="Sato et al. 1999/2001 order of magnitude; E_a assumption",
    reference_glass_transition_k=373.15,  # atactic PS, Brandrup & Immergut, Polymer Handbook
)
# # assumption: water (kinetic diameter ≈ 2.65 Å vs 3.3 Å for CO2) diffuses about twice
# as fast in the melt; hydrogen bonding to sulfone groups could slow it instead - the
# ratio is the quantity to fit against foam trials (seed 001: "two fluids ... having
# different diffusion rates").
WATER_DIFFUSIVITY_MELT = DiffusivityRecord(
    gas="H2O",
    polymer="PSU/PES",
    reference_diffusivity_m2_s=2.0e-9,
    reference_temperature_k=473.15,
    activation_energy_j_mol=30.0e3,
    source="assumption (see comment)",
    reference_glass_transition_k=373.15,  # scaled from the CO2/PS record
)


def diffusivity_m2_s(record: DiffusivityRecord, temperature_k: float) -> float:
    """D(T) = D_ref·exp[−(E_a/R)·(1/T − 1/T_ref)]  [m²/s]."""
    if temperature_k <= 0.0:
        raise ValueError("temperature must be positive kelvin")
    return record.reference_diffusivity_m2_s * math.exp(
        -record.activation_energy_j_mol
        / GAS_CONSTANT_J_MOL_K
        * (1.0 / temperature_k - 1.0 / record.reference_temperature_k)
    )


def diffusivity_above_glass_m2_s(record: DiffusivityRecord, temperature_k: float, glass_transition_k: float) -> float:
    """D of the gas in a melt of glass transition ``glass_transition_k``, read from ``record``
    at the same distance above Tg: T_ref-polymer = T − Tg + Tg_record [m²/s].

    Free-volume corresponding states: a penetrant's diffusivity in a melt is set by the
    polymer's free volume (Vrentas & Duda, J. Polym. Sci. Polym. Phys. 15 (1977) 403),
    which at equal T − Tg is the same for amorphous polymers (the WLF universality of
    Williams, Landel & Ferry 1955, which :mod:`rheology` uses for the viscosity). So PSU at
    285 °C (Tg + 100 K) is read as PS at 200 °C (Tg + 100 K), not at 285 °C.
    # assumption: no CO2 diffusivity in molten PSU/PES was found; this shift is the
    extrapolation, and the record's own Arrhenius E_a covers the rest.
    """
    return diffusivity_m2_s(record, temperature_k - glass_transition_k + record.reference_glass_transition_k)


def diffusion_time_s(length_m: float, diffusivity: float) -> float:
    """Characteristic diffusion time t = L²/D [s] over a distance L [m] (D in m²/s).

    E.g. the striation thickness left by the static mixer, or half the cell wall.
    """
    if diffusivity <= 0.0:
        raise ValueError("diffusivity must be positive")
    return length_m * length_m / diffusivity


def relative_diffusion_rate(
    first: DiffusivityRecord, second: DiffusivityRecord, temperature_k: float
) -> float:
    """D_first(T)/D_second(T) [-]: how much faster the first gas diffuses."""
    return diffusivity_m2_s(first, temperature_k) / diffusivity_m2_s(second, temperature_k)
