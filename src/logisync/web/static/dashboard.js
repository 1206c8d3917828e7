// logisync dashboard: charts from the JSON a page embeds (the CSP allows no inline scripts).
// A chart is <div class="chart" data-series="ID"> with <script type="application/json" id="ID">
// holding {"x": [unix seconds...], "series": [{"label": "...", "values": [...]}], "unit": "..."}.
(function () {
  "use strict";
  var COLORS = ["#0b57d0", "#a4161a", "#146c2e", "#7a4100", "#5b3cc4", "#1a1f24"];
  function draw(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll(".chart[data-series]").forEach(function (el) {
      var src = document.getElementById(el.dataset.series);
      if (!src) return;
      var data = JSON.parse(src.textContent);
      el.innerHTML = "";
      var opts = {
        width: Math.max(300, el.clientWidth || 480), height: 200,
        series: [{}].concat(data.series.map(function (s, i) {
          return { label: s.label, stroke: COLORS[i % COLORS.length], width: 2 };
        })),
        axes: [{}, { label: data.unit || "" }],
      };
      new uPlot(opts, [data.x].concat(data.series.map(function (s) { return s.values; })), el);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();
