"""The casting line's estimates of the web after the baths and in the dryer: the solvent its
pores still hold after the wash, the water it brings into the dryer per m² and the latent
load that water puts on the dryer air.

One model of the process: the pure physics the simulator uses (``simulator.physics.extraction``,
``simulator.physics.dryer``, densities from ``simulator.physics.dope``), fed from the
measurements (line speed, wet-film gauge, bath temperatures and solvent analysers, the
dryer's moisture gauge) and the recipe's layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.lines.casting.recipe import DopeLayer
from drivers.definition import LineDefinition
from simulator.physics import bath, dope, dryer, extraction

RESIDUAL_SOLVENT = "wash_bath.residual_solvent_wt_pct"
WATER_LOAD = "dryer.water_load_g_m2"
LATENT_LOAD = "dryer.latent_load_kw"


@dataclass(frozen=True, slots=True)
class _Layer:
    solvent: str  # canonical name
    share_of_film: float  # of the total wet thickness (recipe)
    liquid_solvent_fraction: float  # solvent/(solvent + non-solvent) of the dope's liquid
    liquid_kg_m3: float  # the dope's liquid per m³ of wet film
    polymer_kg_m3: float  # the dope's polymer per m³ of wet film
    polymer_density_g_cm3: float


def _layer(layer: DopeLayer, share: float) -> _Layer:
    w_p = layer.polymer_wt_pct / 100.0
    w_ns = layer.non_solvent_wt_pct / 100.0
    w_s = 1.0 - w_p - w_ns
    polymer_g_ml = dope.POLYMER_DENSITY_G_CM3[dope.canonical_name(layer.polymer)]
    solvent = dope.canonical_name(layer.solvent)
    non_solvent_g_ml = (dope.NON_SOLVENTS[dope.canonical_name(layer.non_solvent)].density_g_cm3
                        if layer.non_solvent is not None else 1.0)
    density_kg_m3 = 1000.0 * dope.dope_density_g_cm3(w_p, w_ns, polymer_g_ml, dope.SOLVENT_DENSITY_G_CM3[solvent],
                                                     non_solvent_g_ml)
    return _Layer(solvent, share, w_s / (w_s + w_ns), density_kg_m3 * (1.0 - w_p), density_kg_m3 * w_p, polymer_g_ml)


@dataclass(slots=True)
class WebEstimator:
    """Residual solvent after the wash, water load and latent load of the dryer, every scan.

    Each layer's pore liquid (the dope's solvent and non-solvent) is exchanged for bath
    water towards the measured bath solvent fraction by Crank's sheet over the residence
    time on each bath's web path, at the bath's measured temperature; the layers of the
    gauge's wet film share it as in the recipe. The water load is the membrane's pores full
    of water (porosity ``extraction.MEMBRANE_POROSITY``) per m², the latent load what the
    dryer takes off down to the measured exit moisture."""

    layers: tuple[DopeLayer, ...]
    quench_path_m: float
    wash_path_m: float
    width_m: float
    _layers: tuple[_Layer, ...] = field(init=False)

    def __post_init__(self) -> None:
        total_um = sum(layer.wet_thickness_um for layer in self.layers)
        self._layers = tuple(_layer(layer, layer.wet_thickness_um / total_um) for layer in self.layers)

    @property
    def addresses(self) -> tuple[str, ...]:
        return (RESIDUAL_SOLVENT, WATER_LOAD, LATENT_LOAD)

    def update(self, image: dict[str, float], dt_s: float) -> None:
        speed_m_min = image.get("support_belt.line_speed_m_min", 0.0)
        thickness_um = image.get("casting_knife.wet_thickness_um", 0.0)
        if speed_m_min <= 0.01 or thickness_um <= 0.0:
            image[RESIDUAL_SOLVENT] = image[WATER_LOAD] = image[LATENT_LOAD] = 0.0
            return
        baths = (("quench_bath", self.quench_path_m), ("wash_bath", self.wash_path_m))
        liquid_kg_m2 = solvent_kg_m2 = water_kg_m2 = polymer_kg_m2 = 0.0
        for layer in self._layers:
            film_m = thickness_um * 1e-6 * layer.share_of_film
            solvent = layer.liquid_solvent_fraction
            for device, path_m in baths:
                diffusivity = extraction.effective_diffusivity_m2_s(
                    extraction.solvent_diffusivity_m2_s(layer.solvent, image.get(f"{device}.temperature_c", 20.0)),
                    extraction.MEMBRANE_POROSITY)
                remaining = extraction.remaining_fraction(path_m / speed_m_min * 60.0,
                                                          extraction.diffusion_time_s(thickness_um, diffusivity))
                bath_solvent = image.get(f"{device}.dmf_fraction_wt_pct", 0.0) / 100.0
                solvent = extraction.pore_solvent_out(solvent, bath_solvent, remaining)
            liquid_kg_m2 += layer.liquid_kg_m3 * film_m
            solvent_kg_m2 += layer.liquid_kg_m3 * film_m * solvent
            polymer = layer.polymer_kg_m3 * film_m
            polymer_kg_m2 += polymer
            water_kg_m2 += polymer * dryer.wet_membrane_moisture_dry_basis(extraction.MEMBRANE_POROSITY,
                                                                           layer.polymer_density_g_cm3)
        moisture_pct = min(max(image.get("dryer.moisture_out_pct", 0.0), 0.0), 99.0)
        left_kg_m2 = polymer_kg_m2 * moisture_pct / (100.0 - moisture_pct)  # X = m/(100 - m), dry basis
        evaporated_kg_s = max(water_kg_m2 - left_kg_m2, 0.0) * self.width_m * speed_m_min / 60.0
        image[RESIDUAL_SOLVENT] = 100.0 * solvent_kg_m2 / liquid_kg_m2
        image[WATER_LOAD] = 1000.0 * water_kg_m2
        image[LATENT_LOAD] = bath.evaporation_heat_w(evaporated_kg_s) / 1000.0


def web_estimators(layers: tuple[DopeLayer, ...], definition: LineDefinition) -> list[WebEstimator]:
    """The web estimator of a line that has both baths and a dryer (none otherwise)."""
    quench = definition.devices_of_kind("quench_bath")
    wash = definition.devices_of_kind("wash_bath")
    knife = definition.devices_of_kind("casting_knife")
    if not (quench and wash and knife and definition.devices_of_kind("dryer")):
        return []
    return [WebEstimator(layers, quench[0].equipment.get("web_path_m", 2.0), wash[0].equipment.get("web_path_m", 2.0),
                         knife[0].equipment.get("width_m", 0.3))]
