/* Hallway display: live calls, chime and announcement, clock, directory.
 *
 * - A call's event on the stream (/signage/stream, Server-Sent Events) carries
 *   the line to draw: ticket number, room, floor, the way from this display's
 *   spot and the words to say. The page draws it at once (drawCall), without
 *   asking the server: a hundred displays cost one call no hundred board renders.
 *   An event that ends a visit takes its ticket's line off.
 * - The board fragment (#signage-live, with the waiting counts) is fetched with
 *   the device cookie when the stream (re)opens, once, and every half minute,
 *   the displays spread over that time. A lost stream is reopened with
 *   ?after=<last id>, so the server replays exactly what was missed; while it is
 *   down the page polls the fragment (the fallback, never the only path).
 * - A call is announced when a line carries an event id newer than any this
 *   page has seen, once per event id: a reconnect never repeats one, a recall
 *   (a new event) does. Lines older than two minutes are shown, not spoken.
 * - Voice: the browser's Russian voice when it has one, else the server's WAV.
 *   Every announcement is logged in window.priyomSignage.log.
 * - The screen never goes blank: a failed fetch keeps what is shown, and a
 *   discreet "нет связи" appears when neither the stream nor a fetch works.
 */
(function () {
  "use strict";

  var root = document.getElementById("signage");
  if (!root) { return; }
  var data = root.dataset;
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 5000;
  var POLL_MS = 5000;
  var REFRESH_MS = 30000;
  var BOARD_SIZE = 5;
  // Events after which a ticket's line leaves the board (the visit ended or went back).
  var ENDING_KINDS = { "ticket.finished": true, "ticket.no_show": true, "ticket.returned": true };
  var OFFLINE_AFTER_MS = 4000;
  var FRESH_MS = 8000;
  var DIRECTORY_PAGE_MS = 12000;
  var CHIME_TIMEOUT_MS = 3000;
  var SPEECH_TIMEOUT_MS = 15000;

  var state = {
    streamAfter: Number(data.lastEventId) || 0,
    seenUpTo: Number(data.lastEventId) || 0,
    announced: new Set(),
    freshUntil: new Map(),
    queue: [],
    speaking: false,
    source: null,
    retryMs: RETRY_MIN_MS,
    retryTimer: null,
    pollTimer: null,
    lastContact: Date.now(),
    clockOffset: (Number(data.serverNow) || Date.now()) - Date.now(),
    chimeUrl: null,
    directoryPage: 0,
    recent: []  // the last events drawn: {id, type, payload}
  };
  var log = [];
  // drawn: event id -> when its line was put on the page and first painted (Date.now()),
  // for the browser test's click-to-number figure.
  var drawn = {};
  window.priyomSignage = { log: log, state: state, drawn: drawn, fetches: 0 };

  function note(message) {
    if (window.console && console.info) { console.info("signage: " + message); }
  }

  /* ---- the board fragment ---- */

  var refreshing = false;
  var refreshAgain = false;

  function refresh() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    window.priyomSignage.fetches += 1;
    fetch(data.boardUrl, {
      headers: { "HX-Request": "true" }, cache: "no-store", credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      state.lastContact = Date.now();
      swap(html);
    }).catch(function (error) {
      note("board not refreshed: " + error);
    }).then(function () {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refresh(); }
    });
  }

  function swap(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.querySelector("#signage-live");
    var current = document.getElementById("signage-live");
    if (!fresh || !current) { return; }
    current.replaceWith(fresh);
    // Events that came while the fragment was on its way are newer than it: draw them again.
    var upTo = Number(fresh.dataset.lastEventId) || 0;
    state.recent.forEach(function (event) {
      if (event.id > upTo) { apply(event.type, event.payload, false); }
    });
    var serverNow = Number(fresh.dataset.serverNow);
    if (serverNow) { state.clockOffset = serverNow - Date.now(); }
    root.classList.toggle("sg--idle", fresh.dataset.calls === "0");
    takeNewCalls(fresh);
    paintFresh();
  }

  function takeNewCalls(live) {
    var lines = Array.prototype.slice.call(live.querySelectorAll(".sg-call[data-event-id]"));
    var newest = state.seenUpTo;
    lines.reverse().forEach(function (line) {  // oldest first: announcements in call order
      var id = Number(line.dataset.eventId);
      if (!(id > state.seenUpTo)) { return; }
      newest = Math.max(newest, id);
      state.freshUntil.set(id, Date.now() + FRESH_MS);
      if (state.announced.has(id)) { return; }
      state.announced.add(id);
      if (line.dataset.announce === "1") {
        announce({ id: id, phrase: line.dataset.phrase, ticket: line.dataset.ticket });
      }
    });
    state.seenUpTo = newest;
    if (state.announced.size > 1000) {  // a display runs for weeks: keep the set small
      state.announced = new Set(Array.from(state.announced).slice(-200));
    }
  }

  function paintFresh() {
    var now = Date.now();
    document.querySelectorAll(".sg-call[data-event-id]").forEach(function (line) {
      var until = state.freshUntil.get(Number(line.dataset.eventId)) || 0;
      line.classList.toggle("is-fresh", until > now);
    });
    state.freshUntil.forEach(function (until, id) {
      if (until <= now) { state.freshUntil.delete(id); }
    });
  }

  /* ---- a line drawn from its event ---- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  // The same markup as _board_live.html's line.
  function callLine(line) {
    var item = el("li", "sg-call");
    var d = item.dataset;
    d.eventId = line.event_id; d.kind = line.kind; d.ticketId = line.ticket_id;
    d.ticket = line.ticket; d.room = line.room; d.arrow = line.arrow; d.phrase = line.phrase;
    d.announce = line.announce ? "1" : "0";
    item.appendChild(el("span", "sg-ticket", line.ticket));
    var place = el("span", "sg-place");
    var room = el("span", "sg-room", line.room_word + " ");
    room.appendChild(el("span", "sg-room-number", line.room));
    place.appendChild(room);
    var floor = el("span", "sg-floor", line.floor + " этаж");
    var tag = line.kind === "ticket.recalled" ? "повторный вызов"
      : line.kind === "ticket.moved" ? "новое направление" : "";
    if (tag) { floor.appendChild(document.createTextNode(" ")); floor.appendChild(el("em", "sg-tag", tag)); }
    place.appendChild(floor);
    item.appendChild(place);
    var dir = el("span", "sg-dir");
    var arrow = el("span", "sg-arrow sg-arrow--" + line.arrow, line.glyph);
    arrow.setAttribute("aria-hidden", "true");
    dir.appendChild(arrow);
    var route = el("span", "sg-route");
    if (line.route.indexOf(line.arrow_word) !== 0) {
      route.appendChild(el("span", "visually-hidden", line.arrow_word + ": "));
    }
    route.appendChild(document.createTextNode(line.route));
    if (line.then) { route.appendChild(el("span", "sg-then", line.then)); }
    dir.appendChild(route);
    item.appendChild(dir);
    return item;
  }

  function ticketLine(ticketId) {
    return document.querySelector('#signage-live .sg-call[data-ticket-id="' + Number(ticketId) + '"]');
  }

  function settleBoard() {
    var live = document.getElementById("signage-live");
    var lines = live.querySelectorAll(".sg-call");
    lines.forEach(function (line, i) { line.classList.toggle("sg-call--newest", i === 0); });
    live.dataset.calls = String(lines.length);
    live.querySelector(".sg-calls").hidden = lines.length === 0;
    root.classList.toggle("sg--idle", lines.length === 0);
  }

  function drawCall(event) {
    var old = ticketLine(event.ticket_id);
    if (old) { old.remove(); }
    var line = event.line;
    if (line) {
      var list = document.querySelector("#signage-live .sg-call-list");
      if (!list) { refresh(); return; }
      list.insertBefore(callLine(line), list.firstChild);
      var size = Number(document.getElementById("signage-live").dataset.size) || BOARD_SIZE;
      while (list.children.length > size) { list.removeChild(list.lastChild); }
      var mark = drawn[line.event_id] = { drawn: Date.now(), painted: null };
      requestAnimationFrame(function () { mark.painted = Date.now(); });
    }
    settleBoard();
    if (line) { takeNewCalls(document.getElementById("signage-live")); }
    paintFresh();
  }

  function dropTicket(event) {
    var old = ticketLine(event.ticket_id);
    if (!old) { return; }
    old.remove();
    settleBoard();
  }

  // Draw what an event says; true if it changed the lines.
  function apply(type, payload, live) {
    if ("line" in payload) { drawCall(payload); return true; }
    if (ENDING_KINDS[type]) { dropTicket(payload); return true; }
    if (live && (data.eventKinds || "").split(" ").indexOf(type) >= 0) {
      refresh();  // a call the server could not describe: ask for the board
    }
    // Other events change only the waiting counts: the half-minute fetch brings them.
    return false;
  }

  /* ---- the stream, its reconnection, and the polling fallback ---- */

  function connect() {
    state.retryTimer = null;
    if (!window.EventSource) { startPolling(); return; }
    var source = new EventSource(data.streamUrl + "?after=" + state.streamAfter);
    state.source = source;
    source.onopen = function () {
      state.retryMs = RETRY_MIN_MS;
      state.lastContact = Date.now();
      stopPolling();
      refresh();  // whatever changed while the stream was down
    };
    var onEvent = function (event) {
      var id = Number(event.lastEventId);
      if (id > state.streamAfter) { state.streamAfter = id; }
      state.lastContact = Date.now();
      var payload = null;
      try { payload = JSON.parse(event.data); } catch (error) { payload = null; }
      if (payload && apply(event.type, payload, true)) {
        state.recent.push({ id: id, type: event.type, payload: payload });
        if (state.recent.length > 50) { state.recent.shift(); }
      }
    };
    source.onmessage = onEvent;
    (data.eventKinds || "").split(" ").concat([
      "queue.changed", "ticket.checked_in", "ticket.finished", "ticket.returned", "ticket.no_show"
    ]).forEach(function (kind) {
      if (kind) { source.addEventListener(kind, onEvent); }
    });
    source.onerror = function () {
      // Reopen it ourselves, with ?after=, after a short wait (the browser's own
      // retry gives up on an HTTP error, e.g. a proxy's 502 during a restart).
      source.close();
      if (state.source === source) { state.source = null; }
      startPolling();
      if (!state.retryTimer) {
        var wait = state.retryMs + Math.floor(Math.random() * 500);
        state.retryMs = Math.min(state.retryMs * 2, RETRY_MAX_MS);
        state.retryTimer = setTimeout(connect, wait);
      }
    };
  }

  function startPolling() {
    if (!state.pollTimer) { state.pollTimer = setInterval(refresh, POLL_MS); }
  }

  function stopPolling() {
    if (state.pollTimer) { clearInterval(state.pollTimer); state.pollTimer = null; }
  }

  function connectionState() {
    if (state.source && state.source.readyState === 1) { return "live"; }
    if (Date.now() - state.lastContact < OFFLINE_AFTER_MS + POLL_MS) { return "polling"; }
    return "offline";
  }

  /* ---- chime and announcement ---- */

  function announce(item) {
    state.queue.push(item);
    if (!state.speaking) { speakNext(); }
  }

  function speakNext() {
    var item = state.queue.shift();
    if (!item) { state.speaking = false; return; }
    state.speaking = true;
    var entry = { event: item.id, ticket: item.ticket, phrase: item.phrase, via: null,
                  at: new Date().toISOString(), error: null, done: false };
    log.push(entry);
    if (log.length > 200) { log.splice(0, log.length - 200); }
    playChime().catch(function (error) {
      if (error && error.name === "NotAllowedError") { throw error; }
      return null;  // no chime is no reason to keep the announcement back
    }).then(function () {
      var voice = russianVoice();
      if (voice) {
        entry.via = "voice";
        return speakWithVoice(item.phrase, voice);
      }
      entry.via = "server";
      return playServerSpeech(item.id);
    }).then(function () {
      document.getElementById("signage-muted").hidden = true;
    }).catch(function (error) {
      entry.error = String(error);
      note("announcement " + item.id + " not played: " + error);
      if (error && error.name === "NotAllowedError") {
        // Autoplay is off: start the display's browser with
        // --autoplay-policy=no-user-gesture-required (see the deployment guide).
        document.getElementById("signage-muted").hidden = false;
      }
    }).then(function () {
      entry.done = true;
      speakNext();
    });
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(resolve, ms);  // a stuck player never stops the queue
      promise.then(function (value) { clearTimeout(timer); resolve(value); },
                   function (error) { clearTimeout(timer); reject(error); });
    });
  }

  // One request per sound (a media element may issue several range requests).
  function fetchAudio(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status + " for " + url); }
      return response.blob();
    }).then(function (blob) { return URL.createObjectURL(blob); });
  }

  function play(objectUrl, ms) {
    return withTimeout(new Promise(function (resolve, reject) {
      var audio = new Audio(objectUrl);
      audio.onended = resolve;
      audio.onerror = function () { reject(new Error("audio error")); };
      var started = audio.play();
      if (started && started.catch) { started.catch(reject); }
    }), ms);
  }

  function playChime() {
    var ready = state.chimeUrl ? Promise.resolve(state.chimeUrl)
      : fetchAudio(data.chimeUrl).then(function (url) { state.chimeUrl = url; return url; });
    return ready.then(function (url) { return play(url, CHIME_TIMEOUT_MS); });
  }

  function playServerSpeech(eventId) {
    var url = data.speechUrl.replace(/\/0\.wav$/, "/" + eventId + ".wav");
    return fetchAudio(url).then(function (objectUrl) {
      return play(objectUrl, SPEECH_TIMEOUT_MS).then(function () {
        URL.revokeObjectURL(objectUrl);
      });
    });
  }

  function russianVoice() {
    if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) { return null; }
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf("ru") === 0) { return voices[i]; }
    }
    return null;
  }

  function speakWithVoice(phrase, voice) {
    return withTimeout(new Promise(function (resolve, reject) {
      var utterance = new SpeechSynthesisUtterance(phrase);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onend = resolve;
      utterance.onerror = function (event) { reject(new Error("speech " + event.error)); };
      window.speechSynthesis.speak(utterance);
    }), SPEECH_TIMEOUT_MS);
  }

  /* ---- clock, connection mark, directory ---- */

  var timeFormat = makeFormat({ hour: "2-digit", minute: "2-digit" });
  var dateFormat = makeFormat({ weekday: "long", day: "numeric", month: "long" });

  function makeFormat(options) {
    try {
      return new Intl.DateTimeFormat("ru-RU", Object.assign({ timeZone: data.timezone }, options));
    } catch (error) {
      return new Intl.DateTimeFormat("ru-RU", options);
    }
  }

  function tick() {
    var now = new Date(Date.now() + state.clockOffset);
    document.getElementById("signage-time").textContent = timeFormat.format(now);
    document.getElementById("signage-date").textContent = dateFormat.format(now);
    var connection = connectionState();
    root.dataset.connection = connection;
    document.getElementById("signage-offline").hidden = connection !== "offline";
    paintFresh();
  }

  function turnDirectory() {
    if (!root.classList.contains("sg--idle")) { return; }
    var pages = root.querySelectorAll(".sg-dir-page");
    if (pages.length < 2) { return; }
    pages[state.directoryPage % pages.length].classList.remove("is-current");
    state.directoryPage = (state.directoryPage + 1) % pages.length;
    pages[state.directoryPage].classList.add("is-current");
  }

  if (window.speechSynthesis && window.speechSynthesis.getVoices) {
    window.speechSynthesis.getVoices();  // voices load asynchronously: ask early
  }
  setInterval(tick, 1000);
  // The displays' half-minute fetches spread over the half minute, not all at once.
  setTimeout(function () { setInterval(refresh, REFRESH_MS); }, Math.random() * REFRESH_MS);
  setInterval(turnDirectory, DIRECTORY_PAGE_MS);
  tick();
  connect();
})();
