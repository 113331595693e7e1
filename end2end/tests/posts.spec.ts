// Help requests: one alumna asks, another answers "I can help", and they talk about it;
// requests are searched and answered (with and without JavaScript), paged, and edited, closed
// and reopened by their author; the requests on screen follow their changes live.

import { expect, test } from "@playwright/test";

import { bearer, bodies, inOwnBrowser, register, showList } from "./people";

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
  // The request itself is a tap away in the conversation.
  await bobChat.getByText(`Help request: ${title}`).click();
  await expect(bobChat.getByText("It is two pages.")).toBeVisible();
  await bobChat.getByRole("textbox", { name: "Message" }).fill("I can help: send it over");
  await bobChat.getByRole("textbox", { name: "Message" }).press("Enter");

  // Ann's list has it, live, under the request's title and Bob's name.
  await showList(page);
  const item = page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("listitem")
    .filter({ hasText: `${title} · ${bob.user.display_name}` });
  await expect(item).toContainText("I can help: send it over");

  // Ann's request now says someone offered help.
  await page.goto("/posts");
  await expect(annPane.getByRole("listitem").filter({ hasText: title })).toContainText(
    "1 person offered help",
  );

  // Offering again opens the same conversation.
  await bobPage.goto("/posts");
  await bobPane.getByRole("listitem").filter({ hasText: title }).getByRole("button").click();
  await expect(bobPage).toHaveURL(new RegExp(`/c/${id}$`));
  expect(await bodies(bobPage.request, bob.token, id)).toEqual(["I can help: send it over"]);
  await bobContext.close();
});

test("help requests are searched, paged, edited, closed and reopened by their author", async ({
  browser,
  page,
}) => {
  const ann = await register(page.request, "Ann");
  const { context: bobContext, page: bobPage } = await inOwnBrowser(browser, "Bob");
  const tag = `t${Date.now().toString(36)}`;
  const ask = async (title: string, body: string) => {
    const created = await page.request.post("/api/posts", {
      data: { title, body },
      headers: bearer(ann.token),
    });
    expect(created.status()).toBe(201);
    return (await created.json()).id as number;
  };
  for (let i = 0; i < 31; i++) await ask(`${tag} question ${i}`, "Anything helps");
  const cv = await ask(`${tag} CV review`, "Two pages");

  // Found by a word, thirty at a time.
  await page.goto("/posts");
  const pane = page.getByRole("region", { name: "Help requests" });
  const search = pane.getByRole("search");
  await search.getByLabel("Search requests").fill(tag);
  await search.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`/posts\\?q=${tag}`));
  const requests = pane.getByRole("list", { name: "Requests" }).getByRole("listitem");
  await expect(requests).toHaveCount(30);
  await expect(requests.first()).toContainText(`${tag} CV review`);
  await pane.getByRole("button", { name: "More requests" }).click();
  await expect(requests).toHaveCount(32);
  await expect(requests.last()).toContainText(`${tag} question 0`);
  await expect(pane.getByRole("button", { name: "More requests" })).toHaveCount(0);

  // Bob offers help on the CV request before it is closed.
  await bobPage.goto(`/posts?q=${tag}+cv`);
  const bobPane = bobPage.getByRole("region", { name: "Help requests" });
  await bobPane.getByRole("listitem").getByRole("button", { name: "I can help" }).click();
  await expect(bobPage).toHaveURL(/\/c\/\d+$/);

  // Ann edits it: a new title and details, shown at once and in Bob's conversation list.
  await search.getByLabel("Search requests").fill(`${tag} cv`);
  await search.getByRole("button", { name: "Search" }).click();
  await expect(requests).toHaveCount(1);
  const mine = requests.first();
  await mine.getByRole("button", { name: "Edit" }).click();
  await mine.getByLabel("Request title").fill(`${tag} CV review, finance`);
  await mine.getByLabel("Request details").fill("Three pages now");
  await mine.getByRole("button", { name: "Save" }).click();
  await expect(mine).toContainText("Three pages now");
  await expect(mine).toContainText("edited");
  await expect(mine.getByLabel("Request title")).toHaveCount(0);
  await showList(bobPage);
  await expect(
    bobPage.getByRole("navigation", { name: "Conversations" }).getByRole("listitem"),
  ).toContainText([`${tag} CV review, finance`]);

  // Closed: Bob may no longer offer help, and it is not among the open ones.
  await mine.getByRole("button", { name: "Close" }).click();
  await expect(mine).toContainText("Closed");
  await expect(mine.getByRole("button", { name: "Reopen" })).toBeVisible();
  await bobPage.goto(`/posts?q=${tag}+cv`);
  const bobItem = bobPane.getByRole("listitem");
  await expect(bobItem).toContainText("Closed");
  await expect(bobItem.getByRole("button", { name: "I can help" })).toHaveCount(0);
  await bobPane.getByLabel("Show").selectOption("open");
  await bobPane.getByRole("button", { name: "Search" }).click();
  await expect(bobPage).toHaveURL(/show=open/);
  await expect(bobPane.getByText("No requests match.")).toBeVisible();

  // Reopened: help is welcome again.
  await mine.getByRole("button", { name: "Reopen" }).click();
  await expect(mine.getByRole("button", { name: "Close" })).toBeVisible();
  await bobPage.reload();
  await expect(bobItem.getByRole("button", { name: "I can help" })).toBeVisible();
  const stored = await page.request.get(`/api/posts/${cv}`, { headers: bearer(ann.token) });
  expect(await stored.json()).toMatchObject({
    title: `${tag} CV review, finance`,
    body: "Three pages now",
    closed_at: null,
  });
  await bobContext.close();
});

