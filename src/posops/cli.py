"""The `posops` command line: assembles the core commands and every feature's."""

from __future__ import annotations

import typer

from posops import tables  # noqa: F401  every feature's tables, so foreign keys across features resolve
from posops.core.cli import db_app, serve, tokens_app, users_app
from posops.demo import demo_app
from posops.diagnosis.cli import diagnose, kb_app
from posops.fees.cli import fees_app
from posops.iso8583.cli import iso8583_app, logs_app, sim_host, sim_terminal
from posops.reactivation.cli import reactivate, status
from posops.telemetry.cli import sim_fleet, telemetry_app
from posops.terminals.cli import terminals_app
from posops.tickets.cli import tickets_app
from posops.upgrades.cli import upgrades_app
from posops.worker import worker_command

app = typer.Typer(help="posops: keep POS terminals taking payments.", no_args_is_help=True)
app.command("serve")(serve)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
terminals_app.command("reactivate")(reactivate)
terminals_app.command("status")(status)
app.add_typer(terminals_app, name="terminals")
app.add_typer(tickets_app, name="tickets")
app.add_typer(upgrades_app, name="upgrades")
app.add_typer(fees_app, name="fees")
app.add_typer(kb_app, name="kb")
app.command("diagnose")(diagnose)
app.add_typer(iso8583_app, name="iso8583")
app.add_typer(logs_app, name="logs")
sim_app = typer.Typer(help="Simulators for demos, tests and reproducing a merchant's problem.", no_args_is_help=True)
sim_app.command("host")(sim_host)
sim_app.command("terminal")(sim_terminal)
sim_app.command("fleet")(sim_fleet)
app.add_typer(sim_app, name="sim")
app.add_typer(telemetry_app, name="telemetry")
app.command("worker")(worker_command)
