/* Guichet's only script: every page works without it; it adds the print button and live
   search results at the desk. No library, nothing fetched from elsewhere. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) { window.print(); }
  });

  var form = document.querySelector("form[data-live-search]");
  var input = form && form.querySelector("input[type=search]");
  var results = document.getElementById("results");
  if (!form || !input || !results) { return; }

  var timer = null;
  var asked = 0;
  function refresh() {
    var q = input.value.trim();
    var ticket = ++asked;
    var hidden = document.querySelector("form.contact input[name=q]");
    if (hidden) { hidden.value = q; }
    if (q.length < 2) { return; }
    var url = form.getAttribute("data-live-search") + "?partial=true&q=" + encodeURIComponent(q);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null && ticket === asked) { results.innerHTML = html; }  /* the newest answer only */
      })
      .catch(function () { /* the plain form still works */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
  /* Down arrow from the search box: straight to the first citizen found. */
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      var first = results.querySelector("input[type=radio]");
      if (first) { event.preventDefault(); first.focus(); first.checked = true; }
    }
  });
})();
