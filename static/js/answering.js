// Answering pages: the live value of positioning sliders, and marking the evidence link
// invalid while its message shows (autosave swaps only the message, not the input).
(function () {
  "use strict";

  function describe(input) {
    var value = Number(input.value);
    if (value === 50) {
      return (input.dataset.middleText || "{value}").replace("{value}", value);
    }
    var pole = value < 50 ? input.dataset.left : input.dataset.right;
    return (input.dataset.valueText || "{value}").replace("{value}", value).replace("{pole}", pole || "");
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "range") return;
    var box = input.closest(".position");
    if (!box) return;
    box.classList.remove("is-unset");
    var output = box.querySelector("output");
    if (output) output.textContent = input.value;
    input.setAttribute("aria-valuetext", describe(input));
  });

  function markEvidence() {
    document.querySelectorAll('p[id^="evidence-error-"]').forEach(function (message) {
      var key = message.id.slice("evidence-error-".length);
      var input = document.getElementById("evidence-" + key);
      if (!input) return;
      var invalid = message.textContent.trim() !== "";
      if (invalid) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      var field = input.closest(".field");
      if (field) field.classList.toggle("field--error", invalid);
    });
  }

  document.addEventListener("htmx:afterSettle", markEvidence);
})();
