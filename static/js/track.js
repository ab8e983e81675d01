/* Leadshelf reading tracker: engaged time and depth on asset pages, CTA clicks.
   Dependency-free. Loaded only for browsers the operator's privacy settings allow.
   The readable part of an asset carries [data-asset]; it is there on page load for open and
   unlocked assets, and arrives later by htmx when a gate form unlocks one (htmx:load). */
(function () {
  "use strict";
  var HEARTBEAT_MS = 15000;
  var MAX_SECONDS = 60;
  var reading = null; /* the asset being read: its element, slug, engaged time and depth */

  function uid() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function send(body, final) {
    body.id = uid();
    var data = JSON.stringify(body);
    if (final && navigator.sendBeacon) {
      navigator.sendBeacon("/t", new Blob([data], { type: "application/json" }));
      return;
    }
    fetch("/t", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: data,
      credentials: "same-origin",
      keepalive: true
    }).catch(function () { /* tracking never disturbs reading */ });
  }

  function engaged() {
    return !!reading && document.visibilityState === "visible" && reading.onScreen;
  }

  function tick() {
    if (!reading) {
      return;
    }
    var now = Date.now();
    if (engaged()) {
      reading.engagedMs += now - reading.lastTick;
    }
    reading.lastTick = now;
  }

  function measureDepth() {
    if (!reading) {
      return;
    }
    var box = reading.element.getBoundingClientRect();
    var seen = (window.innerHeight - box.top) / Math.max(box.height, 1);
    reading.maxDepth = Math.max(reading.maxDepth, Math.min(1, Math.max(0, seen)));
  }

  function flush(final) {
    if (!reading) {
      return;
    }
    tick();
    measureDepth();
    var seconds = Math.min(MAX_SECONDS, Math.floor(reading.engagedMs / 100) / 10);
    if (seconds <= 0 && reading.maxDepth <= reading.sentDepth) {
      return;
    }
    reading.engagedMs -= seconds * 1000;
    reading.sentDepth = reading.maxDepth;
    send({
      type: "read_progress",
      asset: reading.asset,
      seconds: seconds,
      depth: Math.round(reading.maxDepth * 1000) / 1000
    }, final);
  }

  /* Start measuring this element's reading; what was measured on an earlier one is sent first. */
  function bind(element) {
    if (!element || (reading && reading.element === element)) {
      return;
    }
    flush(false);
    if (reading && reading.observer) {
      reading.observer.disconnect();
    }
    var hasObserver = "IntersectionObserver" in window;
    reading = {
      element: element,
      asset: element.getAttribute("data-asset"),
      engagedMs: 0,
      lastTick: Date.now(),
      maxDepth: 0,
      sentDepth: 0,
      onScreen: !hasObserver,
      observer: null
    };
    if (hasObserver) {
      var current = reading;
      current.observer = new IntersectionObserver(function (entries) {
        tick();
        current.onScreen = entries[entries.length - 1].isIntersecting;
      });
      current.observer.observe(element);
    }
    measureDepth();
  }

  function bindWithin(root) {
    if (root && root.nodeType === 1) {
      bind(root.matches("[data-asset]") ? root : root.querySelector("[data-asset]"));
    }
  }

  bindWithin(document.documentElement);
  /* htmx announces every piece of content it swaps in. */
  document.addEventListener("htmx:load", function (event) {
    bindWithin(event.detail && event.detail.elt ? event.detail.elt : event.target);
  });
  window.addEventListener("scroll", measureDepth, { passive: true });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flush(true);
    } else if (reading) {
      reading.lastTick = Date.now();
    }
  });
  window.addEventListener("pagehide", function () { flush(true); });
  window.setInterval(function () {
    if (engaged()) {
      flush(false);
    } else {
      tick();
    }
  }, HEARTBEAT_MS);

  document.addEventListener("click", function (event) {
    var cta = event.target.closest ? event.target.closest("[data-cta]") : null;
    if (cta) {
      var body = { type: "cta_click", target: Array.from(cta.getAttribute("data-cta")).slice(0, 200).join("") };
      if (reading) {
        body.asset = reading.asset;
      }
      send(body, true);
    }
  });
})();
