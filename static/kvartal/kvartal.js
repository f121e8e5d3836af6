// Kvartal's page behaviour. The Content-Security-Policy allows no inline scripts, inline
// handlers or style attributes, so pages declare behaviour with data attributes handled here.
(function () {
  "use strict";

  // data-styled + data-style-<css-property>="value": computed styles (bar widths, plan
  // markers, the brand colour) set through the CSSOM, which the policy permits.
  function applyStyles(root) {
    var nodes = root.querySelectorAll ? root.querySelectorAll("[data-styled]") : [];
    Array.prototype.forEach.call(nodes, function (el) {
      Array.prototype.forEach.call(el.attributes, function (attr) {
        if (attr.name.indexOf("data-style-") === 0) {
          el.style.setProperty(attr.name.slice("data-style-".length), attr.value);
        }
      });
    });
  }

  // A table wider than its frame scrolls sideways: the frame takes the keyboard's focus
  // (Tab to it, then the arrow keys scroll it); one that fits is no extra stop.
  function markScrollable() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap"), function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) wrap.setAttribute("tabindex", "0");
      else wrap.removeAttribute("tabindex");
    });
  }
  var resizing = null;

  document.addEventListener("DOMContentLoaded", function () { applyStyles(document); markScrollable(); });
  document.addEventListener("htmx:load", function (e) {
    applyStyles(e.detail.elt.parentNode || e.detail.elt);
    markScrollable();
  });
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(markScrollable, 150);
  });

  document.addEventListener("click", function (e) {
    var target = e.target;
    if (!target.closest) return;
    if (target.closest("[data-print]")) { window.print(); return; }
    // The menu's button on narrow screens: a real button (Enter, Space, screen readers)
    // whose aria-expanded the stylesheet reads to show the menu.
    var toggle = target.closest("[data-nav-toggle]");
    if (toggle) {
      toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
      return;
    }
    var select = target.closest("[data-select-on-click]");
    if (select) { select.select(); return; }
    var close = target.closest("[data-close-panel]");
    if (close) { var panel = close.closest(".panel"); if (panel) panel.replaceChildren(); }
  });

  // data-autosubmit on a select: a change submits its form (data-clear="id" empties a field
  // first, e.g. a new project forgets the building).
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!el.hasAttribute || !el.hasAttribute("data-autosubmit") || !el.form) return;
    var clear = el.getAttribute("data-clear");
    if (clear) { var other = document.getElementById(clear); if (other) other.value = ""; }
    if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
  });
})();
