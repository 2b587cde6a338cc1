/* Control tower charts (R35): each .tower-chart draws its measure's 12 months from the page's
   JSON block #tower-data, with the target as a dashed line. Same-origin script, no inline code
   (CSP); the plain table beside each chart holds the same numbers. */
(function () {
  "use strict";
  var COLOURS = { green: "#2e8b47", amber: "#d08a00", red: "#c0392b", few: "#98a2b3" };

  function draw() {
    var block = document.getElementById("tower-data");
    if (!block || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent);
    var charts = [];
    document.querySelectorAll(".tower-chart").forEach(function (el) {
      var s = data.series[el.getAttribute("data-measure")];
      if (!s) { return; }
      var months = s.points.map(function (p) { return p.month; });
      var values = s.points.map(function (p) {
        return { value: p.value, itemStyle: { color: COLOURS[p.status] || COLOURS.few } };
      });
      var targets = s.points.map(function (p) { return p.target; });
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 44, right: 12, top: 24, bottom: 28 },
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "–" : v + " %"; } },
        legend: { data: [s.label, data.target_label], top: 0, textStyle: { fontSize: 11 } },
        xAxis: { type: "category", data: months, axisLabel: { fontSize: 10 } },
        yAxis: { type: "value", axisLabel: { formatter: "{value} %", fontSize: 10 }, scale: true },
        series: [
          { name: s.label, type: "line", data: values, connectNulls: false, symbolSize: 7,
            lineStyle: { color: "#3b6ea5" } },
          { name: data.target_label, type: "line", step: "end", data: targets, symbol: "none",
            lineStyle: { type: "dashed", color: "#555" } }
        ]
      });
      el.setAttribute("data-rendered", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
