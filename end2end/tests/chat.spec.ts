import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

const PASSWORD = "correct horse battery";

function uniqueUsername(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Registers a user on `request`'s cookie jar; answers the user and their bearer token. */
async function register(request: APIRequestContext, prefix: string) {
  const username = uniqueUsername(prefix);
  const response = await request.post("/api/auth/register", {
    data: { username, display_name: `${prefix} ${username}`, password: PASSWORD },
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as { user: { id: number; display_name: string }; token: string };
}

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
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  const bob = await register(bobPage.request, "Bob");
  const id = await directBetween(bobPage.request, bob.token, ann.user.id);
  const sent = await bobPage.request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Are you at the reunion?" },
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  expect(sent.status()).toBe(201);

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
  const history = await bobPage.request.get(`/api/conversations/${id}/messages`, {
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  const bodies = ((await history.json()).messages as { body: string }[]).map((m) => m.body);
  expect(bodies).toEqual(["Are you at the reunion?", "Table 4, by the window", "On my way!"]);

  await bobContext.close();
});

test("a conversation someone is not in is not shown to them", async ({ page, request }) => {
  const owner = await register(request, "Owner");
  const other = await register(request, "Other");
  const id = await directBetween(request, owner.token, other.user.id);
  await request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Only for the two of us" },
    headers: { Authorization: `Bearer ${owner.token}` },
  });

  await register(page.request, "Stranger");
  await page.goto(`/c/${id}`);
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.locator("body")).not.toContainText("Only for the two of us");
});

/** A direct conversation that `token`'s user starts with `otherId`; answers its id. */
async function directBetween(request: APIRequestContext, token: string, otherId: number) {
  const created = await request.post("/api/conversations", {
    data: { kind: "direct", user_id: otherId },
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id as number;
}

test("older messages come a page at a time", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const bob = await register(request, "Bob");
  const id = await directBetween(request, bob.token, ann.user.id);
  for (let n = 1; n <= 55; n++) {
    const sent = await request.post(`/api/conversations/${id}/messages`, {
      data: { body: `note ${n}.` },
      headers: { Authorization: `Bearer ${bob.token}` },
    });
    expect(sent.status()).toBe(201);
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
  const bob = await register(request, "Bob");
  const id = await directBetween(request, bob.token, ann.user.id);
  // Ann's sockets pass through the test, which can cut them as a bad network would.
  const sockets: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });

  const first = await request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Lunch on Friday?" },
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  const { id: firstId } = await first.json();
  const chat = await openChat(page, id);
  const messages = chat.getByRole("list", { name: "Messages" });
  await expect(messages).toContainText("Lunch on Friday?");
  for (const socket of sockets.splice(0)) await socket.close();
  await expect(chat.getByText("Connecting…")).toBeVisible();
  // While Ann is away, Bob edits his message and sends another.
  const edited = await request.put(`/api/messages/${firstId}`, {
    data: { body: "Lunch on Saturday?" },
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  expect(edited.status()).toBe(200);
  const sent = await request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Sent while you were away" },
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  expect(sent.status()).toBe(201);

  await expect(chat.getByText("Connecting…")).toHaveCount(0, { timeout: 20_000 });
  await expect(messages).toContainText("Sent while you were away");
  await expect(messages).toContainText("Lunch on Saturday?");
  await expect(messages).not.toContainText("Lunch on Friday?");
  await expect(messages.getByRole("listitem")).toHaveCount(2);
  expect(sockets.length).toBeGreaterThan(0);
});

test("a message written offline is sent once the network is back", async ({ page, request }) => {
  const ann = await register(page.request, "Ann");
  const bob = await register(request, "Bob");
  const id = await directBetween(request, bob.token, ann.user.id);
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
  const history = await request.get(`/api/conversations/${id}/messages`, {
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  const bodies = ((await history.json()).messages as { body: string }[]).map((m) => m.body);
  expect(bodies).toEqual(["Written in a tunnel"]);
});
