"""Melt rheology for the extrusion-foaming line: Carreau viscosity, temperature shift
factors (WLF near Tg, Arrhenius far above), plasticisation by dissolved CO2 (Chow model)
and property records for polysulfone (PSU), polyethersulfone (PES) and polystyrene (PS).

Pure functions only. Units are in the names; temperatures in kelvin unless the name says
``_c``.

Sources
-------
- Carreau model and time-temperature superposition: Bird, Armstrong & Hassager,
  *Dynamics of Polymeric Liquids* Vol. 1 (1987); Tadmor & Gogos, *Principles of Polymer
  Processing* (2006), ch. 3.
- WLF "universal" constants C1 = 17.44, C2 = 51.6 K referred to Tg: Williams, Landel &
  Ferry, J. Am. Chem. Soc. 77 (1955) 3701; valid roughly Tg .. Tg + 100 K. Sulfone melts
  are shifted on free volume in the literature too: Roovers, Toporowski & Ethier
  ("Viscoelastic properties of melts of RADEL R polysulfone fractions", SAGE; abstract
  read with the `search` tool) compare PES fractions "after correction to iso-free
  volume". The foaming dies run at Tg + 60-100 K, where WLF's slope is an apparent
  E_a ≈ 230-270 kJ/mol, not the ~100-150 kJ/mol quoted for melts far above Tg.
- Chow model of Tg depression by a dissolved diluent: T. S. Chow, Macromolecules 13 (1980)
  362. For PS + CO2 it agrees with calorimetric Tg measurements (O'Neill & Handa, ASTM STP
  1249 (1994) 165-173: dTg/dP ≈ -0.9 K/bar for PS-CO2, "measured Tg's agree very well with
  the values calculated from the model proposed by Chow"). Kwag, Manke & Gulari, Ind. Eng.
  Chem. Res. 40 (2001) 3048 show that the viscosity of PS + CO2 melts follows WLF with the
  depressed Tg - the basis of :func:`plasticised_viscosity_pa_s`.
- PSU Tg ≈ 185 °C, processed 340-360 °C; PES Tg ≈ 225 °C, processed >= 320 °C:
  Raje et al., Polymers 15 (2023) 118 ("PESU ... requires processing temperatures of at
  least 320 °C", checked via the `search` tool), as summarised in shared/PHYSICS.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GAS_CONSTANT_J_MOL_K: float = 8.314462618  # CODATA 2018
ZERO_CELSIUS_K: float = 273.15

# WLF "universal" constants referred to Tg (Williams, Landel & Ferry 1955).
WLF_C1: float = 17.44
WLF_C2_K: float = 51.6
# Upper end of the WLF range above Tg (Ferry, Viscoelastic Properties of Polymers, 3rd ed.
# 1980: WLF holds from Tg to about Tg + 100 K); Arrhenius is used above it.
WLF_VALID_SPAN_K: float = 100.0

# Chow (1980) lattice coordination number; z = 2 is the value Chow and later users
# (O'Neill & Handa 1994; Boyer & Grolier, Pure Appl. Chem. 77 (2005) 593) apply to CO2.
CHOW_LATTICE_COORDINATION_CO2: float = 2.0
CO2_MOLAR_MASS_G_MOL: float = 44.0095  # IUPAC atomic weights


@dataclass(frozen=True)
class PolymerProperties:
    """Property record of a melt-processable polymer (all values at melt conditions).

    ``zero_shear_viscosity_pa_s`` is given at ``viscosity_reference_temperature_c``;
    ``carreau_relaxation_time_s`` and ``carreau_power_law_index`` complete the Carreau
    model. ``source`` says where each number comes from; numbers not read from a source are
    flagged there as assumptions.
    """

    name: str
    glass_transition_c: float
    processing_min_c: float
    processing_max_c: float
    melt_density_kg_m3: float
    melt_heat_capacity_j_kg_k: float
    repeat_unit_molar_mass_g_mol: float
    heat_capacity_step_at_tg_j_g_k: float
    zero_shear_viscosity_pa_s: float
    viscosity_reference_temperature_c: float
    carreau_relaxation_time_s: float
    carreau_power_law_index: float
    source: str
    # None: Arrhenius E_a continues the WLF slope at Tg + 100 K (see
    # activation_energy_matching_wlf_j_mol); set a measured value when one is known.
    flow_activation_energy_j_mol: float | None = None
    # mean c_p of the glass from 20 °C to Tg: the feed's sensible heat in the extruder
    # (simulator.physics.screw); see each record for its source
    solid_heat_capacity_j_kg_k: float = 1200.0

    @property
    def glass_transition_k(self) -> float:
        """Tg in kelvin."""
        return self.glass_transition_c + ZERO_CELSIUS_K


POLYSULFONE = PolymerProperties(
    name="PSU",
    # Raje et al., Polymers 2023 (via PHYSICS.md): Tg ≈ 185 °C, processed 340-360 °C.
    glass_transition_c=185.0,
    processing_min_c=340.0,
    processing_max_c=360.0,
    # assumption: solid PSU density 1240 kg/m3 (datasheet value, not verified) less ~7 %
    # thermal expansion to 340 °C.
    melt_density_kg_m3=1150.0,
    # PHYSICS.md: melt c_p 1.8-2.2 kJ/(kg K); mid value.
    melt_heat_capacity_j_kg_k=2000.0,
    # C27H22O4S, bisphenol-A polysulfone repeat unit (stoichiometry).
    repeat_unit_molar_mass_g_mol=442.5,
    # assumption (verify): Delta-cp at Tg ≈ 0.22 J/(g K), typical of rigid aromatic
    # engineering polymers; no value read from a source.
    heat_capacity_step_at_tg_j_g_k=0.22,
    # assumption: estimated from an extrusion-grade melt flow rate ~6.5 g/10 min at
    # 343 °C / 2.16 kg (apparent viscosity ≈ 1900 Pa s at ≈ 10 1/s by the MFI capillary
    # geometry), rounded up to a zero-shear value. Not a measured eta0.
    zero_shear_viscosity_pa_s=2500.0,
    viscosity_reference_temperature_c=340.0,
    # assumption: Carreau lambda and n typical of amorphous engineering melts.
    carreau_relaxation_time_s=0.02,
    carreau_power_law_index=0.45,
    source=(
        "Tg, processing window: Raje et al., Polymers 15 (2023) 118; c_p: PHYSICS.md range; "
        "density, Delta-cp, eta0, lambda, n: assumptions (see comments)"
    ),
    # PSU at room temperature 0.91-1.0 kJ/(kg K) (makeitfrom.com, Polysulfone, citing the
    # SPI Plastics Engineering Handbook); # assumption: 1.2 kJ/(kg K) as the mean from
    # 20 °C to Tg, since the c_p of a glass rises with temperature up to its Tg step.
    solid_heat_capacity_j_kg_k=1200.0,
)

POLYETHERSULFONE = PolymerProperties(
    name="PES",
    # Raje et al., Polymers 2023: Tg ≈ 225 °C; "processing temperatures of at least 320 °C".
    glass_transition_c=225.0,
    processing_min_c=320.0,
    # assumption: upper end of the window, typical PES melt temperature.
    processing_max_c=360.0,
    # assumption: solid PES 1370 kg/m3 (datasheet, not verified) less ~7 % expansion.
    melt_density_kg_m3=1270.0,
    melt_heat_capacity_j_kg_k=2000.0,  # PHYSICS.md range 1.8-2.2 kJ/(kg K)
    # C12H8O3S repeat unit (stoichiometry).
    repeat_unit_molar_mass_g_mol=232.3,
    # assumption (verify): Delta-cp at Tg ≈ 0.20 J/(g K).
    heat_capacity_step_at_tg_j_g_k=0.20,
    # assumption: estimated from an extrusion grade MVR ~70 cm3/10 min at 360 °C / 10 kg
    # (apparent viscosity ≈ 700 Pa s at ≈ 130 1/s), extrapolated to zero shear.
    zero_shear_viscosity_pa_s=1500.0,
    viscosity_reference_temperature_c=360.0,
    carreau_relaxation_time_s=0.02,  # assumption
    carreau_power_law_index=0.45,  # assumption
    source=(
        "Tg, minimum processing temperature: Raje et al., Polymers 15 (2023) 118; "
        "c_p: PHYSICS.md range; density, Delta-cp, eta0, lambda, n: assumptions"
    ),
    # assumption: as PSU (1.2 kJ/(kg K) mean of the glass from 20 °C to Tg); no PES value read.
    solid_heat_capacity_j_kg_k=1200.0,
)

POLYSTYRENE = PolymerProperties(
    name="PS",
    # Handbook value for atactic PS (Brandrup & Immergut, Polymer Handbook): Tg ≈ 100 °C.
    glass_transition_c=100.0,
    processing_min_c=180.0,
    processing_max_c=240.0,  # assumption: usual PS extrusion-foaming melt temperatures
    melt_density_kg_m3=970.0,  # assumption: 1050 kg/m3 solid less ~8 % expansion at 200 °C
    melt_heat_capacity_j_kg_k=2000.0,  # PHYSICS.md range 1.8-2.2 kJ/(kg K)
    repeat_unit_molar_mass_g_mol=104.15,  # C8H8 (stoichiometry)
    # assumption (verify): Delta-cp at Tg ≈ 0.30 J/(g K) (ATHAS-type value from memory).
    # With it the Chow model gives ≈ 9 K per wt % CO2 at low loading, consistent with
    # O'Neill & Handa (1994) dTg/dP ≈ -0.9 K/bar.
    heat_capacity_step_at_tg_j_g_k=0.30,
    # assumption: general-purpose PS zero-shear viscosity at 200 °C.
    zero_shear_viscosity_pa_s=5000.0,
    viscosity_reference_temperature_c=200.0,
    carreau_relaxation_time_s=0.1,  # assumption
    carreau_power_law_index=0.30,  # assumption
    source=(
        "reference polymer; Tg: Polymer Handbook; Chow parameters checked against "
        "O'Neill & Handa (1994); eta0, lambda, n, density: assumptions"
    ),
)


def celsius_to_kelvin(temperature_c: float) -> float:
    """T[K] = T[°C] + 273.15."""
    return temperature_c + ZERO_CELSIUS_K


def carreau_viscosity_pa_s(
    zero_shear_viscosity_pa_s: float,
    relaxation_time_s: float,
    power_law_index: float,
    shear_rate_1_s: float,
) -> float:
    """Carreau viscosity η = η0·[1 + (λ·γ̇)²]^((n − 1)/2)  [Pa·s].

    η0 zero-shear viscosity [Pa·s], λ relaxation time [s], n power-law index [-],
    γ̇ shear rate [1/s] (its sign is irrelevant).
    """
    if zero_shear_viscosity_pa_s <= 0.0 or relaxation_time_s < 0.0:
        raise ValueError("eta0 must be > 0 and lambda >= 0")
    if not 0.0 < power_law_index <= 1.0:
        raise ValueError("power-law index must lie in (0, 1]")
    lam_gamma = relaxation_time_s * shear_rate_1_s
    return zero_shear_viscosity_pa_s * (1.0 + lam_gamma * lam_gamma) ** (
        (power_law_index - 1.0) / 2.0
    )


def wlf_log10_shift_factor(
    temperature_k: float,
    glass_transition_k: float,
    c1: float = WLF_C1,
    c2_k: float = WLF_C2_K,
) -> float:
    """WLF shift referred to Tg: log10 a_T = −C1·(T − Tg)/(C2 + T − Tg).

    Valid for Tg <= T <= Tg + 100 K; raises below Tg (glass, no melt flow).
    """
    dt = temperature_k - glass_transition_k
    if dt < 0.0:
        raise ValueError(
            f"T = {temperature_k:.1f} K is below Tg = {glass_transition_k:.1f} K: no melt flow"
        )
    return -c1 * dt / (c2_k + dt)


def wlf_shift_factor(
    temperature_k: float,
    reference_temperature_k: float,
    glass_transition_k: float,
    c1: float = WLF_C1,
    c2_k: float = WLF_C2_K,
) -> float:
    """WLF shift factor a_T = η0(T)/η0(T_ref) = 10^(log10 a(T) − log10 a(T_ref)).

    Both temperatures in kelvin, both in the WLF range above Tg.
    """
    return 10.0 ** (
        wlf_log10_shift_factor(temperature_k, glass_transition_k, c1, c2_k)
        - wlf_log10_shift_factor(reference_temperature_k, glass_transition_k, c1, c2_k)
    )


def arrhenius_shift_factor(
    temperature_k: float, reference_temperature_k: float, activation_energy_j_mol: float
) -> float:
    """Arrhenius shift factor a_T = exp[(E_a/R)·(1/T − 1/T_ref)] (melts far above Tg)."""
    if temperature_k <= 0.0 or reference_temperature_k <= 0.0:
        raise ValueError("temperatures must be positive kelvin")
    return math.exp(
        activation_energy_j_mol
        / GAS_CONSTANT_J_MOL_K
        * (1.0 / temperature_k - 1.0 / reference_temperature_k)
    )


def activation_energy_matching_wlf_j_mol(
    glass_transition_k: float,
    c1: float = WLF_C1,
    c2_k: float = WLF_C2_K,
    span_k: float = WLF_VALID_SPAN_K,
) -> float:
    """Arrhenius E_a that continues WLF with the same slope at T* = Tg + span.

    d ln a_T/dT of WLF at T*: ln10·C1·C2/(C2 + span)²; of Arrhenius: E_a/(R·T*²). Equating
    them gives E_a = R·T*²·ln10·C1·C2/(C2 + span)².
    # assumption: no measured flow activation energy for PSU/PES is used; this keeps the
    # combined shift factor smooth (≈ 230 kJ/mol for PSU, ≈ 260 kJ/mol for PES).
    """
    t_star = glass_transition_k + span_k
    slope_1_k = math.log(10.0) * c1 * c2_k / (c2_k + span_k) ** 2
    return GAS_CONSTANT_J_MOL_K * t_star * t_star * slope_1_k


def _log_shift_from_tg(
    temperature_k: float, glass_transition_k: float, activation_energy_j_mol: float
) -> float:
    """Natural log of the combined shift factor referred to Tg (WLF, then Arrhenius)."""
    t_star = glass_transition_k + WLF_VALID_SPAN_K
    if temperature_k <= t_star:
        return math.log(10.0) * wlf_log10_shift_factor(temperature_k, glass_transition_k)
    ln_at_star = math.log(10.0) * wlf_log10_shift_factor(t_star, glass_transition_k)
    return ln_at_star + math.log(
        arrhenius_shift_factor(temperature_k, t_star, activation_energy_j_mol)
    )


def temperature_shift_factor(
    temperature_k: float,
    reference_temperature_k: float,
    glass_transition_k: float,
    activation_energy_j_mol: float | None = None,
) -> float:
    """Shift factor a_T = η0(T)/η0(T_ref), choosing the law by distance from Tg.

    For Tg <= T <= Tg + 100 K the WLF law is used, above it Arrhenius continued from the
    WLF value at Tg + 100 K (so a_T is continuous). ``activation_energy_j_mol`` defaults
    to :func:`activation_energy_matching_wlf_j_mol` (slope-continuous; an assumption).
    Raises ValueError below Tg.
    """
    ea = (
        activation_energy_matching_wlf_j_mol(glass_transition_k)
        if activation_energy_j_mol is None
        else activation_energy_j_mol
    )
    return math.exp(
        _log_shift_from_tg(temperature_k, glass_transition_k, ea)
        - _log_shift_from_tg(reference_temperature_k, glass_transition_k, ea)
    )


def chow_glass_transition_k(
    pure_glass_transition_k: float,
    diluent_mass_fraction: float,
    repeat_unit_molar_mass_g_mol: float,
    heat_capacity_step_at_tg_j_g_k: float,
    diluent_molar_mass_g_mol: float = CO2_MOLAR_MASS_G_MOL,
    lattice_coordination: float = CHOW_LATTICE_COORDINATION_CO2,
) -> float:
    """Tg of a polymer + diluent mixture by Chow (Macromolecules 13 (1980) 362).

    ln(Tg/Tg0) = β·[(1 − θ)·ln(1 − θ) + θ·ln θ]
    θ = M_p/(z·M_d) · w/(1 − w),   β = z·R/(M_p·ΔC_p)

    w diluent mass fraction of the mixture [-], M_p repeat-unit molar mass [g/mol],
    M_d diluent molar mass [g/mol], ΔC_p heat-capacity step of the pure polymer at Tg
    [J/(g·K)], z lattice coordination number (2 for CO2). Valid while θ < 1; for PS+CO2
    this gives ≈ 9 K depression per wt % at low loading.
    """
    if not 0.0 <= diluent_mass_fraction < 1.0:
        raise ValueError("diluent mass fraction must lie in [0, 1)")
    if diluent_mass_fraction == 0.0:
        return pure_glass_transition_k
    theta = (
        repeat_unit_molar_mass_g_mol
        / (lattice_coordination * diluent_molar_mass_g_mol)
        * diluent_mass_fraction
        / (1.0 - diluent_mass_fraction)
    )
    if theta >= 1.0:
        raise ValueError(f"Chow model outside its range (theta = {theta:.3f} >= 1)")
    beta = (
        lattice_coordination
        * GAS_CONSTANT_J_MOL_K
        / (repeat_unit_molar_mass_g_mol * heat_capacity_step_at_tg_j_g_k)
    )
    entropy_term = (1.0 - theta) * math.log(1.0 - theta) + theta * math.log(theta)
    return pure_glass_transition_k * math.exp(beta * entropy_term)


def plasticised_glass_transition_k(
    polymer: PolymerProperties, co2_mass_fraction: float
) -> float:
    """Tg [K] of ``polymer`` holding ``co2_mass_fraction`` dissolved CO2 (Chow model)."""
    return chow_glass_transition_k(
        polymer.glass_transition_k,
        co2_mass_fraction,
        polymer.repeat_unit_molar_mass_g_mol,
        polymer.heat_capacity_step_at_tg_j_g_k,
    )


def zero_shear_viscosity_pa_s(
    polymer: PolymerProperties,
    temperature_k: float,
    co2_mass_fraction: float = 0.0,
) -> float:
    """η0(T, w) = η0_ref · a_T(T + ΔTg(w), T_ref)  [Pa·s].

    Plasticisation is applied as a Tg shift: a melt holding CO2 at T flows like the neat
    melt at T + (Tg0 − Tg(w)) (free-volume argument; Kwag, Manke & Gulari 2001 found the
    PS + CO2 viscosity follows WLF with the depressed Tg). The pressure effect on viscosity
    is neglected (it would raise η by roughly exp(β·P), β ~ 1e-8..4e-8 1/Pa - not
    modelled), so the CO2 viscosity reduction is an upper estimate.
    # assumption: same Tg-shift form used above Tg + 100 K.
    """
    depression_k = polymer.glass_transition_k - plasticised_glass_transition_k(
        polymer, co2_mass_fraction
    )
    a_t = temperature_shift_factor(
        temperature_k + depression_k,
        celsius_to_kelvin(polymer.viscosity_reference_temperature_c),
        polymer.glass_transition_k,
        polymer.flow_activation_energy_j_mol,
    )
    return polymer.zero_shear_viscosity_pa_s * a_t


def melt_viscosity_pa_s(
    polymer: PolymerProperties,
    temperature_k: float,
    shear_rate_1_s: float,
    co2_mass_fraction: float = 0.0,
) -> float:
    """Carreau viscosity with time-temperature(-concentration) superposition [Pa·s].

    η = η0(T, w)·[1 + (λ(T, w)·γ̇)²]^((n−1)/2) with η0 and λ both scaled by the same shift
    factor a = η0(T, w)/η0_ref (Bird, Armstrong & Hassager 1987).
    """
    eta0 = zero_shear_viscosity_pa_s(polymer, temperature_k, co2_mass_fraction)
    shift = eta0 / polymer.zero_shear_viscosity_pa_s
    return carreau_viscosity_pa_s(
        eta0,
        polymer.carreau_relaxation_time_s * shift,
        polymer.carreau_power_law_index,
        shear_rate_1_s,
    )
