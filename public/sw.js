// Confab's service worker. It shows the notifications a page may not show itself (Android's
// browsers allow them only from a service worker), and those of messages pushed while no page
// of the app is on screen (Web Push), opens the conversation one is about when it is clicked,
// and keeps the browser subscribed to pushes when its push service replaces a subscription.
// It caches nothing and answers no request: the network is always asked.

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

// A push service may end a subscription and offer another (Firefox does, when it renews the
// browser's keys): the worker subscribes again with the server's key and tells the server, so
// pushes go on without waiting for the user's next visit.
self.addEventListener("pushsubscriptionchange", (event) => {
  // Started before `waitUntil`, which keeps the worker alive until it is done.
  const renewed = renew(event.oldSubscription, event.newSubscription);
  event.waitUntil(renewed);
});

/** Saves the subscription that replaces `old` (made here if the browser offers none), under
 * the session signed in, and forgets `old`. */
async function renew(old, fresh) {
  let subscription = fresh;
  if (!subscription) {
    const answer = await fetch("/api/push/key");
    // The server no longer pushes.
    if (!answer.ok) return;
    const { public_key: key } = await answer.json();
    subscription = await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key,
    });
  }
  const json = { "content-type": "application/json" };
  await fetch("/api/push/subscriptions", {
    method: "POST",
    headers: json,
    body: JSON.stringify(subscription.toJSON()),
  });
  if (old && old.endpoint !== subscription.endpoint) {
    await fetch("/api/push/subscriptions", {
      method: "DELETE",
      headers: json,
      body: JSON.stringify({ endpoint: old.endpoint }),
    });
  }
}
