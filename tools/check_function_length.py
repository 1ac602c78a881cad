"""Fail when a function in the domain core is longer than the house allows.

Usage: python tools/check_function_length.py [--max N] [paths...]   (default: visits/, 60 lines)

A function's length is counted from its `def` line to its last line, nested
functions included in their parent's length (and checked on their own too).
Part of `make lint`; prints one line per function that is too long.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_LINES = 60


def long_functions(path: Path, limit: int) -> Iterator[tuple[int, str, int]]:
    """Yield (line, qualified name, length) of each function in `path` over `limit` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[int, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                if length > limit:
                    yield child.lineno, name, length
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=MAX_LINES, help="longest allowed function")
    parser.add_argument("paths", nargs="*", default=[Path("visits")], type=Path)
    args = parser.parse_args(argv)
    files = sorted(
        f
        for p in args.paths
        for f in ([p] if p.is_file() else p.rglob("*.py"))
        if f.suffix == ".py"
    )
    found = [
        f"{f}:{line}: {name} is {length} lines (at most {args.max})"
        for f in files
        for line, name, length in long_functions(f, args.max)
    ]
    for line in found:
        print(line)  # noqa: T201
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
