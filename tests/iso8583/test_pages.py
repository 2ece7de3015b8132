"""Console: the terminal page's traffic section and the upload page with its report."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from posops.core.db import utcnow
from tests.conftest import Fleet
from tests.helpers import csrf_token, login
from tests.iso8583.helpers import answer, purchase, sign_in
from tests.iso8583.traffic import TID_A0, TID_TIMEOUT, TID_UNKNOWN, Step, fleet_steps, log_text

HTML = {"accept": "text/html"}


def _section(html: str) -> str:
    match = re.search(r'<section class="card" data-testid="traffic">.*?</section>', html, re.S)
    assert match is not None, "no traffic section"
    return match.group()


def _storm_steps() -> list[Step]:
    """Sign-in at 0, then five purchases refused 55 within a minute: a PIN-key storm."""
    request = sign_in(TID_A0, "000001")
    steps: list[Step] = [(0, ">", request), (0.5, "<", answer(request, "00"))]
    for n in range(5):
        wrong_pin = purchase(TID_A0, f"{n + 2:06d}")
        steps += [(10 + 10 * n, ">", wrong_pin), (10.4 + 10 * n, "<", answer(wrong_pin, "55"))]
    return steps


def test_terminal_page_shows_the_latest_traffic_and_its_evidence(client: TestClient, fleet: Fleet) -> None:
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)
    client.post("/api/v1/traffic/analyses", files={"file": ("morning.log", log_text(_storm_steps(), start))},
                headers=fleet.headers("agent"))
    login(client, "merchant", "zh-CN")
    section = _section(client.get(f"/terminals/{fleet.terminals_a[0]}").text)
    assert "morning.log" in section and "agent" in section
    assert re.search(r">55</span>\s*密码错", section) and "Incorrect PIN" not in section, "in the page's language only"
    shown = start.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in section, "the last successful sign-in, in the console's time zone"
    assert "消费" in section and "Purchase" not in section  # the last outcome's message, named in the page's language
    failures = re.search(r'data-testid="traffic-failures".*?</table>', section, re.S)
    assert failures is not None and "密码错" in failures.group() and ">5<" in failures.group()
    storms = re.search(r'data-testid="traffic-storms".*?</ul>', section, re.S)
    assert storms is not None and "× 5" in storms.group()
    evidence = re.search(r'data-testid="traffic-evidence".*?</ul>', section, re.S)
    assert evidence is not None
    assert 'data-check="response_code" data-outcome="55"' in evidence.group()
    assert 'data-check="key_check" data-outcome="work_key_invalid"' in evidence.group()
    assert "work_key_invalid<" not in evidence.group() and "工作密钥无效" in evidence.group(), "said in words"
    assert "traffic-upload-link" not in section  # merchants do not import traffic


def test_terminal_page_counts_timeouts_and_reversals_in_english(client: TestClient, fleet: Fleet) -> None:
    client.post("/api/v1/traffic/analyses", files={"file": ("pos.log", log_text(fleet_steps()))},
                headers=fleet.headers("agent"))
    login(client, "agent", "en")
    section = _section(client.get(f"/terminals/{fleet.terminals_a[1]}").text)
    assert "Transaction traffic" in section
    assert re.search(r'data-testid="traffic-timeouts">1<', section)
    assert re.search(r'data-testid="traffic-reversals">1<', section)
    assert "No answer (timeout)" in section and 'data-check="response_code" data-outcome="timeout"' in section
    assert "traffic-upload-link" in section


def test_terminal_without_traffic_says_so(client: TestClient, fleet: Fleet) -> None:
    login(client, "technician", "zh-CN")
    section = _section(client.get(f"/terminals/{fleet.terminals_a[2]}").text)
    assert 'data-testid="traffic-none"' in section and "尚未导入" in section


def test_old_traffic_is_shown_as_no_longer_evidence(client: TestClient, fleet: Fleet) -> None:
    client.post("/api/v1/traffic/analyses", files={"file": ("old.log", log_text(fleet_steps(),
                                                                                  utcnow() - timedelta(days=45)))},
                headers=fleet.headers("agent"))
    login(client, "agent", "zh-CN")
    assert "诊断时不再作为证据" in _section(client.get(f"/terminals/{fleet.terminals_a[0]}").text)


def test_upload_page_imports_and_shows_the_report(client: TestClient, fleet: Fleet) -> None:
    login(client, "agent", "zh-CN")
    form = client.get("/traffic/upload")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    response = client.post("/traffic/upload", data={"csrf_token": csrf_token(form.text)},
                           files={"file": ("pos.log", log_text(fleet_steps()), "text/plain")})
    assert response.status_code == 200
    report = re.search(r'data-testid="upload-report".*?</section>', response.text, re.S)
    assert report is not None
    matched = re.search(r'data-testid="matched-terminals".*?</table>', report.group(), re.S)
    assert matched is not None
    assert f'href="/terminals/{fleet.terminals_a[0]}">{TID_A0}<' in matched.group()
    assert f">{TID_TIMEOUT}<" in matched.group() and "MAC校验错" in matched.group()
    assert "key_check=work_key_invalid" in matched.group()
    unknown = re.search(r'data-testid="unknown-tids">(.*?)</p>', report.group(), re.S)
    assert unknown is not None and unknown.group(1).strip() == TID_UNKNOWN
    terminal_page = client.get(f"/terminals/{fleet.terminals_a[0]}").text
    assert "MAC校验错" in _section(terminal_page)


def test_upload_page_shows_why_a_file_was_refused(client: TestClient, fleet: Fleet) -> None:
    login(client, "technician", "zh-CN")
    token = csrf_token(client.get("/traffic/upload").text)
    response = client.post("/traffic/upload", data={"csrf_token": token},
                           files={"file": ("notes.txt", b"hello\nworld\n", "text/plain")})
    assert response.status_code == 422
    error = re.search(r'data-testid="upload-error">(.*?)</p>', response.text, re.S)
    assert error is not None and "没有找到 ISO 8583 报文" in error.group(1), "said in the page's language"
    assert 'data-testid="upload-report"' not in response.text
