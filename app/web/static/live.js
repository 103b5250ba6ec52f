/* Live pages (issue 8): listens to /events and reloads the fragment that changed — the queue's
   table, the ticket's history — and previews a reply as the agent types. Every page works
   without it. No library. */
(function () {
  "use strict";

  function reload(box, status) {
    var url = box.getAttribute("data-partial");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        box.innerHTML = html;
        if (status) { status.textContent = status.getAttribute("data-updated") || "↻"; }
      })
      .catch(function () { /* the next event tries again */ });
  }

  var queue = document.getElementById("queue-table");
  var ticket = document.querySelector("[data-live=ticket]");
  var history = document.getElementById("ticket-history");
  var status = document.getElementById("live-status");
  var params = [];
  if (queue) { params.push("queue=true"); }
  if (ticket) { params.push("ticket=" + encodeURIComponent(ticket.getAttribute("data-reference"))); }
  if (params.length && window.EventSource) {
    var source = new EventSource("/events?" + params.join("&"));
    source.addEventListener("ready", function () { document.documentElement.setAttribute("data-live", "ready"); });
    source.addEventListener("queue", function () { if (queue) { reload(queue, status); } });
    source.addEventListener("ticket", function () { if (history) { reload(history, status); } });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  /* Preview as you type: the form posted with partial=true answers the preview alone. */
  var form = document.getElementById("reply-form");
  var preview = document.getElementById("reply-preview");
  if (!form || !preview) { return; }
  var timer = null;
  var asked = 0;
  function refresh() {
    var data = new FormData(form);
    data.set("action", "preview");
    data.set("partial", "true");
    var mine = ++asked;
    fetch(form.getAttribute("data-preview"), { method: "POST", credentials: "same-origin",
                                                body: new URLSearchParams(data) })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== asked) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#reply-preview");
        if (fresh) { preview.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { /* the Preview button still works */ });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
})();
