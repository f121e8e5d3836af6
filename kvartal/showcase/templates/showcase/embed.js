{% load i18n %}/* Kvartal showcase widget. On the host page:
   <script src="{{ origin }}/embed.js" data-project="ID" async></script>
   It adds an iframe of the project's catalogue after itself and keeps its height to the
   content. No inline code, no eval: it works under the host page's CSP when the host allows
   this origin in script-src and frame-src. Inside the iframe it reports the height. */
(function () {
  "use strict";
  var ORIGIN = "{{ origin|escapejs }}";
  var me = document.currentScript;
  if (me && me.getAttribute("data-role") === "frame") {
    var report = function () {
      parent.postMessage({ kvartal: "height", height: document.documentElement.scrollHeight }, "*");
    };
    window.addEventListener("load", report);
    window.addEventListener("resize", report);
    return;
  }
  if (!me || !me.getAttribute("data-project")) { return; }
  var frame = document.createElement("iframe");
  frame.src = ORIGIN + "/embed/" + encodeURIComponent(me.getAttribute("data-project")) + "/";
  frame.title = me.getAttribute("data-title") || "{% translate "Catalogue" as title %}{{ title|escapejs }}";
  frame.loading = "lazy";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.minHeight = "480px";
  me.parentNode.insertBefore(frame, me.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== ORIGIN || event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.kvartal === "height" && typeof data.height === "number") {
      frame.style.height = Math.min(Math.max(data.height, 200), 20000) + "px";
    }
  });
})();
