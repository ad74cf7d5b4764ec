"""The import rules of architecture.md §2, checked on the source tree."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "bastion"
FRONT_ENDS = {"api", "web", "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _bastion_imports(path: Path) -> set[str]:
    return {
        m.split(".")[1] for m in _imports(path) if m.startswith("bastion.") and m.count(".") >= 1
    }


def test_core_imports_nothing_from_bastion_nor_web_or_db_frameworks():
    for path in (SRC / "core").rglob("*.py"):
        modules = _imports(path)
        assert not {
            m for m in modules if m.startswith("bastion.") and not m.startswith("bastion.core")
        }, path
        assert not {
            m for m in modules if m.split(".")[0] in {"fastapi", "sqlalchemy", "starlette"}
        }, path


def test_integrations_import_only_core_and_site():
    for path in (SRC / "integrations").rglob("*.py"):
        bad = _bastion_imports(path) - {"core", "site", "integrations"}
        assert not bad, f"{path} imports {bad}"


def test_nothing_imports_the_front_ends():
    for path in SRC.rglob("*.py"):
        package = _package_of(path)
        if package in FRONT_ENDS or package in {"server", "demo", "__main__"}:
            continue
        bad = _bastion_imports(path) & FRONT_ENDS
        # Domain routers live in <domain>/api.py (or <domain>/api/) and may use the shared
        # API dependencies.
        if path.name == "api.py" or path.parent.name == "api":
            bad -= {"api"}
        assert not bad, f"{path} imports front-end package(s) {bad}"
