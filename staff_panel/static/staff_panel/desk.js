// Booking desk: show the app's generic error fragment (stale page, no access) in the
// alert bar at the top, instead of letting it replace the desk's own fragments.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var xhr = evt.detail.xhr;
  if (xhr.status < 400 || !/^\s*<div id="error"/.test(xhr.responseText)) return;
  var slot = document.getElementById("error");
  if (!slot) return;
  evt.detail.target = slot;
  evt.detail.shouldSwap = true;
});
// The next successful action clears an old alert.
document.addEventListener("htmx:afterSwap", function (evt) {
  var target = evt.detail.target;
  if (target && target.id !== "error") {
    var alert = document.getElementById("error");
    if (alert && alert.textContent.trim() && !alert.hidden) { alert.replaceWith(Object.assign(document.createElement("div"), {id: "error", hidden: true})); }
  }
});
