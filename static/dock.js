// The dock on a phone (issue 12): large + / − steppers beside each count field. Same-origin
// script (the CSP allows no inline script); without it the fields still take typed numbers.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.step") : null;
  if (!button) { return; }
  var input = button.parentNode.querySelector("input");
  var value = parseInt(input.value, 10);
  value = (isNaN(value) ? 0 : value) + parseInt(button.getAttribute("data-step"), 10);
  input.value = String(Math.max(0, value));
  input.dispatchEvent(new Event("input", { bubbles: true }));
});
