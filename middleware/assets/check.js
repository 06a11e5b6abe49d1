// slo session check: the RP iframe of OpenID Connect Session Management 1.0.
// Served inline (CSP hash) by middleware at /session-check. Its settings
// come from data- attributes on <html>; its state is published there too
// (data-state, data-ignored) for the application and for tests.
(function () {
  "use strict";
  var root = document.documentElement;
  var cfg = root.dataset;
  var interval = Math.max(100, parseInt(cfg.interval, 10) || 5000);
  var recheckGap = Math.max(1000, parseInt(cfg.recheckGap, 10) || 60000);
  var maxSameUser = 3; // consecutive "changed" answers that turned out to be the same user
  var recheckTimeout = 30000;
  var maxPause = 15 * 60000;
  var sessionState = cfg.sessionState || "";
  var opFrame = null;
  var recheckFrame = null;
  var timer = 0;
  var pending = 0;
  var watchdog = 0;
  var pause = recheckGap;
  var ignored = 0;
  var key = "slo-session-check:" + (cfg.key || "");
  var mem = { last: 0, same: 0 };
  var storage = (function () {
    try {
      window.sessionStorage.setItem(key, window.sessionStorage.getItem(key) || "{}");
      return true;
    } catch (e) {
      return false;
    }
  }());

  function setState(s) { cfg.state = s; }
  function tellApp(msg) {
    if (window.parent !== window) { window.parent.postMessage(msg, cfg.rpOrigin); }
  }
  function ignore() { ignored++; cfg.ignored = String(ignored); }
  function load() {
    try {
      var v = JSON.parse(window.sessionStorage.getItem(key) || "{}");
      if (typeof v.last === "number") { mem.last = v.last; }
      if (typeof v.same === "number") { mem.same = v.same; }
    } catch (e) { /* storage unavailable: memory only */ }
  }
  function save() {
    try { window.sessionStorage.setItem(key, JSON.stringify(mem)); } catch (e) { /* memory only */ }
  }

  function stopPolling() {
    if (timer) { clearInterval(timer); timer = 0; }
    if (pending) { clearTimeout(pending); pending = 0; }
  }
  function poll() {
    if (opFrame && opFrame.contentWindow) {
      opFrame.contentWindow.postMessage(cfg.clientId + " " + sessionState, cfg.opOrigin);
    }
  }
  function startPolling() {
    stopPolling();
    if (!sessionState || sessionState.indexOf(" ") !== -1) { setState("disabled"); return; }
    setState("polling");
    poll();
    timer = setInterval(poll, interval);
  }
  // later pauses polling and starts it again after ms.
  function later(s, ms) {
    stopPolling();
    setState(s);
    pending = setTimeout(function () { pending = 0; startPolling(); }, ms);
  }
  function backOff(s) {
    var p = pause;
    pause = Math.min(pause * 2, maxPause);
    later(s, p);
  }
  function stop() {
    stopPolling();
    setState("stopped");
    tellApp("slo:stopped");
  }
  function signedOut() {
    stopPolling();
    setState("signed-out");
    tellApp("slo:signed-out");
  }

  function onOP(data) {
    if (!timer) { return; } // an answer to a poll from before a pause
    if (data === "unchanged") {
      if (mem.same) { mem.same = 0; save(); }
      pause = recheckGap;
      setState("unchanged");
    } else if (data === "changed") {
      stopPolling();
      changed();
    } else if (data === "error") {
      // Session Management 1.0 §3.1: no prompt=none after "error".
      backOff("error");
    } else {
      ignore();
    }
  }

  function changed() {
    load();
    if (mem.same >= maxSameUser) { stop(); return; }
    var now = Date.now();
    var wait = mem.last + recheckGap - now;
    if (wait > 0) { later("throttled", Math.min(wait, recheckGap)); return; }
    mem.last = now;
    save();
    setState("rechecking");
    if (recheckFrame) { recheckFrame.remove(); }
    recheckFrame = document.createElement("iframe");
    recheckFrame.id = "slo-recheck";
    recheckFrame.title = "Session re-check";
    recheckFrame.hidden = true;
    recheckFrame.src = cfg.recheck;
    document.body.appendChild(recheckFrame);
    watchdog = setTimeout(function () { watchdog = 0; backOff("recheck-failed"); }, recheckTimeout);
  }

  function onRecheck(data) {
    if (!watchdog) { ignore(); return; }
    var ss = null;
    if (data === "refreshed") {
      ss = "";
    } else if (data.indexOf("refreshed ") === 0) {
      ss = data.substring(10);
    } else if (data !== "signed-out" && data !== "error" && data !== "confirm") {
      ignore();
      return;
    }
    clearTimeout(watchdog);
    watchdog = 0;
    if (recheckFrame) { recheckFrame.remove(); recheckFrame = null; }
    if (data === "signed-out") {
      signedOut();
    } else if (data === "error") {
      backOff("error");
    } else if (data === "confirm") {
      // The OP refused prompt=none in a cross-site iframe, where it may not
      // see its own cookies: the application's page repeats the re-check
      // at top level. That leaves the page, so it needs the rate limit's
      // memory to survive: without sessionStorage, stop instead.
      load();
      mem.same++;
      save();
      if (!storage) { stop(); return; }
      setState("confirming");
      tellApp("slo:confirm");
    } else {
      load();
      mem.same++;
      save();
      sessionState = ss;
      startPolling();
    }
  }

  window.addEventListener("message", function (e) {
    if (typeof e.data !== "string") { ignore(); return; }
    if (opFrame && e.source === opFrame.contentWindow && e.origin === cfg.opOrigin) {
      onOP(e.data);
    } else if (recheckFrame && e.source === recheckFrame.contentWindow && e.origin === cfg.rpOrigin) {
      onRecheck(e.data);
    } else {
      ignore();
    }
  });

  if (cfg.signedOut === "true") { signedOut(); return; }
  if (!sessionState || sessionState.indexOf(" ") !== -1 || !cfg.opFrame || !cfg.opOrigin || !cfg.clientId) {
    setState("disabled");
    return;
  }
  load();
  if (mem.same >= maxSameUser) { stop(); return; }
  setState("loading");
  opFrame = document.createElement("iframe");
  opFrame.id = "slo-op-frame";
  opFrame.title = "OP session check";
  opFrame.hidden = true;
  opFrame.addEventListener("load", startPolling, { once: true });
  opFrame.src = cfg.opFrame;
  document.body.appendChild(opFrame);
}());
