// Guild console: a little progressive JavaScript. Every page works without it;
// this adds live updates when a block becomes final.
"use strict";
(function () {
  const base = "/console";

  // Live updates: elements with data-live="URL" are re-fetched (their inner HTML
  // replaced by the answer) each time the node announces a final block. The
  // stream is the node's event stream, passed on by the console at /console/live.
  function live() {
    const targets = document.querySelectorAll("[data-live]");
    const dot = document.querySelector(".live-dot");
    if (!targets.length || !window.EventSource) return;
    const source = new EventSource(base + "/live");
    source.addEventListener("open", () => dot && dot.classList.add("on"));
    source.addEventListener("error", () => dot && dot.classList.remove("on"));
    source.addEventListener("block", (event) => {
      document.dispatchEvent(new CustomEvent("guild:block", { detail: event.data }));
      targets.forEach((el) => {
        fetch(el.dataset.live, { credentials: "same-origin" })
          .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
          .then((html) => { el.innerHTML = html; el.dataset.updated = String(Date.now()); })
          .catch(() => {});
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    live();
    document.dispatchEvent(new CustomEvent("guild:ready"));
  });
})();
