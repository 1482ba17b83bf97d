// Keeps a requested or running sync live: polls its /api/v1/sync-runs/<id> and fills
// every [data-field] inside the element carrying data-run-url. When its status changes
// (requested -> running -> succeeded / failed) the page reloads, so the server renders the
// progress line, then the final counts, alert and dead letters.
"use strict";

const SYNC_REFRESH_MS = 2000;

// The stamp's words come from the page (data-text-* on #refreshed), in the page's language.
function words(element, key, values) {
  let text = element.dataset[key] || "";
  for (const [name, value] of Object.entries(values)) text = text.replace("{" + name + "}", value);
  return text;
}

function showDuration(element, seconds) {
  element.textContent = seconds == null ? "" : seconds + " s";
}

function fill(element, run) {
  for (const target of element.querySelectorAll("[data-field]")) {
    const value = run[target.dataset.field];
    if (value === undefined) continue;
    if (target.dataset.field === "duration_s") {
      showDuration(target, value);
    } else if (target.querySelector("a") === null) {
      target.textContent = value;  // keep links (e.g. to the dead letters) in place
    }
  }
}

async function refresh(element) {
  try {
    const response = await fetch(element.dataset.runUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.reload(); // session ended: the reload lands on the login page
      return false;
    }
    if (!response.ok) return true;
    const run = await response.json();
    fill(element, run);
    if (run.status !== element.dataset.status) {
      window.location.reload();
      return false;
    }
    const stamp = document.getElementById("refreshed");
    if (stamp) stamp.textContent = words(stamp, "textRefreshed", { time: new Date().toLocaleTimeString() });
  } catch (error) {
    const stamp = document.getElementById("refreshed");
    if (stamp) stamp.textContent = words(stamp, "textFailed", { reason: error.message });
  }
  return true;
}

function watch(element) {
  const tick = async () => {
    if (await refresh(element)) setTimeout(tick, SYNC_REFRESH_MS);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll("[data-run-url]")) watch(element);
});
