import { expect, test } from "@playwright/test";

import { directBetween, register, send, showList } from "./people";

test("the list shows a conversation with its unread badge and filters by search", async ({
  page,
  request,
}) => {
  // Bob signs up on his own cookie jar (`request`); Ann through the page's context.
  const bob = await register(request, "Bob");
  const ann = await register(page.request, "Ann");
  const id = await directBetween(request, bob.token, ann.user.id);
  await send(request, bob.token, id, "Coffee after the talk?");

  await page.goto("/");
  const list = page.getByRole("navigation", { name: "Conversations" });
  const item = list.getByRole("listitem").filter({ hasText: bob.user.display_name });
  await expect(item).toContainText("Coffee after the talk?");
  await expect(item.getByLabel("1 unread")).toBeVisible();

  // Searching for a name nobody has empties the list; once hydrated, typing filters live.
  const search = list.getByRole("searchbox", { name: "Search conversations" });
  await expect(async () => {
    await search.fill(`nobody-${Date.now()}`);
    await expect(list).toContainText("No conversations match.", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await search.fill(bob.user.username.slice(0, 6));
  await expect(item).toBeVisible();
});

test("a user starts a direct conversation and a group from the web app", async ({
  page,
  request,
}) => {
  const ann = await register(page.request, "Ann");
  const bob = await register(request, "Bob");
  const cat = await register(request, "Cat");
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto("/");
  await expect(page.getByText("No conversations yet.")).toBeVisible();
  await expect.poll(() => sockets.length, { timeout: 20_000 }).toBe(1);

  // Direct: find Bob by his username (its start would find earlier runs' Bobs too), choose him.
  const start = async () => {
    // On a phone the list, with its button, is behind the open conversation.
    await showList(page);
    await page.getByRole("link", { name: "New conversation" }).click();
    await expect(page).toHaveURL(/\/new$/);
    return page.getByRole("region", { name: "New conversation" });
  };
  let panel = await start();
  await panel.getByLabel("Find people").fill(bob.user.username.toUpperCase());
  const people = panel.getByRole("list", { name: "People found" });
  await expect(people).toContainText(bob.user.display_name);
  await expect(people).not.toContainText(ann.user.display_name);
  await people.getByRole("button", { name: new RegExp(bob.user.username) }).click();
  await panel.getByRole("button", { name: "Start chat" }).click();
  await expect(page).toHaveURL(/\/c\/\d+$/);
  const direct = Number(page.url().split("/").pop());
  const chat = page.getByRole("region", { name: `Conversation: ${bob.user.display_name}` });
  await expect(chat).toBeVisible();
  await chat.getByRole("textbox", { name: "Message" }).fill("Found you!");
  await chat.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(chat.getByRole("list", { name: "Messages" })).toContainText("Found you!");

  // The same person again: the conversation they have.
  panel = await start();
  await panel.getByLabel("Find people").fill(bob.user.username);
  await panel.getByRole("button", { name: new RegExp(bob.user.username) }).click();
  await panel.getByRole("button", { name: "Start chat" }).click();
  await expect(page).toHaveURL(new RegExp(`/c/${direct}$`));

  // A group: two people and a name.
  panel = await start();
  await panel.getByLabel("Find people").fill(bob.user.username);
  await panel.getByRole("button", { name: new RegExp(bob.user.username) }).click();
  await panel.getByLabel("Find people").fill(cat.user.username);
  await panel.getByRole("button", { name: new RegExp(cat.user.username) }).click();
  await expect(panel.getByRole("list", { name: "Chosen" }).getByRole("listitem")).toHaveCount(2);
  await expect(panel.getByRole("button", { name: "Start chat" })).toBeDisabled();
  await panel.getByLabel("Group name").fill("Reunion team");
  await panel.getByRole("button", { name: "Create group" }).click();
  await expect(page.getByRole("region", { name: "Conversation: Reunion team" })).toBeVisible();

  // Cat has it; Ann's list has both, and all of it on the page's one connection.
  const list = await request.get("/api/conversations", {
    headers: { Authorization: `Bearer ${cat.token}` },
  });
  expect((await list.json()).conversations.map((c: { title: string }) => c.title)).toEqual([
    "Reunion team",
  ]);
  await showList(page);
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await expect(nav.getByRole("listitem")).toHaveCount(2);
  expect(sockets).toHaveLength(1);
});
