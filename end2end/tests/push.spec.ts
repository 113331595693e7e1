// Web Push: once notifications are allowed, the page subscribes its browser to the server's
// pushes; a new message is then pushed to it, encrypted for it, and the service worker shows it
// when no page of the app is on screen.
//
// A headless browser reaches no real push service, so the browser's `pushManager.subscribe`
// answers with a subscription at a push service of this test's own (on loopback, listed in the
// server's `PUSH_SERVICES`), which decrypts what the server posts as the browser would, and
// hands it to the worker as the browser would.

import { createDecipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

import { expect, test } from "@playwright/test";

import { register, send, writesTo } from "./people";

type Pushed = { path: string; headers: IncomingHttpHeaders; body: Buffer };

/** A push service on loopback that keeps what it is sent. */
async function pushService() {
  const pushes: Pushed[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      pushes.push({ path: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, pushes, close: () => server.close() };
}

const base64url = (bytes: Buffer) => bytes.toString("base64url");

/** Decrypts an `aes128gcm` push (RFC 8188, keys per RFC 8291) with the browser's keys. */
function decrypt(body: Buffer, browser: ReturnType<typeof createECDH>, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const shared = browser.computeSecret(serverKey);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), browser.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync("sha256", shared, auth, info, 32));
  const derive = (label: string, length: number) =>
    Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from(`Content-Encoding: ${label}\0`), length));
  const decipher = createDecipheriv("aes-128-gcm", derive("aes128gcm", 16), derive("nonce", 12));
  decipher.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with its delimiter (2), then any padding (zeros).
  let end = plain.length - 1;
  while (plain[end] === 0) end--;
  return plain.subarray(0, end).toString();
}

/** A browser's keys, and its subscription called `name` at `service`, as `toJSON()` gives it. */
function browserOf(service: { base: string }) {
  const keys = createECDH("prime256v1");
  keys.generateKeys();
  const auth = randomBytes(16);
  const subscription = (name: string) => ({
    endpoint: `${service.base}/push/${name}`,
    expirationTime: null,
    keys: { p256dh: base64url(keys.getPublicKey()), auth: base64url(auth) },
  });
  return { keys, auth, subscription };
}

