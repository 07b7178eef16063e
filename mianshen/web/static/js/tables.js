// On a phone every table row becomes a card; each cell shows its column's name from the header.
// Cells that name themselves (data-label in the template) keep their own.
for (const table of document.querySelectorAll("table.table")) {
  const heads = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    Array.from(row.children).forEach((cell, i) => {
      if (!cell.dataset.label && heads[i] && cell.colSpan === 1) cell.dataset.label = heads[i];
    });
  }
}
