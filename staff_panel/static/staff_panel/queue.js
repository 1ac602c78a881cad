// The specialist's day: close the side panel after a transfer or on "Закрыть".
(function () {
  function clearSide() {
    var side = document.getElementById("today-side");
    if (!side) return;
    side.className = "today-side today-side-empty";
    side.innerHTML = '<p class="muted">Нажмите «Карточка» в строке списка, чтобы заранее посмотреть ' +
      "прошлые визиты, оценки, сообщения и заметки о клиенте (§34.4).</p>";
  }
  document.body.addEventListener("today-side-clear", clearSide);
  // «Закрыть» in the side panel (no on*= handlers: the CSP allows scripts from files only).
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("[data-clear-side]")) clearSide();
  });
  window.priyomQueue = { clearSide: clearSide };
})();
