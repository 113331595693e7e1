// Help requests: one alumna asks, another answers "I can help", and they talk about it.

import { expect, test } from "@playwright/test";

import { bodies, inOwnBrowser, register } from "./people";

test("a help request is posted, answered with 'I can help', and talked about", async ({
  browser,
  page,
}) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage, person: bob } = await inOwnBrowser(browser, "Bob");
  const title = `Resume review ${Date.now()}`;

  // Ann asks, from the page.
  await page.goto("/");
  await page.getByRole("link", { name: "Help requests" }).click();
  await expect(page).toHaveURL(/\/posts$/);
  const annPane = page.getByRole("region", { name: "Help requests" });
  await annPane.getByLabel("Title").fill(title);
  await annPane.getByLabel("What do you need?").fill("Could someone look over my CV?\nIt is two pages.");
  await annPane.getByRole("button", { name: "Post" }).click();
  const annPost = annPane.getByRole("listitem").filter({ hasText: title });
  await expect(annPost).toContainText("Your request");
  await expect(annPost.getByRole("button", { name: "I can help" })).toHaveCount(0);
  await expect(annPane.getByLabel("Title")).toHaveValue("");

  // Bob sees it and offers help: a conversation about it opens, with Ann.
  await bobPage.goto("/posts");
  const bobPane = bobPage.getByRole("region", { name: "Help requests" });
  const bobPost = bobPane.getByRole("listitem").filter({ hasText: title });
  await expect(bobPost).toContainText("two pages");
  await expect(bobPost).toContainText(ann.user.display_name);
  await bobPost.getByRole("button", { name: "I can help" }).click();
  await expect(bobPage).toHaveURL(/\/c\/\d+$/);
  const id = Number(bobPage.url().split("/").pop());
  const bobChat = bobPage.getByRole("region", {
    name: `Conversation: ${title} · ${ann.user.display_name}`,
  });
  await expect(bobChat.getByText("Connecting…")).toHaveCount(0, { timeout: 20_000 });
  await bobChat.getByRole("textbox", { name: "Message" }).fill("I can help: send it over");
  await bobChat.getByRole("textbox", { name: "Message" }).press("Enter");

  // Ann's list has it, live, under the request's title and Bob's name.
  const back = page.getByRole("link", { name: "Back to conversations" });
  if (await back.isVisible()) await back.click();
  const item = page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("listitem")
    .filter({ hasText: `${title} · ${bob.user.display_name}` });
  await expect(item).toContainText("I can help: send it over");

  // Offering again opens the same conversation.
  await bobPage.goto("/posts");
  await bobPane.getByRole("listitem").filter({ hasText: title }).getByRole("button").click();
  await expect(bobPage).toHaveURL(new RegExp(`/c/${id}$`));
  expect(await bodies(bobPage.request, bob.token, id)).toEqual(["I can help: send it over"]);
  await bobContext.close();
});
