// Polls the submission's JSON status until it is final, then reloads the page once so the
// server renders the verdict and per-test table (no HTML is built from data here).
(function () {
  "use strict";
  var summary = document.getElementById("summary");
  if (!summary) { return; }
  var url = summary.getAttribute("data-status-url");
  var state = document.getElementById("state");
  var delay = 1000;
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.final) { window.location.reload(); return; }
        if (body && state) { state.textContent = body.state; state.className = "state-" + body.state; }
        delay = Math.min(delay * 1.3, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, delay);
})();
