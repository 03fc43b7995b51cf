"""Foam soft sensor for the wide-slit die: pressure-drop rate, cell nucleation density,
void fraction, cell density and cell size, and a check against the seed's product claims.

Pure functions only. Cell densities are per cm³ (the unit of the foam literature), sizes
in µm, rates in Pa/s or GPa/s as the names say.

Sources
-------
- Pressure-drop rate in the die −dP/dt ≈ (ΔP/L)·(Q/(W·H)) (mean velocity times pressure
  gradient) and nucleation density rising with it: Park, Baldwin & Suh, Polym. Eng. Sci.
  35 (1995) 432 (qualitative; microcellular foams need ~0.1 to several GPa/s).
- Microcellular = cells < 10 µm and > 10⁹ cells/cm³; "a higher pressure-drop rate resulted
  in a higher cell density"; > 10¹⁰ cells/cm³ reached in extrusion: Lee, Wang & Park, Ind.
  Eng. Chem. Res. 44 (2005) 92 (abstract checked with the `search` tool).
- Cell density after expansion N_f = N0·(1 − φ) and d = [6φ/(π·N_f)]^(1/3): mass balance
  of N0 equal spherical cells per unit volume of unfoamed melt (shared/PHYSICS.md).
- Seed 001 claims: open cells >= 80 %, void fraction >= 75 % (claim 1), pore diameter
  0.05-30 µm microfiltration (claim 2), > 30-200 µm macrofiltration (claim 3).
- Raje et al., Polymers 15 (2023) 118 report for extruded PESU/PEG foams a porosity of
  ≈ 51 % and 5 µm cells - a reality check: real foams lose much of the gas (abstract read
  with the `search` tool: "higher concentrations of PEG, lower nozzle temperatures, and a
  combination of CO2 and water as the foaming agent delivered high porosity").
- Pore-size spread: cells nucleate while the melt in the die land passes from the
  single-phase minimum P_min to ambient pressure, a window τ_n = (P_min − P_amb)/(−dP/dt);
  all grow until the gas between them is used up, about one diffusion time
  t_g = (ℓ/2)²/D over half the nuclei spacing ℓ = N0^(−1/3) after the window closes.
  Diffusion-controlled growth gives R ∝ √t (Scriven, Chem. Eng. Sci. 10 (1959) 1), so a
  cell born u before the window closes ends with R ∝ √(t_g + u), u uniform in [0, τ_n].
  Early cells outgrowing late ones is the "competition between nucleation and growth" that
  makes slow pressure drops give non-uniform foams (Park, Baldwin & Suh 1995). The form is
  an # assumption (no fitted constant: D is the gas's diffusivity, N0 the nucleation law's).
  Seed 001 claim 1: a pore-size standard deviation within ±10 % of the mean pore diameter.
- Cell-wall thickness of N equal spheres of diameter d per unit volume, walls shared by
  two cells: polymer volume per cell (1 − φ)·a³ = π·d²·δ/2 with a³ = π·d³/(6φ), hence
  δ/d = (1 − φ)/(3φ) (geometry, no fitted constant).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

GAS_CONSTANT_J_MOL_K: float = 8.314462618  # CODATA 2018
STANDARD_ATMOSPHERE_PA: float = 101325.0
ZERO_CELSIUS_K: float = 273.15
M3_PER_CM3: float = 1.0e-6
UM_PER_M: float = 1.0e6
PA_PER_GPA: float = 1.0e9
MAX_CELL_SIZE_UM: float = 1.0e5  # reported when no cells nucleate (the gas escapes or forms a few large voids)

# assumption (fitted form N0 = C·(−dP/dt [GPa/s])^m, C and m to be fitted to trials):
# C = 1e9 cells/cm³ at 1 GPa/s puts 1 GPa/s at the microcellular threshold of Lee, Wang &
# Park (2005); m = 1.5 makes 0.1 GPa/s give ≈ 3e7 and 5 GPa/s ≈ 1e10 cells/cm³, the span
# reported for CO2 extrusion foaming. Neither number is a published fit.
DEFAULT_NUCLEATION_COEFFICIENT_PER_CM3: float = 1.0e9
DEFAULT_NUCLEATION_EXPONENT: float = 1.5

# assumption: the polymer skeleton keeps at least 2 % of the volume (cell walls and
# struts); the ideal-gas expansion alone would approach 1.
DEFAULT_MAX_VOID_FRACTION: float = 0.98

# assumption (to be fitted to foam trials): a tenth of the injected gas ends up in the
# cells at ambient pressure, the rest leaves through the skin and the cell walls before the
# foam vitrifies. With 2.5 wt % CO2 + water at 285 °C this gives ≈ 80 % void, the level of
# seed 001's claim 1 (>= 75 %); Raje et al. (2023) reached only ≈ 51 % porosity in extruded
# PESU foams, so retention well below 1 is what extrusion gives. The 100 % retention of the
# ideal-gas expansion is an upper bound (97-98 % void), never met.
DEFAULT_GAS_RETENTION_FRACTION: float = 0.10

# assumption (open-cell content is not predicted from first principles here): cell walls
# rupture during expansion once they are thin compared with the cells. The open fraction
# rises linearly in the wall-to-cell ratio δ/d = (1 − φ)/(3φ) from 0 at δ/d = 1/3
# (φ = 50 %, the closed-cell PESU foams of Raje et al. 2023 at ≈ 51 % porosity) to 1 at
# δ/d = 0.05 (φ ≈ 87 %). Seed 001 claims >= 80 % open cells together with >= 75 % void,
# which this ramp ties together (80 % open at φ ≈ 0.76).
CLOSED_CELL_WALL_RATIO: float = 1.0 / 3.0
OPEN_CELL_WALL_RATIO: float = 0.05

# Seed 001, claims 1-3.
SEED_MINIMUM_VOID_FRACTION: float = 0.75
SEED_MINIMUM_OPEN_CELL_FRACTION: float = 0.80
SEED_MAXIMUM_PORE_SPREAD_FRACTION: float = 0.10  # standard deviation / mean pore diameter
MICROFILTRATION_PORE_RANGE_UM: tuple[float, float] = (0.05, 30.0)
MACROFILTRATION_PORE_RANGE_UM: tuple[float, float] = (30.0, 200.0)


@dataclass(frozen=True)
class FoamEstimate:
    """Soft-sensor estimate of the foam leaving the die."""

    cell_density_per_cm3: float  # cells per cm³ of foam
    cell_diameter_um: float
    void_fraction: float
    pressure_drop_rate_gpa_s: float
    pore_spread_fraction: float  # standard deviation of the cell diameter over its mean


@dataclass(frozen=True)
class SeedClaimCheck:
    """Does an estimate fall inside the seed's product claims?

    The cell diameter is used as the pore diameter: for open cells the pore (window) is
    smaller than the cell, so ``pore_in_microfiltration_range`` is indicative only.
    """

    void_fraction_at_least_75_percent: bool
    pore_spread_within_10_percent: bool
    pore_in_microfiltration_range: bool
    pore_in_macrofiltration_range: bool


@dataclass(frozen=True)
class ProductClass:
    """A foamed-membrane product class of seed 001: pore (cell) diameter range (the low
    end excluded when ``low_exclusive``), minimum void fraction and open-cell content,
    maximum pore-size spread."""

    name: str
    pore_low_um: float
    pore_high_um: float
    low_exclusive: bool
    minimum_void_fraction: float = SEED_MINIMUM_VOID_FRACTION
    minimum_open_cell_fraction: float = SEED_MINIMUM_OPEN_CELL_FRACTION
    maximum_pore_spread_fraction: float = SEED_MAXIMUM_PORE_SPREAD_FRACTION

    def pore_in_range(self, diameter_um: float) -> bool:
        above = diameter_um > self.pore_low_um if self.low_exclusive else diameter_um >= self.pore_low_um
        return above and diameter_um <= self.pore_high_um


# Seed 001 claim 2 (0.05-30 µm) and claim 3 (> 30-200 µm), both with claim 1's void and open cells.
MICROFILTRATION = ProductClass("microfiltration", *MICROFILTRATION_PORE_RANGE_UM, low_exclusive=False)
MACROFILTRATION = ProductClass("macrofiltration", *MACROFILTRATION_PORE_RANGE_UM, low_exclusive=True)
PRODUCT_CLASSES: dict[str, ProductClass] = {c.name: c for c in (MICROFILTRATION, MACROFILTRATION)}


def wall_to_cell_ratio(void_fraction: float) -> float:
    """δ/d = (1 − φ)/(3φ): cell-wall thickness over cell diameter (module docstring)."""
    if not 0.0 < void_fraction < 1.0:
        raise ValueError("void fraction must lie in (0, 1)")
    return (1.0 - void_fraction) / (3.0 * void_fraction)


def open_cell_fraction(
    void_fraction: float,
    closed_wall_ratio: float = CLOSED_CELL_WALL_RATIO,
    open_wall_ratio: float = OPEN_CELL_WALL_RATIO,
) -> float:
    """Open-cell content [-]: a ramp in δ/d between the closed and open wall ratios
    (fitted form, an assumption; see the constants). 0 without voids."""
    if void_fraction <= 0.0:
        return 0.0
    ratio = wall_to_cell_ratio(min(void_fraction, 1.0 - 1e-12))
    share = (closed_wall_ratio - ratio) / (closed_wall_ratio - open_wall_ratio)
    return min(max(share, 0.0), 1.0)


def in_product_class(estimate: FoamEstimate, product: ProductClass) -> bool:
    """Void fraction, open-cell content, cell diameter and its spread all within ``product``."""
    return (estimate.void_fraction >= product.minimum_void_fraction
            and open_cell_fraction(estimate.void_fraction) >= product.minimum_open_cell_fraction
            and product.pore_in_range(estimate.cell_diameter_um)
            and estimate.pore_spread_fraction <= product.maximum_pore_spread_fraction)


def pressure_drop_rate_pa_s(
    pressure_drop_pa: float, land_length_m: float, flow_m3_s: float, width_m: float, gap_m: float
) -> float:
    """Pressure-drop rate in the die land −dP/dt ≈ (ΔP/L)·Q/(W·H) [Pa/s] (>= 0).

    ΔP over the land length L [Pa, m], Q volumetric flow [m³/s], W·H flow cross-section.
    """
    if land_length_m <= 0.0 or width_m <= 0.0 or gap_m <= 0.0:
        raise ValueError("die dimensions must be positive")
    mean_velocity_m_s = max(flow_m3_s, 0.0) / (width_m * gap_m)
    return max(pressure_drop_pa, 0.0) / land_length_m * mean_velocity_m_s


def nucleation_density_per_cm3(
    pressure_drop_rate_gpa_s: float,
    coefficient_per_cm3: float = DEFAULT_NUCLEATION_COEFFICIENT_PER_CM3,
    exponent: float = DEFAULT_NUCLEATION_EXPONENT,
) -> float:
    """Nucleated cells per cm³ of unfoamed melt N0 = C·(−dP/dt [GPa/s])^m (fitted form)."""
    if pressure_drop_rate_gpa_s <= 0.0:
        return 0.0
    return coefficient_per_cm3 * pressure_drop_rate_gpa_s**exponent


def nucleation_window_s(saturation_pressure_pa: float, pressure_drop_rate_pa_s: float,
                        ambient_pressure_pa: float = STANDARD_ATMOSPHERE_PA) -> float:
    """τ_n = (P_min − P_amb)/(−dP/dt) [s]: how long the melt is supersaturated before it
    leaves the die lips (0 without supersaturation or without a pressure drop)."""
    if pressure_drop_rate_pa_s <= 0.0:
        return 0.0
    return max(saturation_pressure_pa - ambient_pressure_pa, 0.0) / pressure_drop_rate_pa_s


def growth_time_s(nucleation_density_per_cm3: float, diffusivity_m2_s: float) -> float:
    """t_g = (ℓ/2)²/D [s], ℓ = N0^(−1/3) the spacing of nuclei in the unfoamed melt: the
    time in which a cell draws the gas of its share of the melt (module docstring)."""
    if nucleation_density_per_cm3 <= 0.0 or diffusivity_m2_s <= 0.0:
        raise ValueError("nucleation density and diffusivity must be positive")
    half_spacing_m = 0.5 * (nucleation_density_per_cm3 / M3_PER_CM3) ** (-1.0 / 3.0)
    return half_spacing_m * half_spacing_m / diffusivity_m2_s


# below this τ_n/t_g the closed form loses digits to cancellation; the series is exact to 1e-12
_SPREAD_SERIES_LIMIT: float = 1.0e-4


def pore_spread_fraction(nucleation_window_s: float, growth_time_s: float) -> float:
    """Standard deviation over mean of the cell diameter, R ∝ √(t_g + u), u uniform in
    [0, τ_n] (module docstring). With x = τ_n/t_g and t_g as the unit of time:
    E[R] ∝ 2·[(1 + x)^1.5 − 1]/(3x), E[R²] ∝ 1 + x/2, so σ/μ = √(E[R²] − E[R]²)/E[R];
    it rises from 0 (all cells born at once) towards 1/(2√2) ≈ 0.354 (x → ∞)."""
    if nucleation_window_s < 0.0 or growth_time_s <= 0.0:
        raise ValueError("the window must be >= 0 and the growth time positive")
    x = nucleation_window_s / growth_time_s
    if x < _SPREAD_SERIES_LIMIT:
        return x / (4.0 * math.sqrt(3.0))
    mean = 2.0 * math.expm1(1.5 * math.log1p(x)) / (3.0 * x)
    mean_square = 1.0 + 0.5 * x
    return math.sqrt(max(mean_square - mean * mean, 0.0)) / mean


def void_fraction_from_gas(
    gas_mass_fractions: Sequence[float],
    gas_molar_masses_kg_mol: Sequence[float],
    temperature_k: float,
    polymer_density_kg_m3: float,
    gas_retention_fraction: float = 1.0,
    ambient_pressure_pa: float = STANDARD_ATMOSPHERE_PA,
    max_void_fraction: float = DEFAULT_MAX_VOID_FRACTION,
) -> float:
    """Void fraction if the retained gas expands to ambient pressure at die temperature.

    Per kg of gas-laden melt: V_gas = f_ret·Σ (w_i/M_i)·R·T/P_amb (ideal gas),
    V_polymer = (1 − Σ w_i)/ρ_p; φ = V_gas/(V_gas + V_polymer), capped at
    ``max_void_fraction`` (< 1). f_ret = 1 gives the upper bound; gas lost through the
    skin or left dissolved (H·P_amb ≈ 0.03 wt %, negligible) lowers it - a fitted
    # assumption for the soft sensor.
    """
    if len(gas_mass_fractions) != len(gas_molar_masses_kg_mol):
        raise ValueError("one molar mass per gas")
    if not 0.0 <= gas_retention_fraction <= 1.0:
        raise ValueError("retention fraction must lie in [0, 1]")
    if not 0.0 < max_void_fraction < 1.0:
        raise ValueError("max void fraction must lie in (0, 1)")
    total = sum(gas_mass_fractions)
    if not 0.0 <= total < 1.0 or any(w < 0.0 for w in gas_mass_fractions):
        raise ValueError("gas mass fractions must be >= 0 and sum below 1")
    moles_per_kg = sum(
        w / m for w, m in zip(gas_mass_fractions, gas_molar_masses_kg_mol, strict=True)
    )
    gas_volume_m3 = (
        gas_retention_fraction
        * moles_per_kg
        * GAS_CONSTANT_J_MOL_K
        * temperature_k
        / ambient_pressure_pa
    )
    polymer_volume_m3 = (1.0 - total) / polymer_density_kg_m3
    void = gas_volume_m3 / (gas_volume_m3 + polymer_volume_m3)
    return min(void, max_void_fraction)


def expanded_cell_density_per_cm3(nucleation_density_per_cm3: float, void_fraction: float) -> float:
    """Cells per cm³ of foam after expansion N_f = N0·(1 − φ)."""
    if not 0.0 <= void_fraction < 1.0:
        raise ValueError("void fraction must lie in [0, 1)")
    return nucleation_density_per_cm3 * (1.0 - void_fraction)


def cell_diameter_um(void_fraction: float, cell_density_per_cm3: float) -> float:
    """Mean cell diameter d = [6φ/(π·N_f)]^(1/3) [µm], N_f cells per cm³ of foam.

    Returns 0 without voids and infinity without cells (no nucleation: the gas escapes
    or forms a few large voids - outside this model).
    """
    if void_fraction <= 0.0:
        return 0.0
    if cell_density_per_cm3 <= 0.0:
        return math.inf
    cells_per_m3 = cell_density_per_cm3 / M3_PER_CM3
    return (6.0 * void_fraction / (math.pi * cells_per_m3)) ** (1.0 / 3.0) * UM_PER_M


def estimate_foam(
    *,
    die_pressure_drop_pa: float,
    die_land_length_m: float,
    die_width_m: float,
    die_gap_m: float,
    flow_m3_s: float,
    die_temperature_c: float,
    gas_mass_fractions: Sequence[float],
    gas_molar_masses_kg_mol: Sequence[float],
    polymer_density_kg_m3: float,
    saturation_pressure_pa: float,
    gas_diffusivity_m2_s: float,
    gas_retention_fraction: float = 1.0,
    nucleation_coefficient_per_cm3: float = DEFAULT_NUCLEATION_COEFFICIENT_PER_CM3,
    nucleation_exponent: float = DEFAULT_NUCLEATION_EXPONENT,
    max_void_fraction: float = DEFAULT_MAX_VOID_FRACTION,
) -> FoamEstimate:
    """Soft sensor: cell density, cell size, its spread and void fraction of the extruded foam.

    1. −dP/dt = (ΔP/L)·Q/(W·H)                  (:func:`pressure_drop_rate_pa_s`)
    2. N0 = C·(−dP/dt [GPa/s])^m                 (:func:`nucleation_density_per_cm3`)
    3. φ from ideal-gas expansion at die T       (:func:`void_fraction_from_gas`)
    4. N_f = N0·(1 − φ), d = [6φ/(π·N_f)]^(1/3)  (cell density and size)
    5. σ/μ of d from τ_n = (P_min − P_amb)/(−dP/dt) and t_g = (N0^(−1/3)/2)²/D
       (:func:`pore_spread_fraction`; P_min the gas's single-phase minimum at die T)

    The defaults of C, m and the retention fraction are assumptions to be fitted.
    """
    rate_pa_s = pressure_drop_rate_pa_s(
        die_pressure_drop_pa, die_land_length_m, flow_m3_s, die_width_m, die_gap_m
    )
    rate_gpa_s = rate_pa_s / PA_PER_GPA
    n0 = nucleation_density_per_cm3(rate_gpa_s, nucleation_coefficient_per_cm3, nucleation_exponent)
    void = void_fraction_from_gas(
        gas_mass_fractions,
        gas_molar_masses_kg_mol,
        die_temperature_c + ZERO_CELSIUS_K,
        polymer_density_kg_m3,
        gas_retention_fraction,
        max_void_fraction=max_void_fraction,
    )
    n_f = expanded_cell_density_per_cm3(n0, void)
    spread = (pore_spread_fraction(nucleation_window_s(saturation_pressure_pa, rate_pa_s),
                                   growth_time_s(n0, gas_diffusivity_m2_s)) if n0 > 0.0 else 0.0)
    return FoamEstimate(
        cell_density_per_cm3=n_f,
        cell_diameter_um=cell_diameter_um(void, n_f),
        void_fraction=void,
        pressure_drop_rate_gpa_s=rate_gpa_s,
        pore_spread_fraction=spread,
    )


def check_seed_claims(estimate: FoamEstimate) -> SeedClaimCheck:
    """Compare an estimate with seed 001's claims (void >= 75 %, spread, pore size ranges)."""
    d = estimate.cell_diameter_um
    micro_lo, micro_hi = MICROFILTRATION_PORE_RANGE_UM
    macro_lo, macro_hi = MACROFILTRATION_PORE_RANGE_UM
    return SeedClaimCheck(
        void_fraction_at_least_75_percent=estimate.void_fraction >= SEED_MINIMUM_VOID_FRACTION,
        pore_spread_within_10_percent=estimate.pore_spread_fraction <= SEED_MAXIMUM_PORE_SPREAD_FRACTION,
        pore_in_microfiltration_range=micro_lo <= d <= micro_hi,
        pore_in_macrofiltration_range=macro_lo < d <= macro_hi,
    )
