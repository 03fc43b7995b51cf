// Poreline HMI trends: draws each <figure class="trend" data-src=...> with uPlot from the JSON
// of /hmi/trends/data (run seconds; average, minimum and maximum per interval; the setpoint
// tag's average; the tag's limits; once, the recipe's value and limits for the tag) and, while
// the run executes (data-live="true"), fetches it again every data-poll-s seconds. Ours; no
// build step.
(function () {
  "use strict";

  function clock(seconds) {
    if (seconds == null) return "—";
    var s = Math.max(0, Math.round(seconds));
    var m = Math.floor(s / 60) % 60, h = Math.floor(s / 3600);
    return h + ":" + String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  // The series after the run time: [label, stroke, width, dash, values(d, n)]. The tag's
  // declared limits come last (the y range leaves them out unless asked, see yRange).
  function lines(d, recipe) {
    function flat(v) { return function (dd, n) { return new Array(n).fill(v); }; }
    var out = [
      [d.label + " average", "#0b57d0", 2, null, function (dd) { return dd.avg; }],
      ["minimum", "#8fb0e6", 1, null, function (dd) { return dd.min; }],
      ["maximum", "#8fb0e6", 1, null, function (dd) { return dd.max; }],
    ];
    if (d.setpoint_tag) out.push(["setpoint " + d.setpoint_tag, "#1b5e20", 2, [8, 5], function (dd) { return dd.setpoint; }]);
    if (recipe) {
      out.push(["recipe " + recipe.parameter, "#6a1b9a", 2, [12, 4, 2, 4], flat(recipe.value)]);
      if (recipe.low != null) out.push(["recipe low limit", "#b34700", 1, [4, 4], flat(recipe.low)]);
      if (recipe.high != null) out.push(["recipe high limit", "#b34700", 1, [4, 4], flat(recipe.high)]);
    }
    out.push(["low limit", "#b00020", 1, [2, 4], flat(d.low)], ["high limit", "#b00020", 1, [2, 4], flat(d.high)]);
    return out;
  }

  function columns(d, recipe) {
    return [d.t].concat(lines(d, recipe).map(function (l) { return l[4](d, d.t.length); }));
  }

  // The y range: the measurement and its setpoint, padded; the tag's limits (the last two
  // series) only when the figure's "scale to the limits" box is ticked.
  function yRange(figure) {
    return function (u) {
      var box = figure.querySelector("input.full-scale");
      var limits = u.data[u.data.length - 2][0], high = u.data[u.data.length - 1][0];
      if (box && box.checked && limits != null && high != null) return [limits, high];
      var lo = Infinity, hi = -Infinity;
      for (var i = 1; i < u.data.length - 2; i++) {
        u.data[i].forEach(function (v) { if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); } });
      }
      if (lo > hi) return [limits == null ? 0 : limits, high == null ? 1 : high];
      var pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.1 || 1;
      return [lo - pad, hi + pad];
    };
  }

  function options(d, recipe, width, figure) {
    var series = [{label: "Run time", value: function (u, v) { return clock(v); }}].concat(
      lines(d, recipe).map(function (l) { return {label: l[0], stroke: l[1], width: l[2], dash: l[3] || undefined}; }));
    return {
      width: width, height: 240, series: series, scales: {x: {time: false}, y: {range: yRange(figure)}},
      axes: [{values: function (u, ticks) { return ticks.map(clock); }}, {label: d.unit}],
    };
  }

  function note(figure, d, recipe) {
    var text = (d.t.length ? d.t.length + " intervals from " + clock(d.t_from_s) + " to " + clock(d.t_to_s)
                            : "No samples of this tag in the run yet.") + "; limits " + d.low + " to " + d.high + " " + d.unit;
    if (recipe) {
      text += "; recipe " + recipe.parameter + " " + recipe.value + " " + d.unit +
              (recipe.low != null || recipe.high != null ? " (limits " + (recipe.low != null ? recipe.low : "—") + " to " +
                                                           (recipe.high != null ? recipe.high : "—") + ")" : "");
    }
    text += ".";
    figure.querySelector(".trend-note").textContent = text;
  }

  function draw(figure) {
    var box = figure.querySelector(".chart");
    var chart = null, recipe = null;
    function load() {
      if (!document.body.contains(figure)) return false;  // the page was left
      var first = chart === null;  // the recipe's lines are asked for once
      fetch(figure.dataset.src + (first ? "&recipe=1" : ""), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
        .then(function (d) {
          if (chart === null) {
            recipe = d.recipe || null;
            chart = new uPlot(options(d, recipe, Math.max(320, box.clientWidth || 600), figure), columns(d, recipe), box);
            var full = figure.querySelector("input.full-scale");
            if (full) full.addEventListener("change", function () { chart.setData(chart.data); });
          } else {
            chart.setData(columns(d, recipe));
          }
          note(figure, d, recipe);
          if (figure.dataset.live === "true" && !d.running) figure.dataset.live = "false";
        })
        .catch(function (e) { figure.querySelector(".trend-note").textContent = "Trend not loaded: " + e.message; });
      return true;
    }
    load();
    if (figure.dataset.live === "true") {
      var timer = setInterval(function () {
        if (figure.dataset.live !== "true" || !load()) clearInterval(timer);
      }, 1000 * Number(figure.dataset.pollS || 5));
    }
  }

  function start(tries) {
    if (typeof uPlot === "undefined") {  // loaded after this script (an htmx swap loads scripts async)
      if (tries < 200) setTimeout(function () { start(tries + 1); }, 50);
      return;
    }
    document.querySelectorAll("figure.trend:not([data-drawn])").forEach(function (figure) {
      figure.dataset.drawn = "true";
      draw(figure);
    });
  }

  start(0);
})();
