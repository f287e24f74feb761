// Shian: the inspector's service worker (scope /inspector). It keeps the worklist, the business
// pages and checklists visited, and the static files, so that they open with no network.
// Pages: network first (the newest when online), the kept copy when offline. Static files are
// versioned (?v=), so cache first. Only GETs of our own origin are touched; commands are never
// kept or replayed here (the page's queue in IndexedDB does that, with idempotency keys).
"use strict";
var VERSION = new URL(self.location.href).searchParams.get("v") || "0";
var PAGES = "shian-inspector-pages-" + VERSION;
var STATIC = "shian-inspector-static-" + VERSION;
var STATIC_FILES = [
  "/static/app.css", "/static/app.js", "/static/inspector.js", "/static/vendor/htmx/htmx.min.js"
].map(function (path) { return path + "?v=" + VERSION; });

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC).then(function (cache) { return cache.addAll(STATIC_FILES); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("shian-inspector-") === 0 && name !== PAGES && name !== STATIC;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keepable(response) {
  // a page of ours as asked for: not a redirect to sign-in, not an error page
  return response && response.ok && response.type === "basic" && !response.redirected;
}

function pageFirstFromNetwork(request) {
  return fetch(request).then(function (response) {
    if (keepable(response)) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) { return cache.match(request); }).then(function (kept) {
      if (kept) { return kept; }
      return new Response(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>离线 · 食安</title>" +
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body><main>" +
        "<h1>网络不可用</h1><p>这个页面还没有保存在本机。联网后再打开；已保存的页面可从" +
        "<a href=\"/inspector\">检查任务</a>进入。</p></main></body></html>",
        { status: 503, headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" } }
      );
    });
  });
}

function staticFirstFromCache(request) {
  return caches.open(STATIC).then(function (cache) {
    return cache.match(request).then(function (kept) {
      return kept || fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFirstFromCache(request));
  } else if ((url.pathname === "/inspector" || url.pathname.indexOf("/inspector/") === 0) &&
             url.pathname !== "/inspector/sw.js") {
    event.respondWith(pageFirstFromNetwork(request));
  }
});

function keep(path) {
  var url = new URL(path, self.location.origin);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/inspector") !== 0) { return Promise.resolve(); }
  return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
    if (keepable(response)) {
      return caches.open(PAGES).then(function (cache) { return cache.put(url.href, response); });
    }
  }).catch(function () {});
}

// a page shown before this worker took control asks to be kept; signing out clears what this
// phone keeps of the inspector's pages
self.addEventListener("message", function (event) {
  if (event.data === "forget") {
    event.waitUntil(caches.delete(PAGES));
  } else if (event.data && typeof event.data.keep === "string") {
    event.waitUntil(keep(event.data.keep));
  }
});
