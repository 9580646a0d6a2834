"""What each figure depends on, for ``make``: its notebook, the data files its module reads
(``DATA_FILES``) and every module of :mod:`memwall_lib` it imports, directly or not (an AST
walk of the import statements; nothing is executed but the figure modules' own imports).

``python -m memwall_lib.run.deps`` prints a makefile fragment (``build/figures.mk``)::

    NOTEBOOKS := 01_hardware_scaling ...
    TIMED_NOTEBOOKS := 03_transformer_profiling ...
    DEPS_01_hardware_scaling := notebooks/01_hardware_scaling.ipynb data/... memwall_lib/...
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path

from ..core.paths import DATA_DIR, NOTEBOOKS_DIR, REPO_ROOT
from ..figures import NOTEBOOK_MODULES, figure_module

PACKAGE_DIR = REPO_ROOT / "memwall_lib"


def module_file(name: str) -> Path | None:
    """The source file of module ``name`` (``memwall_lib.x.y``), or None outside the package."""
    if name != "memwall_lib" and not name.startswith("memwall_lib."):
        return None
    rel = Path(*name.split(".")[1:])
    if name == "memwall_lib":
        return PACKAGE_DIR / "__init__.py"
    for candidate in (PACKAGE_DIR / rel / "__init__.py", PACKAGE_DIR / rel.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every :mod:`memwall_lib` module the code ``tree`` of ``module`` imports, anywhere (inside
    functions too), relative imports resolved: ``from pkg import name`` counts ``pkg.name`` when
    that is a module, else ``pkg``."""
    package = module if is_package else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if module_file(sub) is not None else base)
    return {m for m in out if module_file(m) is not None}


def imported_modules(path: Path) -> set[str]:
    """The :mod:`memwall_lib` modules the file at ``path`` imports (absolute names)."""
    return imports_in(ast.parse(path.read_text(), str(path)), module_name(path), path.name == "__init__.py")


def module_closure(name: str) -> list[Path]:
    """Source files of ``name`` and of every :mod:`memwall_lib` module it imports, transitively
    (a package's ``__init__`` included, since importing a submodule runs it)."""
    seen: dict[str, Path] = {}
    todo = [name]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        f = module_file(m)
        if f is None:
            continue
        seen[m] = f
        parents = [".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)]
        todo.extend(parents)
        todo.extend(imported_modules(f))
    return sorted(seen.values())


def dependencies(notebook: str) -> list[Path]:
    """Every file the figures of ``notebook`` (a stem, e.g. ``01_hardware_scaling``) depend on."""
    if notebook not in NOTEBOOK_MODULES:
        raise ValueError(f"notebook: expected one of {sorted(NOTEBOOK_MODULES)}, got {notebook!r}")
    module_name = figure_module(notebook).__name__
    module = importlib.import_module(module_name)
    files = [NOTEBOOKS_DIR / f"{notebook}.ipynb", *(DATA_DIR / f for f in module.DATA_FILES)]
    return files + module_closure(module_name)


def makefile_fragment(stamps: str = "build/stamps") -> str:
    """The ``build/figures.mk`` fragment (paths relative to the repository root): the notebooks,
    each one's dependencies, and order-only rules that run the timed notebooks after every
    data-only one and one after another (``stamps`` is the folder of the per-notebook stamps)."""
    timed = [nb for nb, mod in NOTEBOOK_MODULES.items() if figure_module(nb).TIMED]
    lines = [f"NOTEBOOKS := {' '.join(NOTEBOOK_MODULES)}", f"TIMED_NOTEBOOKS := {' '.join(timed)}"]
    for nb in NOTEBOOK_MODULES:
        rel = " ".join(str(p.relative_to(REPO_ROOT)) for p in dependencies(nb))
        lines.append(f"DEPS_{nb} := {rel}")
    before = [nb for nb in NOTEBOOK_MODULES if nb not in timed]
    for nb in timed:
        lines.append(f"{stamps}/{nb}: | {' '.join(f'{stamps}/{b}' for b in before)}")
        before.append(nb)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(makefile_fragment(*sys.argv[1:2]))
