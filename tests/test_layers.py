"""The library's layers and shape, checked on the source: who may import whom, no import cycle,
no private name imported across modules, no function over 100 lines, no library code that only
tests reach, the figure modules' common API, and that every claim in the committed sidecars
comes from the paper registry.

Layers (see the package docstrings):

- ``memwall_lib.core`` imports nothing else of memwall_lib;
- ``memwall_lib.tables`` imports only core;
- ``memwall_lib.authors`` (the authors' figure files read back) imports only core and tables;
- ``memwall_lib.engines`` never imports figures, paper or core.params (parameter checking);
- ``memwall_lib.figures`` may import core, tables, authors, engines and paper;
- ``memwall_lib.paper`` is a literal registry: it imports nothing of memwall_lib;
- ``memwall_lib.run`` (the runner) imports core and figures, and only ``__main__`` imports it;
- the notebooks import only ``memwall_lib.core`` and ``memwall_lib.figures``.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from memwall_lib import paper
from memwall_lib.core.paths import DATA_DIR, FIGURES_DIR, NOTEBOOKS_DIR, REPO_ROOT
from memwall_lib.figures import NOTEBOOK_MODULES
from memwall_lib.run.deps import imports_in, module_name

PACKAGE = "memwall_lib"
LIB_DIR = REPO_ROOT / PACKAGE
MAX_FUNCTION_LINES = 100
FIGURE_API = (
    "PARAMETERS",
    "RELATIONS",
    "DATA_FILES",
    "OUTPUTS",
    "TIMED",
    "Result",
    "analyse",
    "claims",
    "sidecar",
    "plot",
)

MODULES = {module_name(p): p for p in sorted(LIB_DIR.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    return imports_in(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py")


def _layer_modules(layer: str) -> list[str]:
    return [m for m in MODULES if _within(m, f"{PACKAGE}.{layer}")]


def test_resolver_sees_relative_and_from_imports() -> None:
    # the check below is only as good as this resolver
    tree = ast.parse(
        "from ... import paper\nfrom ...core import params\nfrom ..timing import clock\n"
        "import memwall_lib.tables\ndef f():\n    from memwall_lib.figures import fig1_hardware\n"
    )
    assert imports_in(tree, "memwall_lib.engines.memory.saved", False) == {
        "memwall_lib.paper",
        "memwall_lib.core.params",
        "memwall_lib.engines.timing.clock",
        "memwall_lib.tables",
        "memwall_lib.figures.fig1_hardware",
    }
    assert imports_in(
        ast.parse("from . import chains\nfrom .plan import frontier"), "memwall_lib.engines.remat", True
    ) == {"memwall_lib.engines.remat.chains", "memwall_lib.engines.remat.plan"}


def test_every_layer_has_modules() -> None:
    for layer in ("core", "tables", "authors", "engines", "figures"):
        assert len(_layer_modules(layer)) > 1, layer


def _violations(layer: str, allowed: tuple[str, ...] = (), forbidden: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for m in _layer_modules(layer):
        for imp in sorted(_imports_of(m)):
            if allowed and not any(_within(imp, f"{PACKAGE}.{a}") for a in allowed):
                bad.append(f"{m} imports {imp}")
            if any(_within(imp, f"{PACKAGE}.{f}") for f in forbidden):
                bad.append(f"{m} imports {imp}")
    return bad


def test_core_imports_nothing_else_of_the_library() -> None:
    assert _violations("core", allowed=("core",)) == []


def test_tables_import_only_core() -> None:
    assert _violations("tables", allowed=("core", "tables")) == []


def test_authors_import_only_core_and_tables() -> None:
    assert _violations("authors", allowed=("core", "tables", "authors")) == []


def test_engines_never_import_figures_paper_or_parameter_checking() -> None:
    assert _violations("engines", forbidden=("figures", "paper", "core.params")) == []
    assert all(not imp == PACKAGE for m in _layer_modules("engines") for imp in _imports_of(m))


def test_figures_import_core_tables_authors_engines_and_paper() -> None:
    assert _violations("figures", allowed=("core", "tables", "authors", "engines", "paper", "figures")) == []


def test_paper_is_a_literal_registry() -> None:
    assert _imports_of(f"{PACKAGE}.paper") == set()


def _notebook_code(nb: Path) -> list[str]:
    cells = json.loads(nb.read_text())["cells"]
    # IPython magics and shell escapes are not Python
    return [
        "\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
        for c in cells
        if c["cell_type"] == "code"
    ]


NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_import_only_core_and_figures(nb: Path) -> None:
    imports: set[str] = set()
    for i, src in enumerate(_notebook_code(nb)):
        try:
            tree = ast.parse(src)
        except SyntaxError as exc:  # pragma: no cover - a notebook that does not parse
            pytest.fail(f"{nb.name} code cell {i} does not parse: {exc}")
        imports |= imports_in(tree, "__main__", False)
    bad = sorted(m for m in imports if not (_within(m, f"{PACKAGE}.core") or _within(m, f"{PACKAGE}.figures")))
    assert bad == [], f"{nb.name} imports {bad}"
    if nb.stem in NOTEBOOK_MODULES:  # and it uses its own figure module
        assert f"{PACKAGE}.figures.{NOTEBOOK_MODULES[nb.stem]}" in imports, sorted(imports)


def test_every_notebook_has_a_figure_module() -> None:
    assert set(NOTEBOOK_MODULES) == {p.stem for p in NOTEBOOKS}


def test_run_imports_core_and_figures_and_only_main_imports_run() -> None:
    assert _violations("run", allowed=("core", "figures", "run")) == []
    importers = {
        m for m in MODULES for i in _imports_of(m) if _within(i, f"{PACKAGE}.run") and not _within(m, f"{PACKAGE}.run")
    }
    assert importers == {f"{PACKAGE}.__main__"}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    graph = {m: {i for i in _imports_of(m) if i in MODULES and i != m} for m in MODULES}
    assert import_cycles(graph) == []


def private_imports(tree: ast.AST) -> list[str]:
    """``from x import _name``: another module's private name (dunders are not private)."""
    return [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for a in node.names
        if a.name.startswith("_") and not a.name.startswith("__")
    ]


