"""Melt flow through the foaming line: slit die, static mixer, the pressure of the melt
volume between two pumps, and single-screw extruder throughput. The melt pumps
themselves are the one gear-pump model, :mod:`simulator.physics.pumps`.

Pure functions only; SI units unless the name says otherwise (``_bar``, ``_rpm``).

Sources
-------
- Slit flow of a power-law fluid and the Rabinowitsch-corrected wall shear rate:
  Tadmor & Gogos, *Principles of Polymer Processing*, 2nd ed. (2006), ch. 12;
  Macosko, *Rheology* (1994), ch. 6. Newtonian limit 12·μ·L·Q/(W·H³) (plane Poiseuille).
- Static mixer laminar pressure drop as a multiple K of the empty pipe (Hagen-Poiseuille
  128·μ·L·Q/(π·D⁴)): Thakur, Vial, Nigam, Nauman & Djelveh, Trans IChemE 81A (2003) 787,
  K ≈ 7 for Kenics, 30-40 for SMX (values as quoted in shared/PHYSICS.md, not re-read).
- Extruder drag and pressure flow with shape factors: Tadmor & Gogos (2006) §6.3 and
  Rauwendaal, *Polymer Extrusion*, 5th ed. (2014), ch. 7.
"""

from __future__ import annotations

import math

PA_PER_BAR: float = 1.0e5

# Thakur et al. (2003): laminar static-mixer pressure drop relative to the empty pipe.
KENICS_PRESSURE_DROP_FACTOR: float = 7.0
SMX_PRESSURE_DROP_FACTOR: float = 35.0  # mid value of the quoted 30-40

# assumption: polymer melts have bulk moduli of ~1-2 GPa (Tait-equation order of
# magnitude), hence kappa ≈ 0.5-1e-9 1/Pa (shared/PHYSICS.md, marked "verify" there).
DEFAULT_MELT_COMPRESSIBILITY_1_PA: float = 0.7e-9


# --------------------------------------------------------------------------- slit die


def slit_wall_shear_rate_1_s(
    flow_m3_s: float, width_m: float, gap_m: float, power_law_index: float = 1.0
) -> float:
    """Wall shear rate in a slit of width W and gap H [1/s].

    γ̇_w = ((2n + 1)/n)·2Q/(W·H²) = ((2n + 1)/(3n))·6Q/(W·H²)
    (Rabinowitsch-corrected for a power-law fluid; n = 1 gives the Newtonian 6Q/(W·H²)).
    """
    _check_slit(width_m, gap_m)
    n = power_law_index
    return (2.0 * n + 1.0) / n * 2.0 * flow_m3_s / (width_m * gap_m * gap_m)


def slit_power_law_pressure_drop_pa(
    flow_m3_s: float,
    width_m: float,
    gap_m: float,
    length_m: float,
    consistency_pa_s_n: float,
    power_law_index: float,
) -> float:
    """Pressure drop of a power-law melt in a slit die [Pa].

    ΔP = (2·L·K/H)·[((2n + 1)/n)·2Q/(W·H²)]ⁿ
    Q flow [m³/s], W width, H gap, L land length [m], K consistency [Pa·sⁿ], n index [-].
    Wide-slit approximation (W >> H; edge effects neglected). Q < 0 gives −ΔP(|Q|).
    """
    gamma_w = slit_wall_shear_rate_1_s(abs(flow_m3_s), width_m, gap_m, power_law_index)
    dp = 2.0 * length_m * consistency_pa_s_n / gap_m * gamma_w**power_law_index
    return math.copysign(dp, flow_m3_s) if flow_m3_s != 0.0 else 0.0


def slit_newtonian_pressure_drop_pa(
    flow_m3_s: float, width_m: float, gap_m: float, length_m: float, viscosity_pa_s: float
) -> float:
    """Newtonian slit pressure drop ΔP = 12·μ·L·Q/(W·H³) [Pa]."""
    _check_slit(width_m, gap_m)
    return 12.0 * viscosity_pa_s * length_m * flow_m3_s / (width_m * gap_m**3)


