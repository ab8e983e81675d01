/*
 * Show <time class="local-time" datetime="…" data-zone="…"> in the visitor's own time zone,
 * written as the page's language writes it (<html lang>).
 *
 * The server writes each time in the zone it knows for this browser (data-zone: the one
 * static/js/timezone.js keeps in a session cookie, else UTC), in the page's language (Babel).
 * When that zone is the browser's, the server's text stays. Otherwise (the first page of a
 * visit: no cookie yet) the time is rewritten here in the same shape ("8 Oct 2026, 10:00 CEST",
 * "08.10.2026, 10:00 MESZ"), and so is every time htmx swaps into that page later, so one
 * page never shows one moment in two ways. Without JS (or on any error) the server's text
 * stays. data-format="date" shows only the date; anything else date, time and zone.
 */
(function () {
  "use strict";

  /* The CLDR locale of each page language, as on the server (portal.i18n.LOCALES). */
  var LOCALES = { en: "en-GB", de: "de-DE" };
  var LANGUAGE = (document.documentElement.getAttribute("lang") || "").toLowerCase();
  var LOCALE = LOCALES[LANGUAGE] || LANGUAGE || undefined;
  var ZONE = "";
  try {
    ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    ZONE = "";
  }
  var rewriting = false; /* this page's times are written here, not by the server */

  function zoneName(moment) {
    try {
      var parts = new Intl.DateTimeFormat(LOCALE, { timeZoneName: "short" }).formatToParts(moment);
      for (var i = 0; i < parts.length; i += 1) {
        if (parts[i].type === "timeZoneName") {
          return parts[i].value;
        }
      }
    } catch (error) {
      /* no zone name: the time alone */
    }
    return "";
  }

  function format(moment, dateOnly) {
    if (dateOnly) {
      return new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium" }).format(moment);
    }
    var text;
    try {
      text = new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" })
        .format(moment);
    } catch (error) {
      text = new Intl.DateTimeFormat(LOCALE, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
      }).format(moment);
    }
    var zone = zoneName(moment);
    return zone ? text + " " + zone : text;
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
      if (!rewriting && ZONE && node.getAttribute("data-zone") === ZONE) {
        continue; /* the server wrote it in this zone already */
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
          rewriting = true;
        }
      } catch (error) {
        /* leave the server's text in place */
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
