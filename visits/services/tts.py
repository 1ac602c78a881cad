"""Server-side audio for hallway displays: the chime and spoken phrases.

A display speaks with the browser's own Russian voice when it has one; when
it has none, it plays a WAV made here by espeak-ng (Debian package
`espeak-ng`). Each phrase is made once and kept on disk under the var dir,
so a hundred displays asking for the same call cost one synthesis. The
chime is a two-tone WAV computed in Python: nothing is fetched from outside.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import wave
from pathlib import Path

from visits.errors import PriyomError

log = logging.getLogger(__name__)

# The program, unless the caller names another (PRIYOM_ESPEAK, visits.settings).
ESPEAK = "espeak-ng"
VOICE = "ru"
# Words per minute: slower than espeak's default 175, for a noisy corridor.
SPEED = 135
MAX_PHRASE_CHARS = 300
# Phrases repeat (tickets restart each day), but the cache must not grow forever.
MAX_CACHED_PHRASES = 500
SYNTH_TIMEOUT_SECONDS = 10
SAMPLE_RATE = 22050
# A new call makes every display ask for the same phrase at once: synthesise it once.
_synth_lock = threading.Lock()


class SpeechUnavailable(PriyomError):
    """The server cannot make speech audio (espeak-ng is missing or failed)."""

    code = "speech_unavailable"
    status = 503


def speech_available(*, espeak: str | None = None) -> bool:
    """True when espeak-ng can be run here."""
    return shutil.which(espeak or ESPEAK) is not None


def speech_audio(*, phrase: str, cache_dir: Path, espeak: str | None = None) -> Path:
    """Return a WAV file of the phrase spoken in Russian, made once and cached."""
    text = " ".join(phrase.split())
    if not text or len(text) > MAX_PHRASE_CHARS:
        raise SpeechUnavailable("Фраза для озвучивания пустая или слишком длинная.")
    key = hashlib.sha256(f"{VOICE}|{SPEED}|{text}".encode()).hexdigest()[:32]
    target = cache_dir / f"{key}.wav"
    if target.exists():
        return target
    with _synth_lock:
        if target.exists():
            return target
        _synthesise(text, target, espeak or ESPEAK)
    _prune(cache_dir)
    return target


def _synthesise(text: str, target: Path, espeak: str) -> None:
    cache_dir = target.parent
    executable = shutil.which(espeak)
    if executable is None:
        raise SpeechUnavailable("Озвучивание на сервере недоступно: не установлен espeak-ng.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a display never reads half a file,
    # and two server processes making the same phrase at once both end with a whole one.
    handle, temp_name = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    os.close(handle)
    try:
        subprocess.run(
            [executable, "-v", VOICE, "-s", str(SPEED), "-b", "1", "-w", temp_name, "--stdin"],
            input=text.encode("utf-8"),
            check=True,
            capture_output=True,
            timeout=SYNTH_TIMEOUT_SECONDS,
        )
        if os.path.getsize(temp_name) <= 44:
            raise SpeechUnavailable("espeak-ng не выдал звук.")
        os.replace(temp_name, target)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("speech: espeak-ng failed for %r: %s", text, exc)
        raise SpeechUnavailable("Озвучивание на сервере не удалось.") from exc
    finally:
        Path(temp_name).unlink(missing_ok=True)
    log.info("speech: made %s for %r", target.name, text)


def _prune(cache_dir: Path) -> None:
    files = sorted(cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[MAX_CACHED_PHRASES:]:
        old.unlink(missing_ok=True)


@functools.cache
def chime_audio() -> bytes:
    """A soft two-tone chime (about one second, mono WAV) played before each call."""
    frames = bytearray()
    # "Ding-dong": E6 then C6, each with a quick attack and an exponential decay,
    # plus a quiet octave overtone so small display speakers carry it.
    for frequency, seconds in ((1318.5, 0.45), (1046.5, 0.75)):
        count = int(SAMPLE_RATE * seconds)
        for i in range(count):
            t = i / SAMPLE_RATE
            envelope = min(1.0, t / 0.01) * math.exp(-4.5 * t)
            sample = math.sin(2 * math.pi * frequency * t) + 0.25 * math.sin(
                4 * math.pi * frequency * t
            )
            frames += struct.pack("<h", int(0.45 * 32767 * envelope * sample / 1.25))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(bytes(frames))
    return buffer.getvalue()
