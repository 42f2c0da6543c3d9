/* Draws a Chart.js line or bar chart for each <canvas data-chart="ID">, where ID is the id of a
   <script type="application/json"> data island: {type: "line"|"bar", labels: [...],
   series: [{label, data: [number|null]}]}. A null is a figure the anonymity gate hides: the
   chart leaves a gap. No inline script: the page's CSP forbids it. Every chart has a table.
   The filter form swaps the dashboard body with htmx: the new canvases are drawn after the swap,
   and a refused filter (400, with its message) is swapped in too rather than ignored. */
(function () {
  "use strict";

  var COLOURS = ["rgba(37, 99, 235, 0.8)", "rgba(234, 88, 12, 0.8)", "rgba(22, 163, 74, 0.8)"];

  function draw(canvas) {
    var island = document.getElementById(canvas.dataset.chart);
    if (!island || typeof window.Chart === "undefined") {
      return;
    }
    var existing = window.Chart.getChart(canvas);
    if (existing) {
      existing.destroy();
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

  function init(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    init(event.detail && event.detail.target ? event.detail.target : document);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "culture-body" && event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
