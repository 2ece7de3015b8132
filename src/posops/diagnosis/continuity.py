"""Keeping the shop taking payments while its terminal is down (the articles' 备选方案).

A diagnosis whose likely causes leave the terminal out of service says what the merchant can
use meanwhile: the provider's QR collection, another terminal of the same merchant. A declined
card, an operator's slip or an empty printer do not stop the terminal, so they need no plan B.

    >>> from posops.diagnosis.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> takes_terminal_out(kb, "acct.arrears"), takes_terminal_out(kb, "card.funds")
    (True, False)
    >>> meanwhile("en", ["SN123"])[1]
    'Another terminal of this shop is working: SN123; take payments on it meanwhile.'
"""

from __future__ import annotations

from collections.abc import Sequence

from posops.core.labels import Label, catalog_sentence
from posops.diagnosis.knowledge import Knowledge

TERMINAL_WORKS = frozenset({"card", "operator"})
"""Cause categories under which the terminal itself still takes payments."""
PRINTER_PREFIX = "hw.printer_"
DOWN_SHARE = 0.5
"""Share of the ranking's probability on causes that stop the terminal above which the plan B is shown."""


def takes_terminal_out(knowledge: Knowledge, cause: str) -> bool:
    """Tell whether `cause` stops the terminal taking payments until it is repaired."""
    info = knowledge.causes[cause]
    return info.category not in TERMINAL_WORKS and not cause.startswith(PRINTER_PREFIX)


def likely_down(knowledge: Knowledge, ranking: Sequence[tuple[str, float]]) -> bool:
    """Tell whether the ranked causes most likely leave the terminal out of service."""
    return sum(p for cause, p in ranking if takes_terminal_out(knowledge, cause)) >= DOWN_SHARE


def meanwhile(lang: str, other_terminals: Sequence[str], loaner_free: bool = False) -> list[str]:
    """The ways to keep taking payments, in `lang`: QR collection, the shop's other working terminals, a loaner."""
    ways = [catalog_sentence("diagnosis.meanwhile.qr").text(lang)]
    if other_terminals:
        serials = Label("、".join(other_terminals), ", ".join(other_terminals))
        ways.append(catalog_sentence("diagnosis.meanwhile.other_terminal", serials=serials).text(lang))
    if loaner_free:
        ways.append(catalog_sentence("diagnosis.meanwhile.loaner").text(lang))
    return ways
