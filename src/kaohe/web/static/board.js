// The team board's search, as you type: rows whose text does not contain every word are
// hidden at once (the form still submits the search, so it works without JavaScript too).
(function () {
  var input = document.querySelector("input[data-filter]");
  if (!input) return;
  var table = document.getElementById(input.getAttribute("data-filter"));
  var count = document.getElementById("board-count");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-search]"));
  var template = count ? count.textContent : "";
  function apply() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (tr) {
      var hay = tr.getAttribute("data-search").toLowerCase();
      var hit = words.every(function (w) { return hay.indexOf(w) >= 0; });
      tr.hidden = !hit;
      if (hit) shown += 1;
    });
    if (count) count.textContent = template.replace(/^\d+/, String(shown));
  }
  input.addEventListener("input", apply);
})();
