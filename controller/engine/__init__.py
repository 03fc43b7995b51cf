"""The scan-cycle engine: PackML states, alarms and interlocks, PID loops, ratio stations,
the loops' watch (frozen sensors, failed heaters) and the outputs' readback check, the
production tally and deviations, and the protocols it drives (soft sensors, the batch-record writer)."""

from controller.engine.deviation import ProductionDeviation
from controller.engine.loop_watch import LoopWatch, WatchedLoop
from controller.engine.production import ProductionTally, ProductQuantity
from controller.engine.recording import RunRecorder
from controller.engine.scan import Engine, EngineStatus, FaceplateRefused, LoopFaceplate, StepLogEntry
from controller.engine.soft_sensors import RecipeExtensions, SoftSensor
from controller.engine.states import Command, CommandRejected, UnitState

__all__ = ["Command", "CommandRejected", "Engine", "EngineStatus", "FaceplateRefused", "LoopFaceplate",
           "LoopWatch", "ProductQuantity", "ProductionDeviation",
           "ProductionTally", "RecipeExtensions", "RunRecorder", "SoftSensor", "StepLogEntry", "UnitState", "WatchedLoop"]
