"""The administration pages in zh-CN and English, and their forms: users, access, tokens, merchants, imports."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posops.core.db import Database
from posops.core.i18n import catalog
from posops.core.models import User
from posops.terminals.models import Merchant, Terminal
from tests.conftest import PASSWORD, Fleet
from tests.helpers import csrf_token, login

HTML = {"accept": "text/html"}
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
DATA = ("甲商户", "乙商户", "上海", "北京", "中国移动", "中文")
"""Chinese that is data (merchant names, regions, carriers) or names the other language, allowed on an English page."""
PAGES = ["/admin/users", "/admin/users/merchant", "/admin/merchants", "/admin/merchants/{a}", "/admin/import"]


def _admin_messages(lang: str) -> set[str]:
    """The administration catalogue's sentences of several words in one language (what could leak into the other)."""
    return {texts[lang] for key, texts in catalog().items()
            if key.startswith("admin.") and "{" not in texts[lang] and len(texts[lang]) > 8
            and texts["zh-CN"] != texts["en"]}


def _signed_in(client: TestClient, username: str = "admin", lang: str | None = None) -> str:
    login(client, username, lang=lang)
    return csrf_token(client.get("/admin/import").text)


def _post(client: TestClient, path: str, token: str, **fields: Any) -> Any:
    return client.post(path, data={"csrf_token": token, **fields}, headers=HTML, follow_redirects=False)


def _alert(html: str) -> str:
    return html.split('role="alert"')[1].split("</div>")[0]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_admin_page_speaks_only_the_pages_language(client: TestClient, fleet: Fleet, lang: str) -> None:
    _signed_in(client, lang=lang)
    other = _admin_messages("en" if lang == "zh-CN" else "zh-CN")
    for path in PAGES:
        response = client.get(path.format(a=fleet.merchant_a), headers=HTML)
        assert response.status_code == 200, path
        assert 'data-testid="admin-tabs"' in response.text
        leaked = sorted(m for m in other if m in response.text)
        assert not leaked, f"{path} in {lang} shows the other language's {leaked}"
        if lang == "en":
            text = response.text
            for data in DATA:
                text = text.replace(data, "")
            assert not CJK.findall(text), f"{path}: Chinese on an English page: {set(CJK.findall(text))}"
    users = client.get("/admin/users").text
    assert ("用户管理" if lang == "zh-CN" else "Users") in users
    assert ('data-testid="nav-admin"' in users) and ("管理" if lang == "zh-CN" else "Admin") in users


def test_the_user_list_filters_by_role_and_state(client: TestClient, fleet: Fleet, db: Database) -> None:
    token = _signed_in(client)
    assert _post(client, "/admin/users/merchant_b/disable", token).status_code == 303
    merchants = client.get("/admin/users?role=merchant").text
    assert 'data-user="merchant"' in merchants and 'data-user="merchant_b"' in merchants
    assert 'data-user="agent"' not in merchants and "甲商户" in merchants, "a merchant user's shop by name"
    disabled = client.get("/admin/users?active=0").text
    assert 'data-user="merchant_b"' in disabled and 'data-user="merchant"' not in disabled
    assert "共 1 个用户" in disabled


def test_an_admin_creates_a_user_who_then_signs_in(client: TestClient, fleet: Fleet, db: Database) -> None:
    token = _signed_in(client)
    created = _post(client, "/admin/users", token, username="zhou", display_name="周店长", role="merchant",
                    merchant="甲商户", password="zhou-pass-123", password_again="zhou-pass-123")
    assert created.status_code == 303 and created.headers["location"] == "/admin/users/zhou?done=created"
    page = client.get(created.headers["location"]).text
    assert "用户已创建" in page and "周店长" in page and 'data-testid="user-merchant">甲商户' in page
    with db.transaction() as session:
        zhou = session.scalars(select(User).where(User.username == "zhou")).one()
        assert (zhou.role, zhou.merchant_id) == ("merchant", fleet.merchant_a)
    by_licence = _post(client, "/admin/users", token, username="qian", role="merchant", merchant="91310000BBBB00002Y",
                       password="qian-pass-123", password_again="qian-pass-123")
    assert by_licence.status_code == 303, "a merchant may be named by its licence number"
    with TestClient(client.app) as other:
        login_page = other.get("/login").text
        signed = other.post("/login", data={"username": "zhou", "password": "zhou-pass-123",
                                            "csrf_token": csrf_token(login_page)}, follow_redirects=False)
        assert signed.status_code == 303


