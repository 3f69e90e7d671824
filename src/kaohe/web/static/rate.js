// The scorecard after a save: the focus returns to the rating (or form) just saved, so a
// keyboard user carries on where they were; a refused field takes the focus. (After the
// page has loaded and the browser has scrolled to the #anchor, which would drop it.)
(function () {
  "use strict";
  function restore() {
    var bad = document.querySelector('[aria-invalid="true"]');
    if (bad) { bad.focus(); return; }
    var id = decodeURIComponent(location.hash.slice(1));
    if (id.indexOf("rate-") !== 0) return;
    var form = document.getElementById(id);
    if (!form) return;
    var pressed = form.querySelector('button[aria-pressed="true"]') ||
      form.querySelector("input[name=value]") || form.querySelector("button");
    if (pressed) pressed.focus();
  }
  if (document.readyState === "complete") setTimeout(restore, 0);
  else window.addEventListener("load", function () { setTimeout(restore, 0); });
})();
