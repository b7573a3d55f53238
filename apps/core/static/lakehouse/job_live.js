/* A job's page follows its job without a reload: poll the admin's own JSON view for the job and
   update the status, the progress and every counter shown on the page; stop once the job has ended.
   Plain JS, no dependencies. The page's #job-live element carries the URL to poll. */
(function () {
  "use strict";
  var live = document.getElementById("job-live");
  if (!live) { return; }
  var url = live.dataset.url;
  var delay = 1000;

  function setField(name, html, isHtml) {
    document.querySelectorAll(".field-" + name + " .readonly").forEach(function (cell) {
      if (isHtml) { cell.innerHTML = html; } else { cell.textContent = html; }
    });
  }

  function show(job) {
    live.dataset.status = job.status;
    live.querySelector(".job-live-status").innerHTML = job.status_html;
    live.querySelector(".job-live-progress").innerHTML = job.progress_html;
    live.querySelector(".job-live-note").textContent = job.finished ? "finished" : "updating live";
    setField("status_display", job.status_html, true);
    setField("status", job.status, false);
    setField("progress_display", job.progress_html, true);
    setField("progress", String(job.progress), false);
    Object.keys(job.fields).forEach(function (name) { setField(name, job.fields[name], false); });
    // Cancel only while the job can stop; Retry only once it failed or was cancelled. (display, not
    // the hidden attribute: the admin's object-tools CSS would show a hidden <li> anyway.)
    document.querySelectorAll(".job-cancel").forEach(function (el) { el.style.display = job.can_cancel ? "" : "none"; });
    document.querySelectorAll(".job-retry").forEach(function (el) { el.style.display = job.can_retry ? "" : "none"; });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        delay = 1000;
        if (!job.finished) { window.setTimeout(poll, delay); }
      })
      .catch(function () {
        // The server restarting or a dropped connection is not the job ending: back off and keep going.
        delay = Math.min(delay * 2, 10000);
        live.querySelector(".job-live-note").textContent = "reconnecting…";
        window.setTimeout(poll, delay);
      });
  }

  if (live.dataset.finished !== "true") { window.setTimeout(poll, delay); }
})();
