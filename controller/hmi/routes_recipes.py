"""The recipe pages: the list, one version (formula and procedure), upload (a file or pasted
text; each validation error shown at the line of its field), release for testing and for
production with an e-signature (user name, password, meaning), and the diff of two versions.
Each action calls the function its REST route calls: the same validation, signature rules,
lockout and audit."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from controller.api import auth, routes_recipes
from controller.api.deps import services
from controller.api.recipe_upload import RecipeUpload
from controller.api.schemas import NAME_PATTERN, ProductionReleaseRequest, RecipeVersionOut, SignatureRequest
from controller.api.validation import compile_recipe_text
from controller.hmi import pages, recipe_text, session
from controller.hmi.pages import templates
from controller.hmi.routes import Csrf, Text, act
from controller.recipe import RecipeError, RecipeInvalid
from controller.recipe.limits import MAX_RECIPE_BYTES, RecipeTextError, decode_recipe_bytes, text_problem

router = APIRouter(include_in_schema=False)

RecipeId = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Version = Annotated[int, Path(ge=1, le=2_000_000_000)]
VersionQuery = Annotated[int, Query(ge=1, le=2_000_000_000)]
Release = Literal["testing", "production"]
# what each signature means, as the dialog states it before the signer signs
MEANINGS: dict[str, str] = {
    "testing": "Released for testing: I wrote or checked this version and it may be run by engineers on the line.",
    "production": "Released for production (approval): I reviewed this version and approve it for operators "
                  "to run in production.",
}


# ------------------------------------------------------------------ list and upload
async def _list_page(request: Request, user: auth.CurrentUser, message: str | None = None,
                     error: pages.Refusal | None = None, upload: dict[str, Any] | None = None) -> HTMLResponse:
    def read() -> list[Any]:
        with services(request).sessions() as db:
            return routes_recipes.list_recipes(user, db)

    ctx = pages.context(request, user, "recipes", message=message, error=error, recipes=await run_in_threadpool(read),
                        upload=upload or {})
    status_code = error.status_code if error is not None else 422 if upload and upload.get("errors") else 200
    page = templates.TemplateResponse(request, "recipes.html", ctx, status_code=status_code)
    if upload is not None:  # a refused upload: the address bar shows the list (htmx pushes a success's redirect)
        page.headers["HX-Push-Url"] = f"/hmi/recipes{pages.query(request)}"
    return page


@router.get("/hmi/recipes", response_class=HTMLResponse)
async def recipes(request: Request) -> HTMLResponse:
    return await _list_page(request, await session.signed_in(request))


async def _uploaded_text(file: UploadFile | None, pasted: str) -> str:
    """The recipe text: the chosen file's (UTF-8), else the pasted text."""
    if file is not None and file.filename:
        data = await file.read(MAX_RECIPE_BYTES + 1)
        try:
            return decode_recipe_bytes(data)
        except RecipeTextError as exc:
            raise RecipeInvalid([RecipeError("", "recipe.text", str(exc))]) from None
    if not pasted.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "recipe: choose a YAML file or paste the recipe text")
    problem = text_problem(pasted)
    if problem is not None:
        raise RecipeInvalid([RecipeError("", "recipe.text", problem)])
    return pasted


