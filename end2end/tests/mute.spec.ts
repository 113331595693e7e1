// Muting a conversation: from its header, for a while or until unmuted. Its messages still
// come and count, but show no notification, wait quietly in the list (🔕, a grey count, not
// in the tab's title), and the user's other devices follow at once.

import { expect, test } from "@playwright/test";

import {
  connectedChat,
  NOTE_NOTIFICATIONS,
  register,
  send,
  showList,
  shown,
  writesTo,
} from "./people";

test.use({ permissions: ["notifications"] });

test("a muted conversation is quiet on every device until unmuted", async ({
  context,
  page,
  request,
}) => {
  await page.addInitScript(NOTE_NOTIFICATIONS);
  const ann = await register(page.request, "Ann");
  const bob = await writesTo(request, "Bob", ann);
  const cyd = await writesTo(request, "Cyd", ann);
  const bobName = bob.person.user.display_name;

  // Muted from Bob's window, until Ann unmutes it.
  await page.goto(`/c/${bob.id}`);
  let chat = await connectedChat(page);
  await chat.getByRole("button", { name: "Mute", exact: true }).click();
  await page.getByRole("menuitem", { name: "Until I unmute" }).click();
  const unmute = chat.getByRole("button", { name: "Unmute" });
  await expect(unmute).toHaveAttribute("title", "Muted until you unmute it");

  // On the list (both out of sight), once its socket is up: Bob's message comes, quietly;
  // Cyd's is notified.
  const established: string[] = [];
  page.on("websocket", (ws) =>
    ws.on("framereceived", ({ payload }) => {
      if (String(payload).includes("connection:established")) established.push(ws.url());
    }),
  );
  await page.goto("/");
  await expect.poll(() => established.length, { timeout: 20_000 }).toBe(1);
  await showList(page);
  const list = page.getByRole("navigation", { name: "Conversations" });
  const bobs = list.getByRole("listitem").filter({ hasText: bobName });
  await send(request, bob.person.token, bob.id, "Quiet please");
  await expect(bobs).toContainText("Quiet please");
  await expect(bobs.getByRole("img", { name: "Muted" })).toBeVisible();
  await expect(bobs.getByLabel("1 unread")).toHaveClass(/quiet/);
  await send(request, cyd.person.token, cyd.id, "Heard");
  await expect.poll(async () => (await shown(page)).map((n) => n.body)).toEqual(["Heard"]);
  // The tab counts Cyd's unread message, not Bob's.
  await expect(page).toHaveTitle("(1) Confab");

  // Ann's other device shows the mute, and unmutes: this one follows at once.
  const laptop = await context.newPage();
  await laptop.goto(`/c/${bob.id}`);
  chat = await connectedChat(laptop);
  await chat.getByRole("button", { name: "Unmute" }).click();
  await expect(chat.getByRole("button", { name: "Mute", exact: true })).toBeVisible();
  await expect(bobs.getByRole("img", { name: "Muted" })).toHaveCount(0);
  await send(request, bob.person.token, bob.id, "Loud again");
  await expect.poll(async () => (await shown(page)).map((n) => n.body)).toEqual([
    "Heard",
    "Loud again",
  ]);

  // For a while: the button says until when.
  await chat.getByRole("button", { name: "Mute", exact: true }).click();
  await laptop.getByRole("menuitem", { name: "For 1 hour" }).click();
  await expect(chat.getByRole("button", { name: "Unmute" })).toHaveAttribute(
    "title",
    /^Muted until .+/,
  );
  await expect(chat.getByRole("button", { name: "Unmute" })).not.toHaveAttribute(
    "title",
    "Muted until you unmute it",
  );
  await expect(bobs.getByRole("img", { name: "Muted" })).toBeVisible();
  await laptop.close();
});

test("a timed mute ends by itself on screen", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const bob = await writesTo(request, "Bob", ann);
  // Muted over REST (the page's cookie), for a few seconds.
  const until = new Date(Date.now() + 6_000).toISOString();
  const muted = await page.request.put(`/api/conversations/${bob.id}/mute`, { data: { until } });
  expect(muted.status()).toBe(200);
  await page.goto(`/c/${bob.id}`);
  const chat = await connectedChat(page);
  await expect(chat.getByRole("button", { name: "Unmute" })).toBeVisible();
  // Beside the window (not on a phone), the list shows it too, and follows.
  const wide = (page.viewportSize()?.width ?? 1280) >= 768;
  const bobs = page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("listitem")
    .filter({ hasText: bob.person.user.display_name });
  if (wide) await expect(bobs.getByRole("img", { name: "Muted" })).toBeVisible();

  await expect(chat.getByRole("button", { name: "Mute", exact: true })).toBeVisible({
    timeout: 10_000,
  });
  if (wide) await expect(bobs.getByRole("img", { name: "Muted" })).toHaveCount(0);
});
