// The client picker (kvartal/clients/picker.py): as one types a name or a phone, the select
// beside the search box fills with the clients found, from the picker's endpoint (the same
// search and scoping as the "Find" button, which works without this script).
(function () {
  "use strict";
  var timers = new WeakMap();

  function picker(el) { return el && el.closest ? el.closest("[data-client-picker]") : null; }

  function search(box) {
    var root = picker(box);
    if (!root) return;
    var select = document.getElementById(root.dataset.select);
    var status = root.querySelector("[data-picker-status]");
    var query = box.value.trim();
    var url = root.dataset.url + "?q=" + encodeURIComponent(query);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (box.value.trim() !== query) return; // typed on since: a newer search follows
        var keep = [];
        Array.prototype.forEach.call(select.options, function (o) {
          if (o.value === "" || o.selected) keep.push(o);
        });
        select.replaceChildren.apply(select, keep);
        var kept = keep.map(function (o) { return o.value; });
        data.results.forEach(function (c) {
          if (kept.indexOf(String(c.id)) >= 0) return;
          var option = document.createElement("option");
          option.value = c.id;
          option.textContent = c.label;
          select.appendChild(option);
        });
        if (data.results.length === 1 && !select.value) select.value = String(data.results[0].id);
        if (status) status.textContent = data.status;
      })
      .catch(function () { /* the Find button still works */ });
  }

  document.addEventListener("input", function (e) {
    var box = e.target;
    if (!picker(box) || box.type !== "search") return;
    clearTimeout(timers.get(box));
    timers.set(box, setTimeout(function () { search(box); }, 250));
  });

  document.addEventListener("keydown", function (e) {
    var box = e.target;
    if (e.key !== "Enter" || box.tagName !== "INPUT") return;
    if (picker(box) && box.type === "search") {
      e.preventDefault(); // search here instead of posting the form
      clearTimeout(timers.get(box));
      search(box);
      return;
    }
    // Enter in another field of a form with a picker posts the form with its own button,
    // not with "Find" (the first submit button, which a browser would press).
    var form = box.form;
    if (!form || !form.querySelector("[data-client-picker]")) return;
    var submit = form.querySelector("button[type=submit]:not([data-picker-find])");
    if (!submit) return;
    e.preventDefault();
    form.requestSubmit(submit);
  });

  document.addEventListener("click", function (e) {
    var find = e.target.closest ? e.target.closest("[data-picker-find]") : null;
    if (!find) return;
    e.preventDefault();
    var box = picker(find).querySelector("input[type=search]");
    if (box) search(box);
  });
})();
