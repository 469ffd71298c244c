/* Aquarium Job Finder: the little script that enhances server-rendered pages.
 *
 * - Forms with data-confirm ask before they submit (Cancel buttons); those with
 *   data-return-here come back to the page as it is now.
 * - Elements with data-live="URL" are fetched again whenever a job changes: the page listens to
 *   Server-Sent Events at data-events, and polls when EventSource is missing or fails.
 *   data-until-done stops that once nothing in the element is still running.
 * Every page works without this script; it only keeps them current.
 */
(function () {
  "use strict";

  var BACKGROUND = { "X-Aquarium-Background": "1" };
  var DEBOUNCE_MS = 250;        // gather bursts of events into one refresh
  var POLL_ACTIVE_MS = 2000;    // polling while something runs
  var POLL_IDLE_MS = 5000;      // polling while nothing runs (new jobs still appear)
  var SSE_FAILURES = 3;         // stream errors before falling back to polling

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var back = form.hasAttribute("data-return-here") && form.querySelector("input[name=next]");
    if (back) {
      // Come back to this page as it is now (filters, page), whatever fragment drew the form.
      back.value = window.location.pathname + window.location.search;
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form &&
        event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  function Live(box) {
    this.box = box;
    this.src = box.getAttribute("data-live");
    this.events = box.getAttribute("data-events");
    this.untilDone = box.hasAttribute("data-until-done");
    this.busy = false;
    this.again = false;
    this.timer = null;
    this.source = null;
    this.polling = false;
    this.stopped = false;
  }

  Live.prototype.running = function () {
    return this.box.querySelector("[data-active]") !== null;
  };

  Live.prototype.mode = function (name) {
    this.box.setAttribute("data-mode", name);
  };

  Live.prototype.schedule = function () {
    var self = this;
    if (self.timer !== null) { return; }
    self.timer = window.setTimeout(function () {
      self.timer = null;
      self.refresh();
    }, DEBOUNCE_MS);
  };

  Live.prototype.refresh = function () {
    var self = this;
    if (self.busy) { self.again = true; return; }
    self.busy = true;
    window.fetch(self.src, { headers: BACKGROUND, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) {
          // The session has ended: the reload lands on the sign-in page, then comes back.
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (typeof html === "string" && !self.editing()) {
          self.box.innerHTML = html;
          self.box.setAttribute("data-refreshed", String(Date.now()));
          self.finishIfDone();
        }
      })
      .catch(function () { /* the next event or poll tries again */ })
      .then(function () {
        self.busy = false;
        if (self.again) { self.again = false; self.schedule(); }
      });
  };

  // Do not replace the table under a confirm dialog's form or a focused control.
  Live.prototype.editing = function () {
    var focused = document.activeElement;
    return focused !== null && focused !== document.body && this.box.contains(focused) &&
      (focused.tagName === "INPUT" || focused.tagName === "SELECT" || focused.tagName === "TEXTAREA");
  };

  Live.prototype.finishIfDone = function () {
    if (!this.untilDone || this.running()) { return; }
    this.stopped = true;
    if (this.source !== null) { this.source.close(); this.source = null; }
    this.mode("done");
  };

  Live.prototype.poll = function () {
    var self = this;
    if (self.polling || self.stopped) { return; }
    self.polling = true;
    self.mode("polling");
    function tick() {
      if (self.stopped) { return; }
      self.refresh();
      window.setTimeout(tick, self.running() ? POLL_ACTIVE_MS : POLL_IDLE_MS);
    }
    window.setTimeout(tick, POLL_ACTIVE_MS);
  };

  Live.prototype.listen = function () {
    var self = this;
    if (self.untilDone && !self.running()) { self.mode("done"); return; }
    if (!self.events || typeof window.EventSource !== "function") { self.poll(); return; }
    var failures = 0;
    var source = new window.EventSource(self.events);
    self.source = source;
    source.addEventListener("open", function () {
      failures = 0;
      self.mode("live");
      self.schedule(); // whatever changed between rendering the page and subscribing
    });
    source.addEventListener("job", function () { self.schedule(); });
    source.addEventListener("error", function () {
      failures += 1;
      if (source.readyState === window.EventSource.CLOSED || failures >= SSE_FAILURES) {
        source.close();
        self.source = null;
        self.poll();
      }
    });
  };

  function start() {
    var boxes = document.querySelectorAll("[data-live]");
    for (var i = 0; i < boxes.length; i += 1) {
      new Live(boxes[i]).listen();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
