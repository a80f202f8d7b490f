/* The notification bell: polls the unread count and shows it next to the "通知" link.
 * Markup: an element with data-notifications-url (the JSON count URL) containing an element with
 * data-notifications-count. Optional data-notifications-interval (seconds, default 60).
 * No inline script: this file is loaded with <script src=… defer> (strict CSP). */
(function () {
  "use strict";

  var bell = document.querySelector("[data-notifications-url]");
  if (!bell) {
    return;
  }
  var badge = bell.querySelector("[data-notifications-count]");
  var url = bell.getAttribute("data-notifications-url");
  var seconds = parseInt(bell.getAttribute("data-notifications-interval") || "60", 10);

  function show(data) {
    var n = Number(data.unread) || 0;
    if (badge) {
      badge.textContent = n > 99 ? "99+" : String(n);
      badge.hidden = n === 0;
    }
    bell.classList.toggle("site-bell--unread", n > 0);
    if (data.label) {
      bell.setAttribute("aria-label", data.label);
    }
  }

  function refresh() {
    if (document.hidden) {
      return; // a background tab does not poll
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* offline or restarting: the next poll tries again */ });
  }

  refresh();
  window.setInterval(refresh, Math.max(seconds, 10) * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
