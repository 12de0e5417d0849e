"""The package's layers: imports only go down (core <- steps/credentials/validation <- ssh
<- terraform), never sideways between layers of one rank, never in a circle, and the
product never imports the harness (simsite) or the tests."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "edge_constructs"

#: Rank of each top-level part of the package; a module may import only lower ranks and
#: its own part. The package's __init__ (the public API) sits on top.
RANKS = {
    "core": 0,
    "steps": 1, "credentials": 1, "validation": 1,
    "ssh": 2,
    "terraform": 3,
    "__init__": 4, "__main__": 4,
}


def part_of(module: str) -> str:
    """'edge_constructs.steps.host' -> 'steps'; 'edge_constructs' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, absolute."""
    tree = ast.parse(path.read_text(), str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            # `from edge_constructs.steps import host` imports the module steps.host
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def product_modules() -> dict[str, set[str]]:
    mods = {}
    for path in PKG.rglob("*.py"):
        mods[module_name(path)] = imports_of(path)
    return mods


def ours(name: str, known: set[str]) -> bool:
    return name in known


def violations(mods: dict[str, set[str]]) -> list[str]:
    known = set(mods)
    bad = []
    for mod, imported in sorted(mods.items()):
        mine = part_of(mod)
        for other in sorted(imported):
            if other.split(".")[0] in ("simsite", "tests", "benchmarks", "examples"):
                bad.append(f"{mod} imports {other}: the product never imports the harness")
            if other not in known or other == mod:
                continue
            theirs = part_of(other)
            if theirs == mine:
                continue
            if RANKS[theirs] >= RANKS[mine]:
                bad.append(f"{mod} ({mine}, rank {RANKS[mine]}) imports {other} "
                           f"({theirs}, rank {RANKS[theirs]})")
    return bad


def cycles(mods: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules of the package."""
    known = set(mods)
    graph = {m: sorted(i for i in imps if i in known and i != m) for m, imps in mods.items()}
    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = "open"
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == "open":
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def test_every_part_of_the_package_has_a_rank():
    parts = {part_of(m) for m in product_modules()}
    assert parts <= set(RANKS), parts - set(RANKS)


def test_imports_only_go_down():
    assert violations(product_modules()) == []


def test_no_import_cycles():
    # a package imports its own modules from its __init__; that is not a cycle of concerns
    found = [c for c in cycles(product_modules())
             if not all(part_of(m) == part_of(c[0]) for m in c)]
    assert found == []


@pytest.mark.parametrize("mods,expected", [
    ({"edge_constructs.core.props": {"edge_constructs.steps.step"},
      "edge_constructs.steps.step": set()}, "edge_constructs.core.props (core, rank 0) imports"),
    ({"edge_constructs.steps.host": {"edge_constructs.credentials.pki"},
      "edge_constructs.credentials.pki": set()}, "edge_constructs.steps.host (steps, rank 1)"),
    ({"edge_constructs.ssh.runner": {"simsite.site"}}, "never imports the harness"),
])
def test_the_check_fails_on_an_upward_sideways_or_harness_import(mods, expected):
    assert any(expected in v for v in violations(mods))


def test_the_cycle_check_finds_a_cycle():
    mods = {"edge_constructs.ssh.a": {"edge_constructs.terraform.b"},
            "edge_constructs.terraform.b": {"edge_constructs.ssh.a"}}
    assert cycles(mods) == [["edge_constructs.ssh.a", "edge_constructs.terraform.b",
                             "edge_constructs.ssh.a"]]
