// Scalemark: a little glue for htmx (CSRF header, error swaps, tree toggles).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    // hx-boost does not re-render <body> attributes, so read the token from <meta>.
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      // Swap validation errors (422) into their form and error fragments into #messages.
      window.htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "422", swap: true },
        { code: "[45]..", swap: true, error: true },
      ];
    }
  });

  // Tree toggles: the first click loads children through htmx; later clicks show or hide them.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".tree__toggle");
    if (!button) return;
    var group = document.getElementById(button.getAttribute("aria-controls"));
    if (!group) return;
    var expanded = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", expanded ? "false" : "true");
    group.hidden = expanded;
  });
})();
