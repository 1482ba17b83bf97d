// The screen's service worker (docs/screens.md): media by content hash from the Cache API
// (a hash never changes content, so cache first), the page itself network first with the
// cached copy when the network is gone. The command stream and posts are never cached.
// The page tidies these caches (player.js, pruneCache): it knows the schedule, so it deletes
// the media and slides neither the playlist nor the override in force still needs.
"use strict";

const SHELL_CACHE = "esl-screen-shell-v1";
const MEDIA_CACHE = "esl-screen-media-v1";
const SHELL = ["/screen", "/static/screen/player.js", "/static/screen/player.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/screen/api/")) return;
  if (url.pathname.startsWith("/media/")) {
    event.respondWith(mediaFirstFromCache(url));
  } else if (SHELL.includes(url.pathname) || url.pathname.startsWith("/screen/slide/")) {
    event.respondWith(networkThenCache(request, url));
  }
});

async function mediaFirstFromCache(url) {
  const cache = await caches.open(MEDIA_CACHE);
  const key = url.origin + url.pathname; // a video's range requests share the whole file
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(key);
  if (response.ok && response.status === 200) await cache.put(key, response.clone());
  return response;
}

async function networkThenCache(request, url) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(url.pathname, response.clone());
    return response;
  } catch (offline) {
    const cached = await cache.match(url.pathname);
    if (cached) return cached;
    throw offline;
  }
}
