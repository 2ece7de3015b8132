"""One navigation per role: every console page shows the same header links to the same role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import login

EXPECTED = {
    "merchant": {"nav-terminals", "nav-requests", "nav-onboarding", "nav-tickets", "nav-fees"},
    "agent": {"nav-terminals", "nav-requests", "nav-onboarding", "nav-traffic", "nav-diagnosis-queue", "nav-tickets",
              "nav-incidents", "nav-upgrades", "nav-fees"},
    "risk": {"nav-terminals", "nav-requests", "nav-onboarding", "nav-tickets", "nav-incidents", "nav-fees"},
    "technician": {"nav-terminals", "nav-traffic", "nav-diagnosis-queue", "nav-tickets", "nav-incidents"},
}
PAGES = ["/terminals", "/terminals/{terminal}", "/reactivation-requests", "/onboarding", "/diagnoses/new",
         "/diagnoses/queue", "/traffic/upload", "/tickets", "/tickets/mine", "/tickets/reliability", "/incidents"]


def _links(html: str) -> set[str]:
    header = html.split("<main>")[0]
    return set(re.findall(r'data-testid="(nav-[a-z-]+)"', header))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_page_shows_the_roles_one_navigation(client: TestClient, fleet: Fleet, role: str) -> None:
    login(client, role)
    seen = {}
    for path in PAGES:
        response = client.get(path.format(terminal=fleet.terminals_a[0]), headers={"accept": "text/html"})
        if response.status_code == 200:
            seen[path] = _links(response.text)
    assert len(seen) >= 4, f"{role} opened too few pages to compare: {sorted(seen)}"
    wrong = {path: links for path, links in seen.items() if links != EXPECTED[role]}
    assert not wrong, f"pages whose header differs for {role}: {wrong}"
