"""The built-in casting line (seeds 000 and 003): devices, equipment data, derived tags."""

from __future__ import annotations

from controller.lines.casting import profiles as cp
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.profiles import derived

KIND = "casting"
LIFETIME_ESTIMATE = "dope lifetime estimate (controller.lines.casting.soft_sensors)"


def dope_vessel_derived_tags(vessel: str) -> tuple[DerivedTag, ...]:
    """What the dope-lifetime estimator computes for a titrated dope in ``vessel``."""
    return (
        DerivedTag(vessel, derived("metastable_life_used_pct", "percent", 0.0, 1.0e6,
                                   "Share of the titrated dope's metastable lifetime used (seed 000: it "
                                   "segregates at 100 % unless redispersed)"), LIFETIME_ESTIMATE),
        DerivedTag(vessel, derived("binodal_depth", "", -1.0, 1.0,
                                   "Depth of the dope past its binodal (cloud point) at the dope temperature, "
                                   "as a non-solvent mass-fraction difference; -1 where undefined"),
                   LIFETIME_ESTIMATE),
    )


PATH_ESTIMATE = "dope path temperature estimate (controller.lines.casting.soft_sensors)"


def knife_path_derived_tags(layer: int) -> tuple[DerivedTag, ...]:
    """What the dope-path estimator computes for layer ``layer``'s dope at the knife."""
    return (
        DerivedTag("casting_knife", derived(f"layer_{layer}_path_min_temperature_c", "degC", -50.0, 200.0,
                                            f"Coldest predicted dope temperature of layer {layer} from its vessel "
                                            "through pump, filter, feed line and applicator onto the support"),
                   PATH_ESTIMATE),
        DerivedTag("casting_knife", derived(f"layer_{layer}_binodal_depth", "", -1.0, 1.0,
                                            f"Depth of layer {layer}'s dope past its binodal at the coldest point of "
                                            "its path to the knife, in ln(w_ns/w_s) (dimensionless; the spinodal "
                                            "is at simulator.physics.dope.SPINODAL_DEPTH); -1 where undefined"),
                   PATH_ESTIMATE),
    )


QUALITY_ESTIMATE = "membrane quality estimate (controller.lines.casting.membrane_quality)"


def membrane_quality_derived_tags(layer: int) -> tuple[DerivedTag, ...]:
    """What the membrane-quality estimator computes for the membrane cast from layer ``layer``'s
    dope (seed 000; calibrated on Example VIII), for recipes' ``specification:`` blocks."""
    return (
        DerivedTag("casting_knife", derived(f"layer_{layer}_pore_diameter_nm", "nm", 0.0, 1.0e4,
                                            f"Estimated mean skin pore diameter of layer {layer}'s membrane, from its "
                                            "dope's depth past the binodal at the knife"), QUALITY_ESTIMATE),
        DerivedTag("casting_knife", derived(f"layer_{layer}_water_permeability_cm_min_psi", "cm/min/psi", 0.0, 100.0,
                                            f"Estimated water permeability of layer {layer}'s membrane (p = K d, "
                                            "seed 000)"), QUALITY_ESTIMATE),
        DerivedTag("casting_knife", derived(f"layer_{layer}_bubble_point_psi", "psi", 0.0, 1.0e5,
                                            f"Estimated water bubble point of layer {layer}'s membrane (Laplace on "
                                            "its largest skin pore)"), QUALITY_ESTIMATE),
    )


WEB_ESTIMATE = "washed and dried web estimate (controller.lines.casting.web_estimates)"


def web_derived_tags() -> tuple[DerivedTag, ...]:
    """What the web estimator computes for the film after the wash and in the dryer."""
    return (
        DerivedTag("wash_bath", derived("residual_solvent_wt_pct", "percent", 0.0, 100.0,
                                        "Predicted solvent in the liquid the membrane's pores carry out of the wash "
                                        "(exchange by diffusion over the quench and wash residence times)"),
                   WEB_ESTIMATE),
        DerivedTag("dryer", derived("water_load_g_m2", "g/m^2", 0.0, 1000.0,
                                    "Water the washed membrane brings into the dryer per m2 (pores full)"),
                   WEB_ESTIMATE),
        DerivedTag("dryer", derived("latent_load_kw", "kW", 0.0, 100.0,
                                    "Heat the dryer air gives to evaporate the web's water (water load less the "
                                    "measured exit moisture, times the web's area rate and the latent heat)"),
                   WEB_ESTIMATE),
    )


