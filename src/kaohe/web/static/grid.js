// The rating grid, keyboard-first. One cell has the focus (roving tabindex). Arrow keys
// move from cell to cell; on a level cell a digit picks that level (1 = the first) and
// saves it; on a number cell a digit starts typing, Enter saves and moves down, Esc
// cancels. Each save is an htmx request answered with the cell as saved (or with the
// reason it was refused, the typed value kept); the focus stays where the user is.
(function () {
  "use strict";
  var table = document.getElementById("grid");
  if (!table || !window.htmx) return;
  // a refused value (422) is answered with the cell and its reason: show it
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "40[39]", swap: true, error: false},
    {code: "422", swap: true, error: false},
    {code: "[45]..", swap: false, error: true}
  ];
  var url = table.getAttribute("data-url"), csrf = table.getAttribute("data-csrf");

  function cellAt(row, col) {
    return table.querySelector('td.cell[data-row="' + row + '"][data-col="' + col + '"]');
  }
  function pos(td) { return [+td.getAttribute("data-row"), +td.getAttribute("data-col")]; }
  function focusCell(td) {
    if (!td) return;
    var old = table.querySelectorAll('td.cell[tabindex="0"]');
    for (var i = 0; i < old.length; i++) if (old[i] !== td) old[i].tabIndex = -1;
    td.tabIndex = 0;
    td.focus();
  }
  function move(td, dr, dc) {
    var p = pos(td), next = cellAt(p[0] + dr, p[1] + dc);
    if (next) focusCell(next);
    return next;
  }
  function recount() {
    var rows = table.querySelectorAll("tbody tr"), cells = 0, people = 0;
    for (var i = 0; i < rows.length; i++) {
      var n = rows[i].querySelectorAll('td.cell[data-rated="0"]').length;
      var out = rows[i].querySelector(".row-unrated");
      if (out) out.textContent = n;
      cells += n;
      if (n) people++;
    }
    var a = document.getElementById("unrated-cells"), b = document.getElementById("unrated-people");
    if (a) a.textContent = cells;
    if (b) b.textContent = people;
  }
  // save a value; afterwards the focus goes to the cell `then` (row, col), or stays on
  // this cell, unless the user has moved on meanwhile
  function save(td, value, then) {
    var p = pos(td), id = td.id;
    td.classList.add("saving");
    return htmx.ajax("POST", url + "/" + td.getAttribute("data-app"), {target: "#" + id,
      swap: "outerHTML", values: {csrf: csrf, input_id: td.getAttribute("data-input"),
      role: td.getAttribute("data-role"), version: td.getAttribute("data-version"), value: value,
      row: p[0], col: p[1]}}).then(function () { swapped(td, id, after); });
    function after(fresh) {
      recount();
      var active = document.activeElement;
      var moved = active && active !== document.body && table.contains(active) && active.id !== id;
      if (fresh && fresh.classList.contains("bad")) { focusCell(fresh); edit(fresh, fresh.getAttribute("data-typed") || ""); return; }
      if (moved) return;
      if (then) focusCell(cellAt(then[0], then[1]) || fresh); else focusCell(fresh);
    }
  }
  // the answer's cell, once htmx has put it in place of the old one and settled it (while
  // settling, the new cell carries the old one's attributes)
  function swapped(old, id, fn) {
    var tries = 0;
    (function check() {
      var cur = document.getElementById(id);
      var done = cur && cur !== old && !cur.classList.contains("htmx-settling") &&
        !cur.classList.contains("htmx-added");
      if (done || tries++ > 150) fn(cur); else setTimeout(check, 20);
    })();
  }
  function edit(td, text) {
    if (td.getAttribute("data-editable") !== "1") return;
    var box = td.querySelector("input");
    if (!box) {
      box = document.createElement("input");
      box.setAttribute("inputmode", td.getAttribute("data-type") === "level" ? "text" : "decimal");
      box.setAttribute("aria-label", td.getAttribute("aria-label"));
      box.className = "cell-input";
      var list = document.querySelector('datalist[id$="-' + td.getAttribute("data-input") + "-" + td.getAttribute("data-role") + '"]');
      if (td.getAttribute("data-levels") && list) box.setAttribute("list", list.id);
      td.appendChild(box);
    }
    box.value = text;
    box.focus();
    box.setSelectionRange(text.length, text.length);
  }

  table.addEventListener("click", function (ev) {
    var td = ev.target.closest && ev.target.closest("td.cell");
    if (td && ev.target.tagName !== "INPUT") focusCell(td);
  });
  table.addEventListener("dblclick", function (ev) {
    var td = ev.target.closest && ev.target.closest("td.cell");
    if (td) edit(td, td.classList.contains("mine") ? td.querySelector(".v").textContent : "");
  });

  table.addEventListener("keydown", function (ev) {
    var t = ev.target, td = t.closest && t.closest("td.cell");
    if (!td || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (t.tagName === "INPUT") {  // typing a number (or a corrected value)
      if (ev.key === "Enter" || ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        var p = pos(td), dr = ev.key === "ArrowUp" ? -1 : 1;
        save(td, t.value, [p[0] + dr, p[1]]);
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        t.remove();
        focusCell(td);
      }
      return;
    }
    var levels = td.getAttribute("data-levels");
    if (ev.key === "ArrowDown" || ev.key === "Enter") { ev.preventDefault(); move(td, 1, 0); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); move(td, -1, 0); }
    else if (ev.key === "ArrowRight") { ev.preventDefault(); move(td, 0, 1); }
    else if (ev.key === "ArrowLeft") { ev.preventDefault(); move(td, 0, -1); }
    else if (ev.key === "Home") { ev.preventDefault(); focusCell(cellAt(pos(td)[0], 0)); }
    else if (ev.key === "End") { ev.preventDefault(); var cs = t.closest("tr").querySelectorAll("td.cell"); focusCell(cs[cs.length - 1]); }
    else if (td.getAttribute("data-editable") !== "1") return;
    else if (levels && /^[1-9]$/.test(ev.key)) {
      ev.preventDefault();
      var list = levels.split("|"), pick = list[+ev.key - 1];
      if (pick !== undefined) save(td, pick, null);
    } else if (!levels && /^[0-9.\-]$/.test(ev.key)) {
      ev.preventDefault();
      edit(td, ev.key);
    } else if (ev.key === "F2" || (ev.key === "Backspace" && !levels)) {
      ev.preventDefault();
      edit(td, "");
    }
  });
  // the first cell still to rate (or the first editable one) takes the focus
  var first = table.querySelector('td.cell[data-editable="1"][data-rated="0"]') ||
    table.querySelector('td.cell[data-editable="1"]') || table.querySelector("td.cell");
  if (first) { first.tabIndex = 0; if (first.getAttribute("data-editable") === "1") first.focus(); }
})();
