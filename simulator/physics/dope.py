"""Phase behaviour and viscosity of a metastable casting dope (seed 000).

Pure functions of composition and temperature; the plant integrates the state.

Cloud point (binodal)
---------------------
Linearised cloud-point correlation (Boom, van den Boomgaard & Smolders, Polymer 34 (1993)
2348; shared/PHYSICS.md):  ln(w_ns/w_s) = a·ln(w_p) + b(T)  on the binodal, with weight
fractions w. UCST-like temperature dependence (seed 000: hold above T_c, cast below it;
"the amount of non-solvent that may be added ... is higher at higher temperatures"):
    b(T) = b_ref + β·(T − T_ref)
Depth past the binodal:  δ = ln(w_ns/w_s) − a·ln(w_p) − b(T)  (δ ≤ 0: a stable solution).
One titration point per non-solvent fixes b_ref (a and β are shared assumptions):
- 2-methyl-1-butanol: binodal at 14.5 % non-solvent for 10 % PSf in DMF (seed 000, Fig. II);
- 2-methyl-2-butanol: Example VIII, 9.5/15.5/75 at 40 °C is δ_VIII past the binodal;
- hexane: Example VII, 9.9/11.9/78.2 "titrated ... to a composition" at ambient (no
  absorbance end point, Example V's wording): a cloud-point titration, ending just past the
  binodal (EXAMPLE_VII_DEPTH);
- isopropanol: Example V, 9.5/10.3/80.2 titrated, cast at ambient "above the critical
  temperature": taken as on the binodal at 25 °C;
- water: PSf/DMF/water needs "a small amount of water" and "the temperature effect was
  small" (Kim, Lee, Baik & Kim, J. Appl. Polym. Sci. 65 (1997) 2643).
# assumption: "ambient" in seed 000 is 25 °C (T_ref).

Turbidity: baseline (0 AU; seed 000 zeroes the absorbance on a clear 12 % PSf/88 % DMF
solution) below the binodal, A = A_max·(1 − exp(−δ/δ_A)) past it, with δ_A chosen so that
Example VIII reads exactly 0.600 AU.

Metastable lifetime: log-linear in depth from two weeks at the binodal (seed 000 claim 8:
"segregation occurs within two weeks"; "stable for weeks") to minutes at the spinodal
("further inside the binodal, segregation may occur within hours or even minutes"); past
the spinodal the dope segregates at once and no membrane can be cast (seed 000, Fig. I).

Viscosity: ln η = ln η_ref + α·ln(w_p/w_ref) + (E/R)(1/T − 1/T_ref) (PHYSICS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GAS_CONSTANT_J_MOL_K: float = 8.314462618  # CODATA 2018
ZERO_CELSIUS_K: float = 273.15

REFERENCE_TEMPERATURE_C: float = 25.0  # assumption: seed 000's "ambient"
# assumption: slope a of the linearised cloud-point curve. Cloud-point curves of
# PSf/solvent/non-solvent systems need slightly less non-solvent as the polymer
# content rises; a = -0.25 moves the binodal by ~0.5 wt% non-solvent between 8 and 12 %
# PSf. No PSf/DMF/alcohol fit was found.
CLOUD_POINT_SLOPE: float = -0.25
# assumption: UCST shift of the alcohol/hexane binodals, 0.006 per K in ln(w_ns/w_s)
# (≈ 0.1 wt% non-solvent per K at 15 %). With it, Example VIII cooled from 40 °C to 20 °C
# passes the spinodal: seed 000 "at lower temperatures, the proportions ... are not
# attainable".
UCST_SHIFT_PER_K: float = 0.006
# Kim et al. 1997: for PSf/solvent/water "the temperature effect was small"; 1/6 of the
# alcohol value (assumption within that statement).
WATER_SHIFT_PER_K: float = 0.001
# assumption: Example VIII sits 0.04 in ln(w_ns/w_s) past its binodal (≈ 0.5 wt%
# non-solvent); Fig. II shows the binodal sharp to ±0.1 wt%, and a titration to a
# clearly turbid 0.600 AU goes somewhat past it.
EXAMPLE_VIII_DEPTH: float = 0.04
# assumption: Example VII's titration "to a composition" (no absorbance end point) stops at
# the first turbidity, half of Figure II's ±0.1 wt% resolution of the binodal past it:
# 0.05 wt% hexane, δ = ln(11.9/78.2) − ln(11.85/78.25) ≈ 0.0049. (Until issue 12 it was
# taken as δ_VIII past it, which makes Example VII's ultrafilter a 0.4 µm microfilter.)
EXAMPLE_VII_DEPTH: float = math.log(0.119 / 0.782) - math.log(0.1185 / 0.7825)
# assumption: the spinodal lies ≈ 2 wt% non-solvent past the binodal at 15 % non-solvent.
SPINODAL_DEPTH: float = 0.15
ABSORBANCE_MAX_AU: float = 4.0  # assumption: saturates at the probe's range (profile 0-4 AU)
EXAMPLE_VIII_ABSORBANCE_AU: float = 0.600  # seed 000, Example VIII
EXAMPLE_VIII_TEMPERATURE_C: float = 40.0  # seed 000, Example VIII
# δ_A that puts Example VIII at exactly 0.600 AU.
ABSORBANCE_DEPTH_SCALE: float = -EXAMPLE_VIII_DEPTH / math.log(1.0 - EXAMPLE_VIII_ABSORBANCE_AU / ABSORBANCE_MAX_AU)

LIFETIME_AT_BINODAL_S: float = 14.0 * 86400.0  # seed 000 claim 8: within two weeks
LIFETIME_AT_SPINODAL_S: float = 600.0  # seed 000: "within hours or even minutes"; 10 min
LIFETIME_MIN_S: float = 30.0  # assumption: floor past the spinodal (segregates at once)
# assumption: full agitation redisperses segregated phases in a few minutes (seed 000:
# the metastable state "may be approached ... by redispersing i.e. agitating").
REDISPERSION_TIME_S: float = 180.0
# assumption: agitator speed that keeps a pilot-vessel liquid-liquid dispersion fully
# suspended (≈ 1 rev/s for an anchor/pitched-blade impeller).
FULL_AGITATION_RPM: float = 60.0
# Viscosity of the dope. assumption: 0.3 Pa·s for 10 wt% PSf (P-3500) in DMF at 25 °C;
# α = 5 (PHYSICS.md range 4-7, mid); E = 20 kJ/mol (flow activation of polymer
# solutions in DMF is of the order of a few times DMF's own ~9 kJ/mol).
VISCOSITY_REF_PA_S: float = 0.3
VISCOSITY_REF_POLYMER_FRACTION: float = 0.10
VISCOSITY_CONCENTRATION_EXPONENT: float = 5.0
VISCOSITY_ACTIVATION_J_MOL: float = 20000.0
DOPE_CP_J_KG_K: float = 2060.0  # DMF 150.6 J/(mol·K) / 73.09 g/mol (CRC Handbook); dominates the dope
POLYMER_DENSITY_G_CM3: dict[str, float] = {
    "polysulfone": 1.24,  # Udel P-3500 data sheet
    "polyethersulfone": 1.37,  # Ultrason E / Veradel data sheets
    "polyvinylidene-fluoride": 1.78,  # Kynar / Solef data sheets
    "nylon": 1.14,  # nylon 6,6, CRC Handbook of Chemistry and Physics (polymer properties)
}
SOLVENT_DENSITY_G_CM3: dict[str, float] = {  # CRC Handbook, 25 °C
    "dmf": 0.944, "nmp": 1.028, "dmac": 0.937, "formic-acid": 1.22,
}


@dataclass(frozen=True, slots=True)
class NonSolvent:
    name: str
    density_g_cm3: float  # at 20-25 °C
    molar_mass_g_mol: float
    source: str


NON_SOLVENTS: dict[str, NonSolvent] = {
    "2-methyl-2-butanol": NonSolvent("2-methyl-2-butanol", 0.805, 88.15, "CRC Handbook (tert-amyl alcohol), 20 °C"),
    "2-methyl-1-butanol": NonSolvent("2-methyl-1-butanol", 0.815, 88.15, "CRC Handbook, 20 °C"),
    "hexane": NonSolvent("hexane", 0.655, 86.18, "CRC Handbook (n-hexane), 25 °C"),
    "isopropanol": NonSolvent("isopropanol", 0.785, 60.10, "CRC Handbook (2-propanol), 20 °C"),
    "water": NonSolvent("water", 0.998, 18.015, "CRC Handbook, 20 °C"),
}

_ALIASES: dict[str, str] = {
    "2-methyl-2-butanol": "2-methyl-2-butanol", "tert-amyl-alcohol": "2-methyl-2-butanol",
    "t-amyl-alcohol": "2-methyl-2-butanol", "2m2b": "2-methyl-2-butanol",
    "2-methyl-1-butanol": "2-methyl-1-butanol", "methyl-1-butanol": "2-methyl-1-butanol",
    "2m1b": "2-methyl-1-butanol", "amyl-alcohol": "2-methyl-1-butanol",
    "hexane": "hexane", "n-hexane": "hexane",
    "isopropanol": "isopropanol", "2-propanol": "isopropanol", "ipa": "isopropanol",
    "isopropyl-alcohol": "isopropanol",
    "water": "water", "h2o": "water",
    "polysulfone": "polysulfone", "psf": "polysulfone", "psu": "polysulfone",
    "polyarylsulfone": "polysulfone", "p-3500": "polysulfone", "udel-p-3500": "polysulfone",
    "dmf": "dmf", "dimethylformamide": "dmf", "n,n-dimethylformamide": "dmf",
    # seed 003's polymers and their usual solvents (stable dopes, cast without titration)
    "polyethersulfone": "polyethersulfone", "pes": "polyethersulfone",
    "polyvinylidene-fluoride": "polyvinylidene-fluoride", "pvdf": "polyvinylidene-fluoride",
    "nylon": "nylon", "nylon-6,6": "nylon", "polyamide": "nylon",
    "nmp": "nmp", "n-methyl-2-pyrrolidone": "nmp", "dmac": "dmac", "dimethylacetamide": "dmac",
    "formic-acid": "formic-acid",
}


def canonical_name(name: str) -> str:
    """Normalise a material name ("2 methyl 2 butanol", "PSf", "N,N-Dimethylformamide")."""
    key = "-".join(name.strip().lower().replace("_", " ").split())
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown material {name!r}; known: {', '.join(sorted(set(_ALIASES.values())))}") from None


@dataclass(frozen=True, slots=True)
class CloudPointCurve:
    """ln(w_ns/w_s) = slope·ln(w_p) + intercept_ref + shift_per_k·(T − T_ref) on the binodal."""

    non_solvent: str
    slope: float
    intercept_ref: float
    shift_per_k: float
    reference_temperature_c: float
    source: str

    def intercept(self, temperature_c: float) -> float:
        return self.intercept_ref + self.shift_per_k * (temperature_c - self.reference_temperature_c)


def fit_intercept(polymer_fraction: float, non_solvent_fraction: float, depth: float,
                  temperature_c: float, slope: float, shift_per_k: float) -> float:
    """b_ref from one titration point lying ``depth`` past the binodal at ``temperature_c``."""
    solvent_fraction = 1.0 - polymer_fraction - non_solvent_fraction
    b_at_t = math.log(non_solvent_fraction / solvent_fraction) - slope * math.log(polymer_fraction) - depth
    return b_at_t - shift_per_k * (temperature_c - REFERENCE_TEMPERATURE_C)


def _curve(non_solvent: str, w_p: float, w_ns: float, depth: float, t_c: float, shift: float, source: str) -> CloudPointCurve:
    b_ref = fit_intercept(w_p, w_ns, depth, t_c, CLOUD_POINT_SLOPE, shift)
    return CloudPointCurve(non_solvent, CLOUD_POINT_SLOPE, b_ref, shift, REFERENCE_TEMPERATURE_C, source)


# PSf (P-3500) in DMF with each non-solvent.
PSF_DMF_CURVES: dict[str, CloudPointCurve] = {
    "2-methyl-1-butanol": _curve("2-methyl-1-butanol", 0.10, 0.145, 0.0, REFERENCE_TEMPERATURE_C,
                                 UCST_SHIFT_PER_K, "seed 000 Fig. II: binodal 14.5 % at 10 % PSf"),
    "2-methyl-2-butanol": _curve("2-methyl-2-butanol", 0.095, 0.155, EXAMPLE_VIII_DEPTH,
                                 EXAMPLE_VIII_TEMPERATURE_C, UCST_SHIFT_PER_K,
                                 "seed 000 Example VIII: 9.5/15.5/75 at 40 °C, 0.600 AU"),
    "hexane": _curve("hexane", 0.099, 0.119, EXAMPLE_VII_DEPTH, REFERENCE_TEMPERATURE_C,
                     UCST_SHIFT_PER_K, "seed 000 Example VII: 9.9/11.9/78.2 at ambient"),
    "isopropanol": _curve("isopropanol", 0.095, 0.103, 0.0, REFERENCE_TEMPERATURE_C,
                          UCST_SHIFT_PER_K, "seed 000 Example V: 9.5/10.3/80.2 at ambient"),
    # assumption: cloud point at 4.5 % water for 10 % PSf in DMF at 25 °C (Kim et al.
    # 1997: "a small amount of water was needed to induce liquid-liquid demixing").
    "water": _curve("water", 0.10, 0.045, 0.0, REFERENCE_TEMPERATURE_C, WATER_SHIFT_PER_K,
                    "assumption after Kim et al. 1997"),
}


def cloud_point_curve(polymer: str, solvent: str, non_solvent: str) -> CloudPointCurve:
    """The binodal of a polymer/solvent/non-solvent system; ValueError if it is unknown."""
    if canonical_name(polymer) != "polysulfone" or canonical_name(solvent) != "dmf":
        raise ValueError(f"no phase data for {polymer}/{solvent}: only polysulfone/DMF (seed 000)")
    return PSF_DMF_CURVES[canonical_name(non_solvent)]


def binodal_depth(curve: CloudPointCurve, polymer_fraction: float, non_solvent_fraction: float,
                  temperature_c: float) -> float:
    """δ = ln(w_ns/w_s) − a·ln(w_p) − b(T): > 0 past the binodal (turbid), ≤ 0 stable."""
    solvent_fraction = 1.0 - polymer_fraction - non_solvent_fraction
    if non_solvent_fraction <= 0.0 or polymer_fraction <= 0.0:
        return -math.inf
    if solvent_fraction <= 0.0:
        return math.inf
    return (math.log(non_solvent_fraction / solvent_fraction) - curve.slope * math.log(polymer_fraction)
            - curve.intercept(temperature_c))


def cloud_point_non_solvent_fraction(curve: CloudPointCurve, polymer_fraction: float,
                                     temperature_c: float, depth: float = 0.0) -> float:
    """Non-solvent weight fraction at which a dope with ``polymer_fraction`` is ``depth``
    past the binodal (0: on the binodal, SPINODAL_DEPTH: on the spinodal)."""
    ratio = math.exp(curve.slope * math.log(polymer_fraction) + curve.intercept(temperature_c) + depth)
    return ratio * (1.0 - polymer_fraction) / (1.0 + ratio)


def cloud_point_temperature_c(curve: CloudPointCurve, polymer_fraction: float, non_solvent_fraction: float) -> float:
    """T_c of this composition: above it the dope is a clear solution, below it turbid."""
    depth_at_ref = binodal_depth(curve, polymer_fraction, non_solvent_fraction, curve.reference_temperature_c)
    return curve.reference_temperature_c + depth_at_ref / curve.shift_per_k


def absorbance_au(depth: float) -> float:
    """Absorbance of the dispersed dope: 0 below the binodal, rising with depth past it."""
    if depth <= 0.0:
        return 0.0
    return ABSORBANCE_MAX_AU * (1.0 - math.exp(-depth / ABSORBANCE_DEPTH_SCALE))


def metastable_lifetime_s(depth: float) -> float:
    """Time an undisturbed dispersion lasts before it segregates: infinite for a stable
    solution, two weeks at the binodal, minutes at the spinodal, falling further past it."""
    if depth <= 0.0:
        return math.inf
    lifetime = LIFETIME_AT_BINODAL_S * (LIFETIME_AT_SPINODAL_S / LIFETIME_AT_BINODAL_S) ** (depth / SPINODAL_DEPTH)
    return lifetime if lifetime > LIFETIME_MIN_S else LIFETIME_MIN_S


def past_spinodal(depth: float) -> bool:
    return depth >= SPINODAL_DEPTH


def agitation_fraction(agitator_speed_rpm: float) -> float:
    """0 (still) .. 1 (fully suspended dispersion)."""
    fraction = agitator_speed_rpm / FULL_AGITATION_RPM
    if fraction <= 0.0:
        return 0.0
    return fraction if fraction < 1.0 else 1.0


def aging_step(aging: float, depth: float, agitation: float, dt_s: float) -> float:
    """Aging θ of the dispersion (lifetimes spent undisturbed): grows at (1 − g)/τ(δ),
    relaxes to 0 under agitation at g/τ_r; exact over the step."""
    lifetime = metastable_lifetime_s(depth)
    growth = 0.0 if lifetime == math.inf else (1.0 - agitation) / lifetime
    if past_spinodal(depth):
        growth = 1.0 / lifetime  # agitation cannot hold a dope past the spinodal
    relax = agitation / REDISPERSION_TIME_S
    if relax * dt_s < 1e-12:  # no agitation to speak of (also guards growth/relax overflow)
        return aging + growth * dt_s
    steady = growth / relax
    return steady + (aging - steady) * math.exp(-relax * dt_s)


def segregation_step(segregated: float, aging: float, depth: float, agitation: float, dt_s: float) -> float:
    """Segregated fraction s (two clear bulk layers) after ``dt_s``.

    Segregation runs at (1 − s)/τ(δ) once the dispersion has aged past its lifetime
    (θ ≥ 1) or at once past the spinodal; agitation (or a dope that is a stable solution
    again) redisperses/redissolves at s/τ_r. Exact for rates constant over the step."""
    lifetime = metastable_lifetime_s(depth)
    forward = 0.0
    if past_spinodal(depth):
        forward = 1.0 / lifetime
    elif aging >= 1.0 and lifetime != math.inf:
        forward = (1.0 - agitation) / lifetime
    backward = agitation / REDISPERSION_TIME_S
    if depth <= 0.0:
        backward += 1.0 / REDISPERSION_TIME_S  # assumption: a stable solution redissolves
    rate = forward + backward
    if rate <= 0.0:
        return segregated
    steady = forward / rate
    return steady + (segregated - steady) * math.exp(-rate * dt_s)


def measured_absorbance_au(depth: float, segregated: float) -> float:
    """What the in-line probe sees: the dispersion's turbidity, lost as it segregates into
    clear layers."""
    return absorbance_au(depth) * (1.0 - segregated)


def castable(depth: float, segregated: float) -> bool:
    """Seed 000: a membrane of this invention needs a metastable dispersion (between
    binodal and spinodal) that has not segregated (assumption: < 5 % segregated)."""
    return 0.0 < depth < SPINODAL_DEPTH and segregated < 0.05


def dope_viscosity_pa_s(polymer_fraction: float, temperature_c: float) -> float:
    """ln η = ln η_ref + α·ln(w_p/w_ref) + (E/R)(1/T − 1/T_ref)."""
    if polymer_fraction <= 0.0:
        polymer_fraction = 1e-6
    temperature_k = temperature_c + ZERO_CELSIUS_K
    reference_k = REFERENCE_TEMPERATURE_C + ZERO_CELSIUS_K
    return VISCOSITY_REF_PA_S * math.exp(
        VISCOSITY_CONCENTRATION_EXPONENT * math.log(polymer_fraction / VISCOSITY_REF_POLYMER_FRACTION)
        + VISCOSITY_ACTIVATION_J_MOL / GAS_CONSTANT_J_MOL_K * (1.0 / temperature_k - 1.0 / reference_k)
    )


def dope_density_g_cm3(polymer_fraction: float, non_solvent_fraction: float,
                       polymer_density_g_cm3: float, solvent_density_g_cm3: float,
                       non_solvent_density_g_cm3: float) -> float:
    """Ideal mixing of volumes: 1/ρ = Σ wᵢ/ρᵢ (assumption: no excess volume)."""
    solvent_fraction = 1.0 - polymer_fraction - non_solvent_fraction
    specific_volume = (polymer_fraction / polymer_density_g_cm3 + solvent_fraction / solvent_density_g_cm3
                       + non_solvent_fraction / non_solvent_density_g_cm3)
    return 1.0 / specific_volume
