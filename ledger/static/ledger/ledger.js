/* CivicGrid ledger import page: while a dry run or commit runs, poll its progress JSON and move
 * the <progress> bar (static file, no inline script: the page is served under a strict CSP).
 *
 * #ledger-progress[data-url][data-status]: elements inside with data-key="<field>" show that
 * field of the JSON. When the run ends the page reloads to show the error report.
 */
(function () {
  "use strict";

  var INTERVAL_MS = 1500;
  var MAX_FAILURES = 20;

  function show(panel, data) {
    Array.prototype.forEach.call(panel.querySelectorAll("[data-key]"), function (el) {
      var key = el.getAttribute("data-key");
      if (!(key in data)) return;
      var value = data[key] === null || data[key] === undefined ? "" : String(data[key]);
      el.textContent = value;
      if (key === "failure") el.hidden = !value;
    });
    var bar = panel.querySelector("progress");
    if (bar) {
      bar.value = data.percent;
      bar.textContent = data.percent + "%";
    }
    panel.setAttribute("data-status", data.status);
  }

  function poll(panel) {
    var failures = 0;
    function tick() {
      fetch(panel.getAttribute("data-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store"
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          show(panel, data);
          if (data.running) {
            window.setTimeout(tick, INTERVAL_MS);
          } else {
            window.location.reload();
          }
        })
        .catch(function (error) {
          failures += 1;
          panel.setAttribute("data-state", "error");
          if (window.console) console.error("ledger progress:", error);
          if (failures < MAX_FAILURES) window.setTimeout(tick, INTERVAL_MS * 2);
        });
    }
    tick();
  }

  function start() {
    var panel = document.getElementById("ledger-progress");
    if (panel && panel.getAttribute("data-status") === "running") poll(panel);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
