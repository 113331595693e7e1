// The chat window beyond sending: editing and deleting messages, moving between conversations
// on one connection, presence in the list, read receipts that wait until the page is seen, and
// a group's members.

import { expect, test, type Locator, type Page } from "@playwright/test";

import {
  bearer,
  bodies,
  connectedChat,
  directBetween,
  groupOf,
  inOwnBrowser,
  register,
  send,
  setHidden,
  showList,
  writesTo,
} from "./people";

/** Opens the conversation named `name` from the list (from the open one, on a phone). */
async function pick(page: Page, name: string) {
  await showList(page);
  await page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("link", { name })
    .click();
  return connectedChat(page);
}

/** The message in `chat` whose text includes `text`. */
function message(chat: Locator, text: string) {
  return chat.getByRole("list", { name: "Messages" }).getByRole("listitem").filter({ hasText: text });
}

test("the sender edits and deletes a message; the other side sees both live", async ({
  browser,
  page,
}) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const id = await directBetween(page.request, ann.token, bob.user.id);
  await send(bobPage.request, bob.token, id, "Bring the photos");
  const mine = await send(page.request, ann.token, id, "Meet at 5");

  await page.goto(`/c/${id}`);
  const annChat = await connectedChat(page);
  await bobPage.goto(`/c/${id}`);
  const bobChat = await connectedChat(bobPage);

  // Ann's own message offers edit and delete once tapped; Bob's offers neither to her.
  await message(annChat, "Bring the photos").click();
  await expect(message(annChat, "Bring the photos").getByRole("button")).toHaveCount(0);
  await message(annChat, "Meet at 5").click();
  await message(annChat, "Meet at 5").getByRole("button", { name: "Edit" }).click();
  const editBox = annChat.getByRole("textbox", { name: "Edit message" });
  await expect(editBox).toBeFocused();
  // Escape leaves it as it was.
  await editBox.fill("Meet at noon");
  await editBox.press("Escape");
  await expect(editBox).toHaveCount(0);
  await expect(message(annChat, "Meet at 5")).toBeVisible();

  await message(annChat, "Meet at 5").click();
  await message(annChat, "Meet at 5").getByRole("button", { name: "Edit" }).click();
  await annChat.getByRole("textbox", { name: "Edit message" }).fill("Meet at 6");
  await annChat.getByRole("textbox", { name: "Edit message" }).press("Enter");
  for (const chat of [annChat, bobChat]) {
    await expect(message(chat, "Meet at 6")).toContainText("edited");
    await expect(chat).not.toContainText("Meet at 5");
  }

  // Deleting asks first; the message stays in its place, as deleted, on both sides.
  await message(annChat, "Meet at 6").click();
  await message(annChat, "Meet at 6").getByRole("button", { name: "Delete" }).click();
  const row = message(annChat, "Delete this message?");
  await row.getByRole("button", { name: "Delete" }).click();
  for (const chat of [annChat, bobChat]) {
    await expect(chat).not.toContainText("Meet at 6");
    await expect(chat.getByRole("list", { name: "Messages" }).getByRole("listitem")).toHaveCount(2);
    await expect(
      chat.getByRole("list", { name: "Messages" }).getByRole("listitem").last(),
    ).toContainText("Message deleted");
  }
  expect(await bodies(bobPage.request, bob.token, id)).toEqual(["Bring the photos", ""]);
  const stored = await page.request.get(`/api/conversations/${id}/messages`, {
    headers: bearer(ann.token),
  });
  const last = (await stored.json()).messages.at(-1);
  expect([last.id, last.deleted]).toEqual([mine.id, true]);

  await bobContext.close();
});

