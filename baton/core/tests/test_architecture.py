"""Guards for the code's shape (docs/architecture.md), checked on the source tree with `ast`.

Each check has a planted example below that shows it failing. What the tree breaks today is
written down in `architecture_debt.py` as a ratchet: a count may only go down, a new offender
fails at once. Issue 14 empties those lists.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from baton.core.tests import architecture_debt as debt

ROOT = Path(__file__).resolve().parents[3]  # the directory holding the `baton` package
SKIP_PARTS = {"migrations", "tests", "testing", "node_modules", "static", "templates", "locale"}
ORM_WRITES = {"save", "delete", "bulk_create", "bulk_update", "update_or_create", "get_or_create"}
# `create` and `update` are ORM writes only on a manager or queryset chain (dicts have `update`).
ORM_CHAIN_WRITES = {"create", "update"}
QUERYSET_HINTS = {"objects", "filter", "exclude", "all", "select_for_update", "_default_manager"}
MAX_UI_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


@dataclass
class Module:
    name: str  # dotted, e.g. baton.handover.actions.cases
    path: Path
    tree: ast.Module
    lines: int
    imports: set[str] = field(default_factory=set)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def load(root: Path = ROOT, package: str = "baton") -> dict[str, Module]:
    mods: dict[str, Module] = {}
    for path in sorted((root / package).rglob("*.py")):
        if SKIP_PARTS & set(path.relative_to(root).parts):
            continue
        text = path.read_text(encoding="utf-8")
        name = module_name(path, root)
        mods[name] = Module(name, path, ast.parse(text), text.count("\n") + 1)
    for mod in mods.values():
        mod.imports = {t for t in _imported(mod, mods) if t != mod.name}
    return mods


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.name.split(".")
    if mod.path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imported(mod: Module, mods: dict[str, Module]) -> Iterator[str]:
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in mods)
        elif isinstance(node, ast.ImportFrom):
            src = _resolve(mod, node)
            for alias in node.names:
                if f"{src}.{alias.name}" in mods:
                    yield f"{src}.{alias.name}"
                elif src in mods:
                    yield src


def private_imports(mods: dict[str, Module]) -> list[str]:
    """`from baton.x import _name` (or `module._name`) across modules."""
    found = []
    for mod in mods.values():
        aliases: dict[str, str] = {}
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom):
                src = _resolve(mod, node)
                for alias in node.names:
                    if alias.name.startswith("_") and src in mods and src != mod.name:
                        found.append(f"{mod.name} imports {src}.{alias.name}")
                    if f"{src}.{alias.name}" in mods:
                        aliases[alias.asname or alias.name] = f"{src}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(mod.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{mod.name} uses {aliases[node.value.id]}.{node.attr}")
    return sorted(set(found))


def cycles(mods: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of the import graph with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(mods[v].imports):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for name in sorted(mods):
        if name not in index:
            visit(name)
    return sorted(out)


def _is_action_module(name: str) -> bool:
    parts = name.split(".")
    return "actions" in parts or parts[-1].startswith("actions_")


def _chain(node: ast.expr) -> Iterator[str]:
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            yield node.attr
            node = node.value
        else:
            if isinstance(node, ast.Name):
                yield node.id
            return


def orm_writes(mods: dict[str, Module]) -> Counter[str]:
    """ORM writes per module outside `actions` (and outside demo data and commands)."""
    found: Counter[str] = Counter()
    for mod in mods.values():
        if _is_action_module(mod.name) or mod.name.split(".")[-1] == "demo":
            continue
        if ".management.commands." in mod.name:
            continue
        for node in ast.walk(mod.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            attr = node.func.attr
            if attr in ORM_WRITES or (
                attr in ORM_CHAIN_WRITES and QUERYSET_HINTS & set(_chain(node.func.value))
            ):
                found[mod.name] += 1
    return found


def long_ui_modules(mods: dict[str, Module]) -> dict[str, int]:
    return {
        m.name: m.lines
        for m in mods.values()
        if m.lines > MAX_UI_MODULE_LINES
        and any(p == "api" or p.startswith(("api_", "views")) for p in m.name.split(".")[2:])
    }


def long_functions(mods: dict[str, Module]) -> dict[str, int]:
    out = {}
    for mod in mods.values():
        if mod.name.split(".")[-1] == "demo":
            continue
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    out[f"{mod.name}.{node.name}"] = size
    return out


# --- the tree ---------------------------------------------------------------------------------

MODS = load()


def test_no_new_private_imports_across_modules() -> None:
    new = set(private_imports(MODS)) - set(debt.PRIVATE_IMPORTS)
    assert not new, "import a public name instead:\n" + "\n".join(sorted(new))


def test_no_new_import_cycles() -> None:
    known = [set(c) for c in debt.CYCLES]
    new = [c for c in cycles(MODS) if not any(set(c) <= k for k in known)]
    assert not new, f"import cycles: {new}"


def test_no_new_orm_writes_outside_actions() -> None:
    grown = {
        name: count
        for name, count in orm_writes(MODS).items()
        if count > debt.ORM_WRITES.get(name, 0)
    }
    assert not grown, f"move these state changes into an action: {grown}"


def test_view_and_api_modules_stay_short() -> None:
    grown = {
        n: size
        for n, size in long_ui_modules(MODS).items()
        if size > debt.LONG_UI_MODULES.get(n, MAX_UI_MODULE_LINES)
    }
    assert not grown, f"split these by sub-resource: {grown}"


def test_functions_stay_short() -> None:
    grown = {
        n: size
        for n, size in long_functions(MODS).items()
        if size > debt.LONG_FUNCTIONS.get(n, MAX_FUNCTION_LINES)
    }
    assert not grown, f"split these functions: {grown}"


# --- each check fails on a planted example ----------------------------------------------------


def _plant(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in {"planted/__init__.py": "", **files}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load(tmp_path, "planted")


def test_planted_private_import_is_found(tmp_path: Path) -> None:
    mods = _plant(
        tmp_path,
        {
            "planted/a.py": "def _helper(): ...\n",
            "planted/b.py": "from planted.a import _helper\n",
            "planted/c.py": "from planted import a\nx = a._helper\n",
        },
    )
    assert private_imports(mods) == [
        "planted.b imports planted.a._helper",
        "planted.c uses planted.a._helper",
    ]


def test_planted_cycle_is_found_even_inside_a_function(tmp_path: Path) -> None:
    mods = _plant(
        tmp_path,
        {
            "planted/a.py": "from planted import b\n",
            "planted/b.py": "def f():\n    from planted.a import x\n",
        },
    )
    assert cycles(mods) == [["planted.a", "planted.b"]]


def test_planted_orm_write_outside_actions_is_found(tmp_path: Path) -> None:
    mods = _plant(
        tmp_path,
        {
            "planted/views.py": (
                "def v(case, Case):\n    case.save()\n"
                "    Case.objects.filter(pk=1).update(x=1)\n    {}.update(a=1)\n"
            ),
            "planted/actions/cases.py": "def a(case):\n    case.save()\n",
        },
    )
    assert orm_writes(mods) == Counter({"planted.views": 2})


def test_planted_long_view_module_and_function_are_found(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    mods = _plant(
        tmp_path,
        {
            "planted/app/views.py": "x = 1\n" * (MAX_UI_MODULE_LINES + 1),
            "planted/app/rules.py": f"def long():\n{body}\n",
        },
    )
    assert list(long_ui_modules(mods)) == ["planted.app.views"]
    assert list(long_functions(mods)) == ["planted.app.rules.long"]


def write_debt(path: Path = Path(debt.__file__)) -> None:
    """Rewrite architecture_debt.py from the tree as it is (after paying some debt off):
    `python -m baton.core.tests.test_architecture`."""
    mods = load()
    text = (
        '"""What the tree breaks of test_architecture.py today: a ratchet, regenerated with\n'
        "`python -m baton.core.tests.test_architecture` only after debt was paid off (never to\n"
        'let a new offender in). Issue 14 empties these."""\n\n'
        f"PRIVATE_IMPORTS: list[str] = {private_imports(mods)!r}\n"
        f"CYCLES: list[list[str]] = {cycles(mods)!r}\n"
        f"ORM_WRITES: dict[str, int] = {dict(sorted(orm_writes(mods).items()))!r}\n"
        f"LONG_UI_MODULES: dict[str, int] = {dict(sorted(long_ui_modules(mods).items()))!r}\n"
        f"LONG_FUNCTIONS: dict[str, int] = {dict(sorted(long_functions(mods).items()))!r}\n"
    )
    path.write_text(text)


if __name__ == "__main__":
    write_debt()
