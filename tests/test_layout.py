"""The tree keeps its shape: no import cycles, no string imports, every test file is collected."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tkalert"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every tkalert module this file imports, at the top or inside a function (a lazy import is still a use)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tkalert"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tkalert"))
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_the_sender_or_the_document_imports_in_a_cycle():
    graph = import_graph()
    assert graph["tkalert.sender.pipeline"] >= {"tkalert.document.writer", "tkalert.sender.message"}
    assert cycles(graph) == []


def test_a_cycle_is_found_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_is_imported_by_a_name_in_a_string():
    spots = subprocess.run(["git", "grep", "-n", r"tkalert\.build\|digest_maker\"",
                            "--", "tkalert"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    assert spots == ""


def test_every_test_file_in_any_folder_is_collected(tmp_path):
    """pytest's default norecursedirs skips folders named build; setup.cfg lists ours instead."""
    probe = ROOT / "tests" / "build"
    if probe.exists():
        pytest.skip("tests/build exists")
    probe.mkdir()
    try:
        (probe / "test_probe.py").write_text("def test_probe():\n    pass\n", encoding="utf-8")
        listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                 "tests/build"], cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        (probe / "test_probe.py").unlink()
        probe.rmdir()
    assert "tests/build/test_probe.py::test_probe" in listed.stdout
