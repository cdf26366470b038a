// The TypeScript client against the Prism mock of openapi.yaml (`make mock`), as a front-end team
// uses it before the backend exists: documented examples by default, `Prefer: code=...` for a
// documented error, `Prefer: dynamic=true` for data generated from the schemas. SHOP_BASE_URL
// names the mock.
import assert from "node:assert/strict";
import { test } from "node:test";

import createClient from "openapi-fetch";

import type { paths } from "../../build/client-ts/schema.js";

const baseUrl = process.env.SHOP_BASE_URL ?? "http://127.0.0.1:4010";
const mock = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer any-token" } });
const anonymous = createClient<paths>({ baseUrl });
const MONEY = /^-?\d+\.\d{2}$/;

test("the documented example of a list", async () => {
  const { data, response } = await mock.GET("/api/products/", { params: { query: { category: "electronics" } } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("etag"), '"5f0c7e1b9a3d4c2e8f6a1b0c9d8"');
  assert.equal(data?.count, 1);
  const [first] = data?.results ?? [];
  assert.deepEqual([first?.name, first?.price, first?.currency], ["Mechanical keyboard", "89.90", "EUR"]);
});

test("the documented example of an order", async () => {
  const { data } = await mock.POST("/api/orders/", { body: { items: [{ product: 1, quantity: 2 }] } });
  assert.ok(data);
  assert.equal(data.status, "pending");
  assert.match(data.total_price, MONEY);
  assert.ok(data.items.every((item) => MONEY.test(item.line_total)));
});

test("a documented error, asked for with Prefer", async () => {
  const { error, response } = await mock.POST("/api/orders/", {
    body: { items: [{ product: 1, quantity: 5 }] },
    headers: { Prefer: "code=400" },
  });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.equal(error?.code, "insufficient_stock");
  assert.deepEqual([error?.errors?.[0]?.requested, error?.errors?.[0]?.available], [5, 2]);
});

test("no token: the documented 401 problem", async () => {
  const { error, response } = await anonymous.GET("/api/auth/me/");
  assert.equal(response.status, 401);
  assert.equal(error?.code, "not_authenticated");
});

test("dynamic responses follow the schemas", async () => {
  for (let i = 0; i < 5; i++) {
    const { data } = await mock.GET("/api/products/{id}/", {
      params: { path: { id: 7 } },
      headers: { Prefer: "dynamic=true" },
    });
    assert.ok(data);
    assert.match(data.price, MONEY);
    // an ExtensibleCategory: one of today's categories or any other string a later 2.x may add
    assert.equal(typeof data.category, "string");
    assert.ok(Number.isInteger(data.stock) && data.stock >= 0);
  }
});

test("the mock refuses what the contract refuses", async () => {
  const { response } = await mock.POST("/api/orders/", {
    // @ts-expect-error: the generated types already refuse a body without `items`
    body: { lines: [] },
  });
  assert.ok(response.status >= 400 && response.status < 500, `answered ${response.status}`);
  const violations = response.headers.get("sl-violations") ?? "";
  assert.match(violations, /items/);
});
