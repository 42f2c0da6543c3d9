/* Draws a Chart.js line or bar chart for each <canvas data-chart="ID">, where ID is the id of a
   <script type="application/json"> data island: {type: "line"|"bar", labels: [...],
   series: [{label, data: [number|null]}]}. A null is a figure the anonymity gate hides: the
   chart leaves a gap. No inline script: the page's CSP forbids it. Every chart has a table. */
(function () {
  "use strict";

  var COLOURS = ["rgba(37, 99, 235, 0.8)", "rgba(234, 88, 12, 0.8)", "rgba(22, 163, 74, 0.8)"];

  function draw(canvas) {
    var island = document.getElementById(canvas.dataset.chart);
    if (!island || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(island.textContent);
    if (!data || !data.labels || !data.labels.length) {
      return;
    }
    new window.Chart(canvas, {
      type: data.type === "line" ? "line" : "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          var colour = COLOURS[index % COLOURS.length];
          return {
            label: series.label,
            data: series.data,
            borderColor: colour,
            backgroundColor: colour,
            spanGaps: false,
            pointRadius: 4,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: data.series.length > 1 } },
        scales: { y: { beginAtZero: data.type !== "line" } },
      },
    });
  }

  function init() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
