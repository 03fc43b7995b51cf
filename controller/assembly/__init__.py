"""Building a line: plant files (which transport reaches which device) and the one
assembly point that turns (line kind or plant file, recipe, clock, recorder) into an engine."""

from controller.assembly.line import AssembledLine, build_line, checked_kind, resolve_kind, simulated_plant
from controller.assembly.plant_file import PlantConfigError, load_plant_config

__all__ = ["AssembledLine", "PlantConfigError", "build_line", "checked_kind", "load_plant_config", "resolve_kind",
           "simulated_plant"]
