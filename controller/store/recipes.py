"""Recipe versions and their release workflow.

States: ``draft`` -> ``released_for_testing`` -> ``released_for_production`` ->
``obsolete`` (any non-obsolete version may be made obsolete).

* Only drafts are editable.  Changing a released version raises
  :class:`ImmutableVersionError` (ORM validator + database trigger); editing a
  released recipe with :func:`edit_recipe` creates a new draft version.
* Every release-state change is an electronic signature (who, when, meaning,
  reason) by an active user with role ``engineer`` or above, and an audit entry.
* Each signature keeps the signer's printed name (``users.full_name``, else the
  user name) and the sha256 of the text signed; a run refuses a text whose hash
  differs from the one signed (:func:`unsigned_content`).
* Releasing for production (approval) needs a second person: the signer must not
  be any of the version's editors (``recipe_versions.editors``: everyone who created
  or edited it), must not be an admin, and must not hold an account an admin created
  less than ``admin_created_wait`` ago (default 30 days) (:class:`SameAuthorError`,
  :class:`SignatureRequiredError`).  The caller (REST API) is responsible for
  re-authenticating the signer (user name and password for each signature).

Content validation is not done here: pass ``validator`` (a callable that raises
on invalid yaml text) to check content before it is stored.  Functions flush but
never commit.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from controller.store import audit
from controller.store.errors import (
    ImmutableVersionError,
    InvalidTransitionError,
    NotFoundError,
    SameAuthorError,
    SignatureRequiredError,
)
from controller.store.models import Recipe, RecipeState, RecipeVersion, Role, Signature, User, utc_now
from controller.store.users import role_allows

__all__ = [
    "ADMIN_CREATED_WAIT",
    "ImmutableVersionError",
    "InvalidTransitionError",
    "SameAuthorError",
    "SignatureRequiredError",
    "Validator",
    "content_sha256",
    "create_version",
    "diff_versions",
    "edit_recipe",
    "editors_of",
    "get_version",
    "list_versions",
    "obsolete",
    "production_version",
    "release_for_production",
    "release_for_testing",
    "unsigned_content",
    "update_draft",
]

Validator = Callable[[str], object]
SIGNING_ROLE = Role.ENGINEER
# an account an admin created may approve (release for production) only this long after its creation
ADMIN_CREATED_WAIT = timedelta(days=30)


def content_sha256(yaml_text: str) -> str:
    return hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()


def _subject(version: RecipeVersion) -> str:
    return f"recipe {version.recipe.recipe_id} v{version.version}"


def editors_of(version: RecipeVersion) -> list[str]:
    """Everyone who created or edited ``version``, in the order they first wrote it."""
    names = [version.author, *(version.editors or []), version.last_modified_by]
    return list(dict.fromkeys(names))


def _get_recipe(session: Session, recipe_id: str) -> Recipe | None:
    return session.execute(select(Recipe).where(Recipe.recipe_id == recipe_id)).scalar_one_or_none()


def get_version(session: Session, recipe_id: str, version: int | None = None) -> RecipeVersion:
    """One version of a recipe (the newest when ``version`` is None)."""
    stmt = (
        select(RecipeVersion)
        .join(Recipe)
        .where(Recipe.recipe_id == recipe_id)
        .options(selectinload(RecipeVersion.signatures))
    )
    if version is None:
        stmt = stmt.order_by(RecipeVersion.version.desc()).limit(1)
    else:
        stmt = stmt.where(RecipeVersion.version == version)
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        what = f"recipe {recipe_id!r}" if version is None else f"recipe {recipe_id!r} version {version}"
        raise NotFoundError(f"{what} not found")
    return found


def list_versions(session: Session, recipe_id: str) -> Sequence[RecipeVersion]:
    return (
        session.execute(
            select(RecipeVersion)
            .join(Recipe)
            .where(Recipe.recipe_id == recipe_id)
            .order_by(RecipeVersion.version)
        )
        .scalars()
        .all()
    )


def production_version(session: Session, recipe_id: str, line_id: str | None = None) -> RecipeVersion | None:
    """The newest version released for production (on ``line_id``: for that line or for
    every line), if any."""
    on_line = [] if line_id is None else [or_(RecipeVersion.released_for_line.is_(None),
                                              RecipeVersion.released_for_line == line_id)]
    return session.execute(
        select(RecipeVersion)
        .join(Recipe)
        .where(
            Recipe.recipe_id == recipe_id,
            RecipeVersion.state == RecipeState.RELEASED_FOR_PRODUCTION.value,
            *on_line,
        )
        .order_by(RecipeVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def create_version(
    session: Session,
    recipe_id: str,
    yaml_text: str,
    author: str,
    *,
    comment: str | None = None,
    validator: Validator | None = None,
) -> RecipeVersion:
    """Store ``yaml_text`` as a new draft version (version = newest + 1)."""
    if validator is not None:
        validator(yaml_text)
    recipe = _get_recipe(session, recipe_id)
    if recipe is None:
        recipe = Recipe(recipe_id=recipe_id)
        session.add(recipe)
        session.flush()
    newest = session.execute(
        select(func.max(RecipeVersion.version)).where(RecipeVersion.recipe_pk == recipe.id)
    ).scalar_one()
    now = utc_now()
    version = RecipeVersion(
        recipe=recipe,
        version=(newest or 0) + 1,
        state=RecipeState.DRAFT.value,
        yaml_text=yaml_text,
        content_sha256=content_sha256(yaml_text),
        author=author,
        last_modified_by=author,
        editors=[author],
        created_at=now,
        updated_at=now,
        comment=comment,
    )
    session.add(version)
    session.flush()
    audit.append(
        session, author, "recipe.version_created", _subject(version), {"sha256": version.content_sha256}
    )
    return version


def update_draft(
    session: Session,
    recipe_id: str,
    version: int,
    yaml_text: str,
    editor: str,
    *,
    validator: Validator | None = None,
) -> RecipeVersion:
    """Replace the content of a draft; released versions raise :class:`ImmutableVersionError`."""
    target = get_version(session, recipe_id, version)
    if target.state != RecipeState.DRAFT.value:
        raise ImmutableVersionError(
            f"recipe {recipe_id!r} version {version} is {target.state} and immutable; "
            "edit the recipe to create a new draft version"
        )
    if validator is not None:
        validator(yaml_text)
    target.yaml_text = yaml_text
    target.content_sha256 = content_sha256(yaml_text)
    target.last_modified_by = editor
    target.editors = editors_of(target)  # the editor is now the last one: added if new
    target.updated_at = utc_now()
    session.flush()
    audit.append(session, editor, "recipe.draft_updated", _subject(target), {"sha256": target.content_sha256})
    return target


def edit_recipe(
    session: Session,
    recipe_id: str,
    yaml_text: str,
    editor: str,
    *,
    comment: str | None = None,
    validator: Validator | None = None,
) -> RecipeVersion:
    """Edit a recipe: update its newest version if that is a draft, otherwise
    (newest is released or obsolete, or the recipe is new) create a new draft."""
    try:
        newest = get_version(session, recipe_id)
    except NotFoundError:
        newest = None
    if newest is not None and newest.state == RecipeState.DRAFT.value:
        return update_draft(session, recipe_id, newest.version, yaml_text, editor, validator=validator)
    return create_version(session, recipe_id, yaml_text, editor, comment=comment, validator=validator)


def _require_signer(signer: User, action: str) -> None:
    if not signer.active:
        raise SignatureRequiredError(f"{action} requires the signature of an active user; {signer.username} is inactive")
    if not role_allows(signer.role, SIGNING_ROLE):
        raise SignatureRequiredError(
            f"{action} requires the signature of a user with role {SIGNING_ROLE.value} or above; "
            f"{signer.username} has role {signer.role}"
        )


def _require_approver(signer: User, target: RecipeVersion, admin_created_wait: timedelta, now: datetime) -> None:
    """Separation of duties for an approval (release for production)."""
    what = f"recipe {target.recipe.recipe_id!r} version {target.version}"
    if signer.username in editors_of(target):
        raise SameAuthorError(
            f"{signer.username} wrote or edited {what} and cannot release it for production; "
            "another engineer must sign"
        )
    if signer.role == Role.ADMIN.value:
        raise SignatureRequiredError(
            f"{signer.username} is an admin and may not approve recipes for production; "
            "an engineer who did not write the version must sign"
        )
    if signer.created_by is not None and now < signer.created_at + admin_created_wait:
        raise SignatureRequiredError(
            f"{signer.username}'s account was created by admin {signer.created_by} on "
            f"{signer.created_at:%Y-%m-%d} and may approve for production only from "
            f"{signer.created_at + admin_created_wait:%Y-%m-%d}; another engineer must sign"
        )


def _require_intact(target: RecipeVersion) -> None:
    """Refuse to sign a text that no longer matches the hash stored with it (written behind
    the application's back)."""
    if content_sha256(target.yaml_text) != target.content_sha256:
        raise SignatureRequiredError(
            f"recipe {target.recipe.recipe_id!r} version {target.version}: its text does not match its stored "
            "sha256 (changed outside Poreline); do not sign it, ask the administrator to check the database"
        )


def _sign(session: Session, version: RecipeVersion, signer: User, meaning: str, reason: str,
          details: dict[str, str] | None = None) -> Signature:
    if not reason or not reason.strip():
        raise SignatureRequiredError(f"a signature with meaning {meaning!r} needs a reason")
    signed_hash = content_sha256(version.yaml_text)
    full_name = signer.full_name or signer.username
    signature = Signature(
        recipe_version=version, user_id=signer.id, meaning=meaning, reason=reason, signed_at=utc_now(),
        full_name=full_name, content_sha256=signed_hash,
    )
    session.add(signature)
    session.flush()
    audit.append(
        session,
        signer.username,
        f"recipe.{meaning}",
        _subject(version),
        {"sha256": signed_hash, "reason": reason, "signature_id": signature.id, "full_name": full_name,
         **(details or {})},
    )
    return signature


def _transition(
    session: Session,
    version: RecipeVersion,
    allowed_from: tuple[RecipeState, ...],
    to: RecipeState,
) -> None:
    if version.state not in {s.value for s in allowed_from}:
        raise InvalidTransitionError(
            f"recipe {version.recipe.recipe_id!r} version {version.version} is {version.state}; "
            f"only {' or '.join(s.value for s in allowed_from)} versions can become {to.value}"
        )
    version.state = to.value
    session.flush()


def release_for_testing(
    session: Session, recipe_id: str, version: int, signer: User, reason: str
) -> Signature:
    """draft -> released_for_testing (the author may sign this one)."""
    target = get_version(session, recipe_id, version)
    _require_signer(signer, "releasing a recipe for testing")
    _require_intact(target)
    _transition(session, target, (RecipeState.DRAFT,), RecipeState.RELEASED_FOR_TESTING)
    return _sign(session, target, signer, RecipeState.RELEASED_FOR_TESTING.value, reason)


def release_for_production(
    session: Session,
    recipe_id: str,
    version: int,
    signer: User,
    reason: str,
    *,
    supersede_previous: bool = True,
    line_id: str | None = None,
    admin_created_wait: timedelta = ADMIN_CREATED_WAIT,
    now: datetime | None = None,
) -> Signature:
    """released_for_testing -> released_for_production (approval), signed by a second engineer:
    neither one of the version's editors, nor an admin, nor an account an admin created less
    than ``admin_created_wait`` before ``now`` (default: the current time).

    ``line_id``: the one line the release is for (a run on another line is refused);
    None: every line of the recipe's kind. With ``supersede_previous`` (default) earlier
    production versions of the same recipe for the same lines become obsolete (a release
    for every line supersedes them all), so operators get one approved version per line.
    """
    target = get_version(session, recipe_id, version)
    _require_signer(signer, "releasing a recipe for production")
    _require_approver(signer, target, admin_created_wait, now or utc_now())
    _require_intact(target)
    _transition(session, target, (RecipeState.RELEASED_FOR_TESTING,), RecipeState.RELEASED_FOR_PRODUCTION)
    target.released_for_line = line_id
    signature = _sign(session, target, signer, RecipeState.RELEASED_FOR_PRODUCTION.value, reason,
                      {"released_for_line": line_id} if line_id is not None else None)
    if supersede_previous:
        same_lines = [] if line_id is None else [RecipeVersion.released_for_line == line_id]
        older = session.execute(
            select(RecipeVersion).where(
                RecipeVersion.recipe_pk == target.recipe_pk,
                RecipeVersion.state == RecipeState.RELEASED_FOR_PRODUCTION.value,
                RecipeVersion.id != target.id,
                *same_lines,
            )
        ).scalars()
        for previous in older:
            _transition(session, previous, (RecipeState.RELEASED_FOR_PRODUCTION,), RecipeState.OBSOLETE)
            _sign(session, previous, signer, "obsoleted", f"superseded by version {target.version}")
    return signature


def obsolete(session: Session, recipe_id: str, version: int, signer: User, reason: str) -> Signature:
    """Any non-obsolete version -> obsolete (revoked; can no longer be run)."""
    target = get_version(session, recipe_id, version)
    _require_signer(signer, "making a recipe obsolete")
    _transition(
        session,
        target,
        (RecipeState.DRAFT, RecipeState.RELEASED_FOR_TESTING, RecipeState.RELEASED_FOR_PRODUCTION),
        RecipeState.OBSOLETE,
    )
    return _sign(session, target, signer, "obsoleted", reason)


def unsigned_content(version: RecipeVersion) -> str | None:
    """Why ``version``'s text may not run as released: its sha256 differs from the hash signed
    by its newest release signature (the one of its current state), or there is no such
    signature. None: the text is the one signed."""
    what = f"recipe {version.recipe.recipe_id!r} version {version.version}"
    signed = [s for s in version.signatures if s.meaning == version.state]
    if not signed:
        return f"{what} is {version.state} but has no {version.state} signature; release it again"
    signature = max(signed, key=lambda s: s.id)
    actual = content_sha256(version.yaml_text)
    if signature.content_sha256 != actual:
        return (
            f"{what}: the text's sha256 {actual[:12]}... differs from the {str(signature.content_sha256)[:12]}... "
            f"signed for {version.state} on {signature.signed_at:%Y-%m-%d %H:%M} UTC; the stored text was changed "
            "outside Poreline: do not run it, release a new version and ask the administrator to check the database"
        )
    return None


def diff_versions(session: Session, recipe_id: str, from_version: int, to_version: int) -> str:
    """Unified diff of the yaml text of two versions ('' when identical)."""
    a = get_version(session, recipe_id, from_version)
    b = get_version(session, recipe_id, to_version)
    return "".join(
        difflib.unified_diff(
            a.yaml_text.splitlines(keepends=True),
            b.yaml_text.splitlines(keepends=True),
            fromfile=f"{recipe_id} v{from_version} ({a.state})",
            tofile=f"{recipe_id} v{to_version} ({b.state})",
        )
    )