def slit_power_law_flow_m3_s(
    pressure_drop_pa: float,
    width_m: float,
    gap_m: float,
    length_m: float,
    consistency_pa_s_n: float,
    power_law_index: float,
) -> float:
    """Inverse of :func:`slit_power_law_pressure_drop_pa`: Q for a given ΔP [m³/s].

    Q = (W·H²/2)·(n/(2n + 1))·[ΔP·H/(2·L·K)]^(1/n); ΔP <= 0 gives Q = 0 (no back-flow
    through the die is modelled: the die discharges to atmosphere).
    """
    _check_slit(width_m, gap_m)
    if pressure_drop_pa <= 0.0:
        return 0.0
    n = power_law_index
    wall_stress_pa = pressure_drop_pa * gap_m / (2.0 * length_m)
    gamma_w = (wall_stress_pa / consistency_pa_s_n) ** (1.0 / n)
    return gamma_w * width_m * gap_m * gap_m / 2.0 * n / (2.0 * n + 1.0)


def _check_slit(width_m: float, gap_m: float) -> None:
    if width_m <= 0.0 or gap_m <= 0.0:
        raise ValueError("slit width and gap must be positive")


# ----------------------------------------------------------------------- static mixer


def static_mixer_pressure_drop_pa(
    flow_m3_s: float,
    viscosity_pa_s: float,
    length_m: float,
    diameter_m: float,
    mixer_factor: float = KENICS_PRESSURE_DROP_FACTOR,
) -> float:
    """Laminar static-mixer pressure drop ΔP = K·128·μ·L·Q/(π·D⁴) [Pa].

    K = 1 is the empty pipe (Hagen-Poiseuille); K ≈ 7 Kenics, 30-40 SMX (Thakur et al.
    2003). μ is the (shear-rate dependent) melt viscosity at the mixer's shear rate.
    """
    if diameter_m <= 0.0:
        raise ValueError("diameter must be positive")
    return mixer_factor * 128.0 * viscosity_pa_s * length_m * flow_m3_s / (
        math.pi * diameter_m**4
    )


# --------------------------------------------------------------- pressure between pumps


def step_pressure_bar(
    pressure_bar: float,
    flow_in_m3_s: float,
    flow_out_m3_s: float,
    volume_m3: float,
    compressibility_1_pa: float,
    dt_s: float,
    minimum_pressure_bar: float = 0.0,
) -> float:
    """Pressure of a melt volume after dt with the flows held constant [bar, gauge].

    dP/dt = (Q_in − Q_out)/(κ·V)  ⇒  P(t + dt) = P + (Q_in − Q_out)·dt/(κ·V)

    Exact (not an approximation) for flows that do not depend on P, hence stable for any
    dt. The result is clipped at ``minimum_pressure_bar`` (default 0 bar gauge: the
    downstream pump starves / the melt cavitates instead of holding tension); clipping is
    the only case in which κ·V·ΔP = (Q_in − Q_out)·dt does not hold. When the flows depend
    on pressure (pump slip, die) use :func:`step_pressure_linearised_bar` or
    :func:`step_pressure_into_slit_die_bar`, which do not go unstable for stiff volumes.
    """
    _check_volume(volume_m3, compressibility_1_pa, dt_s)
    dp_pa = (flow_in_m3_s - flow_out_m3_s) * dt_s / (compressibility_1_pa * volume_m3)
    return max(pressure_bar + dp_pa / PA_PER_BAR, minimum_pressure_bar)


