// Level buttons as a keyboard-friendly group: arrow keys move between the levels of one
// indicator, Home/End jump to the ends, and digits 1-9 pick the n-th level.
document.addEventListener("keydown", function (ev) {
  var group = ev.target.closest && ev.target.closest(".levels");
  if (!group || ev.target.tagName !== "BUTTON") return;
  var buttons = Array.prototype.slice.call(group.querySelectorAll("button"));
  var i = buttons.indexOf(ev.target), next = null;
  if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = buttons[(i + 1) % buttons.length];
  else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = buttons[(i - 1 + buttons.length) % buttons.length];
  else if (ev.key === "Home") next = buttons[0];
  else if (ev.key === "End") next = buttons[buttons.length - 1];
  else if (/^[1-9]$/.test(ev.key) && buttons[+ev.key - 1]) { ev.preventDefault(); buttons[+ev.key - 1].click(); return; }
  if (next) { ev.preventDefault(); next.focus(); }
});
