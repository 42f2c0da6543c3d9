/* Draws a Chart.js scatter chart for each <canvas data-scatter="ID">, where ID is the id of a
   <script type="application/json"> data island: {x_label, y_label, points: [{x, y, label}]}.
   No inline script: the page's CSP forbids it. The page always has a table of the same points. */
(function () {
  "use strict";

  function draw(canvas) {
    var island = document.getElementById(canvas.dataset.scatter);
    if (!island || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(island.textContent);
    if (!data || !data.points || !data.points.length) {
      return;
    }
    new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          {
            label: "Teams",
            data: data.points,
            backgroundColor: "rgba(37, 99, 235, 0.7)",
            pointRadius: 5,
            pointHoverRadius: 7,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                var point = context.raw;
                return point.label + ": " + point.x + ", " + point.y;
              },
            },
          },
        },
        scales: {
          x: { title: { display: true, text: data.x_label } },
          y: { title: { display: true, text: data.y_label } },
        },
      },
    });
  }

  function init() {
    document.querySelectorAll("canvas[data-scatter]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
