"""§5-6: the style every text of the product keeps, checked in one place.

The order (§6.2, §6.3, §6.5, §6.6) names what not to write: vague phrases
(«приняли меры», «провели ряд мероприятий», «иные меры поддержки»), passive
bureaucratese («Запись на прием производится посредством звонка» ->
«Записаться можно по телефону»; «Данное решение было принято в результате
заседания» -> «Решение было принято на заседании»), a status without an actor
(«Обращение в работе» -> «Ваше обращение находится на рассмотрении в отделе X,
у ФИО, телефон»), and the impersonal "we" instead of the "I" approach
(«Просим Вас», «передадим коллегам»).

`style_problems` checks one text. `style_scan` collects every Russian string
the product shows, prints, says or sends: Jinja templates of all screens, the
string constants of the Python code (errors, services' messages, message
templates, the printer layout, speech), and the office file; a unit test runs
it over the whole tree.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# (pattern, what is wrong, how the order says it instead). Case-insensitive, on whole words.
STYLE_RULES: tuple[tuple[str, str, str], ...] = (
    # §6.3: figurative words without a clear meaning.
    (
        r"принял[иа]? меры|меры (были )?приняты|приняты меры|примем меры",
        "размытое «приняли меры»",
        "скажите, кто и что сделал",
    ),
    (r"ряд мероприятий", "размытое «провели ряд мероприятий»", "назовите сделанное"),
    (r"иные меры", "размытое «иные меры»", "перечислите меры"),
    (r"соответствующ\w+ меры", "размытое «соответствующие меры»", "назовите действие"),
    # §6.5: a status without an actor.
    (r"\bв работе\b", "«в работе» без исполнителя", "«на рассмотрении в отделе X, у ФИО»"),
    (
        r"\bвас (пригла[сш]\w*|вызыва\w*|ожида\w*)\b",
        "неопределённо-личное «вас приглашают»",
        "назовите, кто приглашает: «Вас примет Мария Петровна Иванова»",
    ),
    # §6.6: passive bureaucratese and heavy clichés.
    (r"посредством", "канцелярское «посредством»", "«по телефону», «через»"),
    (r"\bпроизвод(ит|ят)ся\b", "страдательное «производится»", "«Записаться можно по телефону»"),
    (r"\bосуществля(ет|ют)ся\b", "страдательное «осуществляется»", "назовите, кто что делает"),
    (
        r"\bбудет (произведен|осуществлен)\w*",
        "страдательное «будет произведено»",
        "назовите, кто что сделает",
    ),
    # Singular forms only: the plural «данные», «данных» is the noun "data".
    (r"\bданн(ый|ая|ое|ого|ому|ом|ой|ую)\b", "канцелярское «данный»", "«этот»"),
    (r"в результате заседания", "канцелярское «в результате заседания»", "«на заседании»"),
    (r"в целях обеспечения", "канцелярское «в целях обеспечения»", "«чтобы»"),
    (r"вышеуказанн\w+|вышеизложенн\w+", "канцелярское «вышеуказанный»", "назовите прямо"),
    (r"надлежащ\w+ образом", "канцелярское «надлежащим образом»", "скажите, как именно"),
    (r"в установленном порядке", "размытое «в установленном порядке»", "назовите порядок"),
    # §6.2: the "I" approach instead of an impersonal "we".
    (r"просим вас", "«просим вас» вместо личного обращения", "«Пожалуйста, ...», «Я помогу Вам»"),
    (r"передадим коллегам", "«передадим коллегам» без имени", "назовите коллегу и действие"),
    (
        r"приносим (свои )?извинения за (доставленные )?неудобства",
        "безличное «приносим извинения за неудобства»",
        "«Я приношу Вам извинения»",
    ),
    # A person's gender is known from the name: «записана», not «записан(а)» (visits.ru.by_gender).
    (
        r"\w\((а|на|ла|ы)\)",
        "скобка вместо рода: «записан(а)»",
        "выберите форму по имени: visits.ru.by_gender_of",
    ),
    # §6.1: no ornate politeness or latent displeasure.
    (r"ваш звонок очень важен", "вычурная вежливость", "скажите, что будет дальше"),
)
# The order's own prescribed wording, said verbatim (§27.1: how an operator proposes a pause).
STYLE_ALLOWED: tuple[str, ...] = (
    "давайте возьмем паузу в обсуждении данного вопроса",
    "решение данной проблемы требует",
)
_RULES = [(re.compile(p, re.IGNORECASE), why, instead) for p, why, instead in STYLE_RULES]
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def style_problems(text: str) -> list[str]:
    """Return what in a text breaks the style of §5-6 (empty if nothing)."""
    for phrase in STYLE_ALLOWED:
        text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    return [
        f"{why}: «{m.group(0)}» ({instead})"
        for rx, why, instead in _RULES
        if (m := rx.search(text))
    ]


@dataclass(frozen=True)
class Finding:
    where: str  # "path:line"
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}\n    {self.text}"


# --- Collecting the product's texts ---------------------------------------------------

# Where the product's own texts live; tests, migrations and the virtualenv are not shown to anyone.
SCANNED_PACKAGES = ("visits", "kiosk", "staff_panel", "signage", "printer")
_SKIPPED_PARTS = {"tests", "migrations", "__pycache__", ".venv", "static"}
# The rulebook itself quotes the bad phrases.
_RULEBOOK = Path(__file__).resolve()
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_ATTR_TEXT = re.compile(
    r'\b(?:title|aria-label|placeholder|alt|content|data-confirm|hx-confirm)="([^"]*)"'
)
_TAG = re.compile(r"<[^>]*>")


def _lines_with_text(source: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(source.splitlines(), start=1):
        if _CYRILLIC.search(line):
            yield number, line


def template_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Visible text and readable attributes of a Jinja template, one per source line.

    Jinja expressions become "…" so a phrase split by a variable still reads as one.
    """
    source = path.read_text(encoding="utf-8")
    # Blank out comments and tags but keep the line count.
    plain = _JINJA.sub(lambda m: "\n" * m.group(0).count("\n") + " … ", source)
    for number, line in _lines_with_text(plain):
        attrs = " ".join(_ATTR_TEXT.findall(line))
        text = " ".join(f"{_TAG.sub(' ', line)} {attrs}".split())
        if _CYRILLIC.search(text):
            yield number, text


