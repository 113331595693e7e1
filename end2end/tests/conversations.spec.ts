import { expect, test } from "@playwright/test";

const PASSWORD = "correct horse battery";

function uniqueUsername(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

test("the list shows a conversation with its unread badge and filters by search", async ({
  page,
  request,
}) => {
  // Bob signs up on his own cookie jar (`request`); Ann through the page's context.
  const bobName = uniqueUsername("bob");
  const bob = await request.post("/api/auth/register", {
    data: { username: bobName, display_name: `Bob ${bobName}`, password: PASSWORD },
  });
  expect(bob.status(), await bob.text()).toBe(201);
  const { user: bobUser, token: bobToken } = await bob.json();

  const annName = uniqueUsername("ann");
  const ann = await page.request.post("/api/auth/register", {
    data: { username: annName, display_name: `Ann ${annName}`, password: PASSWORD },
  });
  expect(ann.status(), await ann.text()).toBe(201);
  const { user: annUser } = await ann.json();

  const created = await request.post("/api/conversations", {
    data: { kind: "direct", user_id: annUser.id },
    headers: { Authorization: `Bearer ${bobToken}` },
  });
  expect(created.status()).toBe(201);
  const { id } = await created.json();
  const sent = await request.post(`/api/conversations/${id}/messages`, {
    data: { body: "Coffee after the talk?" },
    headers: { Authorization: `Bearer ${bobToken}` },
  });
  expect(sent.status()).toBe(201);

  await page.goto("/");
  const list = page.getByRole("navigation", { name: "Conversations" });
  const item = list.getByRole("listitem").filter({ hasText: bobUser.display_name });
  await expect(item).toContainText("Coffee after the talk?");
  await expect(item.getByLabel("1 unread")).toBeVisible();

  // Searching for a name nobody has empties the list; once hydrated, typing filters live.
  const search = list.getByRole("searchbox", { name: "Search conversations" });
  await expect(async () => {
    await search.fill(`nobody-${Date.now()}`);
    await expect(list).toContainText("No conversations match.", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await search.fill(bobName.slice(0, 6));
  await expect(item).toBeVisible();
});
