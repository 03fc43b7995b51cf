"""Single-screw extruder: metering-section flow and power, the plastication energy, the
polymer's enthalpy and the melt temperature along the barrel zones.

Pure functions only; SI units unless the name says otherwise (``_rpm``, ``_c``, ``_kw``).

Sources
-------
- Flat-plate model of the metering section (isothermal, Newtonian at the channel's
  nominal shear rate V_b/H, shallow channel, flight leakage neglected in the flow):
  Tadmor & Gogos, *Principles of Polymer Processing*, 2nd ed. (2006), §6.3 (drag and
  pressure flow, shape factors F_d, F_p) and §9.2 (power in the metering section);
  Rauwendaal, *Polymer Extrusion*, 5th ed. (2014), ch. 7 (power consumption, viscous
  heating in the flight clearance).

  Down-channel velocity profile with throttle ratio r = Q_p/Q_d (pressure rising towards
  the tip): u_z/V_bz = ξ − 3r·ξ(1 − ξ); cross-channel (no net flow): u_x/V_bx = ξ(3ξ − 2).
  Integrating μ·(du/dy)² over the depth gives the viscous dissipation per unit of channel
  area μ·[V_bz²·(1 + 3r²) + 4·V_bx²]/H; the barrel's drag does μ·[V_bz²·(1 + 3r) + 4·V_bx²]/H,
  the difference 3μV_bz²·r(1 − r)/H being the pressure work Q·ΔP/(W·Z). Flight clearance:
  μ_f·V_b²·e·Z/δ (Couette flow over the flight land).
- The energy for melting: most of it comes from the screw (the drive) in a single-screw
  extruder, the heaters supply the rest and make up the losses (Rauwendaal 2014, ch. 7,
  the extruder energy balance). The melting section is modelled by that balance, not by a
  melt-film (Tadmor) model: # assumption, see PLASTICATION_SHARE.
- Specific heats: the polymer records in :mod:`simulator.physics.rheology`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator.physics import melt_flow

SECONDS_PER_HOUR: float = 3600.0
J_PER_KWH: float = 3.6e6
# Square pitch (pitch = D): tan θ = 1/π, θ ≈ 17.66° - the usual single-screw helix
# (Rauwendaal 2014, ch. 7; Tadmor & Gogos 2006, §6.3).
SQUARE_PITCH_HELIX_ANGLE_RAD: float = math.atan(1.0 / math.pi)
# assumption: share of the plastication enthalpy (feed temperature to the melt leaving the
# melting section) that the drive supplies as frictional and viscous heat; Rauwendaal
# (ch. 7): in most single-screw extruders the major part of the melting energy comes from
# the screw, and an extruder run with all of it from the screw is "autothermal" (share 1).
PLASTICATION_SHARE: float = 0.8


@dataclass(frozen=True, slots=True)
class ScrewGeometry:
    """A single-flighted screw's metering section and the barrel length it sits in.

    diameter (barrel bore), metering channel depth H, metering length (axial), helix angle
    θ, flight width e (axial) and radial flight clearance δ.
    """

    diameter_m: float
    metering_depth_m: float
    metering_length_m: float
    helix_angle_rad: float = SQUARE_PITCH_HELIX_ANGLE_RAD
    flight_width_m: float = 0.003
    flight_clearance_m: float = 0.0001
    # shape factors F_d, F_p of the channel (series of melt_flow), computed once
    drag_shape_factor: float = field(init=False)
    pressure_shape_factor: float = field(init=False)

    def __post_init__(self) -> None:
        width = self.channel_width_m
        if width <= 0.0 or self.metering_depth_m <= 0.0:
            raise ValueError("screw channel width and depth must be positive")
        object.__setattr__(self, "drag_shape_factor", melt_flow.drag_flow_shape_factor(self.metering_depth_m, width))
        object.__setattr__(self, "pressure_shape_factor",
                           melt_flow.pressure_flow_shape_factor(self.metering_depth_m, width))

    @property
    def channel_width_m(self) -> float:
        """W = (π·D·tan θ − e)·cos θ, perpendicular to the flights."""
        theta = self.helix_angle_rad
        return (math.pi * self.diameter_m * math.tan(theta) - self.flight_width_m) * math.cos(theta)

    @property
    def down_channel_length_m(self) -> float:
        """Z = L/sin θ, the helical length of the metering channel (and of its flight)."""
        return self.metering_length_m / math.sin(self.helix_angle_rad)


@dataclass(frozen=True, slots=True)
class MeteringPower:
    """Power in the metering section [W]; ``shaft_w`` is what the drive delivers there."""

    channel_dissipation_w: float
    flight_dissipation_w: float
    pressure_work_w: float
    throttle_ratio: float

    @property
    def dissipation_w(self) -> float:
        """Viscous heat released in the melt (channel + flight clearance)."""
        return self.channel_dissipation_w + self.flight_dissipation_w

    @property
    def shaft_w(self) -> float:
        return self.channel_dissipation_w + self.flight_dissipation_w + self.pressure_work_w


def barrel_velocity_m_s(diameter_m: float, screw_speed_rpm: float) -> float:
    """V_b = π·D·N, the barrel's speed relative to the screw."""
    return math.pi * diameter_m * screw_speed_rpm / 60.0