@router.post("/hmi/recipes/upload", response_class=HTMLResponse)
async def upload(request: Request, file: Annotated[UploadFile | None, File()] = None,
                 yaml_text: Annotated[str, Form(max_length=MAX_RECIPE_BYTES)] = "", comment: Text = "",
                 csrf_token: Csrf = "") -> Response:
    """A new draft (a new recipe, or a new version of one) as ``POST /recipes`` creates it."""
    user = await session.signed_in(request)
    text = yaml_text
    try:
        session.check_csrf(request, user, csrf_token)
        if not pages.may(user, "engineer"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not upload recipes; it needs role engineer")
        text = await _uploaded_text(file, yaml_text)

        def create() -> RecipeVersionOut:
            with services(request).write_sessions() as db:
                return routes_recipes.create_draft(user, RecipeUpload(text, comment.strip() or None), db)

        created = await run_in_threadpool(create)
    except RecipeInvalid as exc:
        lines, unplaced = recipe_text.annotated(text, exc.errors)
        return await _list_page(request, user, upload={"text": text, "comment": comment, "errors": exc.errors,
                                                       "lines": lines, "unplaced": unplaced})
    except pages.REFUSED as exc:
        return await _list_page(request, user, error=pages.refusal(exc), upload={"text": text, "comment": comment})
    return RedirectResponse(f"/hmi/recipes/{created.recipe_id}/versions/{created.version}{pages.query(request)}",
                            status.HTTP_303_SEE_OTHER)


# ------------------------------------------------------------------ one version
def _version_view(request: Request, user: auth.CurrentUser, recipe_id: str, version: int) -> dict[str, Any]:
    """The version, its recipe's other versions, and its formula and procedure (compiled as
    the runtime would); the errors at their lines when it no longer compiles."""
    with services(request).sessions() as db:
        found = routes_recipes.get_version(recipe_id, version, user, db)
        versions = next((r.versions for r in routes_recipes.list_recipes(user, db) if r.recipe_id == recipe_id), [])
    view: dict[str, Any] = {"v": found, "versions": [v.version for v in versions], "formula": [], "steps": [],
                            "lines": None, "unplaced": []}
    try:
        compiled, _ = compile_recipe_text(found.yaml_text)
    except RecipeInvalid as exc:
        view["lines"], view["unplaced"] = recipe_text.annotated(found.yaml_text, exc.errors)
        return view
    view |= {"formula": recipe_text.formula_rows(compiled), "steps": recipe_text.step_rows(compiled),
             "header": compiled.header}
    return view


async def _version_page(request: Request, user: auth.CurrentUser, recipe_id: str, version: int,
                        message: str | None = None, error: pages.Refusal | None = None) -> HTMLResponse:
    try:
        view = await run_in_threadpool(_version_view, request, user, recipe_id, version)
    except pages.REFUSED as exc:
        return await _list_page(request, user, error=pages.refusal(exc))
    earlier = [n for n in view["versions"] if n < version]
    diff_from, diff_to = (max(earlier), version) if earlier else (version, max(view["versions"], default=version))
    ctx = pages.context(request, user, "recipes", message=message, error=error, meanings=MEANINGS,
                        diff_from=diff_from, diff_to=diff_to, **view)
    return templates.TemplateResponse(request, "recipe_version.html", ctx,
                                      status_code=error.status_code if error is not None else 200)


@router.get("/hmi/recipes/{recipe_id}/versions/{version}", response_class=HTMLResponse)
async def recipe_version(request: Request, recipe_id: RecipeId, version: Version) -> HTMLResponse:
    return await _version_page(request, await session.signed_in(request), recipe_id, version)


@router.post("/hmi/recipes/{recipe_id}/versions/{version}/release-for-{step}", response_class=HTMLResponse)
async def release(request: Request, recipe_id: RecipeId, version: Version, step: Release,
                  username: Annotated[str, Form(max_length=64)] = "", password: Annotated[str, Form(max_length=1024)] = "",
                  reason: Text = "", line_id: Annotated[str, Form(max_length=64)] = "",
                  csrf_token: Csrf = "") -> HTMLResponse:
    """Sign the release: the signer re-enters their user name and password (a wrong one is
    refused, counted toward lockout and audited, as through the API)."""
    async def work(user: auth.CurrentUser) -> str:
        def sign() -> RecipeVersionOut:
            with services(request).write_sessions() as db:
                if step == "testing":
                    body = SignatureRequest(username=username.strip(), password=password, reason=reason.strip())
                    return routes_recipes.release_for_testing(recipe_id, version, body, user, db)
                production = ProductionReleaseRequest(username=username.strip(), password=password,
                                                      reason=reason.strip(), line_id=line_id.strip() or None)
                return routes_recipes.release_for_production(recipe_id, version, production, request, user, db)

        released = await run_in_threadpool(sign)
        return f"{recipe_id} v{version} {released.state.replace('_', ' ')}, signed by {username.strip()}"

    return await act(request, csrf_token, "engineer", work, partial(_version_page, recipe_id=recipe_id, version=version))


# ------------------------------------------------------------------ diff
@router.get("/hmi/recipes/{recipe_id}/diff", response_class=HTMLResponse)
async def recipe_diff(request: Request, recipe_id: RecipeId, from_version: VersionQuery,
                      to_version: VersionQuery) -> HTMLResponse:
    user = await session.signed_in(request)

    def read() -> str:
        with services(request).sessions() as db:
            return routes_recipes.diff(recipe_id, from_version, to_version, user, db).diff

    try:
        text = await run_in_threadpool(read)
    except pages.REFUSED as exc:
        return await _list_page(request, user, error=pages.refusal(exc))
    ctx = pages.context(request, user, "recipes", recipe_id=recipe_id, from_version=from_version,
                        to_version=to_version, lines=recipe_text.diff_lines(text))
    return templates.TemplateResponse(request, "recipe_diff.html", ctx)
