"""CSV imports: a row limit, an over-long value refused cleanly, all rows or none, and no route blocking the loop."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.app import create_app
from posops.core.config import Settings
from posops.core.db import Database
from posops.terminals.models import Merchant
from tests.conftest import Fleet
from tests.helpers import csrf_token, error_fields, login

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
HEADER = b"name,legal_id,contact_name,contact_phone,region\n"


def _merchants(count: int) -> bytes:
    return HEADER + b"".join(b"Shop %d,91310000IMP%05dX,,,\n" % (i, i) for i in range(count))


def _count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Merchant)) or 0


def test_an_import_over_the_row_limit_is_refused_whole(settings: Settings, fleet: Fleet, db: Database) -> None:
    before = _count(db)
    with TestClient(create_app(settings.model_copy(update={"import_max_rows": 3}))) as client:
        refused = client.post("/api/v1/merchants/import", content=_merchants(4),
                              headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
        assert refused.status_code == 422
        assert error_fields(refused) == ["file"]
        assert "3" in refused.json()["detail"]["message"]["en"]
        assert _count(db) == before
        taken = client.post("/api/v1/merchants/import", content=_merchants(3),
                            headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
        assert taken.status_code == 201 and taken.json() == {"imported": 3}


def test_the_default_row_limit_is_ten_thousand(client: TestClient, fleet: Fleet, db: Database) -> None:
    before = _count(db)
    response = client.post("/api/v1/merchants/import", content=_merchants(10_001),
                           headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 422
    assert "10000" in response.json()["detail"]["message"]["en"]
    assert _count(db) == before


def test_a_200_kb_value_is_a_clean_422(client: TestClient, fleet: Fleet) -> None:
    content = b"serial_number,model,tid,mid,merchant_id\n" + b"A" * 200_000 + b",m,12345678,898310058129999,1\n"
    response = client.post("/api/v1/terminals/import", content=content,
                           headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 422
    assert error_fields(response) == ["file"]
    assert len(response.content) < 2_000


def test_an_unclosed_quote_is_a_clean_422(client: TestClient, fleet: Fleet) -> None:
    content = HEADER + b'"Shop,91310000IMP00001X,,,\n' + b"x" * 140_000
    response = client.post("/api/v1/merchants/import", content=content,
                           headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 422 and error_fields(response) == ["file"]


def test_the_console_import_keeps_the_row_limit(settings: Settings, fleet: Fleet, db: Database) -> None:
    before = _count(db)
    with TestClient(create_app(settings.model_copy(update={"import_max_rows": 2}))) as client:
        login(client, "admin", "en")
        token = csrf_token(client.get("/admin/import").text)
        response = client.post("/admin/import/merchants", data={"csrf_token": token},
                               files={"file": ("m.csv", _merchants(3), "text/csv")})
    assert response.status_code == 422
    assert "more than the limit of 2 rows" in response.text
    assert _count(db) == before


def test_a_nul_in_an_imported_name_names_its_line(client: TestClient, fleet: Fleet, db: Database) -> None:
    content = HEADER + b"Shop\x00,91310000IMP00001X,,,\n"
    response = client.post("/api/v1/merchants/import", content=content,
                           headers={**fleet.headers("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]["fields"]
    assert problem["field"] == "name" and problem["line"] == 2
