import { expect, test, type Page } from "@playwright/test";

import { PASSWORD, uniqueUsername } from "./people";

/**
 * Waits until the WASM has hydrated the page: the password toggle only flips once the click
 * handler is attached, so retry the click until it does. Leaves the password shown.
 */
async function waitForHydration(page: Page): Promise<void> {
  await expect(async () => {
    await page.getByRole("button", { name: "Show password" }).click();
    await expect(page.getByRole("button", { name: "Hide password" })).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 20_000 });
}

/** The URL's path becomes `path` (server redirect or client-side navigation). */
async function expectPath(page: Page, path: string): Promise<void> {
  await expect
    .poll(() => new URL(page.url()).pathname, {
      message: `URL path should become ${path}`,
      timeout: 20_000,
    })
    .toBe(path);
}

test("sign up, see the shell, sign out, sign in again", async ({ page }) => {
  const username = uniqueUsername();
  const displayName = `Tess ${username}`;

  await page.goto("/signup");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Display name").fill(displayName);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();

  await expectPath(page, "/");
  await expect(page.getByRole("banner")).toContainText(displayName);
  await expect(page.getByRole("navigation", { name: "Conversations" })).toContainText(
    "No conversations yet",
  );

  await page.getByRole("button", { name: "Sign out" }).click();
  await expectPath(page, "/signin");

  // The session is gone: the shell sends a visitor back to sign-in.
  await page.goto("/");
  await expectPath(page, "/signin");

  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expectPath(page, "/");
  await expect(page.getByRole("banner")).toContainText(displayName);
  await expect(page.getByRole("navigation", { name: "Conversations" })).toBeAttached();
});

test("wrong password shows an error and stays on sign-in", async ({ page, request }) => {
  // `request` has its own cookie jar: registering here does not sign the page in.
  const username = uniqueUsername();
  const registered = await request.post("/api/auth/register", {
    data: { username, display_name: `Walt ${username}`, password: PASSWORD },
  });
  expect(registered.status(), await registered.text()).toBe(201);

  await page.goto("/signin");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(`${PASSWORD} typo`);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("alert")).toContainText("invalid username or password");
  await expectPath(page, "/signin");
});

test("the page hydrates without console errors", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // A 404 for the favicon names it only in the location, not in the text.
    const where = message.location().url ?? "";
    if (/favicon/i.test(message.text()) || /favicon/i.test(where)) return;
    errors.push(`console: ${message.text()} (${where})`);
  });
  page.on("pageerror", (error) => {
    if (/favicon/i.test(error.message)) return;
    errors.push(`pageerror: ${error.message}`);
  });

  await page.goto("/signin");
  await waitForHydration(page);

  expect(errors).toEqual([]);
});
