import { expect, test } from "@playwright/test";

import { directBetween, register, send } from "./people";

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
