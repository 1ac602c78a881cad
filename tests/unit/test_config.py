"""The office config: the demo is valid, a wrong file names the key."""

import os
from datetime import time
from pathlib import Path

import pytest

from visits.config import DEMO_CONFIG_PATH, ConfigError, load_config
from visits.settings import SettingsError, settings_load


def test_demo_config_is_a_realistic_department() -> None:
    config = load_config(DEMO_CONFIG_PATH)
    assert len(config.floors) >= 3
    assert len(config.rooms) >= 12
    assert sum(r.kind == "meeting" for r in config.rooms) >= 2
    assert len(config.services) >= 8
    assert sum("specialist" in s.roles for s in config.staff) >= 10
    assert config.office.phones == ["238-60-02", "238-60-62"]
    assert config.directory, "§26 directory must not be empty"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "office.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_wrong_value_names_the_key(tmp_path: Path) -> None:
    text = DEMO_CONFIG_PATH.read_text(encoding="utf-8").replace('letter = "А"', 'letter = "A1"', 1)
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert "services.0.letter" in str(err.value)
    assert "русская буква" in str(err.value)


def test_unknown_room_of_staff_is_refused(tmp_path: Path) -> None:
    text = DEMO_CONFIG_PATH.read_text(encoding="utf-8").replace('room = "305"', 'room = "999"', 1)
    with pytest.raises(ConfigError, match="staff.ivanova.room"):
        load_config(_write(tmp_path, text))


def test_unknown_key_and_bad_toml_are_refused(tmp_path: Path) -> None:
    text = DEMO_CONFIG_PATH.read_text(encoding="utf-8").replace("[office]", "[office]\nnmae = 1", 1)
    with pytest.raises(ConfigError, match="office.nmae"):
        load_config(_write(tmp_path, text))
    with pytest.raises(ConfigError, match="синтаксиса TOML"):
        load_config(_write(tmp_path, "[office\n"))
    with pytest.raises(ConfigError, match="не найден"):
        load_config(tmp_path / "missing.toml")


def test_times_are_parsed_once_into_clock_times() -> None:
    config = load_config(DEMO_CONFIG_PATH)
    monday = config.hours_for("mon")
    assert monday is not None
    assert (monday.open, monday.close) == (time(9, 0), time(18, 0))
    assert monday.lunch == (time(13, 0), time(13, 48))
    assert config.messaging.day_window == (time(9, 0), time(21, 0))
    assert config.messaging.early_window_start == time(7, 0)


def test_a_toml_local_time_is_accepted_and_a_wrong_time_named(tmp_path: Path) -> None:
    demo = DEMO_CONFIG_PATH.read_text(encoding="utf-8")
    native = load_config(_write(tmp_path, demo.replace('open = "09:00"', "open = 08:30:00", 1)))
    assert native.hours[0].open == time(8, 30)
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, demo.replace('close = "18:00"', 'close = "25:00"', 1)))
    assert "hours.0.close" in str(err.value) and "ЧЧ:ММ" in str(err.value)
    with pytest.raises(ConfigError, match="close должно быть позже open"):
        load_config(_write(tmp_path, demo.replace('close = "18:00"', 'close = "08:00"', 1)))


def test_office_names_its_time_zone_and_city_code(tmp_path: Path) -> None:
    demo = DEMO_CONFIG_PATH.read_text(encoding="utf-8")
    office = load_config(DEMO_CONFIG_PATH).office
    assert (office.time_zone_label, office.city_code) == ("новосибирское", "383")
    other = demo.replace('time_zone_label = "новосибирское"', 'time_zone_label = "омское"', 1)
    other = other.replace('city_code = "383"', 'city_code = "3812"', 1)
    office = load_config(_write(tmp_path, other)).office
    assert (office.time_zone_label, office.city_code) == ("омское", "3812")
    with pytest.raises(ConfigError, match="office.city_code"):
        load_config(_write(tmp_path, demo.replace('city_code = "383"', 'city_code = "38a"', 1)))


# --- The environment (visits.settings): every PRIYOM_* variable, typed, read once -------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("PRIYOM_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_settings_read_the_documented_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://priyom:pw@db:5432/priyom")
    clean_env.setenv("PRIYOM_CONFIG", "/etc/priyom/office.toml")
    clean_env.setenv("PRIYOM_SECRET_KEY", "k" * 64)
    clean_env.setenv("PRIYOM_SECURE_COOKIES", "1")
    clean_env.setenv("PRIYOM_DB_POOL_SIZE", "4")
    clean_env.setenv("PRIYOM_SCHEDULER_LEASE_SECONDS", "12")
    clean_env.setenv("PRIYOM_PUSH_BUS", "memory")
    clean_env.setenv("PRIYOM_PDF_FONT", "")  # empty means unset, as in an env file
    settings = settings_load()
    # postgresql:// from a hosting panel means psycopg 3, not psycopg2.
    assert settings.database_url == "postgresql+psycopg://priyom:pw@db:5432/priyom"
    assert not settings.is_sqlite
    assert settings.config == Path("/etc/priyom/office.toml")
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "k" * 64
    assert "k" * 64 not in repr(settings)
    assert settings.secure_cookies and settings.push_bus == "memory"
    assert (settings.db_pool_size, settings.db_max_overflow) == (4, 20)
    assert settings.scheduler_lease_seconds == 12.0
    assert settings.pdf_font is None


def test_settings_defaults_run_the_demo_on_a_local_sqlite_file(
    clean_env: pytest.MonkeyPatch,
) -> None:
    settings = settings_load()
    assert settings.database_url == "sqlite:///var/priyom.sqlite3" and settings.is_sqlite
    assert settings.config is None and settings.secret_key is None
    assert settings.speech_cache_dir == Path("var") / "speech"
    assert not settings.open_around_the_clock
    assert (settings.host, settings.port, settings.workers, settings.threads) == (
        "127.0.0.1",
        8000,
        1,
        256,
    )


def test_wrong_variable_is_named(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PRIYOM_PORT", "восемь тысяч")
    clean_env.setenv("PRIYOM_SCHEDULER_LEASE_SECONDS", "0")
    with pytest.raises(SettingsError) as err:
        settings_load()
    assert "PRIYOM_PORT" in str(err.value)
    assert "PRIYOM_SCHEDULER_LEASE_SECONDS" in str(err.value)


def test_the_push_heartbeat_is_bounded_by_each_stream(clean_env: pytest.MonkeyPatch) -> None:
    assert settings_load().sse_heartbeat_within(15.0) == 15.0
    clean_env.setenv("PRIYOM_SSE_HEARTBEAT", "0.01")
    assert settings_load().sse_heartbeat_within(5.0) == 0.2
    clean_env.setenv("PRIYOM_SSE_HEARTBEAT", "30")
    assert settings_load().sse_heartbeat_within(5.0) == 5.0
    clean_env.setenv("PRIYOM_SSE_HEARTBEAT", "1.5")
    assert settings_load().sse_heartbeat_within(15.0) == 1.5
