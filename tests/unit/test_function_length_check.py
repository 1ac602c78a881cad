"""The lint step that keeps functions in visits/ at 60 lines or fewer (tools/check_function_length.py)."""

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_function_length.py"


def _function(name: str, lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(lines - 1))
    return f"{indent}def {name}() -> None:\n{body}"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), str(path)], capture_output=True, text=True, check=False
    )


def test_a_function_of_61_lines_fails_and_60_pass(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(_function("fits", 60))
    assert _check(tmp_path).returncode == 0
    nested = "class Board:\n" + _function("draw", 61, indent="    ")
    (tmp_path / "long.py").write_text(_function("fits", 60) + "\n\n" + nested)
    result = _check(tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'long.py'}:64: Board.draw is 61 lines (at most 60)"
    ]
