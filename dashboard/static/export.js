// Export form: show a progress indicator while the report is generated, hide it when the file has arrived.
// The server answers the download with a cookie carrying the form's one-time token (see dashboard/routes/exports.py).
(function () {
  "use strict";
  var form = document.getElementById("export-form");
  if (!form) { return; }
  var progress = document.getElementById("export-progress");
  var button = document.getElementById("export-button");
  form.addEventListener("submit", function () {
    var token = Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
    form.elements.token.value = token;
    progress.hidden = false;
    window.setTimeout(function () { button.disabled = true; }, 0);
    var started = Date.now();
    var timer = window.setInterval(function () {
      var done = document.cookie.split("; ").indexOf("dashboard_download=" + token) !== -1;
      if (done || Date.now() - started > 120000) {
        window.clearInterval(timer);
        progress.hidden = true;
        button.disabled = false;
        document.cookie = "dashboard_download=; Max-Age=0; path=/; SameSite=Lax";
      }
    }, 300);
  });
})();
