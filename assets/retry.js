/* A callback the server refuses with 503 (every thread busy past DASHBOARD_QUEUE_WAIT:
 * dashboard/serving.py) is asked again after its Retry-After, a few times, before Dash is
 * told. Without it, a refused callback of the page's first paint left the page blank until
 * a reload: Dash never asks for an output again on its own, and the callbacks chained after
 * it never run. A refused tick later on only costs that tick (the page keeps its figures). */
(function () {
  "use strict";
  var TRIES = 6;                     // then Dash gets the 503 (about 10 s at Retry-After: 1)
  var original = window.fetch.bind(window);

  function pause(seconds) {
    // spread the retries of many screens a little, so they do not come back at once
    var ms = Math.min(Math.max(seconds, 0.5), 10) * 1000 * (1 + Math.random() / 2);
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf("_dash-update-component") < 0) {
      return original(input, init);
    }
    var attempt = function (left) {
      return original(input, init).then(function (answer) {
        if (answer.status !== 503 || left <= 1) {
          return answer;
        }
        var after = parseFloat(answer.headers.get("Retry-After"));
        return pause(isNaN(after) ? 1 : after).then(function () { return attempt(left - 1); });
      });
    };
    return attempt(TRIES);
  };
})();
