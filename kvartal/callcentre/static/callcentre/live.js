/* The live feed in the browser: open chessboards, unit cards and the call-centre panel change
   without a reload. Server-sent events, one short response at a time (the browser reconnects
   with Last-Event-ID); if streams are refused or unsupported, polling every two seconds. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var panel = document.getElementById("call-panel");
  var watched = panel || document.querySelector(".board, .unit-card, [data-live-unit]");
  if (!watched) return;
  var streamUrl = script.dataset.stream, pollUrl = script.dataset.poll;
  var cursor = "", since = script.dataset.since || "";
  var stateEl = document.querySelector("[data-live-state]");

  function say(text, mode) {
    if (stateEl) stateEl.textContent = text;
    document.documentElement.setAttribute("data-live", mode);
  }

  function recolour(el, status) {
    el.className = el.className.replace(/\bst-[a-z_]+/g, "").trim() + " st-" + status;
  }

  function onUnit(d) {
    var re = new RegExp("/units/" + d.id + "/(?:$|\\?)");
    document.querySelectorAll(".board td.cell").forEach(function (td) {
      var a = td.querySelector("a[href]");
      if (a && re.test(a.getAttribute("href"))) { recolour(td, d.status); td.classList.add("live-changed"); }
    });
    document.querySelectorAll(".unit-card").forEach(function (card) {
      var title = card.querySelector("h1[id^='unit-title-']");
      if (!title || title.id !== "unit-title-" + d.id) return;
      card.querySelectorAll(".unit-head h1 .badge, dd > .badge, .figure[class*='st-']").forEach(function (el) {
        recolour(el, d.status);
        if (el.classList.contains("badge")) el.textContent = d.label;
        var text = el.querySelector(".status-text");
        if (text) text.textContent = d.label;
      });
    });
    document.querySelectorAll("[data-live-unit='" + d.id + "']").forEach(function (row) {
      row.querySelectorAll("[data-live-status]").forEach(function (el) { recolour(el, d.status); el.textContent = d.label; });
      row.querySelectorAll("[data-live-hide]").forEach(function (el) { el.hidden = d.status !== "available"; });
    });
  }

  function onCall(d) {
    if (!panel || !window.htmx) return;
    if (d.state !== "ringing" && d.state !== "answered") {
      var badge = document.querySelector(".caller-block[data-call='" + d.call + "'] [data-call-state]");
      if (badge) badge.textContent = d.label || d.state;
      return;
    }
    var shown = document.querySelector(".caller-block[data-call='" + d.call + "']");
    if (shown && d.state === "answered") return;
    var url = panel.dataset.callUrl.replace(/0\/$/, d.call + "/");
    window.htmx.ajax("GET", url, { target: "#caller", swap: "innerHTML" });
  }

  function handle(type, data) {
    if (type === "unit") onUnit(data);
    else if (type === "call") onCall(data);
    document.dispatchEvent(new CustomEvent("kvartal:live", { detail: { type: type, data: data } }));
  }

  function query() {
    return cursor ? "?c=" + encodeURIComponent(cursor) : "?since=" + encodeURIComponent(since);
  }

  var polling = false;
  function poll() {
    polling = true;
    say(script.dataset.labelPolling || "", "poll");
    fetch(pollUrl + query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 403) polling = "refused"; // not for this user: stop asking
        return r.ok ? r.json() : null;
      })
      .then(function (body) {
        if (body) {
          cursor = body.cursor;
          body.events.forEach(function (e) { handle(e.type, e.data); });
        }
      })
      .catch(function () {})
      .then(function () { if (polling !== "refused") setTimeout(poll, 2000); });
  }

  if (!window.EventSource || !streamUrl) { poll(); return; }
  var source = new EventSource(streamUrl + query());
  function listen(type) {
    source.addEventListener(type, function (e) {
      if (e.lastEventId) cursor = e.lastEventId;
      handle(type, JSON.parse(e.data));
    });
  }
  listen("unit");
  listen("call");
  source.addEventListener("open", function () { say(script.dataset.labelLive || "", "stream"); });
  source.addEventListener("message", function (e) { if (e.lastEventId) cursor = e.lastEventId; });
  source.addEventListener("error", function () {
    // a finished response reconnects by itself; a refused one (503, 403) closes: poll then
    if (source.readyState === EventSource.CLOSED && !polling) poll();
  });
  window.kvartalLive = { cursor: function () { return cursor; } };
})();
