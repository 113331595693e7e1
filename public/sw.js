// Confab's service worker. It shows the notifications a page may not show itself (Android's
// browsers allow them only from a service worker) and opens the conversation one is about when
// it is clicked. It caches nothing and answers no request: the network is always asked.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = typeof event.notification.data === "string" ? event.notification.data : "/";
  const url = new URL(path, self.location.origin);
  // Started before `waitUntil`, which keeps the worker alive until it is done.
  const opened = open(url);
  event.waitUntil(opened);
});

/** Brings a page of the app forward and has it open `url` in place (its socket and unsent
 * messages stay), or opens a new one. */
async function open(url) {
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const page = pages.find((client) => new URL(client.url).origin === url.origin);
  if (!page) {
    await self.clients.openWindow(url.href);
    return;
  }
  page.postMessage({ open: url.pathname });
  // Allowed only while a click is handled; the page opens the conversation either way.
  await page.focus().catch(() => {});
}
