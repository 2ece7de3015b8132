"""Console pages of administration: users and their API tokens (admins), merchants and CSV imports (editors).

Users and tokens are core's use cases (:mod:`posops.core.accounts`); merchants and imports are the
terminals feature's (:mod:`posops.terminals.service`), open to whoever its API lets change them.
A new API token is shown on the page that answers its creation, marked not to be cached, and
never again. Refusals are said in the page's language: a use case's own words when it says them
in both languages, else this page's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from posops.core import accounts
from posops.core.auth import USER_ROLES, Principal, Role, require_role
from posops.core.deps import DbDep, PageNumber, SettingsDep
from posops.core.errors import Conflict, Invalid, PosopsError, field_label
from posops.core.forms import Refusal, refusal, validated
from posops.core.i18n import catalog, translate
from posops.core.inputs import Count, FormText, Id, Search, Word
from posops.core.labels import Label, catalog_sentence
from posops.core.paging import MAX_PER_PAGE
from posops.core.schemas import TokenOut
from posops.core.web import CONSOLE_PER_PAGE, PageUser, check_csrf, page_lang, render, run_form, template_vocabulary
from posops.terminals import service as terminals
from posops.terminals.lifecycle import SuspensionReason, TerminalStatus
from posops.terminals.schemas import MerchantIn, MerchantPatch, NetworkType

router = APIRouter(include_in_schema=False)
Field = Annotated[FormText, Form()]
T = TypeVar("T")
"""The largest import file the page reads (the API's limit too)."""
MAX_TOKEN_NAME = 64
DONE = frozenset({"created", "saved", "password", "disabled", "enabled", "revoked", "unlocked"})
"""What a form did, named in the address it returns to (``?done=saved``) and said by the page."""
ROLE_VALUES = frozenset(r.value for r in USER_ROLES)


class ImportKind(StrEnum):
    """What a CSV file imports."""

    MERCHANTS = "merchants"
    TERMINALS = "terminals"


template_vocabulary(ImportKind)

_HINTS: Mapping[str, str] = {
    "username": "admin.hint.username", "password": "admin.hint.password", "role": "admin.hint.role",
    "merchant_id": "admin.hint.merchant_id", "display_name": "admin.hint.display_name",
}
"""What each field of the user forms needs, in this page's words, said instead of the accounts use case's reason."""
_PLAIN_FIELDS = {"file": "file", "header": "header", "row": "row", "body": "row"}
"""Problems of an import file that are not about one column, and the word that names each."""
_VAGUE_REASONS = ("error.input.string_pattern_mismatch", "error.input.value_error", "error.input.other",
                  "error.input.enum")
"""Reasons that say a value is wrong but not what it should be: the column's format follows them on the page."""


# saying refusals in the page's language ------------------------------------------------------


def _in_both(label: Label) -> bool:
    """Whether a sentence is said in both languages (a plain English reason is the same in both)."""
    return label.zh != label.en


def _in_page_words(call: Callable[[], T], *, conflict: str | None = None) -> T:
    """Run a use case with its refusal said in this page's words.

    A user field's problem says what the field needs; the last administrator and ``conflict`` (what a
    Conflict means on this form, such as a username taken) come from this catalogue; anything else is
    the use case's own words when it has them in both languages.
    """
    try:
        return call()
    except Invalid as exc:
        raise Invalid.many([p._replace(reason=catalog_sentence(_HINTS[p.field])) if p.field in _HINTS
                            else p if _in_both(p.reason) else p._replace(reason=catalog_sentence("admin.hint.other"))
                            for p in exc.problems]) from None
    except accounts.LastActiveAdmin:
        raise Conflict(key="admin.refusal.last_admin") from None
    except Conflict as exc:
        if conflict is None and _in_both(exc.said):
            raise
        raise Conflict(key=conflict or "admin.refusal.other") from None
    except PosopsError as exc:
        if _in_both(exc.said):
            raise
        error = PosopsError(key="admin.refusal.other")
        error.status = exc.status
        raise error from None


def _done(done: Word) -> str | None:
    return done if done in DONE else None


# users ---------------------------------------------------------------------------------------


def _merchant_names(db: DbDep, user: Principal) -> list[str]:
    """Merchant names the user forms suggest (a merchant may also be named by its licence number)."""
    return [m.name for m in terminals.list_merchants(db, user, per_page=MAX_PER_PAGE).items]


def _merchant_id(db: DbDep, user: Principal, text: str) -> int | None:
    """The merchant a form names by licence number or exact name; None when the field is empty."""
    wanted = text.strip()
    if not wanted:
        return None
    found = terminals.list_merchants(db, user, q=wanted, per_page=MAX_PER_PAGE).items
    by_licence = [m for m in found if m.legal_id == wanted]
    by_name = [m for m in found if m.name == wanted]
    if by_licence:
        return by_licence[0].id
    if len(by_name) == 1:
        return by_name[0].id
    raise Invalid("merchant", key="admin.hint.merchant_ambiguous" if by_name else "admin.hint.merchant_unknown")


def _users_page(request: Request, db: DbDep, user: Principal, *, role: Word = "", active: Word = "", page: int = 1,
                form: dict[str, str] | None = None, refused: Refusal | None = None) -> HTMLResponse:
    require_role(user, Role.ADMIN)
    chosen = role if role in ROLE_VALUES else None
    state = {"1": True, "0": False}.get(active)
    result = accounts.find_users(db, user, role=chosen, active=state, page=page, per_page=CONSOLE_PER_PAGE)
    return render(request, "admin/users.html", {
        "tab": "users", "result": result,
        "query": {"role": chosen or "", "active": active if state is not None else ""},
        "roles": [r.value for r in USER_ROLES], "merchants": _merchant_names(db, user), "form": form or {},
        "refusal": refused}, refused.status if refused else 200)


@router.get("/admin/users", response_class=HTMLResponse)
def user_list(request: Request, db: DbDep, user: PageUser, role: Word = "", active: Word = "",
              page: PageNumber = 1) -> HTMLResponse:
    """Every user, by username, filtered by role and by state, with the form that creates one (admins)."""
    return _users_page(request, db, user, role=role, active=active, page=page)


@router.post("/admin/users")
def create_user(request: Request, db: DbDep, user: PageUser, csrf_token: Field = "", username: Field = "",
                display_name: Field = "", role: Field = "", merchant: Field = "", password: Field = "",
                password_again: Field = "") -> Response:
    """Create a user from the list page's form, then show the new user's page."""
    require_role(user, Role.ADMIN)
    form = {"username": username, "display_name": display_name, "role": role, "merchant": merchant}

    def action() -> accounts.UserInfo:
        if password != password_again:
            raise Invalid("password", key="admin.hint.password_mismatch")
        merchant_id = _merchant_id(db, user, merchant) if role == Role.MERCHANT else None
        return _in_page_words(lambda: accounts.create_user(db, user, username.strip(), password, role, merchant_id,
                                                           display_name.strip()),
                              conflict="admin.refusal.username_taken")

    return run_form(request, csrf_token, action,
                    lambda created: f"/admin/users/{quote(created.username)}?done=created",
                    lambda refused: _users_page(request, db, user, form=form, refused=refused))


def _user_page(request: Request, db: DbDep, user: Principal, username: Word, *, done: Word | None = None,
               refused: Refusal | None = None, issued: str | None = None,
               form: dict[str, str] | None = None) -> HTMLResponse:
    require_role(user, Role.ADMIN)
    shown = accounts.get_user(db, user, username)
    prefill = {"display_name": shown.display_name, "role": shown.role, "merchant": shown.merchant_name or ""}
    response = render(request, "admin/user.html", {
        "tab": "users", "shown": shown, "tokens": accounts.list_tokens(db, user, username),
        "lock": accounts.login_lock(db, user, request.app.state.settings, username),
        "token_days": request.app.state.settings.api_token_days, "max_token_days": accounts.MAX_TOKEN_DAYS,
        "roles": [r.value for r in USER_ROLES], "merchants": _merchant_names(db, user),
        "form": form or prefill, "done": done, "refusal": refused, "issued": issued},
        refused.status if refused else 200)
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: Word, db: DbDep, user: PageUser, done: Word = "") -> HTMLResponse:
    """One user: profile and role, password, access, and their API tokens (admins)."""
    return _user_page(request, db, user, username, done=_done(done))


