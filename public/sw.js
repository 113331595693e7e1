// Confab's service worker. It shows the notifications a page may not show itself (Android's
// browsers allow them only from a service worker), and those of messages pushed while no page
// of the app is on screen (Web Push), and opens the conversation one is about when it is
// clicked. It caches nothing and answers no request: the network is always asked.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let note = null;
  try {
    note = event.data ? event.data.json() : null;
  } catch {
    // Not ours: nothing to show.
  }
  if (!note || typeof note.title !== "string") return;
  // Started before `waitUntil`, which keeps the worker alive until it is done.
  const shown = showUnlessOnScreen(note);
  event.waitUntil(shown);
});

/** Shows a pushed message, `{title, body, tag, path}`, unless a page of the app is on screen:
 * that page shows its own notifications (none for the conversation open in it). Its `tag` is
 * the conversation's, as on the page's own, so one replaces the other. */
async function showUnlessOnScreen(note) {
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (pages.some((page) => page.visibilityState === "visible")) return;
  await self.registration.showNotification(note.title, {
    body: note.body,
    tag: note.tag,
    data: note.path,
  });
}

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