@pytest.mark.parametrize(("fields", "status", "zh", "en"), [
    ({"username": "li", "role": "agent", "password": "li-pass-1234", "password_again": "li-pass-9999"}, 422,
     "两次输入的密码不一致", "was not typed the same twice"),
    ({"username": "li", "role": "agent", "password": "short", "password_again": "short"}, 422,
     "至少 8 个字符", "at least 8 characters"),
    ({"username": "li", "role": "merchant", "password": "li-pass-1234", "password_again": "li-pass-1234"}, 422,
     "商户账号须填写所属商户", "required for a merchant user"),
    ({"username": "li", "role": "merchant", "merchant": "没有这家店", "password": "li-pass-1234",
      "password_again": "li-pass-1234"}, 422, "没有这个商户", "names no merchant"),
    ({"username": "agent", "role": "agent", "password": "li-pass-1234", "password_again": "li-pass-1234"}, 409,
     "这个用户名已被使用", "This username is taken"),
])
def test_a_refused_new_user_is_explained_in_the_pages_language(client: TestClient, fleet: Fleet, db: Database,
                                                               fields: dict[str, str], status: int, zh: str,
                                                               en: str) -> None:
    for lang, words in (("zh-CN", zh), ("en", en)):
        token = _signed_in(client, lang=lang)
        response = _post(client, "/admin/users", token, **fields)
        assert response.status_code == status, response.text
        assert words in _alert(response.text), lang
        assert f'value="{fields["username"]}"' in response.text, "the form keeps what was typed"
    with db.transaction() as session:
        assert session.scalar(select(func.count(User.id)).where(User.username == "li")) == 0


def test_an_admin_changes_a_role_and_the_merchant_is_kept_or_dropped(client: TestClient, fleet: Fleet,
                                                                     db: Database) -> None:
    token = _signed_in(client)
    unchanged = _post(client, "/admin/users/merchant", token, display_name="甲商户收银", role="merchant",
                      merchant="甲商户")
    assert unchanged.status_code == 303 and unchanged.headers["location"] == "/admin/users/merchant?done=saved"
    moved = _post(client, "/admin/users/merchant", token, display_name="甲商户收银", role="merchant",
                  merchant="乙商户")
    assert moved.status_code == 303
    staff = _post(client, "/admin/users/merchant", token, display_name="前收银", role="risk", merchant="乙商户")
    assert staff.status_code == 303, "the merchant field is ignored for a staff role"
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "merchant")).one()
        assert (user.role, user.merchant_id, user.display_name) == ("risk", None, "前收银")
    page = client.get("/admin/users/merchant").text
    assert 'data-testid="user-role">风控' in page