def test_private_imports_are_found() -> None:
    assert private_imports(ast.parse("from .a import _x, y\nfrom b import __version__")) == ["a._x"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_imported_across_modules(module: str) -> None:
    assert private_imports(ast.parse(MODULES[module].read_text())) == []


def long_functions(tree: ast.AST, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > limit
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_is_over_100_lines(module: str) -> None:
    assert long_functions(ast.parse(MODULES[module].read_text())) == [], "split it where a concern ends"


def _names_used(trees: list[ast.AST]) -> set[str]:
    """Every name a tree uses: names, attributes, imported names, and identifier strings
    (``getattr(module, "name")``)."""
    out: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                out.add(node.id)
            elif isinstance(node, ast.Attribute):
                out.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                out.add(node.value)
    return out


def unreached_definitions(library: dict[str, ast.Module], roots: set[str]) -> list[str]:
    """Module-level functions and classes of ``library`` (module -> tree) that nothing reaches
    from ``roots`` (names the notebooks, benchmarks, ``__main__`` and module-level code use),
    following the names each definition uses. Re-exports in a package ``__init__`` and
    ``__all__`` do not count as uses. By name, so a dead function that shares its name with a
    live one is not caught; nothing live is ever reported."""
    defs: dict[str, list[ast.AST]] = {}
    for module, tree in library.items():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defs.setdefault(node.name, []).append(node)
            elif not (isinstance(node, ast.ImportFrom) and module.endswith("__init__")) and not (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            ):
                roots = roots | _names_used([node])
    seen: set[str] = set()
    todo = [n for n in roots if n in defs]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(n for n in _names_used(defs[name]) if n in defs and n not in seen)
    return sorted(
        f"{m}.{node.name}"
        for m, tree in library.items()
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name not in seen
    )


def test_unreached_definitions_are_found() -> None:
    lib = {"m": ast.parse("def used():\n    helper()\ndef helper():\n    pass\ndef dead():\n    helper()\n")}
    assert unreached_definitions(lib, {"used"}) == ["m.dead"]


def test_no_library_code_is_reachable_only_from_tests() -> None:
    # a package's __init__ is keyed as "<package>.__init__", so its re-exports are not uses
    library = {
        m + (".__init__" if p.name == "__init__.py" else ""): ast.parse(p.read_text()) for m, p in MODULES.items()
    }
    roots = {"main"} | _names_used([ast.parse(MODULES[f"{PACKAGE}.__main__"].read_text())])
    roots |= _names_used([ast.parse(p.read_text()) for p in sorted((REPO_ROOT / "benchmarks").glob("*.py"))])
    roots |= _names_used([ast.parse(src) for nb in NOTEBOOKS for src in _notebook_code(nb)])
    assert unreached_definitions(library, roots) == []


@pytest.mark.parametrize("stem", sorted(NOTEBOOK_MODULES))
def test_figure_module_api(stem: str) -> None:
    mod = importlib.import_module(f"{PACKAGE}.figures.{NOTEBOOK_MODULES[stem]}")
    missing = [a for a in FIGURE_API if not hasattr(mod, a)]
    assert missing == [], f"{mod.__name__} lacks {missing}"
    for fn in ("analyse", "claims", "sidecar", "plot"):
        assert callable(getattr(mod, fn)), fn
    assert isinstance(mod.PARAMETERS, dict) and "output_dir" in mod.PARAMETERS
    assert isinstance(mod.TIMED, bool)  # the Makefile runs timed notebooks alone
    absent = [f for f in mod.DATA_FILES if not (DATA_DIR / f).is_file()]
    assert absent == [], f"{mod.__name__}.DATA_FILES names files not in data/: {absent}"
    assert mod.OUTPUTS, mod.__name__
    for name in mod.OUTPUTS:  # every output has a committed sidecar
        assert (FIGURES_DIR / f"{name}.json").is_file(), name


def top_level_names(tree: ast.Module) -> list[str]:
    """The names a module defines at its top level (functions, classes, assignments), not those
    it imports."""
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out += [t.id for t in targets if isinstance(t, ast.Name)]
    return out


def test_top_level_names_are_found() -> None:
    tree = ast.parse("from .x import y\nA: int = 1\nB = C = 2\ndef f():\n    z = 3\nclass K:\n    pass\n")
    assert top_level_names(tree) == ["A", "B", "C", "f", "K"]


@pytest.mark.parametrize("stem", sorted(NOTEBOOK_MODULES))
def test_a_figure_package_init_holds_only_the_figure_api(stem: str) -> None:
    """Its analysis, claims, result and drawing live in the package's other modules."""
    module = f"{PACKAGE}.figures.{NOTEBOOK_MODULES[stem]}"
    extra = sorted(set(top_level_names(ast.parse(MODULES[module].read_text()))) - set(FIGURE_API))
    assert extra == [], f"{module}/__init__.py defines {extra}: move them beside it"


SIDECARS = sorted(FIGURES_DIR.glob("*.json"))


def _registry_id(claim_id: str) -> str | None:
    """The registry id ``claim_id`` is, or extends with a ``.suffix``; None if neither."""
    for known in paper.CLAIMS:
        if claim_id == known or claim_id.startswith(known + "."):
            return known
    return None


def test_registry_id_matching() -> None:
    assert _registry_id("fig1.flops.per_2yr") == "fig1.flops.per_2yr"
    assert _registry_id("fig1.flops.per_2yr.ext2025") == "fig1.flops.per_2yr"
    assert _registry_id("fig1.flops.per_2yrs") is None
    assert _registry_id("fig9.made_up") is None


@pytest.mark.parametrize("path", SIDECARS, ids=[p.stem for p in SIDECARS])
def test_committed_claims_come_from_the_paper_registry(path: Path) -> None:
    sc = json.loads(path.read_text())
    assert sc["claims"], path.name
    unknown = [c["id"] for c in sc["claims"] if _registry_id(c["id"]) is None]
    assert unknown == [], f"{path.name}: claim ids not in memwall_lib.paper.CLAIMS: {unknown}"


def test_there_are_committed_sidecars() -> None:
    assert len(SIDECARS) >= len(NOTEBOOK_MODULES)


@pytest.mark.parametrize(
    "stem, overrides",
    [
        ("01_hardware_scaling", {}),
        ("02_model_growth", {"bootstrap_resamples": 100}),
        ("04_training_memory", {"cross_check_models": []}),
        ("06_memory_wall_by_accelerator", {}),
    ],
)
def test_data_files_name_every_file_the_figure_reads(stem: str, overrides: dict, monkeypatch) -> None:
    """make reruns a figure when one of its DATA_FILES changes: every file its analysis reads
    must be listed (the read is recorded where every table is read, tables.loaders.read_table)."""
    from memwall_lib.core.params import check_parameters
    from memwall_lib.figures import figure_module
    from memwall_lib.run.preflight import notebook_defaults
    from memwall_lib.tables import loaders

    read: set[str] = set()
    real = loaders.read_table
    monkeypatch.setattr(loaders, "read_table", lambda path, schema: read.add(Path(path).name) or real(path, schema))
    module = figure_module(stem)
    namespace = {**notebook_defaults(NOTEBOOKS_DIR / f"{stem}.ipynb"), **overrides}
    module.analyse(check_parameters(namespace, module.PARAMETERS, module.RELATIONS))
    assert read and read <= set(module.DATA_FILES), sorted(read - set(module.DATA_FILES))
