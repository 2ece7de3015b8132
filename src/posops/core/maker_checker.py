"""Maker–checker (四眼原则): a decision that moves money or lifts a risk needs someone who did not prepare it.

A feature collects the *makers* of what is to be decided — who filed it, who entered its evidence,
who imposed what it lifts — each with the catalogue key of the part they played, and calls
:func:`require_second_person` before the decision. Reactivation approval (and lifting a risk
suspension) use it; issue #15's approval of an upgrade campaign is meant to reuse it the same way.

A person is a user id when both sides have one; otherwise the username, so the bootstrap admin
token (``admin-token``) and the CLI operator are each their own person, and a record that kept
only a name errs on the side of refusing.

>>> from posops.core.auth import BOOTSTRAP_ADMIN, Principal, Role
>>> agent = Principal(user_id=7, username="agent", role=Role.AGENT)
>>> same_person(agent, Maker("agent", 7, "reactivation.maker.filed"))
True
>>> same_person(BOOTSTRAP_ADMIN, Maker("agent", 7, "reactivation.maker.filed"))
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from posops.core.auth import Principal
from posops.core.errors import Forbidden
from posops.core.labels import Label, catalog_label, catalog_sentence


@dataclass(frozen=True)
class Maker:
    """Someone who had a hand in what is to be decided, and the part they played (a catalogue key)."""

    username: str
    user_id: int | None
    part: str
    """Catalogue key of a clause saying what they did, e.g. ``reactivation.maker.payment`` (“you recorded …”)."""


def same_person(principal: Principal, maker: Maker) -> bool:
    """Tell whether ``principal`` is the person who played ``maker``'s part."""
    if principal.user_id is not None and maker.user_id is not None:
        return principal.user_id == maker.user_id
    return principal.username.casefold() == maker.username.casefold()


def _part_played(principal: Principal, makers: Iterable[Maker]) -> Label | None:
    """What ``principal`` did as one of ``makers`` (the first part found), or None when they are none of them."""
    return next((catalog_label(m.part) for m in makers if same_person(principal, m)), None)


def second_person_refusal(principal: Principal, makers: Iterable[Maker], *, key: str,
                          **values: object) -> Label | None:
    """The refusal (sentence ``key``, its ``{part}`` what the caller did) when ``principal`` is a maker; else None.

    Pages use it to say, before anyone clicks, why the caller may not decide.
    """
    part = _part_played(principal, makers)
    return None if part is None else catalog_sentence(key, part=part, **values)


def require_second_person(principal: Principal, makers: Iterable[Maker], *, key: str, **values: object) -> None:
    """Raise :class:`Forbidden` (HTTP 403, code ``key``) when ``principal`` is one of ``makers``.

    Call it after the usual role and state checks, before the decision changes anything.
    """
    part = _part_played(principal, makers)
    if part is not None:
        raise Forbidden(key=key, part=part, **cast(dict[str, Any], values))
