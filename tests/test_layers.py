"""The library's layers, checked on the source: who may import whom, module size, the figure
modules' common API, and that every claim in the committed sidecars comes from the paper registry.

Layers (see the package docstrings):

- ``memwall_lib.core`` imports nothing else of memwall_lib;
- ``memwall_lib.tables`` imports only core;
- ``memwall_lib.engines`` never imports figures, paper or core.params (parameter checking);
- ``memwall_lib.figures`` may import core, tables, engines and paper;
- ``memwall_lib.paper`` is a literal registry: it imports nothing of memwall_lib;
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

PACKAGE = "memwall_lib"
LIB_DIR = REPO_ROOT / PACKAGE
MAX_LINES = 450
FIGURE_API = ("PARAMETERS", "RELATIONS", "DATA_FILES", "OUTPUTS", "TIMED", "analyse", "claims", "sidecar", "plot")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(LIB_DIR.rglob("*.py"))}


def _is_module(name: str) -> bool:
    return name in MODULES


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every memwall_lib module ``tree`` imports (anywhere, functions included), relative
    imports resolved; ``from pkg import name`` counts ``pkg.name`` when that is a module."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                found.add(sub if _is_module(sub) else target)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    return imported_modules(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py")


def _layer_modules(layer: str) -> list[str]:
    return [m for m in MODULES if _within(m, f"{PACKAGE}.{layer}")]


def test_resolver_sees_relative_and_from_imports() -> None:
    # the check below is only as good as this resolver
    tree = ast.parse(
        "from ... import paper\nfrom ...core import params\nfrom ..timing import clock\n"
        "import memwall_lib.tables\ndef f():\n    from memwall_lib.figures import fig1_hardware\n"
    )
    assert imported_modules(tree, "memwall_lib.engines.memory.saved", False) == {
        "memwall_lib.paper",
        "memwall_lib.core.params",
        "memwall_lib.engines.timing.clock",
        "memwall_lib.tables",
        "memwall_lib.figures.fig1_hardware",
    }
    assert imported_modules(
        ast.parse("from . import chains\nfrom .plan import frontier"), "memwall_lib.engines.remat", True
    ) == {"memwall_lib.engines.remat.chains", "memwall_lib.engines.remat.plan"}


def test_every_layer_has_modules() -> None:
    for layer in ("core", "tables", "engines", "figures"):
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


def test_engines_never_import_figures_paper_or_parameter_checking() -> None:
    assert _violations("engines", forbidden=("figures", "paper", "core.params")) == []
    assert all(not imp == PACKAGE for m in _layer_modules("engines") for imp in _imports_of(m))


def test_figures_import_core_tables_engines_and_paper() -> None:
    assert _violations("figures", allowed=("core", "tables", "engines", "paper", "figures")) == []


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
        imports |= imported_modules(tree, "__main__", False)
    bad = sorted(m for m in imports if not (_within(m, f"{PACKAGE}.core") or _within(m, f"{PACKAGE}.figures")))
    assert bad == [], f"{nb.name} imports {bad}"
    if nb.stem in NOTEBOOK_MODULES:  # and it uses its own figure module
        assert f"{PACKAGE}.figures.{NOTEBOOK_MODULES[nb.stem]}" in imports, sorted(imports)


def test_every_notebook_has_a_figure_module() -> None:
    assert set(NOTEBOOK_MODULES) == {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_450_lines(module: str) -> None:
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{MODULES[module].relative_to(REPO_ROOT)} has {n} lines (limit {MAX_LINES}): split it"


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
