"""The scan-cycle engine: PackML states, alarms and interlocks, PID loops, ratio stations,
and the protocols it drives (soft sensors, the batch-record writer)."""

from controller.engine.scan import Engine, EngineStatus, StepLogEntry

__all__ = ["Engine", "EngineStatus", "StepLogEntry"]
