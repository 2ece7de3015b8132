"""Every route of the app has an expectation in a route × role matrix; a new route without one fails here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import Match

from posops.app import create_app
from posops.core.config import Settings
from tests.admin.test_authorization import FORMS as ADMIN_FORMS
from tests.admin.test_authorization import PAGES as ADMIN_PAGES
from tests.conftest import Fleet
from tests.core.test_authorization import FORMS as CONSOLE_FORMS
from tests.core.test_authorization import PAGES as CONSOLE_PAGES
from tests.core.test_authorization import ROUTES as CORE_ROUTES
from tests.core.test_authorization import seeded  # noqa: F401  (fixture)
from tests.diagnosis.test_authorization import FORMS as DIAGNOSIS_FORMS
from tests.diagnosis.test_authorization import PAGES as DIAGNOSIS_PAGES
from tests.diagnosis.test_authorization import ROUTES as DIAGNOSIS_ROUTES
from tests.diagnosis.test_authorization import diagnosed  # noqa: F401  (fixture)
from tests.fees.test_authorization import ROUTES as FEE_ROUTES
from tests.fees.test_authorization import feed  # noqa: F401  (fixture)
from tests.fees.test_views import FORMS as FEES_FORMS
from tests.fees.test_views import PAGES as FEES_PAGES
from tests.fees.test_views import priced  # noqa: F401  (fixture)
from tests.fleet.test_authorization import PAGES as FLEET_PAGES
from tests.fleet.test_authorization import ROUTES as FLEET_ROUTES
from tests.helpers import app_routes
from tests.home.test_authorization import PAGES as HOME_PAGES
from tests.iso8583.test_authorization import FORMS as ISO8583_FORMS
from tests.iso8583.test_authorization import ROUTES as ISO8583_ROUTES
from tests.telemetry.test_authorization import PAGES as TELEMETRY_PAGES
from tests.telemetry.test_authorization import ROUTES as TELEMETRY_ROUTES
from tests.telemetry.test_authorization import incident, with_incident  # noqa: F401  (fixtures)
from tests.tickets.test_authorization import FORMS as TICKET_FORMS
from tests.tickets.test_authorization import PAGES as TICKET_PAGES
from tests.tickets.test_authorization import ROUTES as TICKET_ROUTES
from tests.tickets.test_authorization import ticketed  # noqa: F401  (fixture)
from tests.upgrades.test_authorization import ROUTES as UPGRADE_ROUTES
from tests.upgrades.test_authorization import upgraded  # noqa: F401  (fixture)
from tests.upgrades.test_views import FORMS as UPGRADE_FORMS
from tests.upgrades.test_views import PAGES as UPGRADE_PAGES
from tests.upgrades.test_views import campaigned  # noqa: F401  (fixture)

# framework pages, not posops routes: the OpenAPI document, its viewer with its assets and the static files
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/docs/assets", "/static/{path}"}
# open to everyone by design, so no role changes the answer: the liveness probe, signing in, choosing a language
PUBLIC = {"GET /healthz", "GET /login", "POST /login", "GET /lang/{code}"}

def _templates(settings: Settings) -> list[tuple[str, str, object]]:
    found = []
    for route in app_routes(create_app(settings, check_schema=False)):
        if route.path_format in FRAMEWORK:
            continue
        found.extend((method, route.path_format, route) for method in sorted(route.methods or ()) if method != "HEAD")
    return found


def _covered(settings: Settings, fleet: Fleet, rows: Iterable[tuple[Any, ...]]) -> set[str]:
    """The route templates that matrix rows (name, method, path of the fleet, …) reach."""
    templates = _templates(settings)
    covered = set()
    for _, method, path, *_ in rows:
        scope = {"type": "http", "method": method, "path": path(fleet).split("?")[0]}
        for template_method, template, route in templates:
            if template_method == method and route.matches(scope)[0] == Match.FULL:  # type: ignore[attr-defined]
                covered.add(f"{method} {template}")
                break
    return covered


def test_every_route_has_a_row_in_a_route_role_matrix(settings: Settings, seeded: Fleet,  # noqa: F811
                                                     with_incident: Fleet, diagnosed: Fleet,  # noqa: F811
                                                     ticketed: Fleet, upgraded: Fleet,  # noqa: F811
                                                     campaigned: Fleet, priced: Fleet,  # noqa: F811
                                                     feed: Fleet) -> None:  # noqa: F811
    every = {f"{method} {template}" for method, template, _ in _templates(settings)}
    covered = (_covered(settings, seeded, [*CORE_ROUTES, *ISO8583_ROUTES, *CONSOLE_PAGES, *CONSOLE_FORMS,
                                           *ISO8583_FORMS])
               | _covered(settings, seeded, HOME_PAGES)
               | _covered(settings, seeded, [*FLEET_ROUTES, *FLEET_PAGES])
               | _covered(settings, seeded, [*ADMIN_PAGES, *ADMIN_FORMS])
               | _covered(settings, with_incident, [*TELEMETRY_ROUTES, *TELEMETRY_PAGES])
               | _covered(settings, diagnosed, [*DIAGNOSIS_ROUTES, *DIAGNOSIS_PAGES, *DIAGNOSIS_FORMS])
               | _covered(settings, ticketed, [*TICKET_ROUTES, *TICKET_PAGES, *TICKET_FORMS])
               | _covered(settings, upgraded, UPGRADE_ROUTES)
               | _covered(settings, campaigned, [*UPGRADE_PAGES, *UPGRADE_FORMS])
               | _covered(settings, priced, [*FEES_PAGES, *FEES_FORMS])
               | _covered(settings, feed, FEE_ROUTES))
    missing = sorted(every - covered - PUBLIC)
    assert not missing, "routes without an authorization expectation:\n" + "\n".join(missing)
