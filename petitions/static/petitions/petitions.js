/* CivicGrid petitions pages: small behaviours shared by every page (static file, no inline
 * script, so a strict CSP can forbid inline code).
 *
 * - form[data-once]: a second submit while the first is on its way is ignored (the server makes
 *   a repeated intake idempotent anyway; this just spares the round trip).
 * - [data-print]: a button that prints the page (the receipt has print styles of its own).
 * - #petition-work[data-url]: the home page's "my work" panel, loaded as an HTML fragment.
 */
(function () {
  "use strict";

  function guardDoubleSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "1") {
        event.preventDefault();
        return;
      }
      // Set after this event: disabling the button now would drop its name/value from the post.
      form.setAttribute("data-submitting", "1");
    });
  }

  function loadWork(panel) {
    fetch(panel.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        // Our own server-rendered, auto-escaped fragment.
        panel.innerHTML = html;
        panel.setAttribute("data-state", "ready");
      })
      .catch(function (error) {
        panel.setAttribute("data-state", "error");
        var message = panel.getAttribute("data-error");
        if (message) panel.textContent = message;
        if (window.console) console.error("work panel:", error);
      });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), guardDoubleSubmit);
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    var panel = document.getElementById("petition-work");
    if (panel && panel.getAttribute("data-url")) loadWork(panel);
  }

  // Coming back with the browser's back button restores the page from cache: allow a submit again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (form) {
      form.removeAttribute("data-submitting");
    });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