def _docstring_ids(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def python_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Russian string constants of a Python module (f-strings joined, docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = _docstring_ids(tree)
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstring.add(id(value))
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    parts.append("…")
            text = "".join(parts)
            if _CYRILLIC.search(text):
                yield node.lineno, text
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstring
            and _CYRILLIC.search(node.value)
        ):
            yield node.lineno, node.value


def _toml_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _toml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _toml_strings(item)


def toml_texts(path: Path) -> Iterator[tuple[int, str]]:
    """Russian strings of an office file (routes, directory, services), with their line."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for text in _toml_strings(tomllib.loads(source)):
        if not _CYRILLIC.search(text):
            continue
        first = text.splitlines()[0] if text else text
        line = next((n for n, row in enumerate(lines, start=1) if first in row), 0)
        yield line, text


def product_files(root: Path) -> Iterator[Path]:
    """Every file whose texts the product shows, prints, says or sends."""
    for package in SCANNED_PACKAGES:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if _SKIPPED_PARTS & set(path.relative_to(root).parts):
                continue
            if path.resolve() == _RULEBOOK:
                continue
            if path.suffix in (".py", ".html", ".toml") and path.is_file():
                yield path


def texts_of(path: Path) -> Iterator[tuple[int, str]]:
    if path.suffix == ".py":
        return python_texts(path)
    if path.suffix == ".toml":
        return toml_texts(path)
    return template_texts(path)


def style_scan(root: Path, files: Iterable[Path] | None = None) -> list[Finding]:
    """Check every Russian text under `root` (or in `files`) against §5-6."""
    findings: list[Finding] = []
    for path in files if files is not None else product_files(root):
        for line, text in texts_of(path):
            for problem in style_problems(text):
                where = f"{path.relative_to(root)}:{line}"
                findings.append(Finding(where=where, text=" ".join(text.split()), problem=problem))
    return findings


def main(argv: list[str] | None = None) -> int:
    """`python -m visits.style [ROOT]`: print every text that breaks §5-6; exit 1 if any."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    findings = style_scan(root)
    for finding in findings:
        sys.stdout.write(f"{finding}\n")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
