// The TypeScript client a front-end team would write: types generated from openapi.yaml by
// openapi-typescript, calls made by openapi-fetch. It walks the Python client's scenario
// (contract_tests/test_generated_client.py) against the live stack named by SHOP_BASE_URL, with
// SHOP_ADMIN_TOKEN for the staff steps. Compiled by tsc (a type error fails the test), run by
// Node's own test runner.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import createClient from "openapi-fetch";

import type { components, paths } from "../../build/client-ts/schema.js";

type Problem = components["schemas"]["Problem"];
type Order = components["schemas"]["Order"];

const baseUrl = process.env.SHOP_BASE_URL ?? "http://127.0.0.1:8000";
const adminToken = process.env.SHOP_ADMIN_TOKEN ?? "";

function client(token?: string) {
  return createClient<paths>({
    baseUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("a whole scenario through the TypeScript client", async () => {
  const anonymous = client();
  const admin = client(adminToken);
  const username = `dana${randomUUID().slice(0, 6)}`;
  const password = "a-long-passphrase-42";

  // register and log in
  const registered = await anonymous.POST("/api/auth/register/", {
    body: { username, email: `${username}@example.com`, password },
  });
  assert.equal(registered.response.status, 201);
  assert.equal(registered.data?.username, username);
  const login = await anonymous.POST("/api/auth/login/", { body: { username, password } });
  assert.ok(login.data, "login answered no token pair");
  assert.ok(login.data.expires_in > 0);
  const dana = client(login.data.access);

  // as staff, stock the catalog
  const kettle = await admin.POST("/api/products/", {
    body: { name: "TS kettle", price: "30.00", stock: 3, category: "home" },
  });
  const lamp = await admin.POST("/api/products/", {
    body: { name: "TS lamp", price: "45.50", stock: 10, category: "home" },
  });
  assert.ok(kettle.data && lamp.data, `staff could not create products: ${kettle.response.status}`);
  const kettleId = kettle.data.id;
  const lampId = lamp.data.id;
  assert.equal(kettle.data.price, "30.00"); // money is a decimal string, never a float

  // list and filter
  const page = await dana.GET("/api/products/", {
    params: { query: { category: "home", min_price: "40", ordering: "price" } },
  });
  assert.ok(page.data);
  const listed = page.data.results.map((product) => product.id);
  assert.ok(listed.includes(lampId) && !listed.includes(kettleId));

  // too much is a typed problem: the client can switch on `code` and read each line's numbers
  const tooMuch = await dana.POST("/api/orders/", {
    body: { items: [{ product: kettleId, quantity: 4 }] },
  });
  assert.equal(tooMuch.response.status, 400);
  assert.equal(tooMuch.response.headers.get("content-type"), "application/problem+json");
  const problem: Problem | undefined = tooMuch.error;
  assert.equal(problem?.code, "insufficient_stock");
  const line = problem?.errors?.[0];
  assert.deepEqual(
    [line?.field, line?.product, line?.requested, line?.available],
    ["items[0].quantity", kettleId, 4, 3],
  );

  // save an address, then place an order with it: the order keeps a copy
  const home = { name: "Dana", line1: "5 Rue de la Paix", city: "Paris", postal_code: "75002", country: "FR" } as const;
  const saved = await dana.POST("/api/addresses/", { body: { address: home } });
  assert.equal(saved.response.status, 201);
  assert.ok(saved.data?.is_default);
  const placed = await dana.POST("/api/orders/", {
    body: {
      items: [
        { product: kettleId, quantity: 2 },
        { product: lampId, quantity: 1 },
      ],
      shipping_address: { saved_address: saved.data.id },
    },
  });
  assert.equal(placed.response.status, 201);
  const order: Order | undefined = placed.data;
  assert.ok(order);
  assert.equal(order.shipping_address?.city, "Paris");
  assert.equal(order.total_price, "105.50");
  assert.equal(order.status, "pending");

  // read it; a conditional read answers 304 with no body once the worker has left it alone
  const read = await dana.GET("/api/orders/{id}/", { params: { path: { id: order.id } } });
  assert.deepEqual(
    read.data?.items.map((item) => item.quantity),
    [2, 1],
  );
  let etag = read.response.headers.get("etag") ?? "";
  let conditional = await dana.GET("/api/orders/{id}/", {
    params: { path: { id: order.id }, header: { "If-None-Match": etag } },
  });
  for (let i = 0; i < 20 && conditional.response.status === 200; i++) {
    etag = conditional.response.headers.get("etag") ?? ""; // the invoice moved it on: a new tag
    await sleep(200);
    conditional = await dana.GET("/api/orders/{id}/", {
      params: { path: { id: order.id }, header: { "If-None-Match": etag } },
    });
  }
  assert.equal(conditional.response.status, 304);
  assert.equal(conditional.data, undefined);

  // cancel it: the stock comes back
  const cancelled = await dana.PATCH("/api/orders/{id}/", {
    params: { path: { id: order.id } },
    body: { status: "cancelled" },
  });
  assert.equal(cancelled.data?.status, "cancelled");
  const kettleNow = await dana.GET("/api/products/{id}/", { params: { path: { id: kettleId } } });
  assert.equal(kettleNow.data?.stock, 3);

  // as staff, ship another order
  const second = await dana.POST("/api/orders/", {
    body: { items: [{ product: lampId, quantity: 1 }], shipping_address: { ...home, line2: "3e étage" } },
  });
  assert.ok(second.data);
  assert.equal(second.data.shipping_address?.line2, "3e étage");
  const secondId = second.data.id;
  let moved: Order | undefined;
  for (const status of ["processing", "shipped"] as const) {
    moved = (
      await admin.PATCH("/api/orders/{id}/", { params: { path: { id: secondId } }, body: { status } })
    ).data;
  }
  assert.deepEqual(
    moved?.status_history.map((change) => change.to_status),
    ["pending", "processing", "shipped"],
  );

  // the customer may not touch a shipped order: a typed problem with the allowed statuses
  const refused = await dana.PATCH("/api/orders/{id}/", {
    params: { path: { id: secondId } },
    body: { status: "cancelled" },
  });
  assert.equal(refused.error?.code, "invalid_status_transition");
  assert.equal(refused.error?.current_status, "shipped");

  // and the invoice arrives (the worker makes it): a PDF download
  const deadline = Date.now() + 60_000;
  for (;;) {
    const polled = await dana.GET("/api/orders/{id}/", { params: { path: { id: secondId } } });
    if (polled.data?.report_url) break;
    assert.ok(Date.now() < deadline, "no invoice after 60 s");
    await sleep(500);
  }
  const report = await dana.GET("/api/orders/{id}/report/", {
    params: { path: { id: secondId } },
    parseAs: "arrayBuffer",
  });
  assert.equal(report.response.status, 200);
  assert.equal(Buffer.from(report.data ?? new ArrayBuffer(0)).subarray(0, 4).toString(), "%PDF");
  assert.equal(
    report.response.headers.get("content-disposition"),
    `attachment; filename="invoice-order-${secondId}.pdf"`,
  );
});

test("a value a later 2.x version may add still type-checks, and a known one narrows", () => {
  // An order status, a category and a problem code added by a minor version are strings this
  // client's types accept (the extensible enums); the known values stay named for a `switch`.
  const later: Order = {
    id: 1,
    user: 1,
    status: "on_hold",
    total_price: "1.00",
    currency: "EUR",
    created_at: "2026-11-28T10:00:00Z",
    updated_at: "2026-11-28T10:00:00Z",
    items: [],
    shipping_address: null,
    billing_address: null,
    report_url: null,
    status_history: [],
    shipping_address_history: [],
  };
  const known: components["schemas"]["OrderStatus"][] = ["pending", "processing", "shipped", "delivered", "cancelled"];
  const isKnown = (status: string): status is components["schemas"]["OrderStatus"] =>
    (known as string[]).includes(status);
  assert.equal(isKnown(later.status), false);
  assert.equal(isKnown("shipped"), true);
  const code: Problem["code"] = "order_locked";
  const category: components["schemas"]["Product"]["category"] = "garden";
  assert.deepEqual([code, category], ["order_locked", "garden"]);
});