def _act_on_user(request: Request, db: DbDep, user: Principal, username: Word, csrf_token: str,
                 action: Callable[[], object], done: Word, form: dict[str, str] | None = None) -> Response:
    """Run a form of the user's page: back to the page saying what was done, or the page with the refusal."""
    require_role(user, Role.ADMIN)
    return run_form(request, csrf_token, action, lambda _: f"/admin/users/{quote(username)}?done={done}",
                    lambda refused: _user_page(request, db, user, username, refused=refused, form=form))


@router.post("/admin/users/{username}")
def update_user(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "",
                display_name: Field = "", role: Field = "", merchant: Field = "") -> Response:
    """Save the user's display name and role; a merchant user's merchant is named by name or licence number."""
    form = {"display_name": display_name, "role": role, "merchant": merchant}

    def action() -> accounts.UserInfo:
        current = accounts.get_user(db, user, username)
        merchant_id: Id | accounts.Keep | None = accounts.KEEP
        if role == Role.MERCHANT and merchant.strip() != (current.merchant_name or ""):
            merchant_id = _merchant_id(db, user, merchant)
        return _in_page_words(lambda: accounts.update_user(db, user, username, role=role or None,
                                                           merchant_id=merchant_id, display_name=display_name))
    return _act_on_user(request, db, user, username, csrf_token, action, "saved", form)


