// Notifications: once the user allows them, a message they cannot see (in another
// conversation, or with the page hidden) shows one, titled as the list names its conversation
// (the server names one the list does not hold); a click opens that conversation. Until they
// are allowed, the list offers to turn them on.

import { expect, test } from "@playwright/test";

import {
  connectedChat,
  groupOf,
  NOTE_NOTIFICATIONS,
  register,
  send,
  setHidden,
  showList,
  shown,
  writesTo,
} from "./people";

test.describe("allowed", () => {
  test.use({ permissions: ["notifications"] });

  test("a message out of sight is notified, one in sight is not, and a click opens it", async ({
    page,
    request,
  }) => {
    await page.addInitScript(NOTE_NOTIFICATIONS);
    const ann = await register(page.request, "Ann");
    // The others on a request context of their own: the page's cookie stays Ann's.
    const bob = await writesTo(request, "Bob", ann);
    const cyd = await writesTo(request, "Cyd", ann);
    await page.goto(`/c/${bob.id}`);
    const chat = await connectedChat(page);
    await expect(page.getByRole("button", { name: "Turn on notifications" })).toHaveCount(0);

    // Another conversation: notified, under the name the list shows.
    await send(request, cyd.person.token, cyd.id, "Lunch on Friday?");
    await expect.poll(() => shown(page)).toEqual([
      { title: cyd.person.user.display_name, body: "Lunch on Friday?", tag: `conversation-${cyd.id}` },
    ]);

    // The open conversation, in sight: not notified.
    await send(request, bob.person.token, bob.id, "Seen it here");
    await expect(chat.getByText("Seen it here")).toBeVisible();
    // The open one with the page hidden: notified.
    await setHidden(page, true);
    await send(request, bob.person.token, bob.id, "While you were away");
    await expect.poll(async () => (await shown(page)).map((n) => n.body)).toEqual([
      "Lunch on Friday?",
      "While you were away",
    ]);
    // One's own messages never are (sent from elsewhere, here with the page hidden).
    await send(page.request, ann.token, cyd.id, "Yes!");
    await setHidden(page, false);

    // A new one from Cyd (the list after it holds no "Yes!"), clicked: Cyd's conversation opens.
    await send(request, cyd.person.token, cyd.id, "Great, see you");
    await expect.poll(async () => (await shown(page)).map((n) => n.body)).toEqual([
      "Lunch on Friday?",
      "While you were away",
      "Great, see you",
    ]);
    await page.evaluate(() =>
      (window as unknown as { __last: Notification }).__last.dispatchEvent(new Event("click")),
    );
    await expect(page).toHaveURL(new RegExp(`/c/${cyd.id}$`));
    await expect(
      page.getByRole("region", { name: `Conversation: ${cyd.person.user.display_name}` }),
    ).toContainText("Great, see you");

    // A conversation the list does not hold (here filtered out) is named all the same.
    await showList(page);
    const list = page.getByRole("navigation", { name: "Conversations" });
    await list.getByRole("searchbox", { name: "Search conversations" }).fill(cyd.person.user.username);
    await expect(list.getByRole("listitem")).toHaveCount(1);
    await send(request, bob.person.token, bob.id, "Still there?");
    await expect.poll(async () => (await shown(page)).at(-1)).toEqual({
      title: bob.person.user.display_name,
      body: "Still there?",
      tag: `conversation-${bob.id}`,
    });
    // In a group, its title, and the sender's name before the text (as a push has them).
    const group = await groupOf(request, bob.person.token, "Reunion", [ann.user.id]);
    await send(request, bob.person.token, group, "Who is coming?");
    await expect.poll(async () => (await shown(page)).at(-1)).toEqual({
      title: "Reunion",
      body: `${bob.person.user.display_name}: Who is coming?`,
      tag: `conversation-${group}`,
    });
  });
});

test.describe("allowed, where only a service worker may show them", () => {
  test.use({ permissions: ["notifications"] });

  test("the service worker shows them, and its click opens the conversation", async ({
    context,
    page,
    request,
  }) => {
    // As on Android: the page may not make a notification itself.
    await page.addInitScript(`(() => {
      const Real = window.Notification;
      function Refused() {
        throw new TypeError("Failed to construct 'Notification': Illegal constructor.");
      }
      Object.defineProperty(Refused, "permission", { get: () => Real.permission });
      Refused.requestPermission = (answer) => Real.requestPermission(answer);
      window.Notification = Refused;
    })()`);
    const ann = await register(page.request, "Ann");
    const bob = await writesTo(request, "Bob", ann);
    const cyd = await writesTo(request, "Cyd", ann);
    const started = context.waitForEvent("serviceworker");
    await page.goto(`/c/${bob.id}`);
    await connectedChat(page);
    const worker = context.serviceWorkers()[0] ?? (await started);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const notes = () =>
      worker.evaluate(async () => {
        const registration = (self as unknown as { registration: ServiceWorkerRegistration })
          .registration;
        const shown = await registration.getNotifications();
        return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
      });

    await send(request, cyd.person.token, cyd.id, "Lunch on Friday?");
    // A worker's first start on a fresh browser can be slow.
    await expect.poll(notes, { timeout: 15_000 }).toEqual([
      {
        title: cyd.person.user.display_name,
        body: "Lunch on Friday?",
        tag: `conversation-${cyd.id}`,
        data: `/c/${cyd.id}`,
      },
    ]);

    // Clicked: the worker has the page open the conversation in place.
    await worker.evaluate(async () => {
      const registration = (self as unknown as { registration: ServiceWorkerRegistration })
        .registration;
      const [shown] = await registration.getNotifications();
      // A click made here is not trusted: its `waitUntil` throws, after the work has started.
      self.dispatchEvent(new NotificationEvent("notificationclick", { notification: shown }));
    });
    await expect(page).toHaveURL(new RegExp(`/c/${cyd.id}$`));
    await expect(
      page.getByRole("region", { name: `Conversation: ${cyd.person.user.display_name}` }),
    ).toContainText("Lunch on Friday?");
    await expect.poll(notes).toEqual([]);
  });
});

test("until allowed, the list offers to turn notifications on", async ({ page }) => {
  await register(page.request, "Ann");
  await page.goto("/");
  const permission = await page.evaluate(() => Notification.permission);
  expect(permission).toBe("default");
  const offer = page.getByRole("button", { name: "Turn on notifications" });
  await expect(offer).toBeVisible();
});
