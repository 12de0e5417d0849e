"""The layers: imports only go down (provisioners.core <- provisioners.steps /
edge_constructs.credentials / edge_constructs.validation <- provisioners.ssh <-
edge_constructs.terraform <- the public API), never sideways between layers of one rank, never
in a circle; `provisioners` never imports `edge_constructs` and loads without cdktf or the
provider framework; the product never imports the harness (simsite) or the tests."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("provisioners", "edge_constructs")

#: Rank of each part of the product; a module may import only lower ranks and its own part.
#: Each package's __init__ (edge_constructs': the public API) sits on top of its own parts.
RANKS = {
    "provisioners.core": 0,
    "provisioners.steps": 1, "edge_constructs.credentials": 1, "edge_constructs.validation": 1,
    "provisioners.ssh": 2, "provisioners.__init__": 2,
    "edge_constructs.terraform": 3, "edge_constructs.app_errors": 3,
    "edge_constructs.__init__": 4, "edge_constructs.__main__": 4,
}


def part_of(module: str) -> str:
    """'provisioners.steps.host' -> 'provisioners.steps'; 'edge_constructs' ->
    'edge_constructs.__init__'."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else f"{parts[0]}.__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
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
            # `from provisioners.steps import host` imports the module steps.host
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def product_modules() -> dict[str, set[str]]:
    mods = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
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
            if mod.startswith("provisioners") and other.split(".")[0] == "edge_constructs":
                bad.append(f"{mod} imports {other}: provisioners never imports edge_constructs")
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
    ({"provisioners.core.props": {"provisioners.steps.step"},
      "provisioners.steps.step": set()}, "provisioners.core.props (provisioners.core, rank 0) imports"),
    ({"provisioners.steps.host": {"edge_constructs.credentials.pki"},
      "edge_constructs.credentials.pki": set()}, "provisioners.steps.host (provisioners.steps, rank 1)"),
    ({"provisioners.ssh.runner": {"simsite.site"}}, "never imports the harness"),
    ({"provisioners.ssh.runner": {"edge_constructs.validation"},
      "edge_constructs.validation": set()}, "provisioners never imports edge_constructs"),
])
def test_the_check_fails_on_an_upward_sideways_or_harness_import(mods, expected):
    assert any(expected in v for v in violations(mods))


def test_provisioners_loads_without_cdktf_the_provider_framework_or_edge_constructs():
    names = sorted(m for m in product_modules() if m.startswith("provisioners")
                   and not m.endswith("__main__"))
    prog = ("import importlib, sys\n"
            f"for m in {names!r}: importlib.import_module(m)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('cdktf', 'cdktn', 'jsii', 'constructs', 'tf', 'grpc', 'edge_constructs'))))")
    out = subprocess.run([sys.executable, "-c", prog], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert len(names) > 10 and out.stdout.strip() == ""


def test_the_cycle_check_finds_a_cycle():
    mods = {"provisioners.ssh.a": {"edge_constructs.terraform.b"},
            "edge_constructs.terraform.b": {"provisioners.ssh.a"}}
    assert cycles(mods) == [["edge_constructs.terraform.b", "provisioners.ssh.a",
                             "edge_constructs.terraform.b"]]
