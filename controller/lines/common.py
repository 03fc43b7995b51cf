"""Equipment figures shared by several line kinds' controller configurations."""

from __future__ import annotations

# The controller's planning figure for its gear pumps (dope and melt pumps alike): Zenith
# gives 97-99.5 % volumetric efficiency at rated conditions (PHYSICS.md, Pumps). The
# compiler turns flows into pump speeds with it and the soft sensors speeds into flows;
# the simulator's pumps have their own, slightly different efficiencies (model mismatch,
# as on a real line).
GEAR_PUMP_VOLUMETRIC_EFFICIENCY: float = 0.98
