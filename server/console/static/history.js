// The History lines a person opened stay open when the live region re-renders them (an
// event arrived): without it each new event would close the line being read. Lines are
// known by the log position of their first event, which later events never change.
(function () {
  "use strict";
  var opened = [];
  function rows(event) {
    var target = event.detail && event.detail.target;
    return target && target.id === "history-rows" ? target : null;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var region = rows(event);
    if (!region) return;
    opened = Array.prototype.map.call(
      region.querySelectorAll("li.action > details[open]"),
      function (details) { return details.parentElement.getAttribute("data-first"); }
    );
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var region = rows(event);
    if (!region) return;
    opened.forEach(function (first) {
      var line = region.querySelector('li.action[data-first="' + first + '"] > details');
      if (line) line.open = true;
    });
  });
})();
