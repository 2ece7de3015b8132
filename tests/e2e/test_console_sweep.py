"""Every role, in zh-CN and English, on a 390 px phone: every page reachable from its home page reads whole.

The crawler follows the links a person could click (one page per URL shape, so `/terminals/7` stands
for every terminal) and fails on a server error, raw JSON, a catalogue key shown as text, English
sentences on a Chinese page, or a page wider than the phone.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import log_in

ROLES = ["merchant", "agent", "risk", "tech", "admin"]
PHONE_WIDTH = 390
MAX_PAGES = 70
"""Page shapes visited per role and language: more than the console has, so the crawl ends by itself."""
SKIPPED = re.compile(r"^/(logout|lang/|docs|openapi\.json|static/)|\.csv$|/file$|/documents/\d+$|/template")
"""Not pages to read: signing out, switching language, the API docs, downloads."""
CATALOGUE_KEY = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+){2,}\b")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3,}")
"""Four English words in a row: a sentence, not a model name ("PAX A920") or a version."""
CJK = re.compile(r"[\u4e00-\u9fff]")

VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(node) {
    const el = node.parentElement;
    if (!el || el.closest('script,style,code,pre,[data-raw],textarea,option')) return NodeFilter.FILTER_REJECT;
    const style = getComputedStyle(el);
    const hidden = style.display === 'none' || style.visibility === 'hidden';
    return hidden ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
  }});
  const texts = [];
  while (walker.nextNode()) { const t = walker.currentNode.textContent.trim(); if (t) texts.push(t); }
  for (const el of document.querySelectorAll('input[placeholder],button,[title]')) {
    if (el.placeholder) texts.push(el.placeholder);
    if (el.title) texts.push(el.title);
  }
  return texts;
}"""
LINKS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))"""


def _shape(path: str) -> str:
    """One URL per page shape: ids and query values do not make a new page."""
    parts = urlsplit(path)
    query = "&".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p)) if parts.query else ""
    return re.sub(r"/[0-9a-f]*\d[0-9a-f]*(?=/|$)", "/{id}", parts.path) + ("?" + query if query else "")


def _problems(page: Any, path: str, lang: str) -> list[str]:
    found = []
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    for text in texts:
        if CATALOGUE_KEY.fullmatch(text) or re.search(r"\b(?:error|field|status|reason|role)\.[a-z_]+\b", text):
            found.append(f"{path}: catalogue key shown: {text[:80]!r}")
        if lang == "zh-CN" and ENGLISH_SENTENCE.search(text) and not CJK.search(text):
            found.append(f"{path}: English on a Chinese page: {text[:80]!r}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > PHONE_WIDTH + 1:
        found.append(f"{path}: {width} px wide on a {PHONE_WIDTH} px phone")
    return found


def _crawl(page: Any, base: str, lang: str) -> tuple[set[str], list[str]]:
    seen: set[str] = set()
    queue = deque(["/"])
    problems: list[str] = []
    visited = 0
    while queue and visited < MAX_PAGES:
        path = queue.popleft()
        if _shape(path) in seen:
            continue
        seen.add(_shape(path))
        response = page.goto(base + path)
        visited += 1
        status = response.status if response else 0
        kind = (response.headers.get("content-type", "") if response else "")
        if status >= 500:
            problems.append(f"{path}: HTTP {status}")
            continue
        if "json" in kind:
            problems.append(f"{path}: raw JSON ({status})")
            continue
        problems += _problems(page, path, lang)
        for href in page.evaluate(LINKS):
            target = urlsplit(href)
            if target.netloc and target.netloc != urlsplit(base).netloc:
                continue
            local = target.path + ("?" + target.query if target.query else "")
            if local.startswith("/") and not SKIPPED.search(target.path) and _shape(local) not in seen:
                queue.append(local)
    return seen, problems


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_reaches_reads_whole_on_a_phone(page: Any, live_server: str, role: str, lang: str) -> None:
    log_in(page, live_server, role)
    if lang == "en":
        page.goto(live_server + "/lang/en")
    visited, problems = _crawl(page, live_server, lang)
    assert {"/", "/terminals", "/terminals/{id}", "/tickets/{id}", "/diagnoses/{id}"} <= visited, \
        "from its home page a role reaches its terminals, their repairs and diagnoses"
    assert len(visited) >= 15
    assert problems == []
