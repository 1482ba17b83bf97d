// Keeps the overview counts live: polls /api/v1/summary and fills every [data-field].
"use strict";

const REFRESH_MS = 3000;

function pick(data, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), data);
}

function renderIncidents(table, counts) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  const kinds = Object.keys(counts).sort();
  if (kinds.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.className = "muted";
    cell.textContent = "No incidents.";
    return;
  }
  for (const kind of kinds) {
    const row = body.insertRow();
    const link = document.createElement("a");
    link.href = "/incidents?kind=" + encodeURIComponent(kind);
    link.textContent = kind;
    row.insertCell().append(link);
    const count = row.insertCell();
    count.className = "num";
    count.textContent = counts[kind];
  }
}

function render(section, data) {
  for (const element of section.ownerDocument.querySelectorAll("[data-field]")) {
    const value = pick(data, element.dataset.field);
    if (value !== undefined) element.textContent = value;
  }
  const progress = document.getElementById("labels-progress");
  progress.max = Math.max(data.labels.bound, 1);
  progress.value = data.labels.up_to_date;
  renderIncidents(document.getElementById("incident-counts"), data.incidents_by_kind);
  document.getElementById("refreshed").textContent =
    "Last refreshed " + new Date().toLocaleTimeString() + ".";
}

async function refresh(section) {
  try {
    const response = await fetch(section.dataset.summaryUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.reload(); // session ended: the reload lands on the login page
      return;
    }
    if (response.ok) render(section, await response.json());
  } catch (error) {
    document.getElementById("refreshed").textContent = "Refresh failed: " + error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("summary");
  if (!section) return;
  refresh(section);
  setInterval(() => refresh(section), REFRESH_MS);
});