def channel_shear_rate_1_s(geometry: ScrewGeometry, screw_speed_rpm: float) -> float:
    """Nominal shear rate of the metering channel V_b/H [1/s]."""
    return barrel_velocity_m_s(geometry.diameter_m, screw_speed_rpm) / geometry.metering_depth_m


def flight_shear_rate_1_s(geometry: ScrewGeometry, screw_speed_rpm: float) -> float:
    """Shear rate in the flight clearance V_b/δ [1/s]."""
    return barrel_velocity_m_s(geometry.diameter_m, screw_speed_rpm) / geometry.flight_clearance_m


def drag_flow_m3_s(geometry: ScrewGeometry, screw_speed_rpm: float) -> float:
    """Q_d = ½·V_bz·W·H·F_d (Tadmor & Gogos 2006, §6.3)."""
    g = geometry
    width = g.channel_width_m
    v_bz = barrel_velocity_m_s(g.diameter_m, screw_speed_rpm) * math.cos(g.helix_angle_rad)
    return 0.5 * v_bz * width * g.metering_depth_m * g.drag_shape_factor


def pressure_flow_conductance_m3_s_pa(geometry: ScrewGeometry, viscosity_pa_s: float) -> float:
    """Q_p/ΔP = W·H³·F_p/(12·μ·Z): back flow per pascal of pressure rise over the section."""
    g = geometry
    width = g.channel_width_m
    return (width * g.metering_depth_m**3 * g.pressure_shape_factor
            / (12.0 * viscosity_pa_s * g.down_channel_length_m))


def metering_power(geometry: ScrewGeometry, screw_speed_rpm: float, pressure_rise_pa: float,
                   viscosity_pa_s: float, flight_viscosity_pa_s: float) -> MeteringPower:
    """Power of the metering section at screw speed N and pressure rise ΔP (module docstring).

    Channel dissipation μ·W·Z·[V_bz²·(1 + 3r²) + 4·V_bx²]/H with r = Q_p/Q_d (Q_p from
    the pressure rise; r is clipped to [0, 1]: no flow reversal at the tip modelled),
    flight clearance μ_f·V_b²·e·Z/δ, pressure work Q·ΔP with Q = Q_d − Q_p.
    μ at the channel's shear rate V_b/H, μ_f at V_b/δ (shear thinning, the caller's model).
    """
    g = geometry
    if screw_speed_rpm <= 0.0:
        return MeteringPower(0.0, 0.0, 0.0, 0.0)
    v_b = barrel_velocity_m_s(g.diameter_m, screw_speed_rpm)
    v_bz = v_b * math.cos(g.helix_angle_rad)
    v_bx = v_b * math.sin(g.helix_angle_rad)
    q_d = drag_flow_m3_s(g, screw_speed_rpm)
    q_p = pressure_flow_conductance_m3_s_pa(g, viscosity_pa_s) * max(pressure_rise_pa, 0.0)
    r = min(q_p / q_d, 1.0)
    area = g.channel_width_m * g.down_channel_length_m
    channel = viscosity_pa_s * area * (v_bz * v_bz * (1.0 + 3.0 * r * r) + 4.0 * v_bx * v_bx) / g.metering_depth_m
    flight = flight_viscosity_pa_s * v_b * v_b * g.flight_width_m * g.down_channel_length_m / g.flight_clearance_m
    work = (q_d - r * q_d) * max(pressure_rise_pa, 0.0)
    return MeteringPower(channel, flight, work, r)


# ------------------------------------------------------------------ barrel heat transfer


def wiped_barrel_heat_transfer_w_m2_k(screw_speed_rpm: float, conductivity_w_m_k: float, density_kg_m3: float,
                                      heat_capacity_j_kg_k: float, channel_depth_m: float) -> float:
    """Barrel-to-melt heat transfer coefficient [W/(m²·K)].

    The flight wipes the barrel once per revolution, leaving a fresh melt layer that
    heats by transient conduction for t = 60/N s: penetration theory (the scraped-surface
    exchanger result, h = 2·√(k·ρ·c_p/(π·t)); Bird, Stewart & Lightfoot, *Transport
    Phenomena*, transient conduction into a semi-infinite slab). With the screw standing,
    conduction across half the channel depth, h = k/(H/2), is the floor.
    """
    standing = conductivity_w_m_k / (0.5 * channel_depth_m)
    if screw_speed_rpm <= 0.0:
        return standing
    contact_s = 60.0 / screw_speed_rpm
    wiped = 2.0 * math.sqrt(conductivity_w_m_k * density_kg_m3 * heat_capacity_j_kg_k / (math.pi * contact_s))
    return max(wiped, standing)


# ------------------------------------------------------------------ polymer enthalpy


