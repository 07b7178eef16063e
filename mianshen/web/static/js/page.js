// Behaviour the pages used to write inline (the Content-Security-Policy allows no inline handlers):
// data-confirm on a form or button asks before submitting; data-select-all="ids" ticks every
// checkbox of that name; data-back goes back a page (the link's address is the fallback).
for (const el of document.querySelectorAll("[data-confirm]")) {
  el.addEventListener(el.tagName === "FORM" ? "submit" : "click", function (event) {
    if (!window.confirm(el.dataset.confirm)) event.preventDefault();
  });
}
for (const box of document.querySelectorAll("input[data-select-all]")) {
  box.addEventListener("click", function () {
    for (const b of document.querySelectorAll("input[name='" + box.dataset.selectAll + "']")) b.checked = box.checked;
  });
}
for (const link of document.querySelectorAll("a[data-back]")) {
  link.addEventListener("click", function (event) {
    if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
}
