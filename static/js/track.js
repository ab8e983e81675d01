/* Leadshelf reading tracker: engaged time and depth on asset pages, CTA clicks.
   Dependency-free. Loaded only for browsers the operator's privacy settings allow. */
(function () {
  "use strict";
  var HEARTBEAT_MS = 15000;
  var MAX_SECONDS = 60;
  var article = document.querySelector("[data-asset]");
  var asset = article ? article.getAttribute("data-asset") : null;
  var engagedMs = 0;
  var lastTick = Date.now();
  var maxDepth = 0;
  var sentDepth = 0;
  var onScreen = !!article && !("IntersectionObserver" in window);

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
    return document.visibilityState === "visible" && onScreen;
  }

  function tick() {
    var now = Date.now();
    if (engaged()) {
      engagedMs += now - lastTick;
    }
    lastTick = now;
  }

  function measureDepth() {
    if (!article) {
      return;
    }
    var box = article.getBoundingClientRect();
    var seen = (window.innerHeight - box.top) / Math.max(box.height, 1);
    maxDepth = Math.max(maxDepth, Math.min(1, Math.max(0, seen)));
  }

  function flush(final) {
    tick();
    measureDepth();
    var seconds = Math.min(MAX_SECONDS, Math.floor(engagedMs / 100) / 10);
    if (seconds <= 0 && maxDepth <= sentDepth) {
      return;
    }
    engagedMs -= seconds * 1000;
    sentDepth = maxDepth;
    send({ type: "read_progress", asset: asset, seconds: seconds, depth: Math.round(maxDepth * 1000) / 1000 }, final);
  }

  if (article) {
    if ("IntersectionObserver" in window) {
      new IntersectionObserver(function (entries) {
        tick();
        onScreen = entries[entries.length - 1].isIntersecting;
      }).observe(article);
    }
    measureDepth();
    window.addEventListener("scroll", measureDepth, { passive: true });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        flush(true);
      } else {
        lastTick = Date.now();
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
  }

  document.addEventListener("click", function (event) {
    var cta = event.target.closest ? event.target.closest("[data-cta]") : null;
    if (cta) {
      var body = { type: "cta_click", target: cta.getAttribute("data-cta").slice(0, 200) };
      if (asset) {
        body.asset = asset;
      }
      send(body, true);
    }
  });
})();
