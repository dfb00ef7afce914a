"""Where things live: scikit-learn's private names in one module, torch code on its own."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skae"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def imports(path):
    """``(module, name)`` for every ``from module import name`` and ``import module``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)


def is_private(module, name):
    parts = module.split(".")
    return any(part.startswith("_") for part in parts) or (name or "").startswith("_")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_one_module_imports_private_scikit_learn_names(path):
    private = [
        f"{module}.{name}"
        for module, name in imports(path)
        if module.split(".")[0] == "sklearn" and is_private(module, name)
    ]
    if path.name == "_sklearn_internals.py":
        assert private, "the designated module should hold the private imports"
    else:
        assert not private, f"import these from skae._sklearn_internals instead: {private}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "nn").glob("*.py")), ids=lambda p: p.name)
def test_torch_building_blocks_import_neither_scikit_learn_nor_skorch(path):
    modules = {module.split(".")[0] for module, _ in imports(path)}
    assert not modules & {"sklearn", "skorch"}


def test_the_private_import_check_can_fail(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text("from sklearn.utils._param_validation import Interval\n")
    assert [is_private(m, n) for m, n in imports(source)] == [True]
