// clientcard: the little behaviour pages need beyond htmx. No build step.
(function () {
  "use strict";

  const palette = ["#2563a8", "#d9822b", "#3f8f5b", "#b0413e", "#7a5ba6", "#6b7280", "#c9a227"];

  // Charts: <canvas data-chart="bar|doughnut" data-chart-source="id of a JSON script">.
  function drawCharts(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      const source = document.getElementById(canvas.dataset.chartSource);
      if (!source) return;
      const data = JSON.parse(source.textContent);
      const kind = canvas.dataset.chart;
      data.datasets.forEach(function (set, i) {
        set.backgroundColor = kind === "doughnut" ? palette.slice(0, set.data.length) : palette[i % palette.length];
        set.borderWidth = kind === "doughnut" ? 1 : 0;
      });
      const options = { responsive: true, maintainAspectRatio: false, animation: false,
                        plugins: { legend: { position: "bottom" } } };
      if (kind === "bar") {
        options.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };
      }
      new window.Chart(canvas, { type: kind, data: data, options: options });
      canvas.dataset.drawn = "1";
    });
  }

  // The tab strip follows the panel htmx loaded.
  function markTab() {
    const panel = document.getElementById("tab-panel");
    if (!panel) return;
    document.querySelectorAll(".tabs a").forEach(function (link) {
      const here = link.dataset.tab === panel.dataset.tab;
      link.classList.toggle("active", here);
      if (here) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    });
  }

  // A Gravatar that does not load leaves the initials.
  document.addEventListener("error", function (event) {
    if (event.target.classList && event.target.classList.contains("avatar-img")) event.target.remove();
  }, true);

  function showError(text) {
    const toast = document.getElementById("request-error");
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    setTimeout(function () { toast.hidden = true; }, 6000);
  }

  // Images that failed before this script ran.
  function dropBrokenAvatars() {
    document.querySelectorAll("img.avatar-img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) img.remove();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); dropBrokenAvatars(); });
  window.addEventListener("load", dropBrokenAvatars);
  document.addEventListener("htmx:afterSettle", function (event) {
    drawCharts(document);
    markTab();
  });
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const parsed = new DOMParser().parseFromString(event.detail.xhr.responseText, "text/html");
    const detail = parsed.querySelector(".error-page p");
    showError((detail ? detail.textContent : "The request failed") + " (" + status + ")");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check the connection and try again.");
  });
})();
