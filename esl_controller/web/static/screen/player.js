// The browser player (docs/screens.md): pairs itself, streams its commands over
// Server-Sent Events, plays its schedule on two layers, shows overrides until their TTL,
// keeps playing offline from the service worker's cache and buffers proof of play in
// IndexedDB until the controller has it.
(() => {
  "use strict";

  const VERSION = document.body.dataset.version || "dev";
  const API = "/screen/api";
  const KEYS = { token: "esl-screen-token", player: "esl-screen-player", schedule: "esl-screen-schedule" };
  const HEARTBEAT_MS = 5000;
  const RECONNECT_MS = 2000;
  const PAIR_POLL_MS = 1500;
  const PAIR_FALLBACK_MS = 60000; // a code's lifetime when the controller's answer lacks one
  const FLUSH_MS = 5000;
  const PREPARE_TIMEOUT_MS = 8000;
  const MEDIA_CACHE = "esl-screen-media-v1"; // the service worker's caches (sw.js)
  const SHELL_CACHE = "esl-screen-shell-v1";

  const $ = (id) => document.getElementById(id);
  const layers = [$("layer-a"), $("layer-b")];
  const overrideLayer = $("layer-override");

  const state = {
    token: localStorage.getItem(KEYS.token),
    player: localStorage.getItem(KEYS.player),
    clockOffsetMs: 0, // controller clock minus this screen's clock
    playlist: null,
    index: -1,
    front: 0, // which of the two layers shows the schedule
    current: null, // {item, started, visible, counting, element}
    next: null, // {item, promise}: the next item, preloaded
    timer: null,
    override: null, // {command, started, visible, counting, timer}
    arriving: new Set(), // media of overrides being loaded, kept by the cache pruning
    errors: [],
    stream: null,
    online: false,
    generation: 0, // bumps when the schedule restarts, so stale timers do nothing
  };

  // -- time and ids ------------------------------------------------------------------------

  const controllerNow = () => Date.now() + state.clockOffsetMs;
  const isoAt = (ms) => new Date(ms).toISOString();

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // -- the play buffer (IndexedDB) -----------------------------------------------------------

  const playStore = (() => {
    let opened = null;
    const open = () =>
      (opened ||= new Promise((resolve, reject) => {
        const request = indexedDB.open("esl-screen", 1);
        request.onupgradeneeded = () => request.result.createObjectStore("plays", { keyPath: "play_id" });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      }));
    const run = (mode, work) =>
      open().then(
        (db) =>
          new Promise((resolve, reject) => {
            const tx = db.transaction("plays", mode);
            const result = work(tx.objectStore("plays"));
            tx.oncomplete = () => resolve(result.result === undefined ? result : result.result);
            tx.onerror = () => reject(tx.error);
          }),
      );
    return {
      put: (play) => run("readwrite", (store) => store.put(play)),
      some: (limit) => run("readonly", (store) => store.getAll(null, limit)),
      remove: (ids) => run("readwrite", (store) => ids.forEach((id) => store.delete(id)) || {}),
    };
  })();

  let flushing = false;
  async function flushPlays() {
    if (flushing || !state.token) return;
    flushing = true;
    try {
      for (;;) {
        const plays = await playStore.some(200);
        if (!plays.length) break;
        const response = await post("/plays", { plays, ...facts() });
        if (!response.ok) break;
        await playStore.remove(plays.map((play) => play.play_id));
      }
    } catch (_offline) {
      // kept in IndexedDB; the next flush sends them with the same play ids
    } finally {
      flushing = false;
    }
  }

  function record(item, begun, extra) {
    // Counts only what was seen: the page visible throughout, a video actually playing.
    if (!begun || !begun.counting || !begun.visible) return;
    const elapsed = performance.now() - begun.started;
    if (elapsed < 200) return;
    const endMs = begun.startedAt + elapsed;
    const play = {
      play_id: uuid4(),
      player: state.player,
      item: item.id,
      started_at: isoAt(begun.startedAt),
      ended_at: isoAt(endMs),
      campaign_id: extra.campaign_id ?? null,
      creative_id: extra.creative_id ?? null,
      override_id: extra.override_id ?? null,
      trigger_id: extra.trigger_id ?? null,
    };
    playStore.put(play).then(flushPlays, () => reportError(item, "could not buffer the play"));
  }

  function facts() {
    return { version: VERSION, width: Math.round(screen.width * devicePixelRatio) || window.innerWidth, height: Math.round(screen.height * devicePixelRatio) || window.innerHeight };
  }

  // -- talking to the controller ----------------------------------------------------------

  function post(path, body) {
    return fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
      body: JSON.stringify(body),
    }).then((response) => {
      if (response.status === 401) unpair();
      return response;
    });
  }

  function reportError(item, reason) {
    state.errors.push({ item: item ? String(item.id).slice(0, 100) : "", reason: String(reason).slice(0, 300) });
    state.errors = state.errors.slice(-20);
  }

  async function heartbeat() {
    if (!state.token) return;
    const errors = state.errors.splice(0);
    const shown = state.override ? state.override.command.item : state.current && state.current.item;
    try {
      const response = await post("/status", {
        state: "online",
        now_playing: shown ? shown.id : null,
        override_id: state.override ? state.override.command.override_id : null,
        cache_items: await cachedMediaCount(),
        errors,
        ...facts(),
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const body = await response.json();
      if (body.now) state.clockOffsetMs = Date.parse(body.now) - Date.now();
    } catch (_offline) {
      state.errors.unshift(...errors.slice(0, 20 - state.errors.length));
    }
  }

  async function cachedMediaCount() {
    if (!window.caches) return null;
    try {
      // Tidied first (it also catches a fetch that finished after the last tidy-up), so the
      // figure is what the screen keeps: the media its schedule and overrides need.
      await pruneCache();
      return (await (await caches.open(MEDIA_CACHE)).keys()).length;
    } catch (_unavailable) {
      return null;
    }
  }

  async function stream() {
    const myToken = state.token;
    while (state.token === myToken) {
      try {
        const response = await fetch(API + "/events", {
          headers: { Authorization: `Bearer ${myToken}`, Accept: "text/event-stream" },
          cache: "no-store",
        });
        if (response.status === 401 || response.status === 403) return unpair();
        if (!response.ok || !response.body) throw new Error(`events ${response.status}`);
        await readEvents(response.body.getReader());
      } catch (_lost) {
        // offline or the web restarted: keep playing, try again
      }
      state.online = false;
      await sleep(RECONNECT_MS);
    }
  }

  async function readEvents(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) kind = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) handle(kind, data.join("\n"));
      }
    }
  }

  function handle(kind, data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (_bad) {
      return reportError(null, `unreadable ${kind} message`);
    }
    if (kind === "ready") {
      if (message.now) state.clockOffsetMs = Date.parse(message.now) - Date.now();
      state.online = true;
      heartbeat();
      flushPlays();
    } else if (kind === "playlist") {
      receivePlaylist(message);
    } else if (kind === "override") {
      receiveOverride(message);
    } else if (kind === "revert") {
      if (state.override && state.override.command.override_id === message.override_id) endOverride();
    } else if (kind === "revoked") {
      unpair();
    }
  }

  // -- media ------------------------------------------------------------------------------

  const mediaUrl = (item) => `/media/${item.media}`;

  function slideUrl(item) {
    return `/screen/slide/${encodeURIComponent(item.gtin)}`;
  }

  function withTimeout(promise, ms, what) {
    return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what} took too long`)))]);
  }

  function once(element, ok, bad) {
    return new Promise((resolve, reject) => {
      element.addEventListener(ok, () => resolve(element), { once: true });
      element.addEventListener(bad, () => reject(new Error(`${element.tagName.toLowerCase()} failed to load`)), { once: true });
    });
  }

  async function build(item) {
    if (item.gtin) {
      // The product's HTML slide, from the live catalogue; its image is the fallback (and
      // what plays offline). A frame cannot send the screen's token, so the page fetches the
      // slide with it and hands the frame the document.
      const answer = await fetch(slideUrl(item), {
        headers: { Authorization: `Bearer ${state.token}`, Accept: "text/html" },
      }).catch(() => null);
      if (answer && answer.ok) return frame(null, await answer.text());
    }
    if (item.type === "image") {
      const image = new Image();
      image.alt = "";
      image.src = mediaUrl(item);
      await image.decode();
      return image;
    }
    if (item.type === "video") {
      const video = document.createElement("video");
      video.muted = true;
      video.playsInline = true;
      video.loop = true;
      video.preload = "auto";
      const ready = once(video, "canplay", "error");
      video.src = mediaUrl(item);
      return ready;
    }
    if (item.type === "web" && item.url) return frame(item.url);
    throw new Error(`cannot show an item of type ${item.type}`);
  }

  function frame(src, html) {
    const iframe = document.createElement("iframe");
    iframe.setAttribute("sandbox", "allow-scripts allow-same-origin");
    iframe.setAttribute("scrolling", "no");
    const loaded = once(iframe, "load", "error");
    if (html !== undefined) iframe.srcdoc = html;
    else iframe.src = src;
    return { element: iframe, loaded };
  }

  function prepare(item) {
    // Resolves to a ready element (not yet attached) or null when the item cannot play.
    const work = Promise.resolve(build(item)).then((built) => {
      if (built && built.element) return built; // an iframe loads once attached
      return { element: built, loaded: Promise.resolve() };
    });
    return withTimeout(work, PREPARE_TIMEOUT_MS, "loading").catch((error) => {
      reportError(item, error.message || "failed to load");
      return null;
    });
  }

  function warmCache(playlist) {
    for (const item of (playlist && playlist.items) || []) {
      if (item.media) fetch(mediaUrl(item)).catch(() => {});
    }
  }

  // The cache keeps what the schedule and the override on screen (or arriving) need; the
  // rest goes, so media of dropped items and ended overrides do not pile up. Run after every
  // change of either, it bounds the cache by the playlist plus the overrides in force.
  function neededMedia() {
    const needed = new Set(state.arriving);
    for (const item of (state.playlist && state.playlist.items) || []) if (item.media) needed.add(item.media);
    if (state.override && state.override.command.item.media) needed.add(state.override.command.item.media);
    return needed;
  }

  function neededSlides() {
    const needed = new Set();
    for (const item of (state.playlist && state.playlist.items) || []) if (item.gtin) needed.add(slideUrl(item));
    if (state.override && state.override.command.item.gtin) needed.add(slideUrl(state.override.command.item));
    return needed;
  }

  async function dropUnneeded(cacheName, prefix, needed) {
    const cache = await caches.open(cacheName);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (path.startsWith(prefix) && !needed(path)) await cache.delete(request);
    }
  }

  let pruning = Promise.resolve();
  function pruneCache() {
    if (!window.caches) return pruning;
    pruning = pruning
      .then(async () => {
        const media = neededMedia();
        const slides = neededSlides();
        await dropUnneeded(MEDIA_CACHE, "/media/", (path) => media.has(path.slice("/media/".length)));
        await dropUnneeded(SHELL_CACHE, "/screen/slide/", (path) => slides.has(path));
      })
      .catch(() => {}); // no cache to tidy (storage refused): nothing piles up either
    return pruning;
  }

  // -- the schedule -------------------------------------------------------------------------

  function receivePlaylist(message) {
    if (!message || typeof message !== "object" || !Array.isArray(message.items)) {
      return reportError(null, "malformed playlist: no list of items");
    }
    if (state.playlist && state.playlist.digest === message.digest) return;
    localStorage.setItem(KEYS.schedule, JSON.stringify(message));
    // An item this page cannot play is left out (and reported once) before anything is
    // fetched for it; the rest of the playlist plays.
    const items = [];
    for (const item of message.items) {
      const problem = itemProblem(item) || durationProblem(item);
      if (problem) reportError(item && typeof item === "object" ? item : null, `playlist item skipped: ${problem}`);
      else items.push(item);
    }
    const playlist = { ...message, items };
    warmCache(playlist);
    const first = !state.playlist || !state.playlist.items.length;
    state.playlist = playlist;
    state.index = -1;
    state.next = null;
    pruneCache();
    if (first && !state.override) restartSchedule();
  }

  function restartSchedule() {
    state.generation += 1;
    clearTimeout(state.timer);
    playNext(state.generation);
  }

  async function playNext(generation) {
    if (generation !== state.generation || state.override) return;
    const items = (state.playlist && state.playlist.items) || [];
    $("idle").hidden = items.length > 0;
    if (!items.length) {
      finishCurrent();
      layers.forEach((layer) => layer.classList.remove("on"));
      return;
    }
    for (let attempt = 0; attempt < items.length; attempt += 1) {
      state.index = (state.index + 1) % items.length;
      const item = items[state.index];
      const prepared = state.next && state.next.item === item ? await state.next.promise : await prepare(item);
      state.next = null;
      if (generation !== state.generation || state.override) return;
      if (prepared && (await show(item, prepared))) {
        const upcoming = items[(state.index + 1) % items.length];
        if (upcoming !== item) state.next = { item: upcoming, promise: prepare(upcoming) };
        state.timer = setTimeout(() => {
          finishCurrent();
          playNext(generation);
        }, item.duration_s * 1000);
        return;
      }
    }
    // Nothing in the playlist can play right now: try again shortly (reported already).
    state.timer = setTimeout(() => playNext(generation), 2000);
  }

  function begin(element) {
    const begun = {
      started: performance.now(),
      startedAt: controllerNow(),
      visible: document.visibilityState === "visible",
      counting: element.tagName !== "VIDEO",
    };
    if (element.tagName === "VIDEO") {
      element.addEventListener("playing", () => {
        if (!begun.counting) {
          begun.counting = true;
          begun.started = performance.now();
          begun.startedAt = controllerNow();
        }
      });
      element.addEventListener("error", () => (begun.counting = false));
    }
    return begun;
  }

  async function show(item, prepared) {
    const back = layers[1 - state.front];
    back.replaceChildren(prepared.element);
    try {
      await withTimeout(prepared.loaded, PREPARE_TIMEOUT_MS, "loading");
      if (prepared.element.tagName === "VIDEO") {
        prepared.element.currentTime = 0;
        await prepared.element.play();
      }
    } catch (error) {
      back.replaceChildren();
      reportError(item, error.message || "failed to play");
      return false;
    }
    finishCurrent();
    back.classList.add("on");
    layers[state.front].classList.remove("on");
    const old = layers[state.front];
    setTimeout(() => {
      if (!old.classList.contains("on")) old.replaceChildren();
    }, 400);
    state.front = 1 - state.front;
    state.current = { item, element: prepared.element, ...begin(prepared.element) };
    return true;
  }

  function finishCurrent() {
    const current = state.current;
    state.current = null;
    if (!current) return;
    record(current.item, current, {});
    if (current.element.tagName === "VIDEO") current.element.pause();
  }

  // -- overrides ------------------------------------------------------------------------------

  // What each item type needs before the page can try it; anything else is refused
  // before a request is made for it.
  const NEEDS = { image: "media", video: "media", web: "url" };

  function itemProblem(item) {
    if (!item || typeof item !== "object" || typeof item.id !== "string") return "no item";
    if (!Object.hasOwn(NEEDS, item.type)) return `unknown item type ${String(item.type).slice(0, 40)}`;
    if (!item[NEEDS[item.type]] && !item.gtin) return `${item.type} item without ${NEEDS[item.type]}`;
    return null;
  }

  // A schedule item plays for its duration (an override until its expiry instead).
  const durationProblem = (item) =>
    typeof item.duration_s === "number" && item.duration_s > 0 ? null : `${item.type} item without a duration`;

  function overrideProblem(command) {
    if (!command || typeof command !== "object" || typeof command.override_id !== "number") return "malformed override";
    const problem = itemProblem(command.item);
    if (problem) return `malformed override: ${problem}`;
    if (Number.isNaN(Date.parse(command.expires_at))) return "malformed override: no expiry";
    return null;
  }

  async function receiveOverride(command) {
    const problem = overrideProblem(command);
    if (problem) {
      // Reported, and the schedule (or the override on screen) goes on.
      return reportError(command && command.item && typeof command.item === "object" ? command.item : null, problem);
    }
    // Expiry is on the controller's clock (the offset learnt from its answers), so a
    // screen whose own clock is hours off still shows an override for its TTL.
    const expires = Date.parse(command.expires_at);
    if (!(expires > controllerNow())) return; // already over
    if (state.override && state.override.command.override_id === command.override_id) return;
    if (state.override && state.override.command.priority > command.priority) return;
    const media = command.item.media;
    if (media) state.arriving.add(media);
    try {
      const prepared = await prepare(command.item);
      if (!prepared) return; // reported; the schedule goes on
      overrideLayer.replaceChildren(prepared.element);
      try {
        await withTimeout(prepared.loaded, PREPARE_TIMEOUT_MS, "loading");
        if (prepared.element.tagName === "VIDEO") await prepared.element.play();
      } catch (error) {
        overrideLayer.replaceChildren();
        return reportError(command.item, error.message || "failed to play");
      }
      showOverride(command, prepared, expires);
    } finally {
      if (media) state.arriving.delete(media);
    }
    pruneCache(); // a replaced override's media goes
  }

  function showOverride(command, prepared, expires) {
    if (state.override) finishOverride();
    clearTimeout(state.timer);
    state.generation += 1; // the schedule waits underneath
    finishCurrent();
    overrideLayer.classList.add("on");
    // The first frame painted with the override, on the epoch clock (benchmarks read it).
    requestAnimationFrame(() => {
      document.body.dataset.overrideShownAt = String(performance.timeOrigin + performance.now());
    });
    const timer = setTimeout(endOverride, Math.max(0, expires - controllerNow()));
    state.override = { command, timer, ...begin(prepared.element) };
    heartbeat();
  }

  function finishOverride() {
    const active = state.override;
    state.override = null;
    if (!active) return;
    clearTimeout(active.timer);
    const { command } = active;
    record(command.item, active, {
      override_id: command.override_id,
      campaign_id: command.campaign_id,
      creative_id: command.creative_id,
      trigger_id: command.trigger_id,
    });
  }

  function endOverride() {
    finishOverride();
    overrideLayer.classList.remove("on");
    setTimeout(() => {
      if (!state.override) overrideLayer.replaceChildren();
    }, 400);
    state.index -= 1; // the item the override interrupted plays again
    restartSchedule();
    pruneCache();
    heartbeat();
  }

  // -- pairing ----------------------------------------------------------------------------

  function unpair() {
    state.token = null;
    localStorage.removeItem(KEYS.token);
    localStorage.removeItem(KEYS.player);
    pair();
  }

  class Throttled extends Error {
    constructor(message, waitMs) {
      super(message);
      this.waitMs = waitMs;
    }
  }

  async function throttled(response) {
    // The controller limits pairing calls per address; it says how long to wait.
    const seconds = Number(response.headers.get("Retry-After"));
    const answer = await response.json().catch(() => ({}));
    const waitMs = Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : PAIR_FALLBACK_MS, 15 * 60 * 1000);
    return new Throttled(answer.error || "Too many pairing attempts; waiting before trying again.", waitMs);
  }

  async function claim(body) {
    const response = await fetch(API + "/pairings/claim", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 202) return null;
    if (response.status === 429) throw await throttled(response);
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `pairing ${response.status}`);
    return answer;
  }

  let pairing = false;
  async function pair() {
    if (pairing) return;
    pairing = true;
    $("pairing").hidden = false;
    const link = new URLSearchParams(location.hash.slice(1)).get("pair");
    if (link) {
      history.replaceState(null, "", location.pathname); // the secret leaves the address bar
      try {
        const answer = await claim({ link });
        if (answer) return paired(answer);
      } catch (error) {
        $("pair-status").textContent = `${error.message}; showing a code instead.`;
      }
    }
    for (;;) {
      let pending;
      try {
        const response = await fetch(API + "/pairings", { method: "POST" });
        if (response.status === 429) {
          const refusal = await throttled(response);
          $("pair-status").textContent = refusal.message;
          await sleep(refusal.waitMs);
          $("pair-status").textContent = "";
          continue;
        }
        pending = await response.json();
      } catch (_offline) {
        $("pair-status").textContent = "Cannot reach the controller; retrying…";
        await sleep(RECONNECT_MS);
        continue;
      }
      $("pair-code").textContent = pending.code;
      $("pair-code-cli").textContent = pending.code;
      // The code's lifetime on the controller's clock, counted down on this screen's
      // monotonic clock: a screen whose wall clock is off still keeps its code.
      const lifetime = Date.parse(pending.expires_at) - Date.parse(pending.now);
      const deadline = performance.now() + (lifetime > 0 ? lifetime : PAIR_FALLBACK_MS);
      while (performance.now() < deadline) {
        await sleep(PAIR_POLL_MS);
        try {
          const answer = await claim({ code: pending.code, claim: pending.claim });
          if (answer) return paired(answer);
        } catch (error) {
          if (!(error instanceof Throttled)) break; // expired or collected: a new code
          $("pair-status").textContent = error.message;
          await sleep(Math.min(error.waitMs, Math.max(0, deadline - performance.now())));
          $("pair-status").textContent = "";
        }
      }
    }
  }

  function paired(answer) {
    pairing = false;
    state.token = answer.token;
    state.player = answer.player;
    localStorage.setItem(KEYS.token, answer.token);
    localStorage.setItem(KEYS.player, answer.player);
    $("pairing").hidden = true;
    stream();
  }

  // -- start --------------------------------------------------------------------------------

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") {
      if (state.current) state.current.visible = false;
      if (state.override) state.override.visible = false;
    }
  });
  window.addEventListener("online", flushPlays);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/screen/sw.js", { scope: "/screen" }).catch(() => {
      reportError(null, "offline cache unavailable (service worker refused)");
    });
    // Fetches before the worker took over went past it: warm its cache now.
    navigator.serviceWorker.addEventListener("controllerchange", () => warmCache(state.playlist));
  }

  const kept = localStorage.getItem(KEYS.schedule);
  if (kept && state.token) {
    try {
      receivePlaylist(JSON.parse(kept));
    } catch (_stale) {
      localStorage.removeItem(KEYS.schedule);
    }
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  setInterval(flushPlays, FLUSH_MS);
  if (state.token) stream();
  else pair();
})();