def test_disabling_signs_the_user_out_and_the_last_admin_stays(client: TestClient, fleet: Fleet) -> None:
    with TestClient(client.app) as agent:
        login(agent, "agent")
        assert agent.get("/terminals").status_code == 200
        token = _signed_in(client)
        assert _post(client, "/admin/users/agent/disable", token).headers["location"] == \
            "/admin/users/agent?done=disabled"
        assert "用户已停用" in client.get("/admin/users/agent?done=disabled").text
        gone = agent.get("/terminals", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        assert 'data-testid="enable-form"' in client.get("/admin/users/agent").text
        assert _post(client, "/admin/users/agent/enable", token).status_code == 303
        login(agent, "agent")
        assert agent.get("/terminals").status_code == 200

    last = _post(client, "/admin/users/admin/disable", token)
    assert last.status_code == 409 and "最后一位在用的管理员" in _alert(last.text)
    demote = _post(client, "/admin/users/admin", token, display_name="admin", role="agent", merchant="")
    assert demote.status_code == 409 and "最后一位在用的管理员" in _alert(demote.text)
    assert client.get("/admin/users").status_code == 200, "the admin is still an admin"


def test_an_admin_resets_a_password(client: TestClient, fleet: Fleet) -> None:
    token = _signed_in(client)
    mismatch = _post(client, "/admin/users/risk/password", token, password="risk-pass-111", password_again="x")
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in _alert(mismatch.text)
    assert _post(client, "/admin/users/risk/password", token, password="risk-pass-111",
                 password_again="risk-pass-111").headers["location"] == "/admin/users/risk?done=password"
    with TestClient(client.app) as risk:
        form = csrf_token(risk.get("/login").text)
        assert risk.post("/login", data={"username": "risk", "password": PASSWORD, "csrf_token": form}).status_code \
            == 401
        assert risk.post("/login", data={"username": "risk", "password": "risk-pass-111", "csrf_token": form},
                         follow_redirects=False).status_code == 303


def test_a_new_token_is_shown_once_and_a_revoked_one_refused(client: TestClient, fleet: Fleet) -> None:
    token = _signed_in(client)
    created = _post(client, "/admin/users/technician/tokens", token, name="对账脚本")
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    clear = created.text.split('data-testid="token-value">')[1].split("<")[0]
    assert clear.startswith("pos_") and "只显示这一次" in created.text
    bearer = {"Authorization": f"Bearer {clear}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    again = client.get("/admin/users/technician").text
    assert clear not in again and 'data-testid="issued-token"' not in again, "never shown again"
    row = again.split(f'data-token="{clear[:8]}"')[1].split("</tr>")[0]
    assert "对账脚本" in row and "从未使用" not in row, "its last use is shown"
    revoke = again.split(f'data-token="{clear[:8]}"')[1].split('action="')[1].split('"')[0]

    unconfirmed = _post(client, revoke, token)
    assert unconfirmed.status_code == 400 and "请先勾选确认" in _alert(unconfirmed.text)
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert _post(client, revoke, token, confirm="1").headers["location"] == "/admin/users/technician?done=revoked"
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert "已吊销" in client.get("/admin/users/technician").text

    too_long = _post(client, "/admin/users/technician/tokens", token, name="x" * 65)
    assert too_long.status_code == 422 and 'data-testid="issued-token"' not in too_long.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_editor_changes_a_merchants_record(client: TestClient, fleet: Fleet, db: Database, lang: str) -> None:
    token = _signed_in(client, "agent", lang=lang)
    path = f"/admin/merchants/{fleet.merchant_a}"
    saved = _post(client, path, token, name="甲商户（静安店）", contact_name="周先生", contact_phone="021-5555 0101",
                  region="上海")
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?done=saved"
    assert ("已保存" if lang == "zh-CN" else "Saved.") in client.get(saved.headers["location"]).text
    with db.transaction() as session:
        merchant = session.get(Merchant, fleet.merchant_a)
        assert merchant is not None and (merchant.name, merchant.contact_phone) == ("甲商户（静安店）", "021-5555 0101")
    bad = _post(client, path, token, name="", contact_name="周先生", contact_phone="call me", region="上海")
    assert bad.status_code == 422
    alert = _alert(bad.text)
    assert ("联系电话" if lang == "zh-CN" else "contact phone") in alert
    assert ("名称" if lang == "zh-CN" else "name") in alert
    if lang == "en":
        assert not CJK.search(alert)
    assert 'value="call me"' in bad.text, "the form keeps what was typed"
    listed = client.get("/admin/merchants?q=静安").text
    assert "甲商户（静安店）" in listed and "乙商户" not in listed


def test_importing_merchants_then_their_terminals(client: TestClient, fleet: Fleet, db: Database) -> None:
    token = _signed_in(client, "agent")
    merchants = "name,legal_id,contact_name,contact_phone,region\n丙商户,91310000CCCC0003Z,王女士,13800000003,杭州\n" \
                "丁商户,91310000DDDD0004Z,,,杭州\n"
    done = client.post("/admin/import/merchants", data={"csrf_token": token}, headers=HTML, follow_redirects=False,
                       files={"file": ("merchants.csv", merchants.encode(), "text/csv")})
    assert done.status_code == 303
    assert "已导入 2 个商户" in client.get(done.headers["location"]).text
    terminals = "serial_number,model,tid,mid,merchant_legal_id\nSN-IMP-0001,PAX A920,81000001,898310000810001," \
                "91310000CCCC0003Z\n"
    done = client.post("/admin/import/terminals", data={"csrf_token": token}, headers=HTML, follow_redirects=False,
                       files={"file": ("terminals.csv", terminals.encode(), "text/csv")})
    assert done.status_code == 303 and "已导入 1 台终端" in client.get(done.headers["location"]).text
    with db.transaction() as session:
        terminal = session.scalars(select(Terminal).where(Terminal.serial_number == "SN-IMP-0001")).one()
        assert terminal.merchant.name == "丙商户"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_refused_import_lists_every_lines_problem_in_the_pages_language(client: TestClient, fleet: Fleet,
                                                                        db: Database, lang: str) -> None:
    token = _signed_in(client, "admin", lang=lang)
    content = ("serial_number,model,tid,mid,merchant_legal_id\n"
               "SN-BAD-0001,PAX A920,1234,898310000810001,91310000AAAA00001X\n"       # line 2: TID too short
               "SN-BAD-0002,PAX A920,81000002,898310000810002,NOSUCHLICENCE1\n"       # line 3: no such merchant
               "SN-BAD-0002,PAX A920,81000003,898310000810003,91310000AAAA00001X\n")  # line 4: serial repeated
    response = client.post("/admin/import/terminals", data={"csrf_token": token}, headers=HTML,
                           files={"file": ("terminals.csv", content.encode(), "text/csv")})
    assert response.status_code == 422
    box = response.text.split('data-testid="import-problems"')[1].split("</div>")[0]
    problems = re.findall(r"<li>(.*?)</li>", box, re.S)
    assert len(problems) == 3, problems
    if lang == "zh-CN":
        assert problems[0].startswith("第 2 行") and "tid" in problems[0] and "8 位字母或数字" in problems[0]
        assert problems[1].startswith("第 3 行") and "merchant_legal_id" in problems[1]
        assert problems[2].startswith("第 4 行") and "与第 3 行重复" in problems[2]
    else:
        assert problems[0].startswith("Line 2") and "tid" in problems[0] and "8 letters or digits" in problems[0]
        assert problems[1].startswith("Line 3") and "NOSUCHLICENCE1" in problems[1]
        assert problems[2].startswith("Line 4") and "line 3" in problems[2]
        assert not any(CJK.search(p) for p in problems), problems
    with db.transaction() as session:
        assert session.scalar(select(func.count(Terminal.id)).where(Terminal.serial_number.like("SN-BAD-%"))) == 0


def test_an_import_without_a_file_or_rows_is_refused_in_words(client: TestClient, fleet: Fleet) -> None:
    token = _signed_in(client)
    nothing = client.post("/admin/import/merchants", data={"csrf_token": token}, headers=HTML,
                          files={"file": ("", b"", "application/octet-stream")})
    assert nothing.status_code == 422 and "请选择要上传的 CSV 文件" in nothing.text
    header_only = client.get("/admin/import/merchants/template.csv").content
    empty = client.post("/admin/import/merchants", data={"csrf_token": token}, headers=HTML,
                        files={"file": ("m.csv", header_only, "text/csv")})
    assert empty.status_code == 422 and "文件" in empty.text.split('data-testid="import-problems"')[1]


@pytest.mark.parametrize(("kind", "row"), [
    ("merchants", {"name": "戊商户", "legal_id": "91310000EEEE0005Z"}),
    ("terminals", {"serial_number": "SN-TPL-0001", "model": "PAX A920", "tid": "81000009", "mid": "898310000810009",
                   "merchant_legal_id": "91310000AAAA00001X"}),
])
def test_each_template_has_the_header_the_import_takes(client: TestClient, fleet: Fleet, kind: str,
                                                       row: dict[str, str]) -> None:
    token = _signed_in(client)
    template = client.get(f"/admin/import/{kind}/template.csv")
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    assert template.content.startswith("\ufeff".encode()), "a byte-order mark, so spreadsheets read UTF-8"
    header = template.content.decode("utf-8-sig").strip().split(",")
    assert set(row) <= set(header) and "merchant_id" not in header, "merchants are named by licence, never by id"
    line = ",".join(row.get(column, "") for column in header)
    filled = template.content.decode("utf-8-sig") + line + "\n"
    done = client.post(f"/admin/import/{kind}", data={"csrf_token": token}, headers=HTML, follow_redirects=False,
                       files={"file": ("filled.csv", filled.encode(), "text/csv")})
    assert done.status_code == 303, done.text
    page = client.get("/admin/import").text
    assert f'href="/admin/import/{kind}/template.csv"' in page
    for column in header:
        assert f"<code>{column}</code>" in page, f"the page explains {column}"
