"""data/README.md, the data dictionary a reader reads, documents exactly the columns the loaders
enforce: under the heading naming each file, a ``| column | ... |`` table lists the schema's
columns, in order."""

from __future__ import annotations

import re

import pytest

from memwall_lib.core.paths import DATA_DIR
from memwall_lib.tables import SCHEMAS

README = DATA_DIR / "README.md"
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")  # "\|" inside a cell is an escaped pipe


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _CELL_SPLIT.split(line.strip().strip("|"))]


def column_table(text: str, file_name: str) -> list[str] | None:
    """The first-column entries (backticks removed) of the first ``| column | ...`` table under
    the heading that names ``file_name`` in backticks (up to the next heading of its level or
    higher, subheadings included); None if there is no such heading or table."""
    lines = text.splitlines()
    start = level = None
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and f"`{file_name}`" in m.group(2):
            start, level = i + 1, len(m.group(1))
            break
    if start is None:
        return None
    in_table, rows = False, []
    for line in lines[start:]:
        m = _HEADING.match(line)
        if m and len(m.group(1)) <= level:
            break
        if not in_table:
            if line.lstrip().startswith("|") and _cells(line)[0].lower() == "column":
                in_table = True
            continue
        if not line.lstrip().startswith("|"):
            break
        first = _cells(line)[0]
        if set(first) <= set("-: "):  # the |---| separator
            continue
        rows.append(first.strip("`"))
    return rows if in_table else None


def test_parser_on_a_small_readme() -> None:
    text = (
        "# data\n## `a.csv`: things\nprose | not a table\n### Columns\n| column | unit |\n|---|---|\n"
        "| `x` | GB |\n| `y` | `p` \\| `q` |\n\nafter\n## `b.csv`\n| column | unit |\n|---|---|\n| `z` | |\n"
    )
    assert column_table(text, "a.csv") == ["x", "y"]
    assert column_table(text, "b.csv") == ["z"]
    assert column_table(text, "c.csv") is None
    assert column_table("## `a.csv`\nno table\n## `b.csv`\n| column |\n|---|\n| `z` |\n", "a.csv") is None


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_readme_lists_exactly_the_schema_columns_in_order(name: str) -> None:
    documented = column_table(README.read_text(encoding="utf-8"), name)
    assert documented is not None, f"data/README.md has no '| column | ...' table under a heading naming `{name}`"
    assert documented == SCHEMAS[name].column_names, (
        f"data/README.md documents {name} with columns {documented}; the schema has {SCHEMAS[name].column_names}"
    )
