"""Every catalogue key the code names literally exists in some feature's messages.yaml."""

from __future__ import annotations

import ast

from posops.core.i18n import PACKAGE_DIR, catalog

_CALLS = {"catalog_label", "catalog_sentence", "catalog_condition", "translate"}


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, used as key prefixes."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The string an expression always evaluates to, or None (f-strings and variables vary)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, constants), _text(node.right, constants)
        return left + right if left is not None and right is not None else None
    return None


def _literal_keys() -> list[tuple[str, str]]:
    keys = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS):
                continue
            if node.func.id == "catalog_condition" and len(node.args) >= 2:
                prefix, code = _text(node.args[0], constants), _text(node.args[1], constants)
                key = prefix + code if prefix is not None and code is not None else None
            else:
                key = _text(node.args[0], constants) if node.args else None
            if key is not None:
                keys.append((f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}", key))
    return keys


def test_every_literal_key_in_the_code_is_in_the_catalogue() -> None:
    keys = _literal_keys()
    assert len(keys) > 50
    missing = [f"{where} {key}" for where, key in keys if key not in catalog()]
    assert not missing, missing
