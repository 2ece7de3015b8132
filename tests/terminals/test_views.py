"""Console pages of the lifecycle: what each role sees and may do, forms with CSRF, refusals shown on the page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.terminals.flows import PDF, ok


def _login(client: TestClient, username: str) -> str:
    login(client, username)
    return csrf_token(client.get("/terminals").text)


def _missing(html: str) -> list[str]:
    return re.findall(r'<li data-code="(\w+)">', html)


def test_agent_suspends_from_the_terminal_page(client: TestClient, fleet: Fleet) -> None:
    csrf = _login(client, "agent")
    terminal = fleet.terminals_a[0]
    page = client.get(f"/terminals/{terminal}")
    assert 'data-testid="suspend-form"' in page.text and 'value="security"' not in page.text, "risk reasons: risk"
    response = client.post(f"/terminals/{terminal}/suspend", follow_redirects=False, data={
        "csrf_token": csrf, "reason": "arrears", "note": "服务费逾期", "unpaid_due_dates": "2024-05-01, 2024-06-01"})
    assert response.status_code == 303 and response.headers["location"] == f"/terminals/{terminal}"
    page = client.get(f"/terminals/{terminal}")
    assert 'data-testid="screen-notice"' in page.text and "请缴清欠费及罚金" in page.text
    assert "服务费逾期" in page.text and "2024-05-01, 2024-06-01" in page.text
    timeline = page.text.split('data-testid="timeline"')[1]
    assert "停机" in timeline and "agent" in timeline


def test_refusals_and_bad_input_are_shown_on_the_page(client: TestClient, fleet: Fleet) -> None:
    csrf = _login(client, "agent")
    suspended = fleet.terminals_a[2]
    again = client.post(f"/terminals/{suspended}/suspend", data={"csrf_token": csrf, "reason": "other", "note": "x"})
    assert again.status_code == 409 and 'data-testid="refusal"' in again.text and "可执行的操作" in again.text
    bad = client.post(f"/terminals/{fleet.terminals_a[0]}/suspend",
                      data={"csrf_token": csrf, "reason": "arrears", "note": "x", "unpaid_due_dates": "May"})
    assert bad.status_code == 422 and "unpaid_due_dates" in bad.text
    no_csrf = client.post(f"/terminals/{fleet.terminals_a[0]}/suspend", data={"reason": "arrears", "note": "x"},
                          headers={"accept": "text/html"})
    assert no_csrf.status_code == 403
    assert ok(client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}", headers=fleet.headers("agent")))["status"] \
        == "active"


def test_merchant_requests_reactivation_and_sees_what_is_missing(client: TestClient, fleet: Fleet) -> None:
    csrf = _login(client, "merchant")
    terminal = fleet.terminals_a[2]
    page = client.get(f"/terminals/{terminal}")
    assert 'data-testid="request-form"' in page.text and 'data-testid="suspend-form"' not in page.text
    response = client.post(f"/terminals/{terminal}/reactivation-requests", data={"csrf_token": csrf, "note": "急用"},
                           follow_redirects=False)
    assert response.status_code == 303
    request_page = client.get(response.headers["location"])
    assert _missing(request_page.text) == ["fee_plan_missing", "unpaid_bills_missing"]
    assert 'data-testid="evidence-payment"' in request_page.text and 'data-testid="approve"' not in request_page.text
    queue = client.get("/reactivation-requests")
    assert queue.status_code == 200 and response.headers["location"].rsplit("/", 1)[1] in queue.text


def test_evidence_forms_and_approval_from_the_pages(client: TestClient, fleet: Fleet) -> None:
    ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/suspend", headers=fleet.headers("agent"),
                   json={"reason": "dormant", "note": "长期未使用"}))
    request = ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[0]}/reactivation-requests",
                             headers=fleet.headers("merchant"), json={}), 201)
    url = f"/reactivation-requests/{request['id']}"
    csrf = _login(client, "merchant")
    wrong = client.post(f"{url}/evidence", data={"csrf_token": csrf, "kind": "identity", "legal_id": "123456"})
    assert wrong.status_code == 422 and "legal_id" in wrong.text
    done = client.post(f"{url}/evidence", data={"csrf_token": csrf, "kind": "identity",
                                                "legal_id": "91310000AAAA00001X"}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(url)
    assert _missing(page.text) == [] and 'data-testid="conditions-met"' in page.text
    upload = client.post(f"{url}/documents", data={"csrf_token": csrf, "name": "营业执照"},
                         files={"file": ("licence.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert upload.status_code == 303 and "licence.pdf" in client.get(url).text
    refused = client.post(f"{url}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    csrf = _login(client, "agent")
    assert client.post(f"{url}/approve", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    page = client.get(f"/terminals/{fleet.terminals_a[0]}")
    assert 'data-testid="must-sign-in"' in page.text and "请先签到" in page.text


def test_merchant_cannot_open_another_merchants_request(client: TestClient, fleet: Fleet) -> None:
    ok(client.post(f"/api/v1/terminals/{fleet.terminals_b[0]}/suspend", headers=fleet.headers("agent"),
                   json={"reason": "other", "note": "x"}))
    theirs = ok(client.post(f"/api/v1/terminals/{fleet.terminals_b[0]}/reactivation-requests",
                            headers=fleet.headers("merchant_b"), json={}), 201)
    _login(client, "merchant")
    page = client.get(f"/reactivation-requests/{theirs['id']}", headers={"accept": "text/html"})
    assert page.status_code == 404 and "乙商户" not in page.text
    assert "乙商户" not in client.get("/reactivation-requests?mine=0").text


@pytest.mark.parametrize("role", ["merchant", "agent", "risk", "admin"])
def test_list_pages_per_role(client: TestClient, fleet: Fleet, role: str) -> None:
    _login(client, role)
    for path in ("/reactivation-requests", "/onboarding"):
        assert client.get(path).status_code == 200, path
    assert ('data-testid="apply"' in client.get("/onboarding").text) == (role in ("merchant", "agent"))


def test_technicians_do_not_see_requests_or_applications(client: TestClient, fleet: Fleet) -> None:
    _login(client, "technician")
    assert 'data-testid="nav-requests"' not in client.get("/terminals").text
    assert client.get("/reactivation-requests", headers={"accept": "text/html"}).status_code == 403
    assert client.get("/onboarding", headers={"accept": "text/html"}).status_code == 403


def test_merchant_applies_and_follows_the_checklist(client: TestClient, fleet: Fleet) -> None:
    csrf = _login(client, "merchant")
    form = client.get("/onboarding/new").text
    assert "申请商户：甲商户" in form, "the merchant sees which shop it applies for"
    assert re.search(r'name="contact_phone"[^>]*required', form), "an empty form cannot be sent from the page"
    empty = client.post("/onboarding/new", follow_redirects=False, data={
        "csrf_token": csrf, "applicant_type": "business", "terminal_model": "PAX A920", "terminal_count": "2"})
    assert empty.status_code == 422 and "联系人：必填" in empty.text and "联系电话：必填" in empty.text
    assert 'data-testid="apply"' in client.get("/onboarding").text and "PAX A920" not in client.get("/onboarding").text
    created = client.post("/onboarding/new", follow_redirects=False, data={
        "csrf_token": csrf, "applicant_type": "business", "terminal_model": "PAX A920", "terminal_count": "2",
        "contact_name": "王丽", "contact_phone": "13800138001"})
    assert created.status_code == 303
    url = created.headers["location"]
    page = client.get(url)
    assert "营业执照" in page.text and "税务登记证" in page.text and "选交" in page.text
    printable = client.get(f"{url}/application-form")
    assert printable.status_code == 200 and "申请人签字" in printable.text and "PAX A920 × 2" in printable.text
    upload = client.post(f"{url}/materials", data={"csrf_token": csrf}, follow_redirects=False, files={
        "file_application_form": ("form.pdf", PDF, "application/pdf"),
        "file_tax_registration": ("tax.pdf", PDF, "application/pdf")})
    assert upload.status_code == 303, "several materials go up in one submit"
    checklist = client.get(url).text
    assert checklist.count(">form.pdf<") == 1 and checklist.count(">tax.pdf<") == 1
    wrong = client.post(f"{url}/materials", data={"csrf_token": csrf}, files={
        "file_business_licence": ("licence.pdf", PDF, "application/pdf"),
        "file_bank_account": ("notes.txt", b"plain text", "text/plain")})
    assert wrong.status_code == 422 and ">licence.pdf<" not in client.get(url).text, "one bad file keeps none"
    refused = client.post(f"{url}/steps/submit", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "缺少营业执照" in refused.text
    bad = client.post("/onboarding/new", data={"csrf_token": csrf, "applicant_type": "business",
                                               "terminal_model": "PAX A920", "terminal_count": "0"})
    assert bad.status_code == 422 and "终端数量：须不小于 1" in bad.text


def test_agent_takes_an_application_through_the_steps_on_its_page(client: TestClient, fleet: Fleet) -> None:
    from tests.terminals.flows import merchant_application

    application = merchant_application(client, fleet)
    url = f"/onboarding/{application['id']}"
    csrf = _login(client, "agent")

    def step(name: str, **fields: str) -> None:
        response = client.post(f"{url}/steps/{name}", data={"csrf_token": csrf, **fields}, follow_redirects=False)
        assert response.status_code == 303, (name, response.text[-2000:])

    step("start_review")
    for material in ("application_form", "business_licence", "legal_rep_id", "premises_proof", "bank_account"):
        client.post(f"{url}/materials/{material}/verify", data={"csrf_token": csrf})
    step("approve")
    step("sign_contract", contract_ref="HT-9", monthly_fee="30.00", monthly_data_fee="10", daily_penalty_bp="5",
         grace_days="5")
    step("install", serial_number="PAX-A920-7777", model="PAX A920", tid="12127777", mid="898310000127777")
    not_verified = client.post(f"{url}/steps/train", data={"csrf_token": csrf})
    assert not_verified.status_code == 409 and "安装调试尚未通过" in not_verified.text
    step("train", confirmed="1")
    step("go_live", confirmed="1")
    page = client.get(url)
    assert "已正式使用" in page.text and "30.00" in page.text
    terminal_link = re.search(r'href="/terminals/(\d+)"', page.text)
    assert terminal_link is not None
    assert "正常" in client.get(f"/terminals/{terminal_link.group(1)}").text


def test_agent_records_a_missing_fee_plan_from_the_request_page(client: TestClient, fleet: Fleet) -> None:
    request = ok(client.post(f"/api/v1/terminals/{fleet.terminals_a[2]}/reactivation-requests",
                             headers=fleet.headers("merchant"), json={}), 201)
    url = f"/reactivation-requests/{request['id']}"
    csrf = _login(client, "agent")
    assert 'data-testid="fee-plan-form"' in client.get(url).text
    bad = client.post(f"{url}/fee-plan", data={"csrf_token": csrf, "monthly_fee": "30.001", "daily_penalty_bp": "5",
                                               "grace_days": "5"})
    assert bad.status_code == 422 and "monthly_fee" in bad.text
    saved = client.post(f"{url}/fee-plan", follow_redirects=False, data={
        "csrf_token": csrf, "monthly_fee": "30", "monthly_data_fee": "10", "daily_penalty_bp": "5", "grace_days": "5"})
    assert saved.status_code == 303
    assert _missing(client.get(url).text) == ["unpaid_bills_missing"]
    plan = ok(client.get(f"/api/v1/merchants/{fleet.merchant_a}/fee-plan", headers=fleet.headers("merchant")))
    assert (plan["monthly_fee_fen"], plan["monthly_data_fee_fen"]) == (3_000, 1_000)


def test_decommissioning_from_the_page_asks_for_the_serial_number(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent")
    url = f"/terminals/{fleet.terminals_a[0]}"
    page = client.get(url, headers={"accept": "text/html"}).text
    assert "请输入序列号 SN-TEST-0000 以确认" in page and 'data-testid="decommission"' in page
    token = csrf_token(page)
    refused = client.post(f"{url}/decommission", headers={"accept": "text/html"},
                          data={"csrf_token": token, "note": "退机", "confirm_serial_number": "SN-TEST-0001"})
    assert refused.status_code == 422 and "SN-TEST-0000" in refused.text
    assert ok(client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/lifecycle",
                         headers=fleet.headers("agent")))["status"] == "active"
    done = client.post(f"{url}/decommission", data={"csrf_token": token, "note": "退机",
                                                    "confirm_serial_number": "SN-TEST-0000"}, follow_redirects=False)
    assert done.status_code == 303
    assert ok(client.get(f"/api/v1/terminals/{fleet.terminals_a[0]}/lifecycle",
                         headers=fleet.headers("agent")))["status"] == "decommissioned"


def test_a_request_page_never_says_rejected_and_ready_at_once(client: TestClient, fleet: Fleet) -> None:
    terminal = fleet.terminals_a[0]
    ok(client.post(f"/api/v1/terminals/{terminal}/suspend", headers=fleet.headers("agent"),
                   json={"reason": "dormant", "note": "长期未使用"}))
    request = ok(client.post(f"/api/v1/terminals/{terminal}/reactivation-requests", headers=fleet.headers("merchant"),
                             json={"note": "请复机"}), 201)
    url = f"/reactivation-requests/{request['id']}"
    login(client, "merchant")
    assert 'data-testid="evidence-identity"' in client.get(url).text
    ok(client.post(f"/api/v1{url}/evidence", headers=fleet.headers("merchant"),
                   json={"kind": "identity", "legal_id": "91310000AAAA00001X"}))
    confirmed = client.get(url).text
    assert 'data-testid="evidence-identity"' not in confirmed, "identity is confirmed: its form is gone"
    assert 'data-testid="conditions-met"' in confirmed
    ok(client.post(f"/api/v1{url}/reject", headers=fleet.headers("agent"), json={"reason": "营业执照已过期"}))
    rejected = client.get(url).text
    assert 'data-testid="rejection"' in rejected and 'data-testid="resubmit-hint"' in rejected
    assert 'data-testid="conditions-met"' not in rejected
