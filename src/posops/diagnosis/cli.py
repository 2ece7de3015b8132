"""`posops diagnose` (a troubleshooting wizard in the terminal, or one step as JSON) and `posops kb learn`."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from posops.core.auth import OPERATOR
from posops.core.cli import migrated_database, use_case_errors
from posops.core.i18n import translate
from posops.diagnosis import service
from posops.diagnosis.engine import Assessment, DiagnosisEngine, SessionState
from posops.diagnosis.errors import StepError

kb_app = typer.Typer(help="The diagnosis knowledge base.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _parse_evidence(pairs: list[str]) -> dict[str, str]:
    evidence: dict[str, str] = {}
    for pair in pairs:
        check, sep, outcome = pair.partition("=")
        if not sep or not check or not outcome:
            errors.print(f"[bold red]error:[/] --evidence takes CHECK=OUTCOME, got {pair!r}")
            raise typer.Exit(2)
        evidence[check.strip()] = outcome.strip()
    return evidence


def _show(engine: DiagnosisEngine, assessment: Assessment, lang: str) -> None:
    table = Table(title=engine.symptom_name(assessment.symptom or "", lang), show_header=False, box=None)
    for cause, probability in assessment.ranking[:5]:
        bar = "█" * max(1, round(probability * 30))
        table.add_row(engine.cause_name(cause, lang), f"[cyan]{bar}[/]", f"{probability:.0%}")
    console.print(table)
    console.print(f"[dim]{assessment.explanation}[/]")


def diagnose(text: str = typer.Option("", "--text", "-t", help="the complaint; asked for when missing"),
             evidence: list[str] = typer.Option([], "--evidence", "-e", help="CHECK=OUTCOME already known"),
             symptom: str | None = typer.Option(None, help="a symptom id, when already known"),
             lang: str = typer.Option("zh-CN", help="zh-CN or en"),
             as_json: bool = typer.Option(False, "--json", help="print one assessment as JSON and stop")) -> None:
    """Troubleshoot a terminal fault step by step (or, with --json, give the ranking and next step once)."""
    engine = DiagnosisEngine()
    known = _parse_evidence(evidence)
    if not text and not as_json:
        text = Prompt.ask("故障描述 / what is wrong" if lang == "zh-CN" else "What is wrong")
    try:
        state = engine.start(text, symptom=symptom, evidence=known)
        assessment = engine.assess(state, lang)
    except StepError as exc:
        errors.print(f"[bold red]error:[/] {exc.text(lang)}")
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(assessment.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return
    _wizard(engine, state, assessment, lang)


def _wizard(engine: DiagnosisEngine, state: SessionState, assessment: Assessment, lang: str) -> SessionState:
    while True:
        _show(engine, assessment, lang)
        step = assessment.next_step
        if step is None:
            console.print(f"[bold green]{assessment.status}[/]")
            return state
        kind = translate(f"diagnosis.step_kind.{step.kind}", lang)
        console.rule(f"{kind}: {step.title}")
        console.print(step.guidance)
        choices = list(step.outcomes)
        for number, outcome in enumerate(choices, 1):
            console.print(f"  [bold]{number}[/] {step.outcome_labels.get(outcome, outcome)} [dim]({outcome})[/]")
        picked = Prompt.ask("→", choices=[str(n) for n in range(1, len(choices) + 1)] + choices, show_choices=False)
        outcome = choices[int(picked) - 1] if picked.isdigit() else picked
        state = engine.apply(state, step.id, outcome)
        assessment = engine.assess(state, lang)


@kb_app.command("learn")
def learn(min_cases: int = typer.Option(20, help="resolved diagnoses needed before learning")) -> None:
    """Refit priors and likelihoods from resolved diagnoses in the database and put them in force."""

    db = migrated_database()
    with use_case_errors():
        report = service.learn(db, OPERATOR, min_cases=min_cases)
    table = Table(title=f"learned from {report.cases} resolved diagnoses (overlay {report.overlay_id})")
    table.add_column("measure")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for key in report.before:
        table.add_row(key, f"{report.before[key]:.3f}", f"{report.after.get(key, float('nan')):.3f}")
    console.print(table)
