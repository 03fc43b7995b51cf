"""Quality of a membrane cast from a metastable dope (seed 000): mean skin pore diameter,
water permeability and bubble point from the dope's depth past its binodal at the knife.

Pure functions; the soft sensor (``soft_sensors.MembraneQualityEstimator``) feeds them the
depth the dope-path estimator computes.

Pore diameter
-------------
Seed 000: cast from a stable solution (before the binodal) the membrane is of the prior art
(no reticulated support); past the binodal "toward the binodal side ... ultrafiltration
membranes, pore sizes of from about 0.001 to about 0.05 micrometres ... toward the spinodal
side ... microporous membranes, pore sizes of from about 0.05 to about 3 micrometres"; and
Figure II: "an enormous change in water permeability and solute retentivity occurs between
about 14.4 and 14.6 per cent of added non-solvent" (the binodal at ~14.5 %). The model:

    d(δ) = d_s · (δ/δ_s)^n   past the binodal (δ > 0), never below d_min;
    d = d_min                before it (δ ≤ 0, a prior-art membrane),

with δ the depth past the binodal in ln(w_ns/w_s) (``simulator.physics.dope``), δ_s the
spinodal, d_s = 3 µm at the spinodal and n calibrated on Example VIII (0.4 µm at δ_VIII).
It rises steeply right past the binodal (pores ~0.05 µm within 0.1 wt% of non-solvent of
it) and more slowly towards the spinodal: Figure II's sharp change.

Permeability
------------
Seed 000: "The water permeability, p, of the membranes ... is substantially linearly related
to its retentive pore size, r, by the equation p = K r". K from Example VIII (7.4 cm/min/psi
at 0.4 µm). A prior-art membrane (stable dope) is ~30 times less permeable at the same
retention (seed 000, Comparative Example I: 0.30 against the Millipore PSED's 0.01
cm/min/psi, both 25,000 MWCO).

Bubble point
------------
Laplace (ASTM F316, capillary pores of circular section): ΔP = 4·γ·cosθ·K_s / d_max, with
the largest skin pore d_max = (max/mean)·d. The max/mean ratio is calibrated on Example
VIII's 35 psi and lies within seed 000's "ratio of the maximum pore size to the average pore
size within the skin ... generally less than about 5, typically less than about 3".

Example VII (0.32 cm/min/psi, 98 % ovalbumin retention) is kept out of the calibration; the
test reports the estimate's ratio to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.physics import dope

PSI_PA: float = 6894.757  # NIST SP 811: 1 psi = 6.894 757 kPa
# Seed 000 Example VIII: "flow rate 7.4 cm/min/psi, a bubble point of 35 psi"; its pore
# size "the large 0.4 µm pore size (Example VIII)" (the example's own digit is garbled).
EXAMPLE_VIII_PERMEABILITY_CM_MIN_PSI: float = 7.4
EXAMPLE_VIII_BUBBLE_POINT_PSI: float = 35.0
EXAMPLE_VIII_PORE_DIAMETER_UM: float = 0.4
# Seed 000: "toward the spinodal side ... pore sizes of from about 0.05 to about 3
# micrometres"; claim 1's upper bound of the skin's average pore diameter is 3.0 µm.
SPINODAL_PORE_DIAMETER_UM: float = 3.0
# Seed 000: ultrafilter pores "from about 0.001" µm toward the binodal side; the floor of
# the estimate, and the pore of a prior-art membrane from a stable dope.
MIN_PORE_DIAMETER_UM: float = 0.001
# n from Example VIII: 0.4 = 3·(δ_VIII/δ_s)^n  ->  n ≈ 1.52.
PORE_SIZE_EXPONENT: float = (math.log(EXAMPLE_VIII_PORE_DIAMETER_UM / SPINODAL_PORE_DIAMETER_UM)
                             / math.log(dope.EXAMPLE_VIII_DEPTH / dope.SPINODAL_DEPTH))
# Seed 000: p = K r; K from Example VIII, 7.4 / 0.4 = 18.5 cm/min/psi per µm of pore.
PERMEABILITY_PER_PORE_CM_MIN_PSI_UM: float = EXAMPLE_VIII_PERMEABILITY_CM_MIN_PSI / EXAMPLE_VIII_PORE_DIAMETER_UM
# Seed 000, Comparative Example I: 0.01 / 0.30 cm/min/psi at equal retention (prior art / invention).
PRIOR_ART_PERMEABILITY_FACTOR: float = 0.01 / 0.30
# Water at 25 °C: 71.97 mN/m (CRC Handbook of Chemistry and Physics, "Surface tension of
# common liquids"; IAPWS R1-76(2014)). assumption: the bubble point is read at 25 °C.
WATER_SURFACE_TENSION_N_M: float = 0.07197
# ASTM F316-03: the test liquid wets the membrane completely (cos θ = 1) and the pores are
# taken as capillaries of circular section (shape factor 1).
CONTACT_ANGLE_DEG: float = 0.0
PORE_SHAPE_FACTOR: float = 1.0


def laplace_bubble_point_psi(largest_pore_um: float) -> float:
    """ΔP = 4·γ·cosθ·K_s / d_max: the gas pressure that empties the largest wetted pore."""
    pascal = (4.0 * WATER_SURFACE_TENSION_N_M * math.cos(math.radians(CONTACT_ANGLE_DEG)) * PORE_SHAPE_FACTOR
              / (largest_pore_um * 1e-6))
    return pascal / PSI_PA


# The largest skin pore over the mean, calibrated on Example VIII's 35 psi (≈ 2.98; seed 000:
# "typically less than about 3").
MAX_TO_MEAN_PORE_RATIO: float = (laplace_bubble_point_psi(EXAMPLE_VIII_PORE_DIAMETER_UM)
                                 / EXAMPLE_VIII_BUBBLE_POINT_PSI)


@dataclass(frozen=True, slots=True)
class MembraneQuality:
    pore_diameter_um: float  # mean skin pore
    water_permeability_cm_min_psi: float
    bubble_point_psi: float


def pore_diameter_um(depth: float) -> float:
    """Mean skin pore of the membrane cast from a dope ``depth`` past its binodal."""
    if depth <= 0.0:
        return MIN_PORE_DIAMETER_UM
    d = SPINODAL_PORE_DIAMETER_UM * (depth / dope.SPINODAL_DEPTH) ** PORE_SIZE_EXPONENT
    return d if d > MIN_PORE_DIAMETER_UM else MIN_PORE_DIAMETER_UM


def water_permeability_cm_min_psi(depth: float) -> float:
    """p = K·d past the binodal; a prior-art membrane's K before it."""
    factor = 1.0 if depth > 0.0 else PRIOR_ART_PERMEABILITY_FACTOR
    return factor * PERMEABILITY_PER_PORE_CM_MIN_PSI_UM * pore_diameter_um(depth)


def membrane_quality(depth: float) -> MembraneQuality:
    d = pore_diameter_um(depth)
    return MembraneQuality(d, water_permeability_cm_min_psi(depth), laplace_bubble_point_psi(MAX_TO_MEAN_PORE_RATIO * d))
