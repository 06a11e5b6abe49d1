// slo session check, application side. Include it after the
// <iframe id="slo-session-check"> that Middleware.SessionCheckSnippet
// renders. When the session check finds the user signed out it sets
// data-slo-session="signed-out" on <html> and dispatches a cancelable
// "slo:signed-out" event on window; unless a listener calls
// preventDefault(), the page reloads. When the check gives up (the OP keeps
// reporting changes for the same user, as it does when third-party cookies
// are blocked) it sets data-slo-session="unchecked" and dispatches
// "slo:stopped". When the session check's re-check in its iframe cannot be
// trusted (the OP is another site and may not see its cookies there), it
// dispatches a cancelable "slo:confirm"; unless a listener calls
// preventDefault(), the page goes through the re-check at top level and
// comes back.
(function () {
  "use strict";
  var frame = document.getElementById("slo-session-check");
  if (!frame) { return; }
  var root = document.documentElement;
  window.addEventListener("message", function (e) {
    if (e.source !== frame.contentWindow || e.origin !== window.location.origin) { return; }
    if (e.data === "slo:signed-out") {
      root.dataset.sloSession = "signed-out";
      if (window.dispatchEvent(new CustomEvent("slo:signed-out", { cancelable: true }))) {
        window.location.reload();
      }
    } else if (e.data === "slo:confirm") {
      var target = frame.getAttribute("data-recheck") || "";
      if (target.charAt(0) === "/" && target.charAt(1) !== "/" && target.charAt(1) !== "\\" &&
          window.dispatchEvent(new CustomEvent("slo:confirm", { cancelable: true }))) {
        window.location.assign(target + "?return_to=" +
          encodeURIComponent(window.location.pathname + window.location.search));
      }
    } else if (e.data === "slo:stopped") {
      root.dataset.sloSession = "unchecked";
      window.dispatchEvent(new CustomEvent("slo:stopped"));
    }
  });
}());
