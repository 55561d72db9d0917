/* Wall display: the graphs' type scales with the screen, as the page's type does (CSS vh),
   and each table shows the rows that fit its panel, whole.

   The figures are built for a 1080-pixel-high screen (20 px type in kiosk mode); on another
   screen each graph is re-laid out once after it is drawn, so a 4K TV shows the same picture
   as a 1080p one, only sharper, and a 720p screen fits it without overlaps.

   A table of the wall (.fit-table) never scrolls: the rows past its panel's bottom are
   hidden, so none is cut in half, and a line under the last one says how many more there
   are. Interactive pages keep every row (their tables scroll). */
(function () {
  "use strict";
  var BASE = 1080;

  function want(size) {
    return Math.max(8, Math.round(size * window.innerHeight / BASE));
  }

  function scale(gd) {
    if (!window.Plotly || !gd.layout || !document.querySelector(".kiosk")) { return; }
    var layout = gd.layout;
    var font = (layout.font && layout.font.size) || 20;
    if (!gd._wallBase || gd._wallBase.drawn !== font) {
      // drawn (again) by Dash at the figure's own sizes: remember them
      gd._wallBase = {font: font, margin: layout.margin && layout.margin.l,
                      legend: (layout.legend && layout.legend.font && layout.legend.font.size)
                              || font};
    }
    var base = gd._wallBase;
    var size = want(base.font);
    if (font === size) { return; }
    base.drawn = size;
    var update = {"font.size": size, "hoverlabel.font.size": size,
                  "legend.font.size": Math.round(base.legend * size / base.font)};
    if (base.margin) { update["margin.l"] = Math.round(base.margin * size / base.font); }
    window.Plotly.relayout(gd, update);
  }

  function watch(gd) {
    if (gd._wallWatched || typeof gd.on !== "function") { return; }
    gd._wallWatched = true;
    gd.on("plotly_afterplot", function () { scale(gd); });
    scale(gd);
  }

  /* ---- tables: the columns and rows that fit ---- */

  function column(table, index, show) {
    table.querySelectorAll("tr").forEach(function (tr) {
      var c = tr.children[index];
      if (c && (c.style.display === "none") === show) { c.style.display = show ? "" : "none"; }
    });
  }

  /* a table wider than its panel leaves out its columns marked data-drop, 1 first */
  function fitColumns(box, kiosk) {
    var table = box.querySelector("table");
    if (!table) { return; }
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    heads.forEach(function (th, i) { if (th.dataset.drop) { column(table, i, true); } });
    if (!kiosk) { return; }
    var order = heads.map(function (th, i) { return [Number(th.dataset.drop || 0), i]; })
      .filter(function (p) { return p[0] > 0; })
      .sort(function (a, b) { return a[0] - b[0]; });
    for (var k = 0; k < order.length && table.offsetWidth > box.clientWidth + 0.5; k++) {
      column(table, order[k][1], false);
    }
  }

  function fit(box) {
    var kiosk = !!box.closest(".kiosk");
    fitColumns(box, kiosk);
    var rows = box.querySelectorAll("tbody > tr");
    var more = box.querySelector(":scope > .table-more");
    var hidden = 0;
    rows.forEach(function (r) { if (r.style.display) { r.style.display = ""; } });
    if (kiosk && rows.length && box.clientHeight > 0) {
      var bottom = box.getBoundingClientRect().top + box.clientHeight;
      var room = bottom - (more ? more.offsetHeight || 0 : 0);
      var last = rows[rows.length - 1].getBoundingClientRect().bottom;
      if (last > bottom + 0.5) {
        // keep room for the "more" line under the last row shown
        var line = parseFloat(getComputedStyle(box).fontSize) * 1.6;
        room = bottom - line;
        for (var i = 0; i < rows.length; i++) {
          if (rows[i].getBoundingClientRect().bottom > room + 0.5) {
            hidden = rows.length - i;
            for (var j = i; j < rows.length; j++) { rows[j].style.display = "none"; }
            break;
          }
        }
      }
    }
    var text = hidden ? "+ " + hidden.toLocaleString("en-US") + " more" : "";
    if (!text) {
      if (more) { more.remove(); }
      return;
    }
    if (!more) {
      more = document.createElement("div");
      more.className = "table-more";
      box.appendChild(more);
    }
    if (more.textContent !== text) { more.textContent = text; }
  }

  var pending = false;
  function fitAll() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      document.querySelectorAll(".fit-table").forEach(fit);
    });
  }

  function watchAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(watch);
    fitAll();
  }

  function ours(node) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    return !!(el && el.closest && el.closest(".table-more"));
  }

  new MutationObserver(function (records) {
    // the "more" lines this file writes are no news
    var news = records.some(function (r) {
      if (ours(r.target)) { return false; }
      var nodes = Array.prototype.slice.call(r.addedNodes)
        .concat(Array.prototype.slice.call(r.removedNodes));
      return !nodes.length || !nodes.every(ours);
    });
    if (news) { watchAll(); }
  }).observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("resize", function () {
    document.querySelectorAll(".js-plotly-plot").forEach(scale);
    fitAll();
  });
  window.wallFit = fitAll;      // for the tests: fit now
}());
