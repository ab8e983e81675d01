/*
 * Fill the public forms' hidden field "tz" with the browser's IANA time zone
 * (e.g. "Europe/Berlin"), so a program mail that waits "until Tuesday 10:00" waits in
 * the reader's own zone. Without JavaScript the field stays empty and the form works
 * the same; the server ignores anything that is not a zone.
 * Forms htmx swaps in later (shown again with a mistake named) are filled too.
 * The zone is also kept in a session cookie (leadshelf_tz), so the next pages show times
 * (a webinar's) in it, written by the server in the page's language.
 */
(function () {
  "use strict";

  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }

  var COOKIE = "leadshelf_tz";
  var kept = document.cookie.split("; ").filter(function (part) {
    return part.indexOf(COOKIE + "=") === 0;
  })[0];
  if (kept !== COOKIE + "=" + encodeURIComponent(zone)) {
    document.cookie = COOKIE + "=" + encodeURIComponent(zone) + "; path=/; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }

  function fill(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var fields = root.querySelectorAll('input[type="hidden"][name="tz"]');
    for (var i = 0; i < fields.length; i += 1) {
      fields[i].value = zone;
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { fill(document); });
  } else {
    fill(document);
  }
  document.addEventListener("htmx:load", function (event) {
    fill(event.detail && event.detail.elt ? event.detail.elt : event.target);
  });
})();
