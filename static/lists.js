// "Select all shown" on lists with check boxes (issue 9 §5): ticks or clears every box named
// by data-select-all, including rows the "More" button loaded later. No inline script (CSP).
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input[data-select-all]")) return;
  var name = box.getAttribute("data-select-all");
  document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) {
    b.checked = box.checked;
  });
});
