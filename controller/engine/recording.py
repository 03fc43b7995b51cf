"""What the engine needs from a batch-record writer (``controller.store.BatchRecorder``
implements it). A protocol keeps the scan cycle free of any database import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class RunRecorder(Protocol):
    def start_run(
        self,
        recipe_id: str,
        recipe_version: int,
        line_kind: str,
        parameters: Mapping[str, Any],
        operator: str,
        simulated: bool,
        *,
        line_id: str,
    ) -> int: ...

    def log_step_started(self, run_id: int, index: int, name: str, t_s: float) -> None: ...

    def log_step_ended(self, run_id: int, index: int, t_s: float, outcome: str) -> None: ...

    def log_command(
        self, run_id: int, command: str, user: str, t_s: float, accepted: bool, reason: str
    ) -> None: ...

    def log_alarm(  # run_id None: an alarm raised between runs
        self, run_id: int | None, alarm_id: str, message: str, priority: int, state: str, t_s: float,
        *, line_id: str, user: str | None = None, note: str | None = None, shelved_until_t_s: float | None = None,
    ) -> None: ...

    def add_samples(
        self, run_id: int, t_s: float, samples: list[tuple[str, float | None, str]]
    ) -> None:
        """One scan's samples: (tag, value, quality) each."""
        ...

    def log_deviation(  # production with outputs forced safe (controller.engine.deviation)
        self, run_id: int, started_t_s: float, ended_t_s: float, alarm_ids: list[str], outputs: list[str]
    ) -> None: ...

    def record_quality(self, run_id: int, quality: dict[str, Any]) -> None:
        """The product against the recipe's specification (controller.engine.specification)."""
        ...

    def flush(self) -> None: ...

    def end_run(self, run_id: int, final_state: str, t_s: float) -> None: ...
