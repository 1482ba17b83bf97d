// Keeps the base stations table live while a re-push runs: every few seconds the page is
// fetched again and its table body swapped in, so the figures are formatted in one place
// (the server) and the forms keep working.
"use strict";

const STATIONS_REFRESH_MS = 5000;

async function refreshStations(table) {
  if (document.hidden) return;
  let response;
  try {
    response = await fetch(table.dataset.refreshUrl, { credentials: "same-origin" });
  } catch (error) {
    return; // offline for a moment: try again at the next tick
  }
  if (!response.ok) return;
  const fresh = new DOMParser()
    .parseFromString(await response.text(), "text/html")
    .querySelector("#stations-table tbody");
  if (fresh) table.tBodies[0].replaceWith(document.importNode(fresh, true));
  table.dataset.refreshed = String(Number(table.dataset.refreshed || 0) + 1);
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("stations-table");
  if (table && table.dataset.refreshUrl) {
    window.setInterval(() => refreshStations(table), STATIONS_REFRESH_MS);
  }
});
