/* Live pages (issue 8): listens to /events and reloads the fragment that changed — the queue's
   table, the ticket's history, the supervisor's board — and previews a reply as the agent types.
   Every page works without it. No library. */
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

  /* The board has forms among its tables: the page is fetched again and each [data-live-part] is
     swapped by id, except one where a list or a text box has the focus (tried again shortly),
     keeping ticked boxes, chosen options and the focus so a supervisor half-way through a move
     loses nothing. */
  var partsTimer = null;
  function refreshParts(url, status) {
    clearTimeout(partsTimer);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var skipped = false;
        Array.prototype.forEach.call(fresh.querySelectorAll("[data-live-part]"), function (part) {
          var here = part.id ? document.getElementById(part.id) : null;
          if (!here) { return; }
          var focused = here.contains(document.activeElement) ? document.activeElement : null;
          if (focused && (focused.tagName === "SELECT" || focused.tagName === "TEXTAREA" ||
                          (focused.tagName === "INPUT" && focused.type !== "checkbox"))) {
            skipped = true; return;  /* never pull a list or a text box from under the pointer */
          }
          var ticked = {};
          Array.prototype.forEach.call(here.querySelectorAll("input[type=checkbox]:checked"), function (box) {
            ticked[box.name + "=" + box.value] = true;
          });
          var chosen = here.tagName === "SELECT" ? here.value : null;
          here.innerHTML = part.innerHTML;
          Array.prototype.forEach.call(here.querySelectorAll("input[type=checkbox]"), function (box) {
            if (ticked[box.name + "=" + box.value]) { box.checked = true; }
          });
          if (chosen !== null) { here.value = chosen; if (here.value !== chosen) { here.selectedIndex = 0; } }
          if (focused && focused.id && document.getElementById(focused.id)) { document.getElementById(focused.id).focus(); }
        });
        if (status) { status.textContent = status.getAttribute("data-updated") || "↻"; }
        if (skipped) { partsTimer = setTimeout(function () { refreshParts(url, status); }, 3000); }
      })
      .catch(function () { /* the next event tries again */ });
  }

  var queue = document.getElementById("queue-table");
  var board = document.querySelector("[data-live=board]");
  var ticket = document.querySelector("[data-live=ticket]");
  var history = document.getElementById("ticket-history");
  var status = document.getElementById("live-status");
  var params = [];
  if (queue) { params.push("queue=true"); }
  if (ticket) { params.push("ticket=" + encodeURIComponent(ticket.getAttribute("data-reference"))); }
  if (board) { params.push("board=true"); }
  if (params.length && window.EventSource) {
    var source = new EventSource("/events?" + params.join("&"));
    source.addEventListener("ready", function () { document.documentElement.setAttribute("data-live", "ready"); });
    source.addEventListener("queue", function () { if (queue) { reload(queue, status); } });
    source.addEventListener("ticket", function () { if (history) { reload(history, status); } });
    source.addEventListener("board", function () { if (board) { refreshParts(board.getAttribute("data-partial"), status); } });
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
