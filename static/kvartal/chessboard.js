// The chessboard page: the selected cell, shareable filter URLs, keyboard use of the card.
(function () {
  "use strict";
  // The unit card panel: mark the cell it shows.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var cell = e.detail.elt.closest && e.detail.elt.closest(".board .cell");
    if (!cell) return;
    document.querySelectorAll(".board .cell.selected").forEach(function (c) { c.classList.remove("selected"); });
    cell.classList.add("selected");
  });
  // Shareable URLs: the filters left empty stay out of the query string.
  document.addEventListener("htmx:configRequest", function (e) {
    if (!e.detail.elt.classList.contains("board-filters")) return;
    var data = e.detail.formData;
    Array.from(new Set(data.keys())).forEach(function (name) {
      if (data.getAll(name).every(function (v) { return v === ""; })) data.delete(name);
    });
  });
  // The filters apply as they change: a box, a list or a date at once, a number half a
  // second after the typing stops. (Said here, not in an hx-trigger filter: those are
  // evaluated code, which the CSP forbids.)
  var typing;
  function changed(e, number) {
    var form = e.target.closest && e.target.closest("form.board-filters");
    if (!form || (e.target.type === "number") !== number) return;
    clearTimeout(typing);
    if (!number) { form.dispatchEvent(new Event("filters-changed")); return; }
    typing = setTimeout(function () { form.dispatchEvent(new Event("filters-changed")); }, 500);
  }
  document.addEventListener("change", function (e) { changed(e, false); });
  document.addEventListener("input", function (e) { changed(e, true); });
  // Ctrl/⌘/Shift-click opens the full card in a new tab or window, as links do.
  document.addEventListener("click", function (e) {
    if ((e.ctrlKey || e.metaKey || e.shiftKey) && e.target.closest(".board .cell a")) e.stopPropagation();
  }, true);
  // Keyboard users land in the opened card, and back on its cell when it closes.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target.id !== "panel") return;
    var title = e.detail.target.querySelector("h1");
    if (title) { title.setAttribute("tabindex", "-1"); title.focus({ preventScroll: true }); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var panel = document.getElementById("panel");
    if (!panel || !panel.firstChild) return;
    panel.replaceChildren();
    var cell = document.querySelector(".board .cell.selected a");
    if (cell) cell.focus();
  });
})();
