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
