// The console's export/import run page: poll the run's JSON status while it works, show the
// progress, and reload the page once it ends or stalls (the summary, download link and a stalled
// run's "Mark as failed" button are rendered by the server). Without this script the page's
// Refresh button does the same by hand.
(function () {
  "use strict";
  var POLL_MS = 1500;

  function start() {
    var box = document.getElementById("transfer-run");
    if (!box) return;
    var state = box.getAttribute("data-state");
    if (state === "done" || state === "failed") return;
    var stalled = box.getAttribute("data-stalled") === "true";
    var url = box.getAttribute("data-status-url");
    var text = document.getElementById("transfer-state");
    var bar = document.getElementById("transfer-progress");
    var reload = document.getElementById("transfer-reload");
    if (reload) reload.hidden = true;

    function show(status) {
      if (status.state === "queued") {
        text.textContent = "Waiting to start.";
      } else if (status.state === "running") {
        text.textContent = (status.step || "Working") + ": " + status.done + " of " + status.total + " records.";
      }
      if (status.total) {
        bar.max = status.total;
        bar.value = status.done;
      }
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (status) {
          // The page shows the end, or a stalled run's explanation and button: reload for it.
          if (status.finished || Boolean(status.stalled) !== stalled) {
            window.location.reload();
            return;
          }
          show(status);
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () {
          if (reload) reload.hidden = false; // let the reader refresh by hand
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
