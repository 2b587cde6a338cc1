// The dock's service worker (issue 12 §7): the receiving pages keep opening when the phone loses
// its connection. Network first; a page that answered is kept, and served from the phone when
// the network fails. Only the dock's pages and the static files are kept; signing in or out
// empties the store (the pages hold the user's session token and data).
var STORE = "dock-v1";
// The count page's repeat-claim panel (goods) loads with the page, so it is kept with it: offline
// the clerk still sees the flags as last loaded, and the page makes no failing request.
var DOCK = /^\/(receiving\/?|batches\/\d+\/receive|goods\/batches\/\d+\/panel|static\/.+)$/;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname === "/login" || url.pathname === "/logout") {
    event.waitUntil(caches.delete(STORE));
    return;
  }
  if (!DOCK.test(url.pathname)) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      event.waitUntil(caches.open(STORE).then(function (store) { return store.put(request, copy); }));
    }
    return response;
  }, function () {
    return caches.open(STORE).then(function (store) {
      return store.match(request).then(function (kept) {
        return kept || store.match(request, { ignoreSearch: true });
      });
    }).then(function (kept) { return kept || Response.error(); });
  }));
});
