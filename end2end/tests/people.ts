// What the specs share: people registered over the API, the conversations they start, and
// the page as a browser shows it (a connected window, a hidden tab).

import { expect, type APIRequestContext, type Browser, type Page } from "@playwright/test";

export const PASSWORD = "correct horse battery";

/** A username no earlier run has taken: 3–32 of [A-Za-z0-9_.-], starting alphanumeric. */
export function uniqueUsername(prefix = "u"): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Registers a user on `request`'s cookie jar; answers the user and their bearer token. */
export async function register(request: APIRequestContext, prefix: string) {
  const username = uniqueUsername(prefix);
  const response = await request.post("/api/auth/register", {
    data: { username, display_name: `${prefix} ${username}`, password: PASSWORD },
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as {
    user: { id: number; username: string; display_name: string };
    token: string;
  };
}

export function bearer(token: string) {
  return { Authorization: `Bearer ${token}` };
}

/** A direct conversation that `token`'s user starts with `otherId`; answers its id. */
export async function directBetween(request: APIRequestContext, token: string, otherId: number) {
  const created = await request.post("/api/conversations", {
    data: { kind: "direct", user_id: otherId },
    headers: bearer(token),
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id as number;
}

/** A group `token`'s user starts, titled `title`, with `memberIds`; answers its id. */
export async function groupOf(
  request: APIRequestContext,
  token: string,
  title: string,
  memberIds: number[],
) {
  const created = await request.post("/api/conversations", {
    data: { kind: "group", title, user_ids: memberIds },
    headers: bearer(token),
  });
  expect(created.status()).toBe(201);
  return (await created.json()).id as number;
}

/** Sends `body` to conversation `id` as `token`'s user; answers the stored message. */
export async function send(request: APIRequestContext, token: string, id: number, body: string) {
  const sent = await request.post(`/api/conversations/${id}/messages`, {
    data: { body },
    headers: bearer(token),
  });
  expect(sent.status()).toBe(201);
  return (await sent.json()) as { id: number; body: string };
}

/** The bodies of conversation `id`'s newest page, oldest first, as `token`'s user reads them. */
export async function bodies(request: APIRequestContext, token: string, id: number) {
  const history = await request.get(`/api/conversations/${id}/messages`, {
    headers: bearer(token),
  });
  expect(history.status()).toBe(200);
  return ((await history.json()).messages as { body: string }[]).map((m) => m.body);
}

/** Someone with a browser of their own (a second context: their own cookies and socket). */
export async function inOwnBrowser(browser: Browser, prefix: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const person = await register(page.request, prefix);
  return { context, page, person };
}

/** Someone registered on `request` who starts a direct conversation with `other`; answers them
 * and the conversation's id. */
export async function writesTo(
  request: APIRequestContext,
  prefix: string,
  other: { user: { id: number } },
) {
  const person = await register(request, prefix);
  const id = await directBetween(request, person.token, other.user.id);
  return { person, id };
}

/** The open conversation's window, once its socket is connected (the page has hydrated). */
export async function connectedChat(page: Page) {
  const chat = page.getByRole("region", { name: /^Conversation:/ });
  await expect(chat).toBeVisible();
  await expect(chat.getByText("Connecting…")).toHaveCount(0, { timeout: 20_000 });
  return chat;
}

/** Makes the page look hidden (another tab in front) or shown again, as a browser would say. */
export async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    Object.defineProperty(document, "visibilityState", {
      value: hidden ? "hidden" : "visible",
      configurable: true,
    });
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  }, hidden);
}

/**
 * Shows the conversation list. On a phone (narrower than the layout's 768 px) anything open
 * beside it (a conversation, help requests, a new conversation) stands in its place, with a
 * "Back to conversations" link; on a wide screen the list is always there. Decided by the URL,
 * not by asking whether the link is visible yet, which answers at once and misses a pane that
 * has not drawn it.
 */
export async function showList(page: Page) {
  const phone = (page.viewportSize()?.width ?? 1280) < 768;
  if (phone && new URL(page.url()).pathname !== "/") {
    await page.getByRole("link", { name: "Back to conversations" }).click();
  }
  await expect(page.getByRole("navigation", { name: "Conversations" })).toBeVisible();
}

/** Notes each notification the page shows (title, body, tag), then shows it as the browser
 * would: the real `Notification` does the work. For `page.addInitScript`. */
export const NOTE_NOTIFICATIONS = `(() => {
  const Real = window.Notification;
  window.__shown = [];
  function Noted(title, options) {
    const shown = new Real(title, options);
    window.__shown.push({ title, body: options && options.body, tag: options && options.tag });
    window.__last = shown;
    return shown;
  }
  Object.defineProperty(Noted, "permission", { get: () => Real.permission });
  Noted.requestPermission = (answer) => Real.requestPermission(answer);
  window.Notification = Noted;
})()`;

export type Shown = { title: string; body: string; tag: string };

/** The notifications a page with `NOTE_NOTIFICATIONS` has shown, oldest first. */
export function shown(page: Page) {
  return page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown);
}
