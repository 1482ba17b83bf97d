// The playlist editor: reorder items by dragging or with the Up/Down buttons, in place.
// Without this script every button still works: it posts the form and the server moves
// the item. The server reads the items in the order of their fields, so moving the rows is
// all a reorder needs; each row's buttons are renumbered to match.
"use strict";

(function () {
  const list = document.getElementById("playlist-items");
  if (!list) return;
  const status = document.getElementById("move-status");
  let dragged = null;

  function rows() {
    return Array.from(list.querySelectorAll(".item-row"));
  }

  function caption(row) {
    const text = row.querySelector(".caption-text");
    return text ? text.textContent.trim() : row.dataset.itemId;
  }

  function renumber() {
    rows().forEach(function (row, index) {
      row.querySelectorAll("button[name=action]").forEach(function (button) {
        button.value = button.value.split(":")[0] + ":" + index;
      });
    });
    const note = document.getElementById("unsaved-note");
    if (!note) {
      const bar = document.querySelector(".editor-bar");
      const span = document.createElement("span");
      span.className = "muted";
      span.id = "unsaved-note";
      span.textContent = status.dataset.textUnsaved || "Changes not saved yet.";
      bar.appendChild(span);
    }
  }

  function announce(row) {
    const position = rows().indexOf(row) + 1;
    const template = status.dataset.textMoved || "{item} is now item {position} of {count}.";
    status.textContent = template
      .replace("{item}", caption(row))
      .replace("{position}", position)
      .replace("{count}", rows().length);
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest("button.move-up, button.move-down");
    if (!button) return;
    event.preventDefault();
    const row = button.closest(".item-row");
    if (button.classList.contains("move-up")) {
      const before = row.previousElementSibling;
      if (before) list.insertBefore(row, before);
    } else {
      const after = row.nextElementSibling;
      if (after) list.insertBefore(after, row);
    }
    renumber();
    button.focus();
    announce(row);
  });

  function clearMarks() {
    rows().forEach(function (row) {
      row.classList.remove("drop-before", "drop-after");
    });
  }

  function dropsBefore(row, event) {
    const box = row.getBoundingClientRect();
    return event.clientY < box.top + box.height / 2;
  }

  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest(".item-row");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.itemId);
  });

  list.addEventListener("dragover", function (event) {
    const row = event.target.closest(".item-row");
    if (!dragged || !row || row === dragged) return;
    event.preventDefault();
    clearMarks();
    row.classList.add(dropsBefore(row, event) ? "drop-before" : "drop-after");
  });

  list.addEventListener("drop", function (event) {
    const row = event.target.closest(".item-row");
    if (!dragged || !row) return;
    event.preventDefault();
    if (row !== dragged) {
      list.insertBefore(dragged, dropsBefore(row, event) ? row : row.nextElementSibling);
      renumber();
      announce(dragged);
    }
    clearMarks();
  });

  list.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearMarks();
  });
})();
