"""Which recipe a PackML Start runs: a released version, selected beforehand.

SCADA selects the product with the unit's ``SelectRecipe(RecipeId, Version)`` method
(Poreline's namespace; PackML's ``SetProduct`` carries only an Int32 product id, which a
recipe id is not). ``Version`` 0 means the newest version released for production for this
line. The selection is checked as the API checks a start (operators: released for
production; engineers and admins also released for testing; a version released for
another line is refused; the text must be the one its release signed), compiled, and
shown in ``Status.Product`` and ``Status.Parameter``. ``Start`` runs the selected version
after checking it once more (it may have been made obsolete since); the selection stays
for the next run until another is selected.

An engineer may adjust the selection's formula with ``SetParameter`` (a control recipe,
ISA-88: only parameters the master recipe gives limits, within them;
:mod:`controller.recipe.adjust`): the adjusted text is compiled as the API compiles it, the
adjustments stay with the selection until it changes, and the run's batch record keeps
each master value beside the value run.

Everything here reads the database and compiles, so it runs in a worker thread
(``asyncio.to_thread``), never on the scan loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from controller.lines import compile_text, kind_named
from controller.recipe import RecipeInvalid
from controller.recipe.adjust import Adjustment, AdjustmentRefused, adjusted_text
from controller.recipe.document import to_document
from controller.store import RecipeState, create_engine_for, recipes
from controller.store.errors import NotFoundError
from controller.store.users import role_allows


class RecipeRefused(Exception):
    """A selection or a start that may not run; ``status``: the OPC UA status name to answer."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class PreparedRecipe:
    recipe_id: str
    version: int
    state: str
    released_for_line: str | None
    sha256: str
    product: str  # the recipe's product name
    parameters: tuple[tuple[str, float, str], ...]  # (name, value, unit) of the formula
    document: dict[str, Any] = dataclasses.field(repr=False)
    adjustments: tuple[Adjustment, ...] = ()  # the control recipe's changes to the master formula

    def adjusted_values(self) -> dict[str, float]:
        return {a.name: a.value for a in self.adjustments}


class RecipeSource:
    def __init__(self, database_url: str, line_id: str) -> None:
        self._db = create_engine_for(database_url)
        self._line_id = line_id

    def close(self) -> None:
        self._db.dispose()

    def prepare(self, recipe_id: str, version: int, role: str, previous: PreparedRecipe | None = None,
                adjustments: dict[str, float] | None = None) -> PreparedRecipe:
        """The version (0: the newest released for production on this line) checked for
        ``role`` and compiled with the control recipe's ``adjustments``; ``previous`` is
        reused when its text and adjustments are unchanged."""
        wanted = adjustments or {}
        with Session(self._db) as session:
            if version == 0:
                found = recipes.production_version(session, recipe_id, self._line_id)
                if found is None:
                    raise RecipeRefused("BadNotFound", f"recipe {recipe_id!r} has no version released for production "
                                                       f"on {self._line_id}")
            else:
                try:
                    found = recipes.get_version(session, recipe_id, version)
                except NotFoundError as exc:
                    raise RecipeRefused("BadNotFound", str(exc)) from None
            what = f"recipe {recipe_id!r} version {found.version}"
            if found.state == RecipeState.RELEASED_FOR_TESTING.value:
                if not role_allows(role, "engineer"):
                    raise RecipeRefused("BadUserAccessDenied", f"{what} is released for testing: only engineers may "
                                                               "run it; operators need one released for production")
            elif found.state != RecipeState.RELEASED_FOR_PRODUCTION.value:
                raise RecipeRefused("BadInvalidState", f"{what} is {found.state}; release it first")
            if found.released_for_line is not None and found.released_for_line != self._line_id:
                raise RecipeRefused("BadInvalidState", f"{what} is released for production on "
                                                       f"{found.released_for_line}, not on {self._line_id}")
            tampered = recipes.unsigned_content(found)
            if tampered is not None:
                raise RecipeRefused("BadInvalidState", tampered)
            sha = recipes.content_sha256(found.yaml_text)
            state, line, text, number = found.state, found.released_for_line, found.yaml_text, found.version
        if previous is not None and (previous.recipe_id, previous.version, previous.sha256) == (recipe_id, number, sha) \
                and previous.adjusted_values() == wanted:
            return dataclasses.replace(previous, state=state, released_for_line=line)
        made: tuple[Adjustment, ...] = ()
        if wanted:
            try:
                text, made = adjusted_text(text, wanted)
            except AdjustmentRefused as exc:
                raise RecipeRefused("BadInvalidArgument", f"{what}: {exc}") from None
        try:
            compiled, _warnings = compile_text(text)
        except RecipeInvalid as exc:
            limits = bool(made) and any(e.rule == "param.limits" for e in exc.errors)
            raise RecipeRefused("BadOutOfRange" if limits else "BadInvalidArgument",
                                f"{what}{' adjusted' if made else ''} does not compile: {exc}") from None
        compiled = dataclasses.replace(compiled, header=dataclasses.replace(compiled.header, version=number))
        document = to_document(compiled, kind_named(compiled.header.line_kind).block_document)
        parameters = tuple((name, float(p.value), p.unit) for name, p in compiled.parameters.items()
                           if isinstance(p.value, int | float))
        return PreparedRecipe(recipe_id, number, state, line, sha, compiled.header.product, parameters, document, made)