def polymer_enthalpy_j_kg(temperature_c: float, glass_transition_c: float, solid_heat_capacity_j_kg_k: float,
                          melt_heat_capacity_j_kg_k: float, reference_c: float = 20.0) -> float:
    """Sensible enthalpy of an amorphous polymer above ``reference_c`` [J/kg]: c_p,solid up
    to Tg, c_p,melt above (no latent heat: amorphous). Piecewise linear in T."""
    if temperature_c <= glass_transition_c:
        return solid_heat_capacity_j_kg_k * (temperature_c - reference_c)
    return (solid_heat_capacity_j_kg_k * (glass_transition_c - reference_c)
            + melt_heat_capacity_j_kg_k * (temperature_c - glass_transition_c))


def temperature_from_enthalpy_c(enthalpy_j_kg: float, glass_transition_c: float, solid_heat_capacity_j_kg_k: float,
                                melt_heat_capacity_j_kg_k: float, reference_c: float = 20.0) -> float:
    """Inverse of :func:`polymer_enthalpy_j_kg`."""
    at_tg = solid_heat_capacity_j_kg_k * (glass_transition_c - reference_c)
    if enthalpy_j_kg <= at_tg:
        return reference_c + enthalpy_j_kg / solid_heat_capacity_j_kg_k
    return glass_transition_c + (enthalpy_j_kg - at_tg) / melt_heat_capacity_j_kg_k


def plastication_power_w(mass_flow_kg_s: float, enthalpy_rise_j_kg: float,
                         share: float = PLASTICATION_SHARE) -> float:
    """Drive power spent melting: share × ṁ × Δh(feed → melt leaving the melting section) [W]."""
    return share * max(mass_flow_kg_s, 0.0) * max(enthalpy_rise_j_kg, 0.0)


def zone_outlet_enthalpy_j_kg(inlet_enthalpy_j_kg: float, mass_flow_kg_s: float, barrel_to_polymer_w_k: float,
                              barrel_temperature_c: float, shear_heat_w: float, glass_transition_c: float,
                              solid_heat_capacity_j_kg_k: float, melt_heat_capacity_j_kg_k: float) -> float:
    """Polymer enthalpy leaving a barrel zone, quasi-steady (the polymer's heat capacity is
    small beside the barrel's): ṁ·(h_out − h_in) = hA·(T_barrel − T_out) + P_shear, with the
    zone well mixed at its outlet temperature. Solved on the branch (solid or melt) where
    the piecewise-linear h(T) puts T_out. With no flow, the polymer takes the barrel's
    temperature (plus its own shear heat through hA)."""
    def solve(cp: float, h0: float, t0: float) -> float:
        # h = h0 + cp·(T − t0): ṁ·(h − h_in) = hA·(T_b − T) + P  →  T
        denominator = mass_flow_kg_s * cp + barrel_to_polymer_w_k
        t = (mass_flow_kg_s * (inlet_enthalpy_j_kg - h0 + cp * t0) + barrel_to_polymer_w_k * barrel_temperature_c
             + shear_heat_w) / denominator
        return t
    if barrel_to_polymer_w_k <= 0.0 and mass_flow_kg_s <= 0.0:
        return inlet_enthalpy_j_kg
    at_tg = polymer_enthalpy_j_kg(glass_transition_c, glass_transition_c, solid_heat_capacity_j_kg_k,
                                  melt_heat_capacity_j_kg_k)
    t_melt = solve(melt_heat_capacity_j_kg_k, at_tg, glass_transition_c)
    if t_melt >= glass_transition_c:
        return polymer_enthalpy_j_kg(t_melt, glass_transition_c, solid_heat_capacity_j_kg_k, melt_heat_capacity_j_kg_k)
    t_solid = solve(solid_heat_capacity_j_kg_k, 0.0, 20.0)
    return polymer_enthalpy_j_kg(min(t_solid, glass_transition_c), glass_transition_c, solid_heat_capacity_j_kg_k,
                                 melt_heat_capacity_j_kg_k)


# ------------------------------------------------------------------ drive


def specific_energy_kwh_kg(shaft_power_w: float, mass_flow_kg_s: float) -> float:
    """Specific energy of the drive E = P_shaft/ṁ [kWh/kg]; 0 with no throughput."""
    if mass_flow_kg_s <= 1e-9:
        return 0.0
    return shaft_power_w / mass_flow_kg_s / J_PER_KWH


def motor_load_pct(shaft_power_w: float, screw_speed_rpm: float, rated_power_w: float, rated_speed_rpm: float) -> float:
    """Drive load as torque of the rated torque [%]: (P/ω)/(P_rated/ω_rated)·100."""
    if screw_speed_rpm < 1e-3:  # standing (a drive's speed decays towards, never to, zero)
        return 0.0
    torque_n_m = shaft_power_w / (2.0 * math.pi * screw_speed_rpm / 60.0)
    rated_torque_n_m = rated_power_w / (2.0 * math.pi * rated_speed_rpm / 60.0)
    return 100.0 * torque_n_m / rated_torque_n_m
