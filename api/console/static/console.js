// Draws the overview's charts with uPlot from the JSON the page carries (no inline script:
// the Content-Security-Policy allows scripts from this site only).
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#b4490b", "#157a3c", "#6b3fa0"];
  var FORMATS = {
    money: function (v) { return v == null ? "–" : v.toLocaleString(undefined, {maximumFractionDigits: 2}); },
    "%": function (v) { return v == null ? "–" : v.toFixed(1) + "%"; },
    y: function (v) { return v == null ? "–" : v.toLocaleString(); }
  };

  function options(chart, width) {
    var labels = chart.labels;
    var scales = {x: {time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; }}};
    var axes = [{
      space: 64,
      incrs: [1, 2, 3, 6, 12, 24],
      values: function (u, splits) {
        return splits.map(function (i) { return Number.isInteger(i) ? (labels[i] || "") : ""; });
      }
    }];
    var series = [{label: "Month", value: function (u, i) { return i == null ? "–" : (labels[i] || ""); }}];
    var seen = [];
    chart.series.forEach(function (s, n) {
      var scale = s.scale || "y";
      if (seen.indexOf(scale) < 0) {
        seen.push(scale);
        scales[scale] = {auto: true, range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.08 : 1]; }};
        axes.push({
          scale: scale,
          side: seen.length === 1 ? 3 : 1,
          size: 64,
          grid: {show: seen.length === 1},
          values: function (u, splits) { return splits.map(FORMATS[scale] || FORMATS.y); }
        });
      }
      var colour = COLOURS[n % COLOURS.length];
      series.push({
        label: s.label,
        scale: scale,
        stroke: colour,
        width: 2,
        fill: s.bars ? colour + "55" : undefined,
        paths: s.bars ? uPlot.paths.bars({size: [0.6, 48]}) : undefined,
        points: {show: !s.bars && labels.length < 40},
        value: function (u, v) { return (FORMATS[scale] || FORMATS.y)(v); }
      });
    });
    return {width: width, height: 220, scales: scales, axes: axes, series: series,
            cursor: {drag: {x: false, y: false}}};
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof uPlot === "undefined") { return; }
    var charts = JSON.parse(source.textContent);
    var plots = [];
    document.querySelectorAll(".plot[data-chart]").forEach(function (el) {
      var chart = charts[el.dataset.chart];
      if (!chart || !chart.labels.length) { return; }
      var xs = chart.labels.map(function (_, i) { return i; });
      var data = [xs].concat(chart.series.map(function (s) { return s.values; }));
      var plot = new uPlot(options(chart, el.clientWidth || 320), data, el);
      el.dataset.drawn = "true";
      plots.push([plot, el]);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) { p[0].setSize({width: p[1].clientWidth, height: 220}); });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
