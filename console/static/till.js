// Guild console, Till: small progressive helpers. The till works without them
// (Preview and Issue are ordinary form buttons); with them the clerk sees the
// points as they type, can scan the customer's QR code with the camera where
// the browser can read one, can pick the wallet's file instead of pasting it,
// and can print the receipt.
"use strict";
(function () {
  // Preview as the clerk types: the form is posted to the preview fragment
  // (same checks and CSRF token as the Preview button) a moment after the last
  // key, and the answer replaces the preview box. Answers to older requests
  // are dropped.
  function livePreview() {
    const form = document.getElementById("sale-form");
    const box = document.getElementById("sale-preview");
    if (!form || !box || !window.fetch) return;
    let timer = null;
    let asked = 0;
    const ask = () => {
      const amount = form.elements.namedItem("amount");
      const customer = form.elements.namedItem("customer");
      if (!amount || !customer || !amount.value.trim() || !customer.value.trim()) return;
      const n = ++asked;
      fetch(box.dataset.preview, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
      })
        .then((r) => r.text())
        .then((html) => { if (n === asked) { box.innerHTML = html; box.dataset.updated = String(Date.now()); } })
        .catch(() => {});
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 400);
    });
  }

  // "Scan QR code": only where the browser has BarcodeDetector and a camera.
  function scanner() {
    const button = document.getElementById("scan");
    const panel = document.getElementById("scanner");
    const video = document.getElementById("scan-video");
    const status = document.getElementById("scan-status");
    const stopButton = document.getElementById("scan-stop");
    const field = document.getElementById("f-customer");
    if (!button || !panel || !video || !field) return;
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    button.hidden = false;
    let stream = null;
    const stop = () => {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      stream = null;
      panel.hidden = true;
      button.focus();
    };
    stopButton && stopButton.addEventListener("click", stop);
    button.addEventListener("click", async () => {
      let detector;
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (e) {
        status.textContent = "The camera cannot be used here (" + e.message + "): paste the address instead.";
        panel.hidden = false;
        return;
      }
      video.srcObject = stream;
      panel.hidden = false;
      status.textContent = "Hold the customer's QR code in front of the camera.";
      await video.play().catch(() => {});
      const look = async () => {
        if (!stream) return;
        try {
          const codes = await detector.detect(video);
          const text = codes.length ? String(codes[0].rawValue || "").trim() : "";
          if (text) {
            field.value = text.replace(/^guild:/i, "");
            field.dispatchEvent(new Event("input", { bubbles: true }));
            stop();
            field.focus();
            return;
          }
        } catch (e) { /* a frame that could not be read: try the next */ }
        setTimeout(look, 250);
      };
      look();
    });
  }

  // A file input whose content goes into a text box (the wallet's file).
  function fileInputs() {
    document.querySelectorAll("input[type=file][data-into]").forEach((input) => {
      input.addEventListener("change", () => {
        const target = document.getElementById(input.dataset.into);
        const file = input.files && input.files[0];
        if (!target || !file) return;
        if (file.size > 256 * 1024) { target.value = ""; return; }
        file.text().then((text) => { target.value = text.trim(); target.focus(); });
      });
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
  }

  document.addEventListener("DOMContentLoaded", () => {
    livePreview();
    scanner();
    fileInputs();
    printButtons();
  });
})();
