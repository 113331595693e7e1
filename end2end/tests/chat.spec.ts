import { expect, test, type Page } from "@playwright/test";

import { bearer, bodies, directBetween, inOwnBrowser, register, send, writesTo } from "./people";

/** The open conversation's window, once its socket is connected (the page has hydrated). */
async function openChat(page: Page, id: number) {
  await page.goto(`/c/${id}`);
  const chat = page.getByRole("region", { name: /^Conversation:/ });
  await expect(chat).toBeVisible();
  await expect(chat.getByText("Connecting…")).toHaveCount(0, { timeout: 20_000 });
  return chat;
}

test("two people chat live: history, presence, typing, sending, read receipts", async ({ browser, page }) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const id = await directBetween(bobPage.request, bob.token, ann.user.id);
  await send(bobPage.request, bob.token, id, "Are you at the reunion?");

  // Ann opens the conversation from her list: its history is there.
  await page.goto("/");
  await page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("link", { name: bob.user.display_name })
    .click();
  await expect(page).toHaveURL(new RegExp(`/c/${id}$`));
  const annChat = await openChat(page, id);
  const annMessages = annChat.getByRole("list", { name: "Messages" });
  await expect(annMessages).toContainText("Are you at the reunion?");

  // Bob types: Ann is told; Bob sends from his window: both windows show it, live.
  const bobChat = await openChat(bobPage, id);
  // Each sees the other is here: Ann was when Bob's page was made, Bob comes online live.
  await expect(bobChat.getByText("Online", { exact: true })).toBeVisible();
  await expect(annChat.getByText("Online", { exact: true })).toBeVisible();
  const bobBox = bobChat.getByRole("textbox", { name: "Message" });
  await bobBox.fill("Table 4, by the window");
  await expect(annChat).toContainText(`${bob.user.display_name} is typing…`);
  await bobChat.getByRole("button", { name: "Send" }).click();
  await expect(annMessages).toContainText("Table 4, by the window");
  await expect(bobChat.getByRole("list", { name: "Messages" })).toContainText(
    "Table 4, by the window",
  );
  await expect(bobBox).toHaveValue("");
  await expect(annChat).not.toContainText("is typing…");

  // Ann's window was open, so she has read it: Bob sees so.
  await expect(bobChat.getByText("Seen")).toBeVisible();

  // Ann answers with Enter; Bob has it without reloading, and the server stored it once.
  await annChat.getByRole("textbox", { name: "Message" }).fill("On my way!");
  await annChat.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(bobChat.getByRole("list", { name: "Messages" })).toContainText("On my way!");
  expect(await bodies(bobPage.request, bob.token, id)).toEqual([
    "Are you at the reunion?",
    "Table 4, by the window",
    "On my way!",
  ]);

  await bobContext.close();
});

test("a conversation someone is not in is not shown to them", async ({ page, request }) => {
  const owner = await register(request, "Owner");
  const other = await register(request, "Other");
  const id = await directBetween(request, owner.token, other.user.id);
  await send(request, owner.token, id, "Only for the two of us");

  await register(page.request, "Stranger");
  await page.goto(`/c/${id}`);
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.locator("body")).not.toContainText("Only for the two of us");
});

test("older messages come a page at a time", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const { person: bob, id } = await writesTo(request, "Bob", ann);
  for (let n = 1; n <= 55; n++) {
    await send(request, bob.token, id, `note ${n}.`);
  }

  const chat = await openChat(page, id);
  const messages = chat.getByRole("list", { name: "Messages" });
  await expect(messages.getByRole("listitem")).toHaveCount(50);
  await expect(messages).toContainText("note 55.");
  await expect(messages).not.toContainText("note 5.");
  await chat.getByRole("button", { name: "Show older messages" }).click();
  await expect(messages.getByRole("listitem")).toHaveCount(55);
  await expect(messages.getByRole("listitem").first()).toContainText("note 1.");
  await expect(chat.getByRole("button", { name: "Show older messages" })).toHaveCount(0);
});

test("a dropped connection comes back and catches up on what was missed", async ({
  page,
  request,
}) => {
  const ann = await register(page.request, "Ann");
  const { person: bob, id } = await writesTo(request, "Bob", ann);
  // Ann's sockets pass through the test, which can cut them as a bad network would.
  const sockets: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });

  const first = await send(request, bob.token, id, "Lunch on Friday?");
  const chat = await openChat(page, id);
  const messages = chat.getByRole("list", { name: "Messages" });
  await expect(messages).toContainText("Lunch on Friday?");
  for (const socket of sockets.splice(0)) await socket.close();
  await expect(chat.getByText("Connecting…")).toBeVisible();
  // While Ann is away, Bob edits his message and sends another.
  const edited = await request.put(`/api/messages/${first.id}`, {
    data: { body: "Lunch on Saturday?" },
    headers: bearer(bob.token),
  });
  expect(edited.status()).toBe(200);
  await send(request, bob.token, id, "Sent while you were away");

  await expect(chat.getByText("Connecting…")).toHaveCount(0, { timeout: 20_000 });
  await expect(messages).toContainText("Sent while you were away");
  await expect(messages).toContainText("Lunch on Saturday?");
  await expect(messages).not.toContainText("Lunch on Friday?");
  await expect(messages.getByRole("listitem")).toHaveCount(2);
  expect(sockets.length).toBeGreaterThan(0);
});

test("a message written offline is sent once the network is back", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const { person: bob, id } = await writesTo(request, "Bob", ann);
  const chat = await openChat(page, id);

  await page.context().setOffline(true);
  const box = chat.getByRole("textbox", { name: "Message" });
  await box.fill("Written in a tunnel");
  await box.press("Enter");
  await expect(chat.getByRole("alert")).toContainText("waiting for the network");
  await page.context().setOffline(false);

  await expect(chat.getByRole("list", { name: "Messages" })).toContainText(
    "Written in a tunnel",
    { timeout: 20_000 },
  );
  await expect(box).toHaveValue("");
  expect(await bodies(request, bob.token, id)).toEqual(["Written in a tunnel"]);
});