def step_pressure_linearised_bar(
    pressure_bar: float,
    flow_in_m3_s: float,
    flow_out_m3_s: float,
    net_outflow_slope_m3_s_bar: float,
    volume_m3: float,
    compressibility_1_pa: float,
    dt_s: float,
    minimum_pressure_bar: float = 0.0,
) -> float:
    """Exponential step for flows that depend on the pressure of the volume [bar].

    With q(P) = Q_in(P) − Q_out(P) evaluated at the current P and its slope
    g = −dq/dP = d(Q_out − Q_in)/dP >= 0 [m³/(s·bar)] (``net_outflow_slope_m3_s_bar``),
    the linear model dP/dt = (q − g·(P' − P))/(κ·V) is solved exactly:

        P_eq = P + q/g,   τ = κ·V/g,   P(t + dt) = P_eq + (P − P_eq)·e^(−dt/τ)

    Exact when Q_in and Q_out are linear in P (gear pumps with slip: the upstream pump
    delivers less and the downstream pump more as P rises; Newtonian restrictions), and
    an exponential-Euler step otherwise; it never oscillates or diverges for any dt, so
    stiff volumes (small V, low κ) need no sub-stepping. g = 0 reduces to
    :func:`step_pressure_bar`.
    """
    _check_volume(volume_m3, compressibility_1_pa, dt_s)
    if net_outflow_slope_m3_s_bar < 0.0:
        raise ValueError("net outflow slope must be >= 0 (a self-regulating volume)")
    net_flow = flow_in_m3_s - flow_out_m3_s
    if net_outflow_slope_m3_s_bar == 0.0:
        return step_pressure_bar(
            pressure_bar,
            flow_in_m3_s,
            flow_out_m3_s,
            volume_m3,
            compressibility_1_pa,
            dt_s,
            minimum_pressure_bar,
        )
    capacitance_m3_bar = compressibility_1_pa * volume_m3 * PA_PER_BAR
    equilibrium_bar = pressure_bar + net_flow / net_outflow_slope_m3_s_bar
    time_constant_s = capacitance_m3_bar / net_outflow_slope_m3_s_bar
    new_bar = equilibrium_bar + (pressure_bar - equilibrium_bar) * math.exp(
        -dt_s / time_constant_s
    )
    return max(new_bar, minimum_pressure_bar)


def step_pressure_into_slit_die_bar(
    pressure_bar: float,
    flow_in_m3_s: float,
    volume_m3: float,
    compressibility_1_pa: float,
    dt_s: float,
    width_m: float,
    gap_m: float,
    length_m: float,
    consistency_pa_s_n: float,
    power_law_index: float,
    downstream_pressure_bar: float = 0.0,
) -> float:
    """Pressure upstream of a power-law slit die fed with a fixed flow [bar, gauge].

    dP/dt = (Q_in − Q_die(P))/(κ·V), Q_die from :func:`slit_power_law_flow_m3_s`.
    Scheme (chosen for stiffness - the die volume has τ ~ 0.01-0.1 s, far below a 1 s
    scan): relax towards the EXACT flow-balance equilibrium P_eq = P_down + ΔP_die(Q_in)
    with the secant time constant τ = κ·V·(P − P_eq)/(Q_die(P) − Q_in):

        P(t + dt) = P_eq + (P − P_eq)·e^(−dt/τ)

    The secant τ makes the initial slope equal the true dP/dt, the step is exact for a
    Newtonian die (n = 1), monotone (never crosses P_eq) and stable for any dt; for
    n < 1 the transient shape is approximate, the end point exact.
    """
    _check_volume(volume_m3, compressibility_1_pa, dt_s)
    if flow_in_m3_s < 0.0:
        raise ValueError("inflow must be >= 0 (pass 0 for a stopped or leaking pump)")
    start_bar = max(pressure_bar, downstream_pressure_bar)
    equilibrium_bar = downstream_pressure_bar + slit_power_law_pressure_drop_pa(
        flow_in_m3_s, width_m, gap_m, length_m, consistency_pa_s_n, power_law_index
    ) / PA_PER_BAR
    gap_from_eq_bar = start_bar - equilibrium_bar
    die_flow = slit_power_law_flow_m3_s(
        (start_bar - downstream_pressure_bar) * PA_PER_BAR,
        width_m,
        gap_m,
        length_m,
        consistency_pa_s_n,
        power_law_index,
    )
    excess_outflow = die_flow - flow_in_m3_s  # same sign as gap_from_eq_bar
    if gap_from_eq_bar == 0.0 or excess_outflow == 0.0 or excess_outflow * gap_from_eq_bar < 0:
        return equilibrium_bar
    capacitance_m3_bar = compressibility_1_pa * volume_m3 * PA_PER_BAR
    time_constant_s = capacitance_m3_bar * gap_from_eq_bar / excess_outflow
    return equilibrium_bar + gap_from_eq_bar * math.exp(-dt_s / time_constant_s)


def _check_volume(volume_m3: float, compressibility_1_pa: float, dt_s: float) -> None:
    if volume_m3 <= 0.0 or compressibility_1_pa <= 0.0:
        raise ValueError("volume and compressibility must be positive")
    if dt_s < 0.0:
        raise ValueError("dt must be >= 0")


# -------------------------------------------------------------------------- extruder


def _odd_series(term_count: int) -> range:
    return range(1, 2 * term_count, 2)


