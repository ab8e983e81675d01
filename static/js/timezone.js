/*
 * Fill the public forms' hidden field "tz" with the browser's IANA time zone
 * (e.g. "Europe/Berlin"), so a program mail that waits "until Tuesday 10:00" waits in
 * the reader's own zone. Without JavaScript the field stays empty and the form works
 * the same; the server ignores anything that is not a zone.
 * Forms htmx swaps in later (shown again with a mistake named) are filled too.
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
