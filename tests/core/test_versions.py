"""One rule for comparing software versions, used by reactivation and by telemetry evidence."""

import pytest

from posops.core.versions import compare_versions, is_version, parse_version, version_key


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("3.10.0", "3.9.2", 1),
        ("3.9.2", "3.10.0", -1),
        ("3.1", "3.1.0", 0),
        ("V1.02.3", "1.2.3", 0),
        ("3.10.0-rc1", "3.10.0", -1),
        ("3.10.0-rc2", "3.10.0-rc10", -1),
        ("3.10.0-rc1", "3.10.0-rc1", 0),
        ("3.10.0+b7", "3.10.0", 0),
        ("10.0", "9.99.99", 1),
        ("3.2.10", "3.2.9", 1),
        ("PayDroid 10.0", "PayDroid 8.1.0", 1),
        ("paydroid 8.1", "PayDroid  8.1.0", 0),
        ("3.1.0-rc1", "3.1", -1),
    ],
)
def test_compare_versions(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected
    assert (version_key(a) > version_key(b)) == (expected > 0)


@pytest.mark.parametrize("text", ["", "abc", "3..1", "3.1 build 5", "-1.0", "PayDroid", "8.1.0 PayDroid"])
def test_unreadable_versions_raise(text: str) -> None:
    assert not is_version(text)
    with pytest.raises(ValueError, match="not a software version"):
        parse_version(text)


def test_parse_keeps_the_product_name_and_release() -> None:
    version = parse_version("PayDroid 8.1.0-beta2+build5")
    assert version.product == "paydroid"
    assert version.release == (8, 1, 0)
    assert version.pre == ((1, "beta"), (0, 2))
