// "Add a line" on an invoice form: a copy of the last row, emptied and numbered next.
// Without this script the form still has a few blank rows.
(function () {
  "use strict";
  var MAX_LINES = 30;
  document.querySelectorAll("[data-invoice-lines]").forEach(function (lines) {
    var add = lines.querySelector("[data-add-line]");
    if (!add) return;
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = lines.querySelectorAll("[data-line]");
      if (rows.length >= MAX_LINES) {
        add.disabled = true;
        return;
      }
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      row.querySelectorAll("input, select").forEach(function (field) {
        field.name = field.name.replace(/\.\d+$/, "." + rows.length);
        if (field.tagName === "SELECT") field.selectedIndex = 0;
        else field.value = "";
        field.placeholder = "";
      });
      last.after(row);
      row.querySelector("input").focus();
      if (rows.length + 1 >= MAX_LINES) add.disabled = true;
    });
  });
})();
