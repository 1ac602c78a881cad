/* Lobby kiosk: on-screen keypads, the barcode scanner, and the way back to the start.
   Any screen returns to the start after 60 s without a touch (what was typed goes with it);
   a ticket returns after 20 s or a touch. The scanner types "PRIYOM:CODE" and Enter. */
(function () {
  "use strict";

  var idleTimer = null;
  var returnTimer = null;
  var scanBuffer = "";
  var scanLast = 0;

  function main() { return document.getElementById("main"); }
  function screen() { return document.getElementById("kiosk-screen"); }

  function goHome() {
    var m = main();
    if (!m || !window.htmx) return;
    htmx.ajax("GET", m.dataset.startUrl, { target: "#kiosk-screen", swap: "outerHTML" });
  }

  function armTimers() {
    clearTimeout(idleTimer);
    clearTimeout(returnTimer);
    var m = main();
    var s = screen();
    if (!m || !s) return;
    var idle = Number(m.dataset.idleMs) || 60000;
    if (s.dataset.screen === "start") {
      idleTimer = setTimeout(function () {
        var scan = document.getElementById("scan");
        if (scan) scan.value = "";
      }, idle);
    } else {
      idleTimer = setTimeout(goHome, idle);
    }
    // Any print result but "done" keeps the ticket on screen longer (to photograph it).
    var failed = s.querySelector('[data-print]:not([data-print="done"])');
    var back = failed ? Number(failed.dataset.returnMs) : Number(s.dataset.returnMs);
    if (back) returnTimer = setTimeout(goHome, back);
  }

  function keepScanFocus() {
    var scan = document.getElementById("scan");
    if (scan && document.activeElement !== scan) scan.focus({ preventScroll: true });
  }

  // --- keypads ----------------------------------------------------------------------------

  function valueInput(pad) {
    if (pad.dataset.keypad === "name") {
      var active = pad.querySelector(".kiosk-name-field.is-active");
      return pad.querySelector('input[name="' + active.dataset.field + '"]');
    }
    return pad.querySelector('input[type="hidden"][name="code"], input[type="hidden"][name="phone"]');
  }

  function phoneText(d) {
    function part(from, to) {
      var s = d.slice(from, to);
      while (s.length < to - from) s += "_";
      return s;
    }
    return "(" + part(0, 3) + ") " + part(3, 6) + "-" + part(6, 8) + "-" + part(8, 10);
  }

  function render(pad) {
    var kind = pad.dataset.keypad;
    var max = Number(pad.dataset.max) || 40;
    var go = pad.querySelector('button[type="submit"]') || pad.querySelector("[data-next]");
    if (kind === "name") {
      var ready = true;
      pad.querySelectorAll("[data-value-of]").forEach(function (span) {
        var input = pad.querySelector('input[name="' + span.dataset.valueOf + '"]');
        span.textContent = input.value;
        if (span.dataset.valueOf !== "patronymic" && !input.value.trim()) ready = false;
      });
      if (go) go.disabled = !ready;
      return;
    }
    var value = valueInput(pad).value;
    if (kind === "code") {
      pad.querySelectorAll(".kiosk-cell").forEach(function (cell, i) {
        cell.textContent = value.charAt(i);
        cell.classList.toggle("is-filled", i < value.length);
        cell.classList.toggle("is-next", i === value.length);
      });
    } else if (kind === "phone") {
      var shown = pad.querySelector("[data-phone-display]");
      if (shown) shown.textContent = phoneText(value);
    }
    if (go) go.disabled = value.length !== max;
  }

  function press(pad, key) {
    var input = valueInput(pad);
    var max = Number(pad.dataset.max) || 40;
    var value = input.value;
    if (key === "back") value = value.slice(0, -1);
    else if (key === "clear") value = "";
    else if (value.length < max) value += key;
    if (pad.dataset.keypad === "name") {
      value = value.replace(/^[\s-]+/, "").replace(/\s{2,}/g, " ");
      // A name starts with a capital; the rest is as typed (lower case).
      value = value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
    }
    input.value = value;
    render(pad);
  }

  function showStep(form, number) {
    form.querySelectorAll(".kiosk-step").forEach(function (step) {
      step.hidden = step.dataset.step !== String(number);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button, [data-home]");
    if (!target) return;
    if (target.hasAttribute("data-home")) { goHome(); return; }
    var pad = target.closest("[data-keypad]");
    if (target.classList.contains("kiosk-key") && pad) { press(pad, target.dataset.key); return; }
    if (target.classList.contains("kiosk-name-field") && pad) {
      pad.querySelectorAll(".kiosk-name-field").forEach(function (f) { f.classList.remove("is-active"); });
      target.classList.add("is-active");
      return;
    }
    var step = target.closest(".kiosk-step");
    if (step && target.hasAttribute("data-next")) { showStep(step.form || step.closest("form"), Number(step.dataset.step) + 1); return; }
    if (step && target.hasAttribute("data-prev")) { showStep(step.form || step.closest("form"), Number(step.dataset.step) - 1); }
  });

  // A touch anywhere on the ticket screen returns to the start (not while the
  // the ticket is on screen instead of paper: then it is shown to the administrator or photographed).
  document.addEventListener("pointerdown", function (event) {
    armTimers();
    var s = screen();
    if (s && s.dataset.screen === "ticket" && !s.querySelector('[data-print]:not([data-print="done"])')
        && !event.target.closest("button")) {
      event.preventDefault();
      goHome();
    }
  });

  // --- the barcode scanner and a physical keyboard -----------------------------------------

  document.addEventListener("keydown", function (event) {
    armTimers();
    if (event.target && event.target.id === "scan") return; // the start screen's form takes it
    var now = Date.now();
    if (now - scanLast > 300) scanBuffer = "";
    scanLast = now;
    if (event.key === "Enter") {
      var text = scanBuffer;
      scanBuffer = "";
      if (/^(PRIYOM|ЗКШНЩЬ)[:Ж]/i.test(text)) {
        event.preventDefault();
        var m = main();
        htmx.ajax("POST", m.dataset.startUrl + "checkin/code", {
          target: "#kiosk-screen", swap: "outerHTML", values: { code: text }
        });
      }
      return;
    }
    if (event.key.length === 1) scanBuffer += event.key;
    // Typing on a keyboard into the keypad of the code screen.
    var pad = document.querySelector('[data-keypad="code"]');
    if (pad && !/^(PRIYOM|ЗКШНЩЬ)/i.test(scanBuffer)) {
      if (event.key === "Backspace") press(pad, "back");
      else if (event.key.length === 1 && /[0-9A-Za-z]/.test(event.key)) {
        var ch = event.key.toUpperCase();
        if (pad.querySelector('[data-key="' + ch + '"]')) press(pad, ch);
      }
    }
  });

  function setUp() {
    document.querySelectorAll("[data-keypad]").forEach(render);
    keepScanFocus();
    armTimers();
  }

  document.addEventListener("focusout", function () { setTimeout(keepScanFocus, 0); });
  document.addEventListener("htmx:afterSettle", setUp);
  document.addEventListener("htmx:historyRestore", setUp);
  // When the server cannot be reached, go back to a clean start instead of a frozen screen.
  document.addEventListener("htmx:sendError", function () { setTimeout(goHome, 5000); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
