"""Recipes: list, get, create, edit drafts, validate, release (e-signatures), obsolete, diff."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from controller.api import auth, passwords
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R404, R409, R413, R415, R422_RECIPE
from controller.api.recipe_upload import RecipeUpload, new_recipe_upload, openapi_body, recipe_text_upload
from controller.api.schemas import (
    NAME_PATTERN,
    ErrorResponse,
    ProductionReleaseRequest,
    RecipeDiff,
    RecipeDraftUpdate,
    RecipeErrorOut,
    RecipeSummary,
    RecipeText,
    RecipeVersionOut,
    RecipeVersionSummary,
    SignatureOut,
    SignatureRequest,
    ValidationResult,
)
from controller.api.validation import check_recipe_id, compile_recipe_text, header_field
from controller.recipe import RecipeError, RecipeInvalid
from controller.store import Recipe, RecipeVersion, User, audit, recipes

router = APIRouter(prefix="/recipes", tags=["recipes"])

RecipeId = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN, description="Recipe id")]
Version = Annotated[int, Path(ge=1, le=2_000_000_000, description="Version number")]
R403_SIGN = {403: {"model": ErrorResponse, "description": "Role too low, signer's user name or password wrong, or "
                                                          "signer may not approve (an editor of the version, an admin, "
                                                          "an account an admin created lately)"}}


def _validator(text: str) -> None:
    compile_recipe_text(text)


def _out(v: RecipeVersion, session: Session) -> RecipeVersionOut:
    signatures = []
    for s in sorted(v.signatures, key=lambda s: s.id):
        signer = session.get(User, s.user_id)
        username = signer.username if signer else f"user {s.user_id}"
        signatures.append(SignatureOut(username=username, full_name=s.full_name or username, meaning=s.meaning,
                                       reason=s.reason, signed_at=s.signed_at, content_sha256=s.content_sha256))
    return RecipeVersionOut(
        recipe_id=v.recipe.recipe_id, version=v.version, state=v.state, yaml_text=v.yaml_text,
        content_sha256=v.content_sha256, author=v.author, last_modified_by=v.last_modified_by,
        editors=recipes.editors_of(v), created_at=v.created_at, updated_at=v.updated_at, comment=v.comment,
        released_for_line=v.released_for_line, signatures=signatures,
    )


def _errors(findings: list[RecipeError]) -> list[RecipeErrorOut]:
    return [RecipeErrorOut(field=e.field, rule=e.rule, message=e.message, severity=e.severity) for e in findings]


@router.get("", response_model=list[RecipeSummary], summary="List recipes and their versions", responses=AUTH)
def list_recipes(_: auth.CurrentUser = Depends(auth.viewer),
                 session: Session = Depends(db_session)) -> list[RecipeSummary]:
    rows = session.execute(select(Recipe).options(selectinload(Recipe.versions)).order_by(Recipe.recipe_id)).scalars()
    return [
        RecipeSummary(recipe_id=r.recipe_id, versions=[
            RecipeVersionSummary(version=v.version, state=v.state, author=v.author, updated_at=v.updated_at)
            for v in sorted(r.versions, key=lambda v: v.version)])
        for r in rows
    ]


@router.post("/validate", response_model=ValidationResult, summary="Validate recipe text (as `poreline validate`): "
             "JSON, a YAML body or a file", responses=AUTH | R413 | R415 | R422_RECIPE,
             openapi_extra=openapi_body(RecipeDraftUpdate))
def validate(_: auth.CurrentUser = Depends(auth.viewer),
             body: RecipeUpload = Depends(recipe_text_upload)) -> ValidationResult:
    try:
        _, warnings = compile_recipe_text(body.yaml_text)
    except RecipeInvalid as exc:
        return ValidationResult(valid=False, errors=_errors(exc.errors), warnings=_errors(exc.warnings))
    return ValidationResult(valid=True, errors=[], warnings=_errors(warnings))


@router.post("", response_model=RecipeVersionOut, status_code=201,
             summary="Create a draft: a new recipe, or a new version of an existing one (id from header.id); "
             "JSON, a YAML body or a file", responses=AUTH | R413 | R415 | R422_RECIPE,
             openapi_extra=openapi_body(RecipeText))
def create_draft(user: auth.CurrentUser = Depends(auth.engineer), body: RecipeUpload = Depends(new_recipe_upload),
                 session: Session = Depends(db_session)) -> RecipeVersionOut:
    recipe_id = header_field(body.yaml_text, "id")
    if not isinstance(recipe_id, str) or not recipe_id.strip() or len(recipe_id) > 100:
        compile_recipe_text(body.yaml_text)  # a text that cannot be read gets its own errors (YAML syntax...)
        raise RecipeInvalid([RecipeError("header.id", "API.recipe_id", "header.id must be a string of 1-100 characters")])
    version = recipes.create_version(session, recipe_id, body.yaml_text, user.username,
                                     comment=body.comment, validator=_validator)
    session.commit()
    return _out(version, session)


@router.get("/{recipe_id}/versions/{version}", response_model=RecipeVersionOut, summary="One recipe version",
            responses=AUTH | R404)
def get_version(recipe_id: RecipeId, version: Version, _: auth.CurrentUser = Depends(auth.viewer),
                session: Session = Depends(db_session)) -> RecipeVersionOut:
    return _out(recipes.get_version(session, recipe_id, version), session)


@router.put("/{recipe_id}/versions/{version}", response_model=RecipeVersionOut,
            summary="Replace the text of a draft (released versions are immutable: 409); JSON, a YAML body or a file",
            responses=AUTH | R404 | R409 | R413 | R415 | R422_RECIPE, openapi_extra=openapi_body(RecipeDraftUpdate))
def update_draft(recipe_id: RecipeId, version: Version, user: auth.CurrentUser = Depends(auth.engineer),
                 body: RecipeUpload = Depends(recipe_text_upload),
                 session: Session = Depends(db_session)) -> RecipeVersionOut:
    recipes.get_version(session, recipe_id, version)  # 404 before validating the text
    check_recipe_id(body.yaml_text, recipe_id)
    updated = recipes.update_draft(session, recipe_id, version, body.yaml_text, user.username, validator=_validator)
    session.commit()
    return _out(updated, session)


def _signer(session: Session, user: auth.CurrentUser, password: str) -> User:
    return passwords.check_signature(session, user, password)  # throttled, counted toward lockout, audited


def _signed_by(session: Session, user: auth.CurrentUser, body: SignatureRequest, target: RecipeVersion,
               meaning: str) -> User:
    """The signer, once they re-entered their own user name and their password. A refusal is
    audited (with the user name given, never the password) before the 403."""
    subject = f"recipe {target.recipe.recipe_id} v{target.version}"
    if body.username != user.username:
        why = "username: the user name entered is not the logged-in user's; sign with your own user name"
    else:
        try:
            return _signer(session, user, body.password)
        except HTTPException as exc:
            if exc.status_code != status.HTTP_403_FORBIDDEN:
                raise
            why = str(exc.detail)
    audit.append(session, user.username, "recipe.signature_refused", subject,
                 {"meaning": meaning, "username_entered": body.username, "why": why})
    session.commit()
    raise HTTPException(status.HTTP_403_FORBIDDEN, why)


def _released(session: Session, recipe_id: str, version: int) -> RecipeVersionOut:
    session.commit()
    return _out(recipes.get_version(session, recipe_id, version), session)


@router.post("/{recipe_id}/versions/{version}/release-for-testing", response_model=RecipeVersionOut,
             summary="draft -> released_for_testing (signed: user name, password and reason)",
             responses=AUTH | R403_SIGN | R404 | R409 | R422_RECIPE)
def release_for_testing(recipe_id: RecipeId, version: Version, body: SignatureRequest,
                        user: auth.CurrentUser = Depends(auth.engineer),
                        session: Session = Depends(db_session)) -> RecipeVersionOut:
    target = recipes.get_version(session, recipe_id, version)
    signer = _signed_by(session, user, body, target, "released_for_testing")
    compile_recipe_text(target.yaml_text)  # only valid recipes are released
    recipes.release_for_testing(session, recipe_id, version, signer, body.reason)
    return _released(session, recipe_id, version)


@router.post("/{recipe_id}/versions/{version}/release-for-production", response_model=RecipeVersionOut,
             summary="released_for_testing -> released_for_production (approval), signed by an engineer who "
                     "did not write or edit the version, is not an admin, and whose account no admin created lately",
             responses=AUTH | R403_SIGN | R404 | R409 | R422_RECIPE)
def release_for_production(recipe_id: RecipeId, version: Version, body: ProductionReleaseRequest, request: Request,
                           user: auth.CurrentUser = Depends(auth.engineer),
                           session: Session = Depends(db_session)) -> RecipeVersionOut:
    target = recipes.get_version(session, recipe_id, version)
    signer = _signed_by(session, user, body, target, "released_for_production")
    compile_recipe_text(target.yaml_text)
    wait = timedelta(days=services(request).settings.admin_created_approval_wait_days)
    recipes.release_for_production(session, recipe_id, version, signer, body.reason, line_id=body.line_id,
                                   admin_created_wait=wait)
    return _released(session, recipe_id, version)


@router.post("/{recipe_id}/versions/{version}/obsolete", response_model=RecipeVersionOut,
             summary="Make a version obsolete (signed)", responses=AUTH | R403_SIGN | R404 | R409)
def obsolete(recipe_id: RecipeId, version: Version, body: SignatureRequest,
             user: auth.CurrentUser = Depends(auth.engineer),
             session: Session = Depends(db_session)) -> RecipeVersionOut:
    target = recipes.get_version(session, recipe_id, version)
    signer = _signed_by(session, user, body, target, "obsoleted")
    recipes.obsolete(session, recipe_id, version, signer, body.reason)
    return _released(session, recipe_id, version)


@router.get("/{recipe_id}/diff", response_model=RecipeDiff, summary="Unified diff of two versions",
            responses=AUTH | R404)
def diff(recipe_id: RecipeId,
         from_version: Annotated[int, Query(ge=1, le=2_000_000_000, description="Older version")],
         to_version: Annotated[int, Query(ge=1, le=2_000_000_000, description="Newer version")],
         _: auth.CurrentUser = Depends(auth.viewer), session: Session = Depends(db_session)) -> RecipeDiff:
    text = recipes.diff_versions(session, recipe_id, from_version, to_version)
    return RecipeDiff(recipe_id=recipe_id, from_version=from_version, to_version=to_version, diff=text)
