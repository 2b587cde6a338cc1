// The public repair-point locator (R38): the city list follows the province, and "use my
// location" asks the browser for the position and opens the nearest points. No third party.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var province = document.getElementById("province");
    var city = document.getElementById("city");
    if (province && city) {
      var filter = function () {
        var groups = city.querySelectorAll("optgroup");
        for (var i = 0; i < groups.length; i++) {
          var match = !province.value || groups[i].getAttribute("data-province") === province.value;
          groups[i].hidden = !match;
          groups[i].disabled = !match;
        }
        var chosen = city.options[city.selectedIndex];
        if (chosen && chosen.parentNode.tagName === "OPTGROUP" && chosen.parentNode.disabled) {
          city.value = "";
        }
      };
      province.addEventListener("change", filter);
      filter();
    }
    var near = document.getElementById("near-me");
    var status = document.getElementById("near-status");
    if (near && navigator.geolocation) {
      near.hidden = false;
      near.addEventListener("click", function () {
        near.disabled = true;
        navigator.geolocation.getCurrentPosition(function (pos) {
          var lat = pos.coords.latitude.toFixed(4), lng = pos.coords.longitude.toFixed(4);
          window.location.href = "/find-repair?lat=" + lat + "&lng=" + lng;
        }, function () {
          near.disabled = false;
          if (status) { status.textContent = near.getAttribute("data-denied"); }
        }, { timeout: 10000, maximumAge: 600000 });
      });
    }
  });
})();
