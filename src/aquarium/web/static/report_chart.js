/* Aquarium Job Finder: a Summary run's chart, drawn with the vendored Chart.js (chart.umd.min.js).
 *
 * A <figure data-chart="URL"> gets the chart document from URL (services/report_chart.py): the
 * row groups along the bottom (lines for dates, bars otherwise), one series per column group,
 * one chart per value field; money in the currency of its series or category. The figure then
 * says data-chart-ready="<charts>" and each canvas data-series="<series>" (the browser tests read
 * them). Without this script, or when the document cannot be had, the table beside it stays.
 */
(function () {
  "use strict";

  var BACKGROUND = { "X-Aquarium-Background": "1" };
  var LOCALE = "en-US"; // the locale of Zuora's display values in the table beside the chart
  // Told apart without colour too: lines get dashes, bars borders (see datasetOf).
  var PALETTE = ["#0b6e80", "#d1495b", "#e09f3e", "#30638e", "#6a4c93", "#3f8f3a",
                 "#9e2a2b", "#00a6a6", "#8d6a9f", "#b5838d", "#5c677d", "#c17817"];
  var DASHES = [[], [6, 3], [2, 2], [10, 4, 2, 4]];

  function numberText(value, currency, compact) {
    var options = { maximumFractionDigits: 3 };
    if (currency) {
      options = { style: "currency", currency: currency };
    }
    if (compact) {
      options.notation = "compact";
      options.maximumFractionDigits = 1;
    }
    try {
      return new Intl.NumberFormat(LOCALE, options).format(value);
    } catch (ignored) {
      return String(value); // an unknown currency code: the number alone
    }
  }

  // The one currency of every value of a chart, or null (several, or none known).
  function soleCurrency(doc, spec) {
    if (!spec.money) { return null; }
    var found = null;
    var codes = (doc.categoryCurrencies || []).concat(spec.series.map(function (s) { return s.currency; }));
    for (var i = 0; i < codes.length; i += 1) {
      if (!codes[i]) { continue; }
      if (found !== null && codes[i] !== found) { return null; }
      found = codes[i];
    }
    return found;
  }

  function datasetOf(doc, series, index) {
    var colour = PALETTE[index % PALETTE.length];
    var dataset = {
      label: series.name,
      data: series.values,
      borderColor: colour,
      backgroundColor: doc.kind === "line" ? colour : colour + "cc",
      borderWidth: doc.kind === "line" ? 2 : 1
    };
    if (doc.kind === "line") {
      dataset.borderDash = DASHES[index % DASHES.length];
      dataset.pointRadius = 2;
      dataset.tension = 0.15;
      dataset.spanGaps = true; // a month without rows for a series: the line goes on to the next
    }
    return dataset;
  }

  function options(doc, spec) {
    var currency = soleCurrency(doc, spec);
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          title: { display: Boolean(doc.xLabel), text: doc.xLabel },
          ticks: { autoSkip: true, maxRotation: 50 }
        },
        y: {
          beginAtZero: doc.kind === "bar",
          title: { display: true, text: spec.title + (currency ? " (" + currency + ")" : "") },
          ticks: { callback: function (value) { return numberText(value, currency, true); } }
        }
      },
      plugins: {
        legend: {
          display: spec.series.length > 1,
          position: "bottom",
          labels: { usePointStyle: doc.kind === "line", pointStyle: "line" }
        },
        tooltip: {
          callbacks: {
            label: function (item) {
              var series = spec.series[item.datasetIndex];
              var code = spec.money
                ? series.currency || (doc.categoryCurrencies || [])[item.dataIndex] || null
                : null;
              return series.name + ": " + numberText(item.parsed.y, code, false);
            }
          }
        }
      }
    };
  }

  function draw(figure, doc) {
    var note = figure.querySelector("[data-role=chart-note]");
    if (note) { note.hidden = true; }
    figure.setAttribute("data-kind", doc.kind);
    doc.charts.forEach(function (spec, index) {
      var box = document.createElement("div");
      box.className = "chart-box";
      var heading = document.createElement("h3");
      heading.textContent = spec.title;
      var frame = document.createElement("div");
      frame.className = "chart-frame";
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", spec.title + " by " + (doc.xLabel || "group"));
      canvas.setAttribute("data-chart-index", String(index));
      frame.appendChild(canvas);
      box.appendChild(heading);
      box.appendChild(frame);
      figure.appendChild(box);
      var datasets = spec.series.map(function (series, i) { return datasetOf(doc, series, i); });
      new window.Chart(canvas, {
        type: doc.kind,
        data: { labels: doc.categories, datasets: datasets },
        options: options(doc, spec)
      });
      canvas.setAttribute("data-series", String(datasets.length));
    });
    if (doc.truncated) {
      var more = document.createElement("p");
      more.className = "hint";
      more.textContent = "Some groups or values are left out of the chart; the table and the export hold them all.";
      figure.appendChild(more);
    }
    figure.setAttribute("data-chart-ready", String(doc.charts.length));
  }

  function start() {
    var figures = document.querySelectorAll("figure[data-chart]");
    if (figures.length === 0 || typeof window.Chart !== "function") { return; }
    Array.prototype.forEach.call(figures, function (figure) {
      window.fetch(figure.getAttribute("data-chart"),
                   { headers: BACKGROUND, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (doc) {
          if (doc && doc.charts) { draw(figure, doc); }
          else { figure.setAttribute("data-chart-failed", ""); }
        })
        .catch(function () { figure.setAttribute("data-chart-failed", ""); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
