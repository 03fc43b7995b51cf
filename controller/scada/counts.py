"""What the runtime's runs produced, as SCADA counts it (PackML ProdProcessedCount, the
Modbus block's production count): the line kind's product quantity (metres cast, kg
extruded) of the current run, and accumulated over the runs since the runtime started.

Call :meth:`ProductCounter.update` after every scan with the runtime's engine (a new run
gets a new engine: the previous run's quantity is then added to the accumulation)."""

from __future__ import annotations

from controller.engine.production import ProductionTally, ProductQuantity
from controller.engine.scan import Engine
from controller.lines import LineKind


class ProductCounter:
    def __init__(self, kind: LineKind) -> None:
        self._kind = kind
        self._engine: Engine | None = None
        self._tally = ProductionTally(kind.summary_tags)
        self.accumulated = 0.0  # product of the runs before the current engine's, in the kind's unit

    def update(self, engine: Engine) -> bool:
        """Account one scan; True when ``engine`` is a new one (a run started or the line was rebuilt)."""
        new = engine is not self._engine
        if new:
            if self._engine is not None and self._engine.run_id is not None:
                self.accumulated += self.quantity(self._engine).value
            self._engine = engine
            self._tally = ProductionTally(self._kind.summary_tags)
        self._tally.add(engine.clock.now_s(), engine.state, engine.step, engine.image)
        return new

    def quantity(self, engine: Engine) -> ProductQuantity:
        """The product of ``engine``'s run so far (meaningful while it has a run)."""
        return self._kind.product_quantity(self._tally.means(), self._tally.duration_s, engine.image)

    def current(self, engine: Engine) -> ProductQuantity | None:
        """The current run's product; None without a run."""
        return self.quantity(engine) if engine.run_id is not None else None
