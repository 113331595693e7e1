import { expect, test } from "@playwright/test";

/**
 * The release build compresses the app's files once (`cargo leptos build --release --precompress`)
 * and the server sends those files, so a page load costs no compression CPU and gets brotli's
 * best level. Compressed on the fly, a response would stream without a length.
 */
test("the app's WASM, JS and CSS are served precompressed", async ({ request }) => {
  for (const file of ["/pkg/confab.wasm", "/pkg/confab.js", "/pkg/confab.css"]) {
    const plain = await request.get(file, { headers: { "Accept-Encoding": "identity" } });
    expect(plain.status(), file).toBe(200);
    const size = Number(plain.headers()["content-length"]);
    for (const encoding of ["br", "gzip"]) {
      const res = await request.get(file, { headers: { "Accept-Encoding": encoding } });
      expect(res.status(), `${file} ${encoding}`).toBe(200);
      const headers = res.headers();
      expect(headers["content-encoding"], `${file} ${encoding}`).toBe(encoding);
      const length = Number(headers["content-length"]);
      expect(length, `${file} ${encoding}: a known length`).toBeGreaterThan(0);
      expect(length, `${file} ${encoding}: smaller than ${size}`).toBeLessThan(size);
    }
  }
});

/** Chromium itself judges whether the app can be installed: its manifest, icons and scope. */
test("the app can be installed on a home screen", async ({ page, request }) => {
  const manifest = await request.get("/manifest.webmanifest");
  expect(manifest.status()).toBe(200);
  expect(manifest.headers()["content-type"]).toContain("application/manifest+json");
  const app = await manifest.json();
  expect(app).toMatchObject({ name: "Confab", start_url: "/", display: "standalone" });
  for (const icon of app.icons) {
    const res = await request.get(icon.src);
    expect(res.status(), icon.src).toBe(200);
    expect(res.headers()["content-type"], icon.src).toBe(icon.type);
  }
  const touchIcon = await request.get("/apple-touch-icon.png");
  expect(touchIcon.headers()["content-type"]).toBe("image/png");

  await page.goto("/signin");
  await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
  // Both projects run Chromium, whose DevTools protocol says what stops an install. The test's
  // browser context is a private one, where nothing installs: that, and only that, is left.
  const cdp = await page.context().newCDPSession(page);
  const errors = async () =>
    (await cdp.send("Page.getInstallabilityErrors")).installabilityErrors.map((e) => e.errorId);
  await expect.poll(errors).toEqual(["in-incognito"]);
  // The check is not stopped by the first error: a page without a manifest shows both.
  await page.goto("/healthz");
  await expect.poll(errors).toContain("no-manifest");
});
