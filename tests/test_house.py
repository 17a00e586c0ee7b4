"""The house rules of DESIGN.md, checked on the source tree (they fail when the layout breaks).

- no import circles, counting imports inside functions;
- nothing in the package imports ``bpdiag.cli``;
- ``figures/`` imports neither ``analyses/`` nor ``engines/``; ``circuits/`` imports only numpy
  (and the standard library) besides itself;
- nothing outside ``results/`` opens files for writing, and nothing outside ``results/`` calls
  ``savefig``.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "bpdiag"


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(mod: str) -> set[str]:
    """Every module this module imports (absolute names), at any depth of the code."""
    f = MODULES[mod]
    pkg = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(f.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _internal_edges() -> dict[str, set[str]]:
    edges = {}
    for m in MODULES:
        targets = {_resolve(t) for t in _imports(m) if t.split(".")[0] == "bpdiag"}
        # a module importing its own package's __init__ (or the other way round) is not an edge
        edges[m] = {
            t for t in targets if t and t != m and not m.startswith(t + ".") and t != "bpdiag"
        }
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    sys.setrecursionlimit(10000)
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return comps


def test_the_checker_finds_a_planted_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    assert _cycles(_internal_edges()) == []


def test_rooms_form_no_circle_either():
    """The rooms (circuits, engines, analyses, results, ...) import each other one way only."""
    rooms: dict[str, set[str]] = {}
    for m, targets in _internal_edges().items():
        a = ".".join(m.split(".")[:2])
        rooms.setdefault(a, set()).update(
            b for t in targets if (b := ".".join(t.split(".")[:2])) != a
        )
    assert _cycles(rooms) == []


def test_nothing_imports_the_cli():
    users = [
        m
        for m, targets in _internal_edges().items()
        if not m.startswith("bpdiag.cli") and any(t.startswith("bpdiag.cli") for t in targets)
    ]
    assert users == []


@pytest.mark.parametrize(
    "room, forbidden",
    [
        ("bpdiag.figures", ("bpdiag.analyses", "bpdiag.engines", "bpdiag.cli")),
        ("bpdiag.circuits", ("bpdiag.analyses", "bpdiag.engines", "bpdiag.results")),
        ("bpdiag.engines", ("bpdiag.analyses", "bpdiag.figures", "bpdiag.results")),
        ("bpdiag.analyses", ("bpdiag.figures", "bpdiag.results", "bpdiag.cli")),
        ("bpdiag.data", ("bpdiag.circuits", "bpdiag.engines", "bpdiag.cli")),
    ],
)
def test_rooms_import_only_downstream(room, forbidden):
    bad = [
        (m, t)
        for m, targets in _internal_edges().items()
        if m == room or m.startswith(room + ".")
        for t in targets
        if any(t == f or t.startswith(f + ".") for f in forbidden)
    ]
    assert bad == []


def test_circuits_import_numpy_only():
    allowed = set(sys.stdlib_module_names) | {"numpy", "bpdiag"}
    bad = [
        (m, t)
        for m in MODULES
        if m.startswith("bpdiag.circuits")
        for t in _imports(m)
        if t and t.split(".")[0] not in allowed
    ]
    assert bad == []


def _writes(tree: ast.AST) -> list[str]:
    """Calls that write files: open(..., 'w'/'a'/'x'), .to_csv, .to_parquet, .write_text,
    .write_bytes, .savefig, .unlink, torch.save, json.dump, .mkdir."""
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if name == "open":
            mode = node.args[1] if len(node.args) > 1 else None
            for kw in node.keywords:
                if kw.arg == "mode":
                    mode = kw.value
            if isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax"):
                hits.append(f"open:{node.lineno}")
        elif name in {"to_csv", "to_parquet", "write_text", "write_bytes", "savefig", "unlink"}:
            hits.append(f"{name}:{node.lineno}")
        elif name in {"save", "dump"} and isinstance(f, ast.Attribute):
            owner = getattr(f.value, "id", "")
            if owner in {"torch", "json", "pickle", "np", "numpy"}:
                hits.append(f"{owner}.{name}:{node.lineno}")
    return hits


def test_the_write_checker_sees_writes():
    src = "open(p, 'w')\ndf.to_csv(p)\nfig.savefig(p)\ntorch.save(s, p)\nopen(p)\n"
    assert [h.split(":")[0] for h in _writes(ast.parse(src))] == [
        "open",
        "to_csv",
        "savefig",
        "torch.save",
    ]


def test_only_results_writes_files():
    bad = {
        m: hits
        for m, f in MODULES.items()
        if not (m == "bpdiag.results" or m.startswith("bpdiag.results."))
        and (hits := _writes(ast.parse(f.read_text())))
    }
    assert bad == {}


def _command_bodies() -> dict[str, int]:
    """Lines of every click command's body (docstring excluded) in bpdiag/cli."""
    out = {}
    for f in sorted((ROOT / "cli").glob("*.py")):
        for node in ast.parse(f.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            if not any("command" in ast.unparse(d) for d in node.decorator_list):
                continue
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            out[f"{f.stem}:{node.name}"] = node.end_lineno - body[0].lineno + 1 if body else 0
    return out


def test_every_command_body_is_short():
    bodies = _command_bodies()
    assert {"variance", "entropy", "lie", "train", "study"} <= {k.split(":")[1] for k in bodies}
    assert {k: n for k, n in bodies.items() if n > 30} == {}
