// The KPI dashboard: reads /api/reports/* with the admin token and draws tiles, SVG
// charts and tables. Vanilla JS, no external requests; every server-provided string is
// inserted with textContent (never innerHTML).
(function () {
  "use strict";

  var TOKEN_KEY = "helpdesk.adminToken";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var DEFAULT_DAYS = 14;
  var CHANNEL_COLORS = { web: "#2563eb", line: "#06a94d" };
  var EXTRA_COLORS = ["#9333ea", "#d97706", "#0891b2", "#64748b"];
  var CHANNEL_NAMES = { web: "Web", line: "LINE" };

  var $ = function (id) { return document.getElementById(id); };
  var loadSeq = 0;

  // ---- helpers -------------------------------------------------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    });
  }

  function isNum(v) { return typeof v === "number" && isFinite(v); }

  function pct(v) { return isNum(v) ? v.toFixed(1) + "%" : "—"; }

  function duration(seconds) {
    if (!isNum(seconds)) return "—";
    var s = Math.round(seconds);
    if (s < 60) return s + " s";
    var min = Math.round(s / 60);
    if (min < 60) return min + " min";
    var h = Math.floor(min / 60), m = min % 60;
    if (h < 24) return m ? h + " h " + m + " min" : h + " h";
    var d = Math.floor(h / 24), hh = h % 24;
    return hh ? d + " d " + hh + " h" : d + " d";
  }

  function isoDay(d) {
    var mm = String(d.getMonth() + 1).padStart(2, "0");
    var dd = String(d.getDate()).padStart(2, "0");
    return d.getFullYear() + "-" + mm + "-" + dd;
  }

  function shortDay(iso) { return String(iso).slice(5).replace("-", "/"); }

  function channelName(c) { return CHANNEL_NAMES[c] || c; }

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) {
      return o !== null && typeof o === "object" ? o[k] : undefined;
    }, obj);
  }

  // ---- token and API -------------------------------------------------------------

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage off: the token lives until reload */ }
    memoryToken = t;
  }
  var memoryToken = null;

  function AuthError(message) { this.message = message; }

  function query() {
    var params = new URLSearchParams();
    params.set("from", $("from").value);
    params.set("to", $("to").value);
    if ($("channel").value) params.set("channel", $("channel").value);
    return params.toString();
  }

  function api(path) {
    var t = token() || memoryToken || "";
    return fetch(path, { headers: { Authorization: "Bearer " + t }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          return errorText(r).then(function (why) {
            var msg = r.status === 401
              ? "The admin token was not accepted" + (why ? " (" + why + ")" : "") + ". Please enter it again."
              : "Access denied" + (why ? ": " + why : "") + ".";
            throw new AuthError(msg);
          });
        }
        if (!r.ok) {
          return errorText(r).then(function (why) {
            throw new Error(why || "The server answered " + r.status + ".");
          });
        }
        return r;
      });
  }

  function errorText(r) {
    return r.json().then(function (j) { return j && j.error ? String(j.error) : ""; },
      function () { return ""; });
  }

  // ---- views ---------------------------------------------------------------------

  function showLogin(message) {
    $("dashboard").hidden = true;
    $("signout").hidden = true;
    $("login").hidden = false;
    var err = $("login-error");
    err.textContent = message || "";
    err.hidden = !message;
    $("token").value = "";
    $("token").focus();
  }

  function showDashboard() {
    $("login").hidden = true;
    $("dashboard").hidden = false;
    $("signout").hidden = false;
  }

  function showError(message) {
    $("error").textContent = message || "";
    $("error").hidden = !message;
  }

  function handleFailure(err) {
    if (err instanceof AuthError) {
      setToken(null);
      showLogin(err.message);
    } else {
      showError("Could not load the reports: " + (err && err.message ? err.message : err));
      $("status").textContent = "";
    }
  }

  function load() {
    var seq = ++loadSeq;
    var q = query();
    showError("");
    $("status").textContent = "Loading…";
    Promise.all([
      api("/api/reports/summary?" + q).then(function (r) { return r.json(); }),
      api("/api/reports/daily?" + q).then(function (r) { return r.json(); }),
    ]).then(function (res) {
      if (seq !== loadSeq) return;
      var summary = res[0], days = (res[1] && res[1].days) || [];
      showDashboard();
      renderTiles(summary);
      renderCharts(days);
      renderComments(summary.comments || {});
      renderTables(summary);
      var ch = $("channel").value;
      $("status").textContent = "Showing " + $("from").value + " to " + $("to").value +
        (ch ? " · " + channelName(ch) : " · all channels") + ".";
    }).catch(function (err) {
      if (seq === loadSeq) handleFailure(err);
    });
  }

  // ---- tiles ---------------------------------------------------------------------

  function survey(summary, name, format) {
    var raw = summary[name];
    if (raw === undefined || raw === null) return { value: "—", note: "no survey responses" };
    var score = isNum(raw) ? raw : get(raw, "score");
    if (!isNum(score)) score = get(raw, "value");
    if (!isNum(score)) score = get(raw, "rate");
    var responses = get(raw, "responses");
    if (!isNum(score)) return { value: "—", note: "no survey responses" };
    return {
      value: format(score),
      note: isNum(responses) ? responses + (responses === 1 ? " response" : " responses") : "",
    };
  }

  function renderTiles(s) {
    var fcrBot = get(s, "fcr.bot") || {}, fcrAgent = get(s, "fcr.agent") || {};
    var csat = survey(s, "csat", pct);
    var nps = survey(s, "nps", function (v) { return (v > 0 ? "+" : "") + v.toFixed(1); });
    var tiles = [
      ["conversations", "Conversations", isNum(s.conversations) ? String(s.conversations) : "—", ""],
      ["self_resolution", "Self-resolution rate", pct(s.self_resolution_rate), "FAQ answered, no handoff, no return"],
      ["containment", "Containment rate", pct(s.containment_rate), "no handoff"],
      ["handoff", "Handoff rate", pct(s.handoff_rate), "handed to an agent"],
      ["fcr_bot", "FCR (bot)", pct(fcrBot.rate), eligible(fcrBot.eligible)],
      ["fcr_agent", "FCR (agent)", pct(fcrAgent.rate), eligible(fcrAgent.eligible)],
      ["first_response", "First response (median)", duration(get(s, "first_response_seconds.median")),
        "p90 " + duration(get(s, "first_response_seconds.p90"))],
      ["resolution", "Resolution (median)", duration(get(s, "resolution_seconds.median")),
        "p90 " + duration(get(s, "resolution_seconds.p90"))],
      ["csat", "CSAT", csat.value, csat.note],
      ["nps", "NPS", nps.value, nps.note],
      ["ces", "CES (1–7)", isNum(get(s, "ces.mean")) ? get(s, "ces.mean").toFixed(2) : "—",
        isNum(get(s, "ces.mean")) ? pct(get(s, "ces.easy_rate")) + " easy · " + get(s, "ces.responses") +
          (get(s, "ces.responses") === 1 ? " response" : " responses") : "no survey responses"],
    ];
    var box = $("tiles");
    box.replaceChildren();
    tiles.forEach(function (t) {
      var tile = el("div", { class: "tile card", "data-kpi": t[0], role: "group", "aria-label": t[1] });
      tile.appendChild(el("span", { class: "label" }, t[1]));
      tile.appendChild(el("span", { class: "value" }, t[2]));
      tile.appendChild(el("span", { class: "note" }, t[3]));
      box.appendChild(tile);
    });
  }

  function eligible(n) { return isNum(n) ? n + " eligible" : ""; }

  // ---- charts --------------------------------------------------------------------

  var W = 420, H = 220, PAD = { top: 12, right: 10, bottom: 28, left: 50 };

  function chartCard(id, title, desc) {
    var fig = el("figure", { class: "chart card", id: id, "data-chart": id });
    fig.style.margin = "0";
    fig.appendChild(el("h3", { id: id + "-title" }, title));
    var s = svg("svg", {
      viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": id + "-svg-title " + id + "-svg-desc",
      preserveAspectRatio: "xMidYMid meet",
    });
    s.appendChild(svg("title", { id: id + "-svg-title" }, title));
    s.appendChild(svg("desc", { id: id + "-svg-desc" }, desc));
    fig.appendChild(s);
    return { fig: fig, svg: s };
  }

  function xBand(n) {
    var inner = W - PAD.left - PAD.right;
    var step = n ? inner / n : inner;
    return { step: step, center: function (i) { return PAD.left + step * (i + 0.5); } };
  }

  function yScale(max) {
    var inner = H - PAD.top - PAD.bottom;
    return function (v) { return PAD.top + inner - (max ? (v / max) * inner : 0); };
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var mag = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * mag >= v) return steps[i] * mag;
    return 10 * mag;
  }

  function axes(s, days, max, ticks, fmt) {
    var y = yScale(max), x = xBand(days.length);
    var g = svg("g", { "aria-hidden": "true" });
    for (var i = 0; i <= ticks; i++) {
      var v = (max / ticks) * i, yy = y(v);
      g.appendChild(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: yy, y2: yy, stroke: "#e5e7eb" }));
      g.appendChild(svg("text", { x: PAD.left - 6, y: yy + 4, "text-anchor": "end" }, fmt(v)));
    }
    var every = Math.max(1, Math.ceil(days.length / 10));
    days.forEach(function (d, i) {
      if (i % every !== 0 && i !== days.length - 1) return;
      g.appendChild(svg("text", { x: x.center(i), y: H - PAD.bottom + 16, "text-anchor": "middle" },
        shortDay(d.day)));
    });
    g.appendChild(svg("line", {
      x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), stroke: "#9ca3af",
    }));
    s.appendChild(g);
    return { x: x, y: y };
  }

  function legend(items) {
    var ul = el("ul", { class: "legend" });
    items.forEach(function (it) {
      var li = el("li", null, it[0]);
      li.style.setProperty("--swatch", it[1]);
      ul.appendChild(li);
    });
    return ul;
  }

  function dataTable(caption, head, rows) {
    // A table will not shrink to 1px: the wrapper hides it.
    var box = el("div", { class: "visually-hidden" });
    var t = el("table");
    box.appendChild(t);
    t.appendChild(el("caption", null, caption));
    var thead = el("thead"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", { scope: "col" }, h)); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c, i) { row.appendChild(el(i ? "td" : "th", i ? null : { scope: "row" }, c)); });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    return box;
  }

  function volumeChart(days) {
    var channels = [];
    days.forEach(function (d) {
      Object.keys(d.volume || {}).forEach(function (day) {
        Object.keys(d.volume[day] || {}).forEach(function (c) {
          if (channels.indexOf(c) < 0) channels.push(c);
        });
      });
    });
    channels.sort(function (a, b) {
      var order = ["web", "line"];
      var ia = order.indexOf(a), ib = order.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
    });
    var colors = {};
    channels.forEach(function (c, i) { colors[c] = CHANNEL_COLORS[c] || EXTRA_COLORS[i % EXTRA_COLORS.length]; });
    var perDay = days.map(function (d) {
      var counts = {};
      Object.keys(d.volume || {}).forEach(function (day) {
        Object.keys(d.volume[day] || {}).forEach(function (c) {
          counts[c] = (counts[c] || 0) + (d.volume[day][c] || 0);
        });
      });
      return counts;
    });
    var totals = days.map(function (d) { return isNum(d.conversations) ? d.conversations : 0; });
    var max = niceMax(Math.max.apply(null, totals.concat([1])));
    var card = chartCard("chart-volume", "Daily conversations by channel",
      "Stacked bars, one per day, " + days.length + " days, by channel.");
    var a = axes(card.svg, days, max, max < 4 ? max : 4, function (v) { return String(Math.round(v)); });
    var bars = svg("g", { class: "bars" });
    var bw = Math.max(2, Math.min(40, a.x.step * 0.7));
    days.forEach(function (d, i) {
      var base = 0;
      var g = svg("g", { class: "day", "data-day": d.day });
      channels.forEach(function (c) {
        var n = perDay[i][c] || 0;
        if (!n) return;
        var y0 = a.y(base), y1 = a.y(base + n);
        var rect = svg("rect", {
          x: a.x.center(i) - bw / 2, y: y1, width: bw, height: Math.max(0, y0 - y1), fill: colors[c],
        });
        rect.appendChild(svg("title", null, d.day + " · " + channelName(c) + ": " + n));
        g.appendChild(rect);
        base += n;
      });
      bars.appendChild(g);
    });
    card.svg.appendChild(bars);
    card.fig.appendChild(legend(channels.map(function (c) { return [channelName(c), colors[c]]; })));
    if (!channels.length) card.fig.appendChild(el("p", { class: "empty" }, "No conversations in this period."));
    card.fig.appendChild(dataTable("Daily conversations by channel",
      ["Day"].concat(channels.map(channelName), ["Total"]),
      days.map(function (d, i) {
        return [d.day].concat(channels.map(function (c) { return String(perDay[i][c] || 0); }),
          [String(totals[i])]);
      })));
    return card.fig;
  }

  function lineChart(id, title, days, series, max, ticks, fmt, tickFmt) {
    var card = chartCard(id, title, "Line chart, one point per day, " + days.length + " days: " +
      series.map(function (s) { return s.name; }).join(", ") + ". Days without data are gaps.");
    var a = axes(card.svg, days, max, ticks, tickFmt);
    series.forEach(function (s) {
      var g = svg("g", { class: "series", "data-series": s.key });
      var path = "", pen = false;
      days.forEach(function (d, i) {
        var v = s.value(d);
        if (!isNum(v)) { pen = false; return; }
        path += (pen ? "L" : "M") + a.x.center(i).toFixed(1) + " " + a.y(v).toFixed(1) + " ";
        pen = true;
      });
      if (path) {
        g.appendChild(svg("path", {
          d: path.trim(), fill: "none", stroke: s.color, "stroke-width": 2.5,
          "stroke-linejoin": "round", "stroke-linecap": "round", "stroke-dasharray": s.dash,
        }));
      }
      days.forEach(function (d, i) {
        var v = s.value(d);
        if (!isNum(v)) return;
        var dot = svg("circle", { cx: a.x.center(i), cy: a.y(v), r: 4, fill: s.color, stroke: "#fff", "stroke-width": 1.5 });
        dot.appendChild(svg("title", null, d.day + " · " + s.name + ": " + fmt(v)));
        g.appendChild(dot);
      });
      card.svg.appendChild(g);
    });
    card.fig.appendChild(legend(series.map(function (s) { return [s.name, s.color]; })));
    card.fig.appendChild(dataTable(title, ["Day"].concat(series.map(function (s) { return s.name; })),
      days.map(function (d) {
        return [d.day].concat(series.map(function (s) { return fmt(s.value(d)); }));
      })));
    return card.fig;
  }

  function renderCharts(days) {
    var box = $("charts");
    box.replaceChildren();
    box.appendChild(volumeChart(days));
    box.appendChild(lineChart("chart-rates", "Self-resolution rate and FCR", days, [
      { key: "self_resolution", name: "Self-resolution", color: "#2563eb",
        value: function (d) { return d.self_resolution_rate; } },
      { key: "fcr_bot", name: "FCR (bot)", color: "#06a94d", dash: "6 4",
        value: function (d) { return get(d, "fcr.bot.rate"); } },
      { key: "fcr_agent", name: "FCR (agent)", color: "#d97706", dash: "2 3",
        value: function (d) { return get(d, "fcr.agent.rate"); } },
    ], 100, 4, pct, function (v) { return Math.round(v) + "%"; }));
    var frt = days.map(function (d) { return get(d, "first_response_seconds.median"); }).filter(isNum);
    var maxMin = niceMax(Math.max.apply(null, frt.concat([60])) / 60);
    box.appendChild(lineChart("chart-first-response", "First response time (median)", days, [
      { key: "first_response", name: "First response median", color: "#db2777",
        value: function (d) {
          var v = get(d, "first_response_seconds.median");
          return isNum(v) ? v / 60 : v;
        } },
    ], maxMin, 4, function (v) { return isNum(v) ? duration(v * 60) : "—"; },
    function (v) { return (Math.round(v * 10) / 10) + " min"; }));
  }

  // ---- survey comments -----------------------------------------------------------

  var SEGMENTS = [
    ["promoters", "Promoters praise", "#06a94d"],
    ["passives", "Passives mention", "#64748b"],
    ["detractors", "Detractors complain about", "#b42318"],
  ];

  function change(n) {
    if (!isNum(n) || n === 0) return "±0";
    return (n > 0 ? "▲ +" : "▼ ") + n;
  }

  // One horizontal bar per recurring term: how many comments of the segment name it,
  // with its change from the period before; the example comments are in each bar's
  // tooltip and listed under the chart.
  function termChart(segment, title, color, terms) {
    var id = "comments-" + segment;
    var fig = el("figure", { class: "chart card", id: id, "data-segment": segment });
    fig.style.margin = "0";
    fig.appendChild(el("h3", { id: id + "-title" }, title));
    if (!terms.length) {
      fig.appendChild(el("p", { class: "empty" }, "No recurring words in these comments yet."));
      return fig;
    }
    var row = 26, top = 6, labelW = 150, countW = 70;
    var h = top * 2 + row * terms.length;
    var s = svg("svg", {
      viewBox: "0 0 " + W + " " + h, role: "img", "aria-labelledby": id + "-svg-title " + id + "-svg-desc",
      preserveAspectRatio: "xMidYMid meet",
    });
    s.appendChild(svg("title", { id: id + "-svg-title" }, title));
    s.appendChild(svg("desc", { id: id + "-svg-desc" }, "Horizontal bars, one per word or phrase: " +
      "the comments that name it in this period, and the change from the period before."));
    var max = Math.max.apply(null, terms.map(function (t) { return t.count; }).concat([1]));
    var barW = W - labelW - countW;
    terms.forEach(function (t, i) {
      var y = top + row * i;
      var g = svg("g", { class: "term", "data-term": t.term });
      var w = Math.max(2, (t.count / max) * barW);
      var rect = svg("rect", { x: labelW, y: y + 4, width: w, height: row - 8, rx: 3, fill: color });
      rect.appendChild(svg("title", null, t.term + ": " + t.count + " comments (" + change(t.change) +
        ")" + (t.examples && t.examples.length ? "\n“" + t.examples.join("”\n“") + "”" : "")));
      g.appendChild(rect);
      g.appendChild(svg("text", { x: labelW - 6, y: y + row / 2 + 4, "text-anchor": "end", class: "label" },
        t.term.length > 18 ? t.term.slice(0, 17) + "…" : t.term));
      g.appendChild(svg("text", { x: labelW + w + 6, y: y + row / 2 + 4, class: "count" },
        t.count + " " + change(t.change)));
      s.appendChild(g);
    });
    fig.appendChild(s);
    var examples = el("ul", { class: "examples" });
    terms.slice(0, 3).forEach(function (t) {
      if (!t.examples || !t.examples.length) return;
      var li = el("li");
      li.appendChild(el("strong", null, t.term + ": "));
      li.appendChild(document.createTextNode("“" + t.examples[0] + "”"));
      examples.appendChild(li);
    });
    fig.appendChild(examples);
    fig.appendChild(dataTable(title, ["Word or phrase", "Comments", "Change", "Example"],
      terms.map(function (t) {
        return [t.term, String(t.count), change(t.change), (t.examples || [])[0] || ""];
      })));
    return fig;
  }

  function renderComments(comments) {
    var box = $("comments");
    box.replaceChildren();
    SEGMENTS.forEach(function (seg) {
      box.appendChild(termChart(seg[0], seg[1], seg[2], comments[seg[0]] || []));
    });
  }

  // ---- tables --------------------------------------------------------------------

  function table(id, title, head, rows, empty) {
    var card = el("section", { class: "table-card card", id: id, "aria-labelledby": id + "-title" });
    card.appendChild(el("h3", { id: id + "-title" }, title));
    if (!rows.length) {
      card.appendChild(el("p", { class: "empty" }, empty));
      return card;
    }
    var t = el("table");
    var thead = el("thead"), tr = el("tr");
    head.forEach(function (h, i) { tr.appendChild(el("th", { scope: "col", class: i ? "num" : null }, h)); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c, i) { row.appendChild(el("td", { class: i ? "num" : null }, c)); });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    card.appendChild(t);
    return card;
  }

  function renderTables(s) {
    var box = $("tables");
    box.replaceChildren();
    box.appendChild(table("table-faq-hits", "Top FAQ entries", ["FAQ entry", "Answers"],
      (s.faq_hits || []).map(function (r) { return [r.id, String(r.count)]; }),
      "No FAQ answers in this period."));
    box.appendChild(table("table-not-helpful", "Marked “did not help”", ["FAQ entry", "Times"],
      (s.faq_not_helpful || []).map(function (r) { return [r.id, String(r.count)]; }),
      "Nothing marked as unhelpful."));
    box.appendChild(table("table-unanswered", "Top unanswered questions", ["Question", "Times"],
      (s.unanswered || []).map(function (r) { return [r.question, String(r.count)]; }),
      "No unanswered questions."));
    var ces = [];
    Object.keys(get(s, "ces.by_channel") || {}).forEach(function (c) {
      ces.push([channelName(c), get(s, "ces.by_channel")[c]]);
    });
    [["bot", "Resolved by the bot"], ["agent", "Handed to an agent"]].forEach(function (r) {
      var v = get(s, "ces.by_resolution." + r[0]);
      if (v && v.responses) ces.push([r[1], v]);
    });
    box.appendChild(table("table-ces", "CES (1–7) by channel and resolution",
      ["Group", "Mean", "Easy (5–7)", "Answers"],
      ces.map(function (r) {
        return [r[0], isNum(r[1].mean) ? r[1].mean.toFixed(2) : "—", pct(r[1].easy_rate),
          String(r[1].responses)];
      }),
      "No CES answers in this period."));
  }

  // ---- CSV -----------------------------------------------------------------------

  function downloadCsv() {
    var button = $("csv");
    var q = query();
    button.disabled = true;
    showError("");
    api("/api/reports/conversations.csv?" + q)
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: "conversations_" + $("from").value + "_" + $("to").value +
          ($("channel").value ? "_" + $("channel").value : "") + ".csv" });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      })
      .catch(handleFailure)
      .then(function () { button.disabled = false; });
  }

  // ---- wiring --------------------------------------------------------------------

  function init() {
    var today = new Date();
    var start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (DEFAULT_DAYS - 1));
    $("from").value = isoDay(start);
    $("to").value = isoDay(today);

    $("login-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var t = $("token").value.trim();
      if (!t) return;
      setToken(t);
      $("login-error").hidden = true;
      showDashboard();
      load();
    });
    $("filters").addEventListener("submit", function (e) {
      e.preventDefault();
      if ($("from").value && $("to").value && $("from").value > $("to").value) {
        showError("“From” must not be after “To”.");
        return;
      }
      load();
    });
    $("channel").addEventListener("change", load);
    $("csv").addEventListener("click", downloadCsv);
    $("signout").addEventListener("click", function () {
      setToken(null);
      showLogin("");
    });

    if (token()) {
      showDashboard();
      load();
    } else {
      showLogin("");
    }
  }

  init();
})();
