/*
 * Show <time class="local-time" datetime="…"> in the visitor's own time zone.
 * The server renders the time in UTC; without JS (or on any error) that text stays.
 * data-format="date" shows only the date; anything else shows date and time.
 * Content htmx swaps in later (a webinar's panel after registering) is localised too.
 */
(function () {
  "use strict";

  var DATE = { dateStyle: "medium" };
  var DATETIME = { dateStyle: "medium", timeStyle: "short", timeZoneName: "short" };
  /* ECMA-402 forbids mixing dateStyle/timeStyle with timeZoneName, and most
     engines throw: fall back to the equivalent explicit fields. */
  var DATETIME_FIELDS = {
    year: "numeric", month: "short", day: "numeric",
    hour: "numeric", minute: "2-digit", timeZoneName: "short"
  };

  function format(moment, dateOnly) {
    if (dateOnly) {
      return new Intl.DateTimeFormat(undefined, DATE).format(moment);
    }
    try {
      return new Intl.DateTimeFormat(undefined, DATETIME).format(moment);
    } catch (error) {
      return new Intl.DateTimeFormat(undefined, DATETIME_FIELDS).format(moment);
    }
  }

  function localise(root) {
    if (typeof Intl === "undefined" || !Intl.DateTimeFormat || !root || !root.querySelectorAll) {
      return;
    }
    var nodes = Array.prototype.slice.call(root.querySelectorAll("time.local-time[datetime]"));
    if (root.matches && root.matches("time.local-time[datetime]")) {
      nodes.push(root);
    }
    for (var i = 0; i < nodes.length; i += 1) {
      var node = nodes[i];
      if (node.hasAttribute("data-localised")) {
        continue;
      }
      try {
        var moment = new Date(node.getAttribute("datetime"));
        if (isNaN(moment.getTime())) {
          continue;
        }
        var text = format(moment, node.getAttribute("data-format") === "date");
        if (text) {
          node.setAttribute("title", node.textContent.trim());
          node.textContent = text;
          node.setAttribute("data-localised", "");
        }
      } catch (error) {
        /* leave the server-rendered UTC text in place */
      }
    }
  }

  function localiseDocument() {
    localise(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localiseDocument);
  } else {
    localiseDocument();
  }
  /* htmx announces every piece of content it swaps in. */
  document.addEventListener("htmx:load", function (event) {
    localise(event.detail && event.detail.elt ? event.detail.elt : event.target);
  });
})();
