"""The office config: the demo is valid, a wrong file names the key."""

from pathlib import Path

import pytest

from visits.config import DEMO_CONFIG_PATH, ConfigError, load_config


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