@router.post("/admin/users/{username}/password")
def set_password(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "",
                 password: Field = "", password_again: Field = "") -> Response:
    """Set the user's new password, typed twice: their other sessions end, an admin's own one stays."""
    def action() -> None:
        if password != password_again:
            raise Invalid("password", key="admin.hint.password_mismatch")
        version = _in_page_words(lambda: accounts.set_password(db, user, username, password))
        if user.user_id is not None and request.session.get("user_id") == user.user_id and username == user.username:
            request.session["session_version"] = version
    return _act_on_user(request, db, user, username, csrf_token, action, "password")


@router.post("/admin/users/{username}/unlock")
def unlock_user(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Let the user sign in again at once after failed attempts locked them out."""
    return _act_on_user(request, db, user, username, csrf_token,
                        lambda: _in_page_words(lambda: accounts.unlock_user(db, user, request.app.state.settings,
                                                                            username)),
                        "unlocked")


@router.post("/admin/users/{username}/disable")
def disable_user(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Disable the user: signed out of the console and their tokens refused from their next request."""
    return _act_on_user(request, db, user, username, csrf_token,
                        lambda: _in_page_words(lambda: accounts.update_user(db, user, username, active=False)),
                        "disabled")


@router.post("/admin/users/{username}/enable")
def enable_user(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "") -> Response:
    """Enable the user again."""
    return _act_on_user(request, db, user, username, csrf_token,
                        lambda: _in_page_words(lambda: accounts.update_user(db, user, username, active=True)),
                        "enabled")


@router.post("/admin/users/{username}/tokens", response_class=HTMLResponse)
def create_token(request: Request, username: Word, db: DbDep, user: PageUser, csrf_token: Field = "",
                 name: Field = "", days: Field = "") -> HTMLResponse:
    """Issue an API token for the user, valid ``days`` (the setting's lifetime if empty), shown this once."""
    check_csrf(request, csrf_token)
    require_role(user, Role.ADMIN)

    def action() -> accounts.IssuedToken:
        if len(name.strip()) > MAX_TOKEN_NAME:
            raise Invalid("name", key="admin.hint.token_name")
        if days.strip() and not days.strip().isdigit():
            raise Invalid("days", key="error.invalid.token_days", max=accounts.MAX_TOKEN_DAYS)
        lifetime = int(days) if days.strip() else None
        return _in_page_words(lambda: accounts.create_token(db, user, username, name.strip(), days=lifetime,
                                                            settings=request.app.state.settings))
    try:
        issued = action()
    except PosopsError as exc:
        return _user_page(request, db, user, username, refused=refusal(exc, page_lang(request)))
    return _user_page(request, db, user, username, issued=issued.token)


@router.post("/admin/users/{username}/tokens/{token_id}/revoke")
def revoke_token(request: Request, username: Word, token_id: Id, db: DbDep, user: PageUser,
                 csrf_token: Field = "", confirm: Field = "") -> Response:
    """Revoke one of the user's tokens, once the confirmation is ticked."""
    def action() -> TokenOut:
        if confirm != "1":
            raise PosopsError(key="admin.refusal.confirm_revoke")
        return _in_page_words(lambda: accounts.revoke_token(db, user, username, token_id))
    return _act_on_user(request, db, user, username, csrf_token, action, "revoked")


# merchants -----------------------------------------------------------------------------------


@router.get("/admin/merchants", response_class=HTMLResponse)
def merchant_list(request: Request, db: DbDep, user: PageUser, q: Search = "", page: PageNumber = 1) -> HTMLResponse:
    """The merchants, searched by name or licence number (those who may change merchants)."""
    require_role(user, *terminals.EDITORS)
    result = terminals.list_merchants(db, user, q=q.strip() or None, page=page, per_page=CONSOLE_PER_PAGE)
    return render(request, "admin/merchants.html", {"tab": "merchants", "result": result, "q": q.strip()})


def _merchant_page(request: Request, db: DbDep, user: Principal, merchant_id: Id, *, done: Word | None = None,
                   form: dict[str, str] | None = None, refused: Refusal | None = None) -> HTMLResponse:
    require_role(user, *terminals.EDITORS)
    merchant = terminals.get_merchant(db, user, merchant_id)
    shown = form or {key: getattr(merchant, key) for key in ("name", "contact_name", "contact_phone", "region")}
    return render(request, "admin/merchant.html", {
        "tab": "merchants", "merchant": merchant, "form": shown, "done": done, "refusal": refused},
        refused.status if refused else 200)


@router.get("/admin/merchants/{merchant_id}", response_class=HTMLResponse)
def merchant_page(request: Request, merchant_id: Id, db: DbDep, user: PageUser, done: Word = "") -> HTMLResponse:
    """One merchant's record with the form that changes its name, contact and region."""
    return _merchant_page(request, db, user, merchant_id, done=_done(done))


@router.post("/admin/merchants/{merchant_id}")
def update_merchant(request: Request, merchant_id: Id, db: DbDep, user: PageUser, csrf_token: Field = "",
                    name: Field = "", contact_name: Field = "", contact_phone: Field = "",
                    region: Field = "") -> Response:
    """Save the merchant's name, contact and region through the terminals feature's update."""
    require_role(user, *terminals.EDITORS)
    form = {"name": name, "contact_name": contact_name, "contact_phone": contact_phone, "region": region}
    return run_form(request, csrf_token,
                    lambda: _in_page_words(lambda: terminals.update_merchant(db, user, merchant_id,
                                                                             validated(MerchantPatch, form))),
                    lambda _: f"/admin/merchants/{merchant_id}?done=saved",
                    lambda refused: _merchant_page(request, db, user, merchant_id, form=form, refused=refused))


# CSV imports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of an import file as the import page explains it."""

    name: str
    required: bool
    values: tuple[tuple[str, str | None], ...] = ()
    """The values the column takes, each with the catalogue key of its meaning (None when it says itself)."""


_VALUES: Mapping[str, tuple[tuple[str, str | None], ...]] = {
    "network_type": tuple((n.value, None) for n in NetworkType),
    "status": tuple((s.value, f"status.{s.value}") for s in TerminalStatus),
    "status_reason": tuple((r.value, f"reason.{r.value}") for r in SuspensionReason),
}


def _columns(model: type[BaseModel], *, instead: Mapping[str, str] | None = None) -> tuple[Column, ...]:
    """A schema's fields as columns in order; ``instead`` names a field by the column a person fills in its place."""
    swaps = instead or {}
    replaced = set(swaps.values())
    return tuple(Column(swaps.get(name, name), info.is_required() or name in swaps, _VALUES.get(name, ()))
                 for name, info in model.model_fields.items() if name not in replaced)


COLUMNS: Mapping[ImportKind, tuple[Column, ...]] = {
    ImportKind.MERCHANTS: _columns(MerchantIn),
    ImportKind.TERMINALS: _columns(terminals.TerminalCsvRow, instead={"merchant_id": "merchant_legal_id"}),
}
"""The columns of each kind's template: a terminal's merchant is named by its licence number, never its id."""
IMPORTS: Mapping[ImportKind, Callable[..., int]] = {
    ImportKind.MERCHANTS: terminals.import_merchants, ImportKind.TERMINALS: terminals.import_terminals}


def _vague_reasons() -> set[Label]:
    return {catalog_sentence(key) for key in _VAGUE_REASONS if key in catalog()}


def import_problems(exc: Invalid, lang: str) -> list[str]:
    """Every problem of a refused file, one sentence each in ``lang``: its line, its column and what is wrong."""
    sentences = []
    for problem in exc.problems:
        plain = _PLAIN_FIELDS.get(problem.field)
        column = problem.field.rsplit(".", 1)[-1]
        key = f"admin.column.{plain or column}"
        label = translate(key, lang) if key in catalog() else field_label(problem.field).text(lang)
        reason = problem.reason.text(lang) if _in_both(problem.reason) else translate(
            "admin.import.unreadable" if plain else "admin.hint.other", lang)
        if not plain and f"admin.format.{column}" in catalog() and (
                not _in_both(problem.reason) or problem.reason in _vague_reasons()):
            reason = translate("admin.import.reason_and_format", lang, reason=reason,
                               format=translate(f"admin.format.{column}", lang))
        where = translate("admin.import.line", lang, line=problem.line) if problem.line is not None else ""
        sentences.append(translate("admin.import.problem_plain" if plain else "admin.import.problem", lang,
                                   where=where, label=label, column=column, reason=reason))
    return sentences


def _import_page(request: Request, user: Principal, *, imported: tuple[ImportKind, int] | None = None,
                 refused_kind: ImportKind | None = None, problems: list[str] | None = None,
                 refused: Refusal | None = None, status_code: int = 200) -> HTMLResponse:
    require_role(user, *terminals.EDITORS)
    return render(request, "admin/import.html", {
        "tab": "import", "kinds": list(ImportKind), "columns": COLUMNS, "imported": imported,
        "refused_kind": refused_kind, "problems": problems or [], "refusal": refused}, status_code)


@router.get("/admin/import", response_class=HTMLResponse)
def import_page(request: Request, user: PageUser, kind: Word = "", imported: Count | None = None) -> HTMLResponse:
    """The two import forms (merchants, terminals), each with its template and its columns explained."""
    done = (ImportKind(kind), imported) if kind in set(ImportKind) and imported is not None else None
    return _import_page(request, user, imported=done)


@router.get("/admin/import/{kind}/template.csv")
def import_template(kind: ImportKind, user: PageUser) -> Response:
    """The kind's CSV template: the header line only, with a byte-order mark so spreadsheets read it as UTF-8."""
    require_role(user, *terminals.EDITORS)
    header = ",".join(column.name for column in COLUMNS[kind])
    return Response(("\ufeff" + header + "\r\n").encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="posops-{kind.value}.csv"'})


@router.post("/admin/import/{kind}", response_class=HTMLResponse)
def import_file(request: Request, kind: ImportKind, db: DbDep, user: PageUser, settings: SettingsDep,
                csrf_token: Field = "", file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import the uploaded file: every row or none; on refusal the page lists each line's problem."""
    check_csrf(request, csrf_token)
    require_role(user, *terminals.EDITORS)
    lang = page_lang(request)
    limit = settings.max_upload_bytes
    content = file.file.read(limit + 1) if file is not None else b""
    try:
        if file is None or not file.filename:
            raise Invalid("file", key="admin.import.no_file")
        if len(content) > limit:
            raise Invalid("file", key="admin.import.too_large", mib=limit // (1024 * 1024))
        count = IMPORTS[kind](db, user, content, max_rows=settings.import_max_rows)
    except Invalid as exc:
        problems = import_problems(exc, lang)
        return _import_page(request, user, refused_kind=kind, problems=problems, status_code=exc.status)
    except PosopsError as exc:
        refused = refusal(exc, lang)
        return _import_page(request, user, refused_kind=kind, refused=refused, status_code=refused.status)
    return RedirectResponse(f"/admin/import?kind={kind.value}&imported={count}", status_code=303)
