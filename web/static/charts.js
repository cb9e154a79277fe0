// Draws every <canvas data-chart="line|bar" data-source="id"> from the JSON in <script id="id">.
// The page carries data only; no HTML is built here.
(function () {
  "use strict";
  var palette = ["#c0392b", "#2c3e50", "#2980b9", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d",
    "#f39c12", "#34495e", "#e84393", "#00b894", "#6c5ce7"];
  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.source);
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var kind = canvas.dataset.chart === "bar" ? "bar" : "line";
    var datasets = spec.series.map(function (series, n) {
      var colour = palette[n % palette.length];
      return { label: series.name, data: series.values, borderColor: colour, backgroundColor: colour,
        spanGaps: true, tension: 0.2, borderWidth: n === 0 && kind === "line" ? 3 : 1.5 };
    });
    new Chart(canvas, {
      type: kind,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        indexAxis: kind === "bar" && spec.labels.length > 3 && spec.id === "week_groups" ? "y" : "x",
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: { y: { beginAtZero: true, max: spec.max } }
      }
    });
    canvas.dataset.drawn = "1";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.body.dataset.chartsReady = "1";
  });
})();
