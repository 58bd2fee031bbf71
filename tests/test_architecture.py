"""The package's shape: no import cycles among its modules, and a short top level.

Which code may import pytest is ruff's TID251 (banned-api in pyproject.toml).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_qlab"
MAX_TOP_LEVEL_MODULES = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run when the module is imported: the module body and its if/try blocks, not
    function or class bodies, and not `if TYPE_CHECKING:` blocks."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                yield from _import_time_statements(statement.body)
            yield from _import_time_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from _import_time_statements(block)
            for handler in statement.handlers:
                yield from _import_time_statements(handler.body)
        elif isinstance(statement, ast.With):
            yield from _import_time_statements(statement.body)


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """The package's modules that `module` imports when it is imported."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for statement in _import_time_statements(tree.body):
        if isinstance(statement, ast.Import):
            found.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                anchor = package.rsplit(".", statement.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in statement.names:
                submodule = f"{base}.{alias.name}"
                # `from package import submodule` needs the submodule, not the package's names
                found.add(submodule if submodule in modules else base)
    return {name for name in found if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _imports(path, name, set(paths)) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as the modules along it (first repeated last), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        trail: list[str] = [start]
        on_trail = {start}
        pending = [iter(sorted(graph[start]))]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                pending.pop()
                done.add(trail[-1])
                on_trail.discard(trail.pop())
            elif following in on_trail:
                return [*trail[trail.index(following) :], following]
            elif following not in done:
                trail.append(following)
                on_trail.add(following)
                pending.append(iter(sorted(graph[following])))
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())

    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_diamond() -> None:
    diamond = {"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}
    looped = {**diamond, "d": {"b"}}

    assert find_cycle(diamond) is None
    assert find_cycle(looped) == ["b", "d", "b"]


def test_type_checking_imports_are_not_import_time(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import pytest_qlab.a\n"
        "if TYPE_CHECKING:\n"
        "    import pytest_qlab.b\n"
        "def later() -> None:\n"
        "    import pytest_qlab.c\n"
        "try:\n"
        "    from pytest_qlab import d, version\n"
        "except ImportError:\n"
        "    pass\n",
        encoding="utf-8",
    )
    modules = {"pytest_qlab.a", "pytest_qlab.b", "pytest_qlab.c", "pytest_qlab.d", "pytest_qlab"}

    found = _imports(source, "pytest_qlab.m", modules)

    assert found == {"pytest_qlab.a", "pytest_qlab.d", "pytest_qlab"}


def test_the_top_of_the_package_stays_short() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))

    assert len(top) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(top)} modules at the top of pytest_qlab/: {top}"
    )
