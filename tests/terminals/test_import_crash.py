"""`kill -9` in the middle of a terminal CSV import leaves none of the file's terminals, and the database usable.

The import runs in a subprocess. Its driver wraps the service's row insert (a test seam in the
child only, no hook in the code): after half of the rows it prints how many of the file's
terminals its own open transaction already holds, and waits. The test then sends SIGKILL,
so the process dies mid-import for certain, with rows written but not committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from posops.core.db import Database
from posops.terminals.csv_import import MAX_ROWS
from posops.terminals.models import Terminal
from tests.conftest import Fleet

ROWS = int(os.environ.get("POSOPS_TEST_CRASH_IMPORT_ROWS", "4000"))
"""Rows of the imported file (the import's row limit is raised to match when it is larger)."""
LEGAL_ID = "91310000AAAA00001X"  # merchant A of the fleet fixture
PREFIX = "SN-CRASH-"

DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path

    from sqlalchemy import func, select

    import posops.tables  # every model, so that foreign keys resolve
    from posops.core.auth import Principal, Role
    from posops.core.db import Database
    from posops.terminals import service
    from posops.terminals.models import Terminal

    url, path, stop_after = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    real_insert = service.insert_terminal
    inserted = 0

    def insert(session, principal, row, **options):
        global inserted
        terminal = real_insert(session, principal, row, **options)
        inserted += 1
        if inserted == stop_after:
            held = session.scalar(select(func.count()).where(Terminal.serial_number.like("SN-CRASH-%")))
            print(f"importing: {held} rows written, not committed", flush=True)
            sys.stdin.read()  # until the test kills this process
        return terminal

    if stop_after:
        service.insert_terminal = insert
    admin = Principal(user_id=None, username="crash-test", role=Role.ADMIN)
    count = service.import_terminals(Database(url), admin, path.read_bytes(), max_rows=int(sys.argv[4]))
    print(f"done: {count}", flush=True)
""")


def terminals_csv(rows: int) -> bytes:
    lines = ["serial_number,model,tid,mid,merchant_legal_id"]
    lines += [f"{PREFIX}{i:06d},PAX A920,C{i:07d},89831000{i:07d},{LEGAL_ID}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def run_import(database_url: str, path: Path, stop_after: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", DRIVER, database_url, str(path), str(stop_after),
                             str(max(ROWS, MAX_ROWS))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def crash_terminals(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(Terminal.serial_number.like(f"{PREFIX}%"))) or 0


def test_a_killed_import_leaves_none_of_its_terminals_and_the_next_import_succeeds(
        database_url: str, fleet: Fleet, tmp_path: Path) -> None:
    path = tmp_path / "terminals.csv"
    path.write_bytes(terminals_csv(ROWS))
    db = Database(database_url)
    before = crash_terminals(db)

    child = run_import(database_url, path, stop_after=ROWS // 2)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == f"importing: {ROWS // 2} rows written, not committed\n", child.stderr and child.stderr.read()
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert "done" not in out, "the import finished before it was killed"
    db.engine.dispose()  # a fresh connection, as the next process would open

    assert before == 0 and crash_terminals(db) == 0
    again = run_import(database_url, path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert out == f"done: {ROWS}\n"
    assert crash_terminals(db) == ROWS
