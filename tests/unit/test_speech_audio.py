"""Server-side audio for displays without a Russian voice: espeak-ng, cached per phrase."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from visits.services import tts
from visits.services.tts import SpeechUnavailable, chime_audio, speech_audio, speech_available

needs_espeak = pytest.mark.skipif(
    not speech_available(),
    reason="espeak-ng is not installed (Debian: apt-get install espeak-ng; `make browser` does it)",
)
PHRASE = "Талон А ноль двенадцать, пройдите в кабинет триста пять"


def _wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return wav.getnframes() / wav.getframerate()


def test_chime_is_a_short_wav() -> None:
    assert 0.8 < _wav_seconds(chime_audio()) < 1.6


@needs_espeak
def test_phrase_is_spoken_once_then_served_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = speech_audio(phrase=PHRASE, cache_dir=tmp_path)
    assert path.parent == tmp_path
    assert 2.0 < _wav_seconds(path.read_bytes()) < 10.0

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("espeak-ng ran again for a cached phrase")

    monkeypatch.setattr(subprocess, "run", refuse)
    # Same words, other spacing: the same file.
    assert speech_audio(phrase=f"  {PHRASE}  ".replace(", ", ",  "), cache_dir=tmp_path) == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@needs_espeak
def test_cache_keeps_the_newest_phrases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "MAX_CACHED_PHRASES", 2)
    for n in ("один", "два", "три"):
        speech_audio(phrase=f"Талон А {n}", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.wav"))) == 2
    assert not list(tmp_path.glob("*.part"))


def test_without_espeak_the_error_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts, "ESPEAK", "espeak-ng-not-installed")
    assert not speech_available()
    with pytest.raises(SpeechUnavailable, match="не установлен espeak-ng"):
        speech_audio(phrase=PHRASE, cache_dir=tmp_path)
    with pytest.raises(SpeechUnavailable):
        speech_audio(phrase="   ", cache_dir=tmp_path)
