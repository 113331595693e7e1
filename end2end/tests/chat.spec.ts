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

test("two people chat live: history, typing, sending, read receipts", async ({ browser, page }) => {
  const ann = await register(page.request, "Ann");
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  const bob = await register(bobPage.request, "Bob");

  const created = await bobPage.request.post("/api/conversations", {
    data: { kind: "direct", user_id: ann.user.id },
    headers: { Authorization: `Bearer ${bob.token}` },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
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

  // Ann answers; Bob has it without reloading, and the server stored it once.
  await annChat.getByRole("textbox", { name: "Message" }).fill("On my way!");
  await annChat.getByRole("button", { name: "Send" }).click();
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
  const created = await request.post("/api/conversations", {
    data: { kind: "direct", user_id: other.user.id },
    headers: { Authorization: `Bearer ${owner.token}` },
  });
  const { id } = await created.json();
  await request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Only for the two of us" },
    headers: { Authorization: `Bearer ${owner.token}` },
  });

  await register(page.request, "Stranger");
  await page.goto(`/c/${id}`);
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.locator("body")).not.toContainText("Only for the two of us");
});
