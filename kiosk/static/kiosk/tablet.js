// The rating tablet: back to idle after a quiet spell, and the on-screen keyboard.
(function () {
  "use strict";
  let timer = null;
  let upper = false;

  function screen() { return document.getElementById("tablet-screen"); }

  // Restart the quiet-time countdown: every touch and every new screen.
  function arm() {
    window.clearTimeout(timer);
    const current = screen();
    const seconds = current ? Number(current.dataset.idleSeconds || 0) : 0;
    if (seconds > 0) { timer = window.setTimeout(onIdle, seconds * 1000); }
  }

  // A chosen score is sent as it is; without one the prompt is recorded as skipped.
  function onIdle() {
    const current = screen();
    const target = current && current.querySelector("[data-on-idle]");
    if (target) { htmx.trigger(target, "tablet-idle"); }
  }

  function type(key) {
    const box = document.querySelector("textarea[data-osk]");
    if (!box) { return; }
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    let text = key;
    if (upper) { text = key.toUpperCase(); setUpper(false); }
    if (box.value.length - (end - start) + text.length > box.maxLength && box.maxLength > 0) { return; }
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
  }

  function erase() {
    const box = document.querySelector("textarea[data-osk]");
    if (!box) { return; }
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const from = start === end ? Math.max(0, start - 1) : start;
    box.value = box.value.slice(0, from) + box.value.slice(end);
    box.selectionStart = box.selectionEnd = from;
  }

  function setUpper(on) {
    upper = on;
    document.querySelectorAll('[data-key-action="shift"]').forEach(function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    const key = event.target.closest("[data-key], [data-key-action]");
    if (!key || !key.closest(".osk")) { return; }
    event.preventDefault();
    if (key.dataset.key !== undefined) { type(key.dataset.key); }
    else if (key.dataset.keyAction === "backspace") { erase(); }
    else if (key.dataset.keyAction === "shift") { setUpper(!upper); }
  });
  document.addEventListener("pointerdown", arm, true);
  document.addEventListener("keydown", arm, true);
  document.addEventListener("htmx:afterSettle", function () { upper = false; arm(); });
  document.addEventListener("DOMContentLoaded", arm);
})();
