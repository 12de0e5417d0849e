"""How a benchmark prints its results: a Markdown table (docs/DESIGN_NOTES.md quotes them)."""
from __future__ import annotations

from typing import Sequence


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print `rows` under `headers`, every column right-aligned."""
    print()
    print("| " + " | ".join(headers) + " |")
    print("|" + "---:|" * len(headers))
    for row in rows:
        print("| " + " | ".join(row) + " |")
