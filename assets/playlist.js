/* The wall's playlist (callbacks/playlist.py): ?cycle=overview,security,users/backups&every=60.
   A view is a page's name, or users/<name> for one user's page. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  playlist: {
    views: {overview: "/", security: "/security", audit: "/audit", users: "/users"},

    /* the path of a view, or null for a name that is none */
    path: function (view) {
      if (Object.prototype.hasOwnProperty.call(this.views, view)) { return this.views[view]; }
      if (view.indexOf("users/") === 0 && view.length > 6) {
        var name = view.slice(6);
        try { name = decodeURIComponent(name); } catch (e) { /* as written */ }
        return "/users/" + encodeURIComponent(name);
      }
      return null;
    },

    cycle: function (search) {
      var params = new URLSearchParams(search || "");
      var self = window.dash_clientside.playlist;
      return (params.get("cycle") || "").split(",").map(function (v) { return v.trim(); })
        .filter(function (v) { return self.path(v) !== null; });
    },

    setup: function (search) {
      var every = parseFloat(new URLSearchParams(search || "").get("every"));
      if (!(every >= 2)) { every = 60; }              // at least 2 s; 60 s when not given
      var cycle = window.dash_clientside.playlist.cycle(search);
      return [every * 1000, cycle.length < 2];
    },

    /* the next view's path, with the query string as the address bar has it now */
    next: function (n, search, pathname) {
      var self = window.dash_clientside.playlist;
      var now = window.location.search || search || "";
      var paths = self.cycle(now).map(function (v) { return self.path(v); });
      var nu = window.dash_clientside.no_update;
      if (paths.length < 2) { return [nu, nu]; }
      var at = paths.indexOf(window.location.pathname || pathname || "/");
      return [paths[(at + 1) % paths.length], now];
    }
  },

  title: {
    /* "SFTPGo activity · Security · stale 3 h": the page's title (set by the pages'
       router, which this runs after) and the newest event's age when it is stale */
    set: function (stale, page) {
      var base = (page && page.title) || "SFTPGo activity";
      var title = stale ? base + " \u00b7 stale " + stale : base;
      document.title = title;
      window.setTimeout(function () { document.title = title; }, 0);
      return title;
    }
  }
});
