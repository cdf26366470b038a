// A small storefront on the generated TypeScript client: types from openapi.yaml (openapi-typescript),
// calls by openapi-fetch, from another origin than the API's (CORS). Log in, list and filter the
// catalog, place an order with a shipping address, follow it (status, history, invoice), cancel it
// while it is pending, log out. `?api=<origin>` names the API (default http://127.0.0.1:8000, `make run`).
import createClient from "openapi-fetch";

import type { components, paths } from "../../../build/client-ts/schema.js";

type Order = components["schemas"]["Order"];
type Problem = components["schemas"]["Problem"];
type Product = components["schemas"]["Product"];
type Country = components["schemas"]["Country"];

const api = new URLSearchParams(location.search).get("api") ?? "http://127.0.0.1:8000";
let tokens: { access: string; refresh: string } | null = null;
const client = createClient<paths>({ baseUrl: api });
client.use({
  onRequest({ request }) {
    if (tokens) request.headers.set("Authorization", `Bearer ${tokens.access}`);
    return request;
  },
});

const $ = <T extends HTMLElement>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`no ${selector}`);
  return found;
};
const text = (tag: string, content: string, className?: string): HTMLElement => {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
};
const field = (form: HTMLFormElement, name: string): string =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value.trim();

function say(message: string, problem?: Problem): void {
  const box = $("#message");
  box.textContent = problem ? `${problem.title}: ${problem.detail ?? problem.code}` : message;
  box.className = problem ? "error" : "";
}

async function showProducts(): Promise<void> {
  const filters = $<HTMLFormElement>("#filters");
  const query: NonNullable<paths["/api/products/"]["get"]["parameters"]["query"]> = { page_size: 50 };
  const category = field(filters, "category");
  if (category) query.category = category as components["schemas"]["Category"];
  if (field(filters, "search")) query.search = field(filters, "search");
  if (field(filters, "max_price")) query.max_price = field(filters, "max_price");
  const { data, error } = await client.GET("/api/products/", { params: { query } });
  if (error) return say("", error);
  const rows = $("#products tbody");
  rows.replaceChildren(...data.results.map(productRow));
}

function productRow(product: Product): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.product = String(product.id);
  const quantity = document.createElement("input");
  Object.assign(quantity, { type: "number", min: "0", max: String(product.stock), value: "0", size: 4 });
  quantity.setAttribute("aria-label", `quantity of ${product.name}`);
  const cell = document.createElement("td");
  cell.append(quantity);
  row.append(
    text("td", product.name),
    text("td", `${product.price} ${product.currency}`, "number"),
    text("td", String(product.stock), "number"),
    cell,
  );
  return row;
}

async function placeOrder(form: HTMLFormElement): Promise<void> {
  const items = [...document.querySelectorAll<HTMLTableRowElement>("#products tbody tr")]
    .map((row) => ({ product: Number(row.dataset.product), quantity: Number(row.querySelector("input")?.value) }))
    .filter((line) => line.quantity > 0);
  if (items.length === 0) return say("Choose a quantity of at least one product first.");
  const { data, error, response } = await client.POST("/api/orders/", {
    params: { header: { "Idempotency-Key": crypto.randomUUID() } },
    body: {
      items,
      shipping_address: {
        name: field(form, "name"),
        line1: field(form, "line1"),
        city: field(form, "city"),
        postal_code: field(form, "postal_code"),
        country: field(form, "country").toUpperCase() as Country,
      },
    },
  });
  if (error) return say("", error);
  say(`Order #${data.id} placed (${response.status}): ${data.total_price} ${data.currency}.`);
  await Promise.all([showOrders(), showProducts()]);
  await showOrder(data.id);
}

async function showOrders(): Promise<void> {
  const { data, error } = await client.GET("/api/orders/");
  if (error) return say("", error);
  $("#orders").replaceChildren(
    ...data.results.map((order) => {
      const item = text("li", `#${order.id}: ${order.total_price} ${order.currency}, `);
      item.dataset.order = String(order.id);
      item.append(text("span", order.status, "status"));
      item.addEventListener("click", () => void showOrder(order.id));
      return item;
    }),
  );
}

