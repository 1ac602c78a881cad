// The specialist's day: close the side panel after a transfer or on "Закрыть"; skip the
// reload a call's own pushed event would cause.
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

  // A call, a start or a finish answers with what it changed (its panel, its rows, the count)
  // and names its pushed event (HX-Trigger today-own-event). That event comes back on this panel's stream too: it
  // brings nothing new, and reading the whole day for it is the cost the answer saves. Any
  // other event still reloads the list. An event that arrives while an action of this panel
  // is under way waits for the answer, which tells whether it was the action's own. When a
  // read of the whole list ran beside the action (a pushed or timed reload), it may show the
  // day from before the action: then the echo reloads as before.
  var echoes = {}; // ids of this panel's own events whose answer is on screen
  var actions = 0; // actions of this panel under way
  var reads = 0; // reads of the whole list under way
  var overlapped = false; // a read ran beside an action since the last answer
  var waiting = []; // ids of events that arrived during an action

  // By the request's own element: htmx tells of an answer that removed it (a call's button)
  // once more on the nearest element still on the page.
  function isRead(detail) {
    var config = detail.requestConfig;
    return !!config && config.verb === "get" && config.elt.id === "today-board";
  }
  function isAction(detail) {
    var config = detail.requestConfig;
    return !!config && config.verb !== "get";
  }
  function reload() {
    htmx.trigger(document.body, "today-refresh");
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (isRead(event.detail)) {
      reads += 1;
      if (actions) overlapped = true;
    } else if (isAction(event.detail)) {
      actions += 1;
      if (reads) overlapped = true;
    }
  });
  document.body.addEventListener("today-own-event", function (event) {
    var id = event.detail && event.detail.id;
    if (id && !overlapped) echoes[String(id)] = true;
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (isRead(event.detail)) {
      reads = Math.max(0, reads - 1);
      return;
    }
    if (!isAction(event.detail)) return;
    actions = Math.max(0, actions - 1);
    if (actions) return;
    overlapped = false;
    var arrived = waiting;
    waiting = [];
    var news = arrived.filter(function (id) {
      return !echoes[id];
    });
    arrived.forEach(function (id) {
      delete echoes[id];
    });
    if (news.length) reload();
  });
  document.body.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "today-board") return;
    var pushed = event.detail.triggeringEvent;
    if (!pushed || pushed.type.indexOf("sse:") !== 0) return;
    var id = String((pushed.detail && pushed.detail.lastEventId) || "");
    if (id && echoes[id]) {
      delete echoes[id];
      event.preventDefault();
    } else if (actions) {
      waiting.push(id);
      event.preventDefault();
    }
  });
  // A piece of an answer found no place: the screen was behind; read the whole day.
  document.body.addEventListener("htmx:oobErrorNoTarget", reload);

  window.priyomQueue = { clearSide: clearSide };
})();
