// The trace table: "select all on page", a live count of the selection, rows per page applied
// at once, and the export form's new-session fields dimmed while an existing session is chosen.
// Everything also works without this script (the server reads "all_on_page" itself).
(function () {
  "use strict";
  const form = document.getElementById("export-form");
  const filters = document.getElementById("filters");
  const pageSize = document.getElementById("f-page-size");
  if (filters && pageSize) {
    pageSize.addEventListener("change", () => filters.requestSubmit());
  }
  if (!form) return;
  const all = document.getElementById("select-all");
  const boxes = Array.from(form.querySelectorAll('input[type=checkbox][name="trace_id"]'));
  const count = document.getElementById("selected-count");
  const session = document.getElementById("x-session");
  const newName = document.getElementById("x-name");
  const schemas = Array.from(form.querySelectorAll('input[name="schema"]'));

  function refresh() {
    const n = boxes.filter((b) => b.checked).length;
    boxes.forEach((b) => b.closest("tr").classList.toggle("selected", b.checked));
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    count.textContent = n === 0 ? "No trace selected" : n === 1 ? "1 trace selected" : n + " traces selected";
  }
  all.addEventListener("change", () => {
    boxes.forEach((b) => { b.checked = all.checked; });
    refresh();
  });
  boxes.forEach((b) => b.addEventListener("change", refresh));

  function sessionMode() {
    const existing = session.value !== "";
    newName.disabled = existing;
    schemas.forEach((s) => { s.disabled = existing; });
  }
  session.addEventListener("change", sessionMode);
  sessionMode();
  refresh();
})();
