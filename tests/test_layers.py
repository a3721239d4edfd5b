"""The house's layers, read from the code itself: the page and the client never reach into the
server, nothing imports in a circle, and the classroom works without Gradio."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

PACKAGE = ROOT / "agora"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The agora modules ``path`` imports (relative imports resolved), at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import x` imports a module
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules}


GRAPH = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_page_the_client_and_the_classroom_never_import_the_server() -> None:
    reaching = sorted(f"{m} imports {i}" for m, found in GRAPH.items()
                      if m.startswith(("agora.client", "agora.web", "agora.classroom"))
                      for i in found if i == "agora.server" or i.startswith("agora.server."))
    assert reaching == []


def test_the_classroom_and_the_client_never_import_the_page() -> None:
    reaching = sorted(f"{m} imports {i}" for m, found in GRAPH.items()
                      if m.startswith(("agora.client", "agora.classroom", "agora.shared", "agora.server"))
                      for i in found if i.startswith("agora.web"))
    assert reaching == []


def test_no_module_imports_itself_through_others() -> None:
    """No cycle in agora's import graph (a package's ``__init__`` importing its own modules aside)."""
    def edges(module: str) -> set[str]:
        return {i for i in GRAPH[module] if not (module.startswith(i + ".") and i in GRAPH)}

    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(" → ".join(path[path.index(module):] + [module]))
            return
        if module in done:
            return
        for found in sorted(edges(module)):
            visit(found, [*path, module])
        done.add(module)

    for module in GRAPH:
        visit(module, [])
    assert cycles == []


def test_the_classroom_needs_no_gradio() -> None:
    code = "import sys; sys.modules['gradio'] = None; import agora.classroom, agora.startup; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_layer_check_sees_imports_when_they_are_there() -> None:
    """The reader above finds relative and absolute imports alike (else the tests above prove nothing)."""
    assert "agora.client.backend" in GRAPH["agora.startup"] and "agora.server" in GRAPH["agora.startup"]
    assert "agora.classroom.reply" in GRAPH["agora.classroom.debate"]
    assert "agora.client.flow" in GRAPH["agora.client.chat"]