test("a group's owner may delete anyone's message there", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const bob = await register(request, "Bob");
  const id = await groupOf(page.request, ann.token, "Class of 2009", [bob.user.id]);
  await send(request, bob.token, id, "Buy my timeshare");

  await page.goto(`/c/${id}`);
  const chat = await connectedChat(page);
  await message(chat, "Buy my timeshare").click();
  await expect(message(chat, "Buy my timeshare").getByRole("button", { name: "Edit" })).toHaveCount(0);
  await message(chat, "Buy my timeshare").getByRole("button", { name: "Delete" }).click();
  await message(chat, "Delete this message?").getByRole("button", { name: "Delete" }).click();
  await expect(chat.getByRole("list", { name: "Messages" })).toContainText("Message deleted");
  await expect(chat).not.toContainText("Buy my timeshare");
  expect(await bodies(request, bob.token, id)).toEqual([""]);
});

test("moving between conversations keeps one connection and the list shows who is online", async ({
  browser,
  page,
  request,
}) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const cat = await register(request, "Cat");
  const withBob = await directBetween(page.request, ann.token, bob.user.id);
  const withCat = await directBetween(page.request, ann.token, cat.user.id);
  await send(page.request, bob.token, withBob, "Hello from Bob");
  await send(page.request, cat.token, withCat, "Hello from Cat");

  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto("/");
  const list = page.getByRole("navigation", { name: "Conversations" });
  await expect.poll(() => sockets.length, { timeout: 20_000 }).toBe(1);
  const bobItem = list.getByRole("listitem").filter({ hasText: bob.user.display_name });
  const catItem = list.getByRole("listitem").filter({ hasText: cat.user.display_name });
  await expect(bobItem.getByText("Online")).toHaveCount(0);
  await expect(catItem.getByLabel("1 unread")).toBeVisible();

  // Bob comes online: Ann's list says so, live.
  await bobPage.goto("/");
  await expect(bobItem.getByText("Online")).toBeAttached({ timeout: 10_000 });

  let chat = await pick(page, bob.user.display_name);
  await expect(page).toHaveURL(new RegExp(`/c/${withBob}$`));
  await expect(chat).toContainText("Hello from Bob");
  chat = await pick(page, cat.user.display_name);
  await expect(page).toHaveURL(new RegExp(`/c/${withCat}$`));
  await expect(chat).toContainText("Hello from Cat");
  // Still live on the same connection: Cat's next message arrives without a reload.
  await send(page.request, cat.token, withCat, "Are you coming?");
  await expect(chat).toContainText("Are you coming?");
  await pick(page, bob.user.display_name);
  expect(sockets).toHaveLength(1);
  // Cat's conversation was read when it was opened: the list says so.
  await expect(catItem.getByLabel(/unread/)).toHaveCount(0);

  // Bob goes: after the grace period, the dot goes too.
  await bobContext.close();
  await expect(bobItem.getByText("Online")).toHaveCount(0, { timeout: 15_000 });
  expect(sockets).toHaveLength(1);
});

test("a message that arrives in a hidden tab is read when the page is seen", async ({
  page,
  request,
}) => {
  const ann = await register(page.request, "Ann");
  const { person: bob, id } = await writesTo(request, "Bob", ann);
  await page.goto(`/c/${id}`);
  const chat = await connectedChat(page);
  const unread = async () => {
    const list = await request.get("/api/conversations", { headers: bearer(ann.token) });
    return (await list.json()).conversations[0].unread_count as number;
  };

  // Shown: a message that arrives is read at once.
  await send(request, bob.token, id, "Are you there?");
  await expect(chat).toContainText("Are you there?");
  await expect.poll(unread).toBe(0);

  // Hidden: it arrives, but stays unread, and Bob sees no "Seen".
  await setHidden(page, true);
  await send(request, bob.token, id, "Hello?");
  await expect(chat).toContainText("Hello?");
  await page.waitForTimeout(1_000);
  expect(await unread()).toBe(1);

  // Shown again: read.
  await setHidden(page, false);
  await expect.poll(unread).toBe(0);
});

