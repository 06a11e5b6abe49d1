// slo session re-check result: tells the session-check page (the parent,
// same origin) what the prompt=none re-check found.
(function () {
  "use strict";
  var cfg = document.documentElement.dataset;
  if (window.parent !== window) { window.parent.postMessage(cfg.result, cfg.rpOrigin); }
}());
