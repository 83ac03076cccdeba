// Assessment setup: "Select with all sub-units" ticks a unit and everything below it at
// once. Without JavaScript the same button posts the form, which comes back ticked.
(function () {
  "use strict";
  if (window.scalemarkAssessmentSetup) return;
  window.scalemarkAssessmentSetup = true;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-select-subtree]");
    if (!button) return;
    var item = button.closest(".unit-tree__item");
    if (!item) return;
    event.preventDefault();
    var boxes = item.querySelectorAll('input[type="checkbox"][name="unit_ids"]');
    for (var i = 0; i < boxes.length; i += 1) {
      boxes[i].checked = true;
    }
    if (boxes.length) boxes[0].focus();
  });
})();
