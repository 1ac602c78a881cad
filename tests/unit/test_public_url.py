"""office.public_base_url is required outside the demo: tickets' QR codes must open on phones."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from visits.config import DEMO_CONFIG_PATH, OfficeConfig, public_url_problem
from visits.web import server
from visits.web.cli import main


def _office(config: OfficeConfig, url: str) -> Any:
    return config.office.model_copy(update={"public_base_url": url})


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "не задан"),
        ("http://127.0.0.1:8000", "ведёт на сам сервер"),
        ("http://localhost", "ведёт на сам сервер"),
        ("http://[::1]:8000", "ведёт на сам сервер"),
        ("http://0.0.0.0:8000", "ведёт на сам сервер"),
        ("priyom.example.ru", "нужен адрес вида"),
    ],
)
def test_a_missing_or_loopback_address_is_named(
    office_config: OfficeConfig, url: str, words: str
) -> None:
    problem = public_url_problem(_office(office_config, url))
    assert problem is not None and problem.startswith("office.public_base_url") and words in problem


@pytest.mark.parametrize("url", ["https://priyom.example.ru", "http://192.168.1.10:8000"])
def test_an_address_in_the_network_is_accepted(office_config: OfficeConfig, url: str) -> None:
    assert public_url_problem(_office(office_config, url)) is None


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'priyom.sqlite3'}")
    monkeypatch.setenv("PRIYOM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("PRIYOM_CONFIG", raising=False)
    monkeypatch.delenv("PRIYOM_DEMO", raising=False)
    monkeypatch.delenv("PRIYOM_LOCAL_LINKS", raising=False)
    assert main(["migrate"]) == 0
    started: list[str] = []
    monkeypatch.setattr(server, "run_server", lambda **_kwargs: started.append("serve"))
    return started


def test_serve_refuses_the_demo_offices_loopback_address_outside_the_demo(
    migrated: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert main(["serve", "--port", "1"]) == 2
    assert "office.public_base_url = 'http://127.0.0.1:8000' ведёт на сам сервер" in caplog.text
    assert migrated == []


def test_serve_refuses_an_office_without_the_address(
    migrated: list[str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    office = tmp_path / "office.toml"
    text = DEMO_CONFIG_PATH.read_text(encoding="utf-8")
    office.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("public_base_url")),
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR):
        assert main(["--config", str(office), "serve", "--port", "1"]) == 2
    assert "office.public_base_url не задан" in caplog.text


def test_the_demo_and_local_browser_tests_may_use_a_loopback_address(
    migrated: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIYOM_LOCAL_LINKS", "1")
    assert main(["serve", "--port", "1"]) == 0
    monkeypatch.delenv("PRIYOM_LOCAL_LINKS")
    monkeypatch.setenv("PRIYOM_DEMO", "1")
    assert main(["serve", "--port", "1"]) == 0
    assert migrated == ["serve", "serve"]


def test_serve_demo_may_use_the_demo_offices_loopback_address(migrated: list[str]) -> None:
    assert main(["serve", "--demo", "--port", "1"]) == 0  # `make run`
    assert migrated == ["serve"]