# Dope path equipment (heat-traced feed per layer, applicator). Dope-side conductances are
# used by the simulator and by the path estimator alike.
# assumption: pump head a ~6 kg block with a 200 W cartridge heater, ~10 W/K to ~5 cm3 of dope;
# filter housing ~8 kg with a 300 W band heater, ~15 W/K to ~100 cm3;
# feed line 3 m of 8 mm bore traced at 30 W/m; laminar Nu = 3.66 (Incropera, fully developed
# laminar flow, constant wall temperature) with k = 0.18 W/(m·K) (DMF, CRC Handbook) gives
# h = 82 W/(m2·K) over 0.075 m2: 6.2 W/K;
# applicator ~15 kg with 500 W, ~20 W/K to its ~50 cm3 manifold; support plate 1 kW.
PUMP_PATH_EQUIPMENT: dict[str, float] = {
    "head_heater_w": 200.0, "head_dope_ua_w_k": 10.0, "head_holdup_cm3": 5.0,
    "filter_heater_w": 300.0, "filter_dope_ua_w_k": 15.0, "filter_holdup_cm3": 100.0,
    "line_heater_w": 90.0, "line_dope_ua_w_k": 6.2, "line_holdup_cm3": 151.0,
}
# assumption: knife land 2 mm, bead pool 20 mm long behind the knife, edge dams 30 mm high;
# a lid over the slots and the bead pools (covered = 1: seed 003 claim 6 casts from an applicator
# "filled and covered"; the lid keeps air moisture off the dope before it reaches the bath).
KNIFE_EQUIPMENT: dict[str, float] = {
    "width_m": 0.3, "knife_land_mm": 2.0, "bead_length_mm": 20.0, "bead_height_max_mm": 30.0,
    "heater_w": 500.0, "dope_ua_w_k": 20.0, "holdup_cm3": 50.0, "covered": 1.0,
}
BELT_EQUIPMENT: dict[str, float] = {"plate_heater_w": 1000.0}
# Baths: 400 L each; the web's path through each (residence = path/speed) sets how much solvent
# the film gives off there (simulator.physics.extraction).
# assumption: quench path 2 m (~60 s at 2 m/min, the residence the issue-12 review measured);
# wash path 10 m, the web running over rollers in a serpentine (5 min at 2 m/min).
QUENCH_EQUIPMENT: dict[str, float] = {"volume_l": 400.0, "heater_power_kw": 12.0, "web_path_m": 2.0}
# Wash heater sized on the worst shipped recipe (Example VIII, production-8h): 30 degC wash water
# with 10 L/min of 15 degC fresh water: make-up 0.1663 kg/s x 4186 J/(kg K) x 15 K = 10.44 kW,
# walls 30 W/K x 10 K = 0.30 kW, surface evaporation 1 m2 by Carrier (ASHRAE) into 20 degC/50 %
# hall air 0.27 kW, less ~0.1 kW the web brings from the 40 degC quench: ~10.9 kW at steady
# state. assumption: heaters are sized ~1.3-1.5x the steady duty for warm-up and control
# headroom; 15 kW (the former 9 kW held only ~27 degC, issue 12).
WASH_EQUIPMENT: dict[str, float] = {"volume_l": 400.0, "heater_power_kw": 15.0, "web_path_m": 10.0}
# Dryer: exhaust air 0.1 kg/s (simulator assumption) takes 50 K x 0.1 kg/s x 1006 J/(kg K) = 5 kW
# at 70 degC; the latent load of the shipped recipes is 1.8-2.6 kW (44-63 g/min of water);
# 15 kW heater. assumption: air parallel to the web at 6 m/s (Geankoplis eq. 9.6-9 range,
# h ~ 60 W/(m2 K)) over an 8 m web path (serpentine hood): a 3 m, 90 s dryer leaves the
# Example VIII web at ~3.5 % moisture, 8 m dries every shipped recipe below 1 %.
DRYER_EQUIPMENT: dict[str, float] = {"heater_power_kw": 15.0, "length_m": 8.0, "air_velocity_m_s": 6.0}


def casting_line(layers: int = 2, name: str = "casting-1") -> LineDefinition:
    """The built-in pilot casting line: one dope vessel and one gear pump per layer,
    a multi-slot applicator, support belt, quench bath, wash bath and dryer.

    Equipment data (sources in PHYSICS.md unless noted):
    - dope pump 3.0 cm3/rev: pilot dope pumps are 0.6-3 cm3/rev; 0.3 m x 254 um at
      2 m/min needs 152 cm3/min, i.e. 51 rpm at 3 cm3/rev;
    - knife width 0.3 m: the PHYSICS.md worked example;
    - vessel charge 100 kg (8 h at 152 cm3/min is ~77 kg of dope), jacket 6 kW; bath 400 L with 12 kW of heaters; wash 400 L with
      15 kW (sized below); dryer 15 kW: pilot-scale assumptions.
    """
    devices: list[DeviceSpec] = []
    for layer in range(1, layers + 1):
        devices.append(DeviceSpec(f"dope_vessel_{layer}", cp.DOPE_VESSEL,
                                  {"charge_kg": 100.0, "jacket_power_kw": 6.0}))
    for layer in range(1, layers + 1):
        devices.append(DeviceSpec(f"dope_pump_{layer}", cp.DOPE_PUMP,
                                  {"displacement_cm3_rev": 3.0, "layer": float(layer), **PUMP_PATH_EQUIPMENT}))
    devices += [
        DeviceSpec("casting_knife", cp.casting_knife_profile(layers), dict(KNIFE_EQUIPMENT)),
        DeviceSpec("support_belt", cp.SUPPORT_BELT, dict(BELT_EQUIPMENT)),
        DeviceSpec("quench_bath", cp.QUENCH_BATH, dict(QUENCH_EQUIPMENT)),
        DeviceSpec("wash_bath", cp.WASH_BATH, dict(WASH_EQUIPMENT)),
        DeviceSpec("dryer", cp.DRYER, dict(DRYER_EQUIPMENT)),
    ]
    derived_tags = tuple(tag for spec in devices if spec.profile is cp.DOPE_VESSEL
                         for tag in dope_vessel_derived_tags(spec.name))
    derived_tags += tuple(tag for layer in range(1, layers + 1) for tag in knife_path_derived_tags(layer))
    derived_tags += web_derived_tags()
    derived_tags += tuple(tag for layer in range(1, layers + 1) for tag in membrane_quality_derived_tags(layer))
    return LineDefinition(kind=KIND, name=name, devices=tuple(devices), derived=derived_tags)