def drag_flow_shape_factor(channel_depth_m: float, channel_width_m: float) -> float:
    """F_d = (16·W/(π³·H))·Σ_{i odd} tanh(iπH/(2W))/i³ (Tadmor & Gogos eq. 6.3-20).

    → 1 − 0.543·H/W for a shallow channel. 1000 odd terms plus the tail
    Σ_{odd i > i_N} 1/i³ ≈ 1/(4·i_N²) weighted by tanh at the first omitted term
    (error < 1e-6 for H/W > 1e-3).
    """
    ratio = channel_depth_m / channel_width_m
    term_count = 1000
    total = sum(math.tanh(i * math.pi * ratio / 2.0) / i**3 for i in _odd_series(term_count))
    first_omitted = 2 * term_count + 1
    total += math.tanh(first_omitted * math.pi * ratio / 2.0) / (4.0 * (first_omitted - 1) ** 2)
    return 16.0 / (math.pi**3 * ratio) * total


def pressure_flow_shape_factor(channel_depth_m: float, channel_width_m: float) -> float:
    """F_p = 1 − (192·H/(π⁵·W))·Σ_{i odd} tanh(iπW/(2H))/i⁵ (Tadmor & Gogos eq. 6.3-21).

    → 1 − 0.630·H/W for a shallow channel.
    """
    ratio = channel_depth_m / channel_width_m
    total = sum(math.tanh(i * math.pi / (2.0 * ratio)) / i**5 for i in _odd_series(50))
    return 1.0 - 192.0 * ratio / math.pi**5 * total


def single_screw_throughput_m3_s(
    screw_diameter_m: float,
    channel_depth_m: float,
    screw_speed_rpm: float,
    metering_length_m: float,
    pressure_rise_pa: float,
    viscosity_pa_s: float,
    helix_angle_rad: float = math.atan(1.0 / math.pi),
    flight_width_m: float = 0.0,
) -> float:
    """Metering-section throughput, Newtonian isothermal: drag flow − pressure flow [m³/s].

    Q = ½·V_bz·W·H·F_d − (W·H³/(12·μ))·(ΔP/Z)·F_p
    V_bz = π·D·N·cos θ (down-channel barrel velocity), W = (π·D·tan θ − e)·cos θ
    (channel width), Z = L/sin θ (down-channel length), θ helix angle (default square
    pitch, tan θ = 1/π ≈ 17.66°), e flight width, ΔP pressure rise over the section.
    Tadmor & Gogos (2006) §6.3; Rauwendaal, Polymer Extrusion, ch. 7. Flight clearance
    leakage is neglected.
    """
    if viscosity_pa_s <= 0.0:
        raise ValueError("viscosity must be positive")
    cos_t = math.cos(helix_angle_rad)
    sin_t = math.sin(helix_angle_rad)
    width = (math.pi * screw_diameter_m * math.tan(helix_angle_rad) - flight_width_m) * cos_t
    if width <= 0.0 or channel_depth_m <= 0.0:
        raise ValueError("channel width and depth must be positive")
    barrel_speed = math.pi * screw_diameter_m * screw_speed_rpm / 60.0 * cos_t
    down_channel_length = metering_length_m / sin_t
    drag = 0.5 * barrel_speed * width * channel_depth_m * drag_flow_shape_factor(
        channel_depth_m, width
    )
    pressure = (
        width
        * channel_depth_m**3
        / (12.0 * viscosity_pa_s)
        * pressure_rise_pa
        / down_channel_length
        * pressure_flow_shape_factor(channel_depth_m, width)
    )
    return drag - pressure


def starve_fed_throughput_m3_s(
    feed_mass_flow_kg_s: float, melt_density_kg_m3: float, screw_capacity_m3_s: float
) -> float:
    """Throughput of a starve-fed extruder: the feeder sets it, the screw caps it [m³/s].

    Q = min(ṁ_feed/ρ, Q_screw). Above Q_screw (from :func:`single_screw_throughput_m3_s`
    at the running head pressure) the screw floods and the feed backs up in the hopper.
    """
    if melt_density_kg_m3 <= 0.0:
        raise ValueError("density must be positive")
    return max(0.0, min(feed_mass_flow_kg_s / melt_density_kg_m3, screw_capacity_m3_s))
