// Behaviours every screen shares, kept out of the markup: the Content-Security-Policy
// allows scripts from our own files only (no inline script, no on*= handlers, no eval).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    } else if (target.closest("[data-back]") && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  // F2 anywhere: elements listening with hx-trigger="priyom-f2 from:body" act on it
  // (an htmx trigger filter like keydown[key=='F2'] would need eval).
  document.addEventListener("keydown", function (event) {
    if (event.key === "F2") {
      document.body.dispatchEvent(new CustomEvent("priyom-f2", { bubbles: true }));
    }
  });

  // A list marked data-keep-while-focused does not refresh itself under the user's hand:
  // its timed and pushed reloads wait while focus is inside it (a filter without eval).
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail && event.detail.elt;
    var trigger = event.detail && event.detail.triggeringEvent;
    if (!elt || !elt.matches || !elt.matches("[data-keep-while-focused]")) return;
    var always = (elt.getAttribute("data-keep-while-focused") || "").split(/\s+/);
    if (trigger && always.indexOf(trigger.type) >= 0) return;
    if (elt.contains(document.activeElement)) event.preventDefault();
  });
})();