async function showOrder(id: number): Promise<void> {
  const { data, error } = await client.GET("/api/orders/{id}/", { params: { path: { id } } });
  if (error) return say("", error);
  renderOrder(data);
}

function renderOrder(order: Order): void {
  const detail = $("#order-detail");
  detail.hidden = false;
  detail.dataset.order = String(order.id);
  const address = order.shipping_address;
  const lines = order.items.map((item) => text("li", `${item.quantity} × ${item.product_name}: ${item.line_total}`));
  const history = order.status_history.map((change) =>
    text("li", `${change.from_status ?? "—"} → ${change.to_status} at ${new Date(change.changed_at).toLocaleString()}`),
  );
  const actions = document.createElement("p");
  if (order.report_url) {
    const download = text("button", "Download invoice");
    download.id = "download-invoice";
    download.addEventListener("click", () => void downloadInvoice(order.id));
    actions.append(download);
  } else {
    actions.append(text("span", "The invoice is being written… ", "pending-invoice"));
    const refresh = text("button", "Refresh");
    refresh.addEventListener("click", () => void showOrder(order.id));
    actions.append(refresh);
  }
  if (order.status === "pending") {
    const cancel = text("button", "Cancel order");
    cancel.id = "cancel-order";
    cancel.addEventListener("click", () => void cancelOrder(order.id));
    actions.append(" ", cancel);
  }
  detail.replaceChildren(
    text("h3", `Order #${order.id}: `),
    text("ul", ""),
    text("p", address ? `Ships to ${address.name}, ${address.line1}, ${address.postal_code} ${address.city}, ${address.country}` : "No shipping address yet"),
    text("h4", "History"),
    text("ul", ""),
    actions,
  );
  detail.querySelector("h3")?.append(text("span", order.status, "status"));
  const [itemsList, historyList] = detail.querySelectorAll("ul");
  itemsList?.replaceChildren(...lines);
  historyList?.replaceChildren(...history);
  historyList?.setAttribute("id", "history");
}

async function downloadInvoice(id: number): Promise<void> {
  const { data, error } = await client.GET("/api/orders/{id}/report/", {
    params: { path: { id } },
    parseAs: "blob",
  });
  if (error) return say("", error);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(data);
  link.download = `invoice-order-${id}.pdf`;
  link.click();
  say(`Invoice of order #${id} downloaded.`);
}

async function cancelOrder(id: number): Promise<void> {
  const { data, error } = await client.PATCH("/api/orders/{id}/", {
    params: { path: { id } },
    body: { status: "cancelled" },
  });
  if (error) return say("", error);
  say(`Order #${id} cancelled.`);
  renderOrder(data);
  await Promise.all([showOrders(), showProducts()]);
}

async function logIn(form: HTMLFormElement): Promise<void> {
  const { data, error } = await client.POST("/api/auth/login/", {
    body: { username: field(form, "username"), password: field(form, "password") },
  });
  if (error) return say("", error);
  tokens = { access: data.access, refresh: data.refresh };
  const me = await client.GET("/api/auth/me/");
  $("#who").textContent = me.data ? `Logged in as ${me.data.username}` : "";
  form.hidden = true;
  $("#shop").hidden = false;
  $("#logout").hidden = false;
  say("");
  await Promise.all([showProducts(), showOrders()]);
}

async function logOut(): Promise<void> {
  if (tokens) await client.POST("/api/auth/logout/", { body: { refresh: tokens.refresh } });
  tokens = null;
  $("#who").textContent = "";
  $("#shop").hidden = true;
  $("#logout").hidden = true;
  $("#order-detail").hidden = true;
  $<HTMLFormElement>("#login").hidden = false;
  say("Logged out.");
}

function on(selector: string, action: (form: HTMLFormElement) => Promise<void>): void {
  $<HTMLFormElement>(selector).addEventListener("submit", (event) => {
    event.preventDefault();
    void action(event.currentTarget as HTMLFormElement);
  });
}

on("#login", logIn);
on("#filters", showProducts);
on("#order", placeOrder);
$("#logout").addEventListener("click", () => void logOut());