test("help requests are searched and answered without JavaScript", async ({
  browser,
  request,
}) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const ann = await register(page.request, "Ann");
  const bob = await register(request, "Bob");
  const tag = `t${Date.now().toString(36)}`;
  for (const title of [`${tag} first`, `${tag} second`, "unrelated"]) {
    const created = await request.post("/api/posts", {
      data: { title, body: "Details" },
      headers: bearer(bob.token),
    });
    expect(created.status()).toBe(201);
  }
  await page.goto("/posts");
  const pane = page.getByRole("region", { name: "Help requests" });
  await pane.getByLabel("Search requests").fill(`${tag} second`);
  await pane.getByLabel("Search requests").press("Enter");
  await expect(page).toHaveURL(/\/posts\?q=/);
  const found = pane.getByRole("list", { name: "Requests" }).getByRole("listitem");
  await expect(found).toHaveText([new RegExp(`${tag} second`)]);

  // "I can help" is a form: it opens the conversation about the request, with its author.
  await found.getByRole("button", { name: "I can help" }).click();
  await expect(page).toHaveURL(/\/c\/\d+$/);
  await expect(
    page.getByRole("region", { name: `Conversation: ${tag} second · ${bob.user.display_name}` }),
  ).toBeVisible();

  // Her own request she closes and reopens, by forms too.
  const created = await page.request.post("/api/posts", {
    data: { title: `${tag} mine`, body: "Details" },
    headers: bearer(ann.token),
  });
  expect(created.status()).toBe(201);
  await page.goto(`/posts?q=${tag}+mine`);
  const mine = pane.getByRole("list", { name: "Requests" }).getByRole("listitem");
  await mine.getByRole("button", { name: "Close" }).click();
  await expect(mine).toContainText("Closed");
  await mine.getByRole("button", { name: "Reopen" }).click();
  await expect(mine.getByRole("button", { name: "Close" })).toBeVisible();
  await expect(mine).not.toContainText("Closed");
  await context.close();
});

test("the requests on screen follow their changes live, and new ones are announced", async ({
  page,
  request,
}) => {
  await register(page.request, "Ann");
  // The others on a request context of their own: the page's cookie stays Ann's.
  const bob = await register(request, "Bob");
  const cyd = await register(request, "Cyd");
  const tag = `live${Date.now().toString(36)}`;
  const ask = async (token: string, title: string) => {
    const created = await request.post("/api/posts", {
      data: { title, body: "Anything helps" },
      headers: bearer(token),
    });
    expect(created.status()).toBe(201);
    return (await created.json()).id as number;
  };
  const change = async (id: number, data: object) => {
    const changed = await request.put(`/api/posts/${id}`, { data, headers: bearer(bob.token) });
    expect(changed.status()).toBe(200);
  };
  const asked = await ask(bob.token, `${tag} interview practice`);

  // Ann looks at the requests with this test's word (other tests ask theirs meanwhile).
  const watching = page
    .waitForEvent("websocket")
    .then((ws) =>
      ws.waitForEvent("framesent", (frame) => String(frame.payload).includes("posts:watch")),
    );
  await page.goto(`/posts?q=${tag}`);
  await watching;
  const pane = page.getByRole("region", { name: "Help requests" });
  const requests = pane.getByRole("list", { name: "Requests" }).getByRole("listitem");
  await expect(requests).toHaveText([new RegExp(`${tag} interview practice`)]);

  // Changed elsewhere: retitled, offered help, closed; the request on screen follows.
  await change(asked, { title: `${tag} mock interview` });
  await expect(requests.first()).toContainText(`${tag} mock interview`);
  const offered = await request.post("/api/conversations", {
    data: { kind: "post_linked", post_id: asked },
    headers: bearer(cyd.token),
  });
  expect(offered.status()).toBe(201);
  await expect(requests.first()).toContainText("1 person offered help");
  await change(asked, { closed: true });
  await expect(requests.first()).toContainText("Closed");
  await expect(requests.first().getByRole("button", { name: "I can help" })).toHaveCount(0);

  // A new request the search lists is announced, and shown on demand; one it does not is not.
  await ask(cyd.token, `unrelated ${Date.now()}`);
  await ask(cyd.token, `${tag} salary negotiation`);
  const fresh = pane.getByRole("button", { name: "1 new request" });
  await expect(fresh).toBeVisible();
  await fresh.click();
  await expect(requests).toHaveText([
    new RegExp(`${tag} salary negotiation`),
    new RegExp(`${tag} mock interview`),
  ]);
  await expect(fresh).toHaveCount(0);
});
