/* Wall display: the graphs' type scales with the screen, as the page's type does (CSS vh).
   The figures are built for a 1080-pixel-high screen (20 px type in kiosk mode); on another
   screen each graph is re-laid out once after it is drawn, so a 4K TV shows the same picture
   as a 1080p one, only sharper, and a 720p screen fits it without overlaps. */
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

  function watchAll() {
    document.querySelectorAll(".js-plotly-plot").forEach(watch);
  }

  new MutationObserver(watchAll).observe(document.documentElement,
                                         {childList: true, subtree: true});
  window.addEventListener("resize", function () {
    document.querySelectorAll(".js-plotly-plot").forEach(scale);
  });
}());
