/* The wall's playlist (callbacks/playlist.py): ?cycle=overview,security&every=60. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  playlist: {
    views: {overview: "/", security: "/security", audit: "/audit", users: "/users"},

    cycle: function (search) {
      var params = new URLSearchParams(search || "");
      var views = this.views;
      return (params.get("cycle") || "").split(",").map(function (v) { return v.trim(); })
        .filter(function (v) { return Object.prototype.hasOwnProperty.call(views, v); });
    },

    setup: function (search) {
      var every = parseFloat(new URLSearchParams(search || "").get("every"));
      if (!(every >= 2)) { every = 60; }              // at least 2 s; 60 s when not given
      var cycle = window.dash_clientside.playlist.cycle(search);
      return [every * 1000, cycle.length < 2];
    },

    next: function (n, search, pathname) {
      var self = window.dash_clientside.playlist;
      var paths = self.cycle(search).map(function (v) { return self.views[v]; });
      if (paths.length < 2) { return window.dash_clientside.no_update; }
      var at = paths.indexOf(pathname || "/");
      return paths[(at + 1) % paths.length];
    }
  }
});
