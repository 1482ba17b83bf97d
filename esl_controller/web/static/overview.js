// Keeps the overview counts live: polls /api/v1/summary and fills every [data-field].
// Words and the store's time zone come from the page (data-* on #summary), so they follow
// the dashboard's language and show the store's clock, not the browser's.
"use strict";

const REFRESH_MS = 3000;

function pick(data, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), data);
}

function words(section, key, values) {
  let text = section.dataset[key] || "";
  for (const [name, value] of Object.entries(values || {})) text = text.replace("{" + name + "}", value);
  return text;
}

function storeTime(section) {
  const zone = section.dataset.timeZone || "UTC";
  const time = new Date().toLocaleTimeString(section.dataset.lang || undefined, { timeZone: zone });
  return time + " " + zone;
}

function renderIncidents(section, table, counts) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  const kinds = Object.keys(counts).sort();
  if (kinds.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.className = "muted";
    cell.textContent = words(section, "textNoIncidents");
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
  renderIncidents(section, document.getElementById("incident-counts"), data.incidents_by_kind);
  document.getElementById("refreshed").textContent = words(section, "textRefreshed", {
    time: storeTime(section),
  });
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
    document.getElementById("refreshed").textContent = words(section, "textFailed", {
      reason: error.message,
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const section = document.getElementById("summary");
  if (!section) return;
  refresh(section);
  setInterval(() => refresh(section), REFRESH_MS);
});
