"""Software versions as terminals report them, compared one way everywhere.

Parts compare as numbers (3.10.0 > 3.9.2), missing parts count as 0 (3.1 == 3.1.0), a
pre-release is older than its release (3.10.0-rc1 < 3.10.0), build metadata is ignored, and a
product name in front (``PayDroid 8.1.0``) is part of the version: versions of different
products are compared by name first.

>>> compare_versions("3.10.0", "3.9.2")
1
>>> version_key("PayDroid 10.0") > version_key("PayDroid 8.1.0")
True
>>> compare_versions("V1.02.3", "1.2.3")
0
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION_RE = re.compile(
    r"^(?:(?P<product>[^\W\d_][\w-]*(?:\s+[^\W\d_][\w-]*)*)\s+)?"
    r"[vV]?(?P<release>\d+(?:\.\d+)*)(?:[-_.]?(?P<pre>[A-Za-z][0-9A-Za-z.]*))?(?:\+[0-9A-Za-z.-]+)?$"
)

VersionKey = tuple[str, tuple[int, ...], tuple[tuple[int, int | str], ...]]


@dataclass(frozen=True)
class Version:
    """A parsed software version: product name (may be empty), numeric release parts, pre-release tag."""

    product: str
    release: tuple[int, ...]
    pre: tuple[tuple[int, int | str], ...] = ()

    @property
    def key(self) -> VersionKey:
        """Sort key: trailing zero parts dropped, and a release after each of its pre-releases."""
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        # (1,) sorts after every (0, ...) pre-release tag
        pre = ((0, 0), *self.pre) if self.pre else ((1, 0),)
        return self.product, tuple(release), pre


def parse_version(text: str) -> Version:
    """Parse ``'3.10.0'``, ``'V1.02.3'``, ``'3.10.0-rc2'``, ``'3.10+b7'`` or ``'PayDroid 8.1.0'``.

    Raises ValueError naming the text when it is not a version.
    """
    match = _VERSION_RE.match(text.strip())
    if match is None:
        raise ValueError(f"not a software version: {text!r}")
    product = " ".join((match["product"] or "").casefold().split())
    release = tuple(int(part) for part in match["release"].split("."))
    # numbers sort before words and compare numerically, so rc2 < rc10 < release
    pre = tuple(
        (0, int(chunk)) if chunk.isdigit() else (1, chunk.lower())
        for chunk in re.findall(r"\d+|[A-Za-z]+", match["pre"] or "")
    )
    return Version(product, release, pre)


def version_key(text: str) -> VersionKey:
    """Sort key of a version text (see the module rules); ValueError when it is not a version."""
    return parse_version(text).key


def compare_versions(a: str, b: str) -> int:
    """Return -1, 0 or 1 as version ``a`` is older than, equal to or newer than ``b``."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def is_version(text: str) -> bool:
    """Tell whether `text` reads as a software version."""
    return _VERSION_RE.match(text.strip()) is not None