test.describe("allowed, with a push service", () => {
  test.use({ permissions: ["notifications"] });

  test("the page subscribes; a pushed message is shown by the worker when no page is on screen", async ({
    context,
    page,
    request,
  }) => {
    const service = await pushService();
    const { keys, auth, subscription: subscriptionAt } = browserOf(service);
    const subscription = subscriptionAt("ann-phone");
    // The browser's push service is the test's; what the page asked for is noted.
    await page.addInitScript((subscription) => {
      PushManager.prototype.subscribe = async function (options) {
        (window as unknown as { __asked: unknown }).__asked = {
          userVisibleOnly: options?.userVisibleOnly,
          key: options?.applicationServerKey,
        };
        return { ...subscription, toJSON: () => subscription } as unknown as PushSubscription;
      };
    }, subscription);

    const ann = await register(page.request, "Ann");
    const bob = await writesTo(request, "Bob", ann);
    const saved = page.waitForResponse((r) => r.url().includes("/rpc/save_push_subscription"));
    const started = context.waitForEvent("serviceworker");
    // In Bob's conversation: the page shows no notification of its own for his message.
    await page.goto(`/c/${bob.id}`);
    expect((await saved).status()).toBe(200);
    const key = (await (await request.get("/api/push/key")).json()).public_key;
    expect(await page.evaluate(() => (window as unknown as { __asked: unknown }).__asked)).toEqual({
      userVisibleOnly: true,
      key,
    });

    // Bob writes: the server pushes it to Ann's browser, for her eyes only.
    await send(request, bob.person.token, bob.id, "Are you around?");
    await expect.poll(() => service.pushes.length).toBe(1);
    const [pushed] = service.pushes;
    expect(pushed.path).toBe("/push/ann-phone");
    expect(pushed.headers["content-encoding"]).toBe("aes128gcm");
    expect(pushed.headers.authorization).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${key}$`));
    const note = JSON.parse(decrypt(pushed.body, keys, auth));
    expect(note).toEqual({
      title: bob.person.user.display_name,
      body: "Are you around?",
      tag: `conversation-${bob.id}`,
      path: `/c/${bob.id}`,
    });

    // The browser hands the push to the worker, which is watched deciding to show it (headless
    // Chromium drops a notification shown with no page of its origin open now and then, so its
    // list of notifications shown is no witness). With the app on screen, the page's own
    // notifications are enough: the worker shows none.
    const worker = context.serviceWorkers()[0] ?? (await started);
    await worker.evaluate(() => {
      const scope = self as unknown as { registration: ServiceWorkerRegistration; __shown: unknown[] };
      const real = scope.registration.showNotification.bind(scope.registration);
      scope.__shown = [];
      scope.registration.showNotification = (title, options) => {
        scope.__shown.push({ title, body: options?.body, tag: options?.tag, data: options?.data });
        return real(title, options);
      };
    });
    const deliver = (data: string) =>
      worker.evaluate((data) => {
        self.dispatchEvent(new PushEvent("push", { data }));
      }, data);
    const notes = () => worker.evaluate(() => (self as unknown as { __shown: unknown[] }).__shown);
    await deliver(JSON.stringify(note));
    await page.waitForTimeout(500);
    expect(await notes()).toEqual([]);

    // With no page of the app open, the worker shows it.
    await page.goto("about:blank");
    // Once the worker sees the page gone (a moment after the navigation).
    await expect
      .poll(() =>
        worker.evaluate(async () => {
          const pages = await (self as unknown as { clients: Clients }).clients.matchAll({
            type: "window",
            includeUncontrolled: true,
          });
          return pages.length;
        }),
      )
      .toBe(0);
    await deliver(JSON.stringify(note));
    await expect
      .poll(notes)
      .toEqual([{ title: note.title, body: note.body, tag: note.tag, data: note.path }]);
    // Something else pushed to the origin shows nothing.
    await deliver("not json");
    await page.waitForTimeout(300);
    expect(await notes()).toHaveLength(1);
    service.close();
  });

  test("the worker renews a subscription its push service replaced", async ({
    context,
    page,
    request,
  }) => {
    const service = await pushService();
    const { keys, auth, subscription: subscriptionAt } = browserOf(service);
    const old = subscriptionAt("ann-old");
    await page.addInitScript((subscription) => {
      PushManager.prototype.subscribe = async () =>
        ({ ...subscription, toJSON: () => subscription }) as unknown as PushSubscription;
    }, old);
    const ann = await register(page.request, "Ann");
    const bob = await writesTo(request, "Bob", ann);
    const saved = page.waitForResponse((r) => r.url().includes("/rpc/save_push_subscription"));
    const started = context.waitForEvent("serviceworker");
    await page.goto("/");
    expect((await saved).status()).toBe(200);
    const worker = context.serviceWorkers()[0] ?? (await started);

    // The push service ends the old subscription and offers none: the worker makes one with
    // the server's key (in the test, at the test's service) and saves it.
    await worker.evaluate(
      ({ fresh, old }) => {
        const scope = self as unknown as { __asked: unknown };
        PushManager.prototype.subscribe = async (options) => {
          scope.__asked = {
            userVisibleOnly: options?.userVisibleOnly,
            key: options?.applicationServerKey,
          };
          return { ...fresh, toJSON: () => fresh } as unknown as PushSubscription;
        };
        const change = new ExtendableEvent("pushsubscriptionchange");
        Object.defineProperty(change, "oldSubscription", { value: old });
        Object.defineProperty(change, "newSubscription", { value: null });
        // Made here, the event is not trusted: its `waitUntil` throws, after the work started.
        self.dispatchEvent(change);
      },
      { fresh: subscriptionAt("ann-new"), old },
    );
    const key = (await (await request.get("/api/push/key")).json()).public_key;
    await expect
      .poll(() => worker.evaluate(() => (self as unknown as { __asked: unknown }).__asked))
      .toEqual({ userVisibleOnly: true, key });

    // Bob's message goes to the new subscription only: the old one was forgotten.
    await expect
      .poll(async () => {
        service.pushes.length = 0;
        await send(request, bob.person.token, bob.id, "Still there?");
        await page.waitForTimeout(300);
        return service.pushes.map((pushed) => pushed.path);
      })
      .toEqual(["/push/ann-new"]);
    const note = JSON.parse(decrypt(service.pushes[0].body, keys, auth));
    expect(note.body).toBe("Still there?");
    service.close();
  });
});
