// Explorer: while a verification runs, re-fetch its status every second.
"use strict";
(function () {
  function poll() {
    const el = document.querySelector("[data-poll]");
    if (!el) return;
    fetch(el.dataset.poll, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => { el.outerHTML = html; setTimeout(poll, 1000); })
      .catch(() => setTimeout(poll, 3000));
  }
  document.addEventListener("DOMContentLoaded", () => setTimeout(poll, 1000));
})();