test("a group's owner renames it, adds and removes people, makes an admin; a member leaves", async ({
  browser,
  page,
  request,
}) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const cat = await register(request, "Cat");
  const id = await groupOf(page.request, ann.token, "Book club", [bob.user.id]);
  await send(page.request, ann.token, id, "Welcome, everyone");

  await page.goto(`/c/${id}`);
  await connectedChat(page);
  await bobPage.goto(`/c/${id}`);
  const bobChat = await connectedChat(bobPage);
  // A member may not delete Ann's message.
  const welcome = message(bobChat, "Welcome, everyone");
  await welcome.click();
  await expect(welcome.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await page.getByRole("button", { name: "Members" }).click();
  const members = page.getByRole("region", { name: "Members" });
  await expect(members.getByRole("listitem")).toHaveCount(2);
  await expect(members.getByRole("listitem").filter({ hasText: ann.user.display_name })).toContainText(
    "owner",
  );
  // The owner may not leave.
  await expect(members.getByRole("button", { name: "Leave group" })).toHaveCount(0);

  // Renamed: both windows say so.
  await members.getByLabel("Group name").fill("Book club 2027");
  await members.getByRole("button", { name: "Rename" }).click();
  for (const p of [page, bobPage]) {
    await expect(p.getByRole("region", { name: "Conversation: Book club 2027" })).toBeVisible();
  }

  // Cat is added, then taken out again.
  await members.getByLabel("Add people").fill(cat.user.username);
  await members.getByRole("button", { name: new RegExp(cat.user.username) }).click();
  await expect(members.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(3);
  const catList = async () => {
    const list = await request.get("/api/conversations", { headers: bearer(cat.token) });
    return ((await list.json()).conversations as { id: number }[]).map((c) => c.id);
  };
  expect(await catList()).toEqual([id]);
  await members.getByRole("button", { name: `Remove ${cat.user.display_name}` }).click();
  await expect(members.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(2);
  expect(await catList()).toEqual([]);

  // Ann makes Bob an admin: his panel gains the group's tools, and the message drawn before may
  // now be deleted by him, live; then a member again.
  await bobPage.getByRole("button", { name: "Members" }).click();
  const bobMembers = bobPage.getByRole("region", { name: "Members" });
  const memberList = members.getByRole("list", { name: "Members" });
  await expect(bobMembers.getByLabel("Group name")).toHaveCount(0);
  await memberList.getByRole("button", { name: `Make ${bob.user.display_name} an admin` }).click();
  const bobRow = memberList.getByRole("listitem").filter({ hasText: bob.user.display_name });
  await expect(bobRow).toContainText("admin");
  await expect(bobMembers.getByLabel("Group name")).toBeVisible();
  await welcome.click();
  await expect(welcome.getByRole("button", { name: "Delete" })).toBeVisible();
  await memberList.getByRole("button", { name: `Make ${bob.user.display_name} a member` }).click();

  // Bob, a member again, may not remove anyone, and leaves: he is back at his list, without
  // it, and Ann's window shows him gone.
  await expect(bobMembers.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
  await expect(bobMembers.getByLabel("Group name")).toHaveCount(0);
  await expect(welcome.getByRole("button", { name: "Delete" })).toHaveCount(0);
  await bobMembers.getByRole("button", { name: "Leave group" }).click();
  await bobMembers.getByRole("button", { name: "Leave", exact: true }).click();
  await expect(bobPage).toHaveURL(/\/$/);
  await expect(bobPage.getByText("No conversations yet.")).toBeVisible();
  await expect(members.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(1);
  await bobContext.close();
});

test("a member taken out of a group sees so in its open window", async ({ browser, page }) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const id = await groupOf(page.request, ann.token, "Committee", [bob.user.id]);
  await bobPage.goto(`/c/${id}`);
  const bobChat = await connectedChat(bobPage);
  await expect(bobChat.getByRole("textbox", { name: "Message" })).toBeVisible();

  const removed = await page.request.delete(`/api/conversations/${id}/participants/${bob.user.id}`, {
    headers: bearer(ann.token),
  });
  expect(removed.status()).toBe(204);
  await expect(bobChat.getByText("You are no longer in this conversation.")).toBeVisible();
  await expect(bobChat.getByRole("textbox", { name: "Message" })).toHaveCount(0);
  await bobContext.close();
});
