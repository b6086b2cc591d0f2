// Ops Desk dashboard: live refresh over server-sent events, and actions in place.
// Pages work without this script; it only saves reloads.
"use strict";

const REFRESH_DELAY_MS = 250;

// -- fragments -------------------------------------------------------------------------

function isBusy(section) {
  // Never swap out what someone is typing into.
  const active = document.activeElement;
  if (active && section.contains(active) && active.matches("input, select, textarea")) return true;
  return [...section.querySelectorAll("input, textarea")].some(
    (el) => (el.type === "checkbox" || el.type === "radio")
      // Rows ticked for a bulk action stay ticked: the list waits until they are used.
      ? el.checked !== el.defaultChecked
      : el.type !== "hidden" && el.value !== el.defaultValue
  );
}

async function refresh(section, force = false) {
  if (!force && isBusy(section)) return;
  const url = section.dataset.fragment;
  const response = await fetch(url, { headers: { Accept: "text/html" } });
  const html = response.ok ? await response.text() : null;
  // A live refresh that set off before the person turned the page (or filtered) must not
  // land on top of the page they turned to.
  if (html !== null && section.dataset.fragment === url) swap(section, html);
}

// -- what a row said then and says now ----------------------------------------------------------

const ROWS = "tr[data-order], tr[data-request]";

function statuses(root) {
  const seen = new Map();
  root.querySelectorAll(ROWS).forEach((row) => {
    seen.set(row.dataset.order || row.dataset.request, row.dataset.status);
  });
  return seen;
}

function swap(section, html) {
  const before = statuses(section);
  section.innerHTML = html;
  enhance(section);
  remark(section);
  rowsChanged(before, statuses(section));
  noticeOutdated(section);
}

// What only works with this script is hidden until it runs (and in every section it swaps in).
function enhance(root) {
  root.querySelectorAll("[data-add-line], [data-live], [data-pick-all], [data-keys-open]").forEach(
    (el) => (el.hidden = false)
  );
}

// A notice says what a row was when the form answered: once a live update changes that row,
// the notice would contradict it, so it goes (the page's own) or says what the row is now
// (the new-order form's, which names its order).
function rowsChanged(before, after) {
  const changed = [...after].filter(([id, status]) => before.has(id) && before.get(id) !== status);
  if (changed.length) {
    document.querySelectorAll("[data-notice].ok").forEach((notice) => {
      if (changed.some(([id]) => notice.textContent.includes(id))) notice.remove();
    });
  }
  document.querySelectorAll("[data-ok][data-order]").forEach((ok) => {
    const row = document.querySelector(`tr[data-order="${CSS.escape(ok.dataset.order)}"]`);
    if (!row || ok.hidden || row.dataset.status === ok.dataset.status) return;
    ok.dataset.status = row.dataset.status;
    const badge = row.querySelector(".badge");
    ok.querySelector("[data-now]").textContent = badge ? badge.textContent.toLowerCase() : "";
  });
}

const pending = new Map();
function refreshAll(selector = "[data-fragment]") {
  clearTimeout(pending.get(selector));
  pending.set(selector, setTimeout(() => {
    document.querySelectorAll(selector).forEach((section) => refresh(section).catch(() => {}));
  }, REFRESH_DELAY_MS));
}

function listen() {
  // Only signed-in pages carry the indicator; the sign-in page has nothing to refresh.
  const live = document.querySelector("[data-live]");
  if (!live) return;
  const events = new EventSource("/api/events");
  // A change made while the page loaded (or while the connection was down) sent its event
  // to nobody: on each connect, the sections are read once more.
  events.addEventListener("ready", () => {
    live.classList.add("on");
    refreshAll();
  });
  events.addEventListener("orders", () => refreshAll());
  // The numbers are counted in the background and announced when they move.
  events.addEventListener("metrics", () => refreshAll('[data-fragment$="/metrics"]'));
  events.onerror = () => live.classList.remove("on");
}

// -- forms that call the JSON API ----------------------------------------------------------

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  keys.slice(0, -1).forEach((key, i) => {
    const nextIsIndex = /^\d+$/.test(keys[i + 1]);
    if (node[key] === undefined) node[key] = nextIsIndex ? [] : {};
    node = node[key];
  });
  node[keys[keys.length - 1]] = value;
}

function formBody(form) {
  const body = {};
  form.querySelectorAll("input[name], select[name], textarea[name]").forEach((el) => {
    if (el.type === "checkbox" && !el.checked) return;
    // The form's own key is for posts without this script; fetches send theirs as a header.
    if (el.name === "idempotency_key") return;
    let value = el.value.trim();
    if (value === "") return;
    if (el.dataset.type === "int") value = Number(value);
    if (el.name.endsWith("country")) value = value.toUpperCase();
    setPath(body, el.name, value);
  });
  if (body.lines) body.lines = body.lines.filter(Boolean);
  if (body.customer && body.customer.email && !body.customer.id) body.customer.id = body.customer.email;
  if (body.customer && body.shipping_address) body.shipping_address.name = body.customer.name;
  return body;
}

// As orders/ids.py order_label names an order: "#1043" for one the desk numbered.
function orderLabel(orderId) {
  return /^\d+$/.test(orderId) ? "#" + orderId : orderId;
}

function message(problem) {
  if (problem && problem.error) return problem.error.message;
  return "Something went wrong; try again.";
}

async function submitAction(form) {
  const error = form.querySelector("[data-error]") || form.parentElement.querySelector("[data-error]");
  const ok = form.querySelector("[data-ok]");
  if (error) error.hidden = true;
  // One key per intended action: a double click or a retry acts once.
  form.dataset.key = form.dataset.key || crypto.randomUUID();
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const response = await fetch(form.dataset.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": form.dataset.key },
      body: JSON.stringify(formBody(form)),
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      if (error) {
        error.textContent = message(answer);
        error.hidden = false;
      }
      if (response.status !== 409) delete form.dataset.key;
      return;
    }
    delete form.dataset.key;
    if (form.dataset.kind === "create" && ok) {
      ok.innerHTML = "";
      const link = document.createElement("a");
      link.href = "/orders/" + answer.order_id;
      link.textContent = "Order " + orderLabel(answer.order_id);
      const now = document.createElement("span");
      now.dataset.now = "";
      now.textContent = answer.status.replace("_", " ").toLowerCase();
      ok.append(link, " is ", now, ".");
      ok.dataset.order = answer.order_id;
      ok.dataset.status = answer.status;
      ok.hidden = false;
      form.reset();
    }
    document.querySelectorAll("[data-fragment]").forEach((section) => {
      if (!section.contains(form)) refresh(section, true).catch(() => {});
    });
    const own = form.closest("[data-fragment]");
    if (own) refresh(own, true).catch(() => {});
    // A section that is polled rather than fed (a request's page) is read again at once.
    // A page polled in parts (a request's, around its photos) reads the others too.
    const polled = form.closest("[data-poll]");
    if (polled) {
      pollSection(polled, true);
      document.querySelectorAll("[data-poll]").forEach((section) => {
        if (section !== polled) pollSection(section);
      });
    }
  } catch (e) {
    if (error) {
      error.textContent = "The server could not be reached; try again.";
      error.hidden = false;
    }
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function addLine(button) {
  const lines = button.closest("form").querySelector("[data-lines]");
  const template = lines.querySelector("[data-line]");
  const copy = template.cloneNode(true);
  const index = lines.querySelectorAll("[data-line]").length;
  copy.querySelectorAll("[name]").forEach((el) => {
    el.name = el.name.replace(/\.\d+\./, "." + index + ".");
    if (el.type === "number") el.value = el.defaultValue = "1";
  });
  lines.append(copy);
}

// -- filters and paging without a reload -------------------------------------------------------

function showOrders(query) {
  const section = document.querySelector("[data-orders]");
  if (!section) return false;
  section.dataset.fragment = "/fragments/orders" + (query ? "?" + query : "");
  history.replaceState(null, "", "/" + (query ? "?" + query : ""));
  refresh(section, true).catch(() => {});
  return true;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]")) {
    event.preventDefault();
    confirmFirst(form);
  } else if (form.matches("[data-action]")) {
    event.preventDefault();
    submitAction(form);
  } else if (form.matches("[data-filter]")) {
    const query = new URLSearchParams(
      [...new FormData(form)].filter(([, value]) => value !== "")
    ).toString();
    if (showOrders(query)) event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  const target = event.target;
  if (target.matches("[data-add-line]")) addLine(target);
  const close = target.closest("dialog [data-close]");
  if (close) {
    event.preventDefault();
    close.closest("dialog").close();
  }
  const link = target.closest("a[data-page], a[data-reset]");
  if (link && showOrders(new URL(link.href).search.slice(1))) event.preventDefault();
});

enhance(document);
listen();

// -- selecting many rows --------------------------------------------------------------------

function picked(table) {
  const boxes = [...table.querySelectorAll("[data-pick]")];
  const ticked = boxes.filter((box) => box.checked).length;
  const all = table.querySelector("[data-pick-all]");
  if (all) {
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  const form = boxes.length ? document.getElementById(boxes[0].getAttribute("form")) : null;
  const label = form && form.querySelector("[data-picked]");
  if (label) {
    if (label.dataset.none === undefined) label.dataset.none = label.textContent;
    label.textContent = ticked ? `${ticked} selected:` : label.dataset.none;
  }
}

document.addEventListener("change", (event) => {
  const box = event.target;
  const table = box.closest("table");
  if (!table) return;
  if (box.matches("[data-pick-all]")) {
    table.querySelectorAll("[data-pick]").forEach((row) => (row.checked = box.checked));
  }
  if (box.matches("[data-pick], [data-pick-all]")) picked(table);
});

// -- sections that are re-read now and then ----------------------------------------------------
// The maintenance pages have no change feed of their own: each [data-poll] section is fetched
// again every few seconds while the page is in view, unless someone is using its forms.

const POLL_MS = 10000;

function isEdited(section) {
  // A select with no option marked selected shows its first: that is not an edit.
  return isBusy(section) || [...section.querySelectorAll("select")].some((select) => {
    const initial = [...select.options].find((option) => option.defaultSelected) || select.options[0];
    return initial !== undefined && select.value !== initial.value;
  });
}

async function pollSection(section, force = false) {
  if (!force && isEdited(section)) return;
  try {
    const response = await fetch(section.dataset.poll, { headers: { Accept: "text/html" } });
    const html = response.ok ? await response.text() : null;
    if (html !== null && (force || !isEdited(section))) swap(section, html);
  } catch (e) {
    // The next round tries again.
  }
}

function poll() {
  if (document.hidden) return;
  document.querySelectorAll("[data-poll]").forEach((section) => pollSection(section));
}

if (document.querySelector("[data-poll]")) setInterval(poll, POLL_MS);

// -- one order's or one request's page ----------------------------------------------------
// A destructive action asks first: the confirmation the server would show as a page (what
// the action will do) opens in a dialog over this one, and its own button acts. If the
// confirmation cannot be fetched, the browser goes to that page instead.

async function confirmFirst(form) {
  const url = new URL(form.dataset.confirm, location.href);
  url.searchParams.set("back", location.pathname + location.search);
  let html;
  try {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(String(response.status));
    html = await response.text();
  } catch (e) {
    form.submit();
    return;
  }
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.innerHTML = html;
  const title = dialog.querySelector("h2");
  if (title) {
    title.id = "confirm-dialog-title";
    dialog.setAttribute("aria-labelledby", title.id);
  }
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// The success notice a form left says what was done to the order or request as it was
// then: once the section shows a newer version of it, the notice would mislead, so it goes.
function noticeOutdated(section) {
  const shown = section.querySelector("[data-version]");
  if (!shown) return;
  const version = shown.dataset.version;
  if (section.dataset.seenVersion && section.dataset.seenVersion !== version) {
    document.querySelectorAll("[data-notice].ok").forEach((notice) => notice.remove());
  }
  section.dataset.seenVersion = version;
}

document.querySelectorAll("[data-fragment], [data-poll]").forEach(noticeOutdated);

// -- the keyboard on the lists ------------------------------------------------------------------
// j/k or the arrows move through the rows, Enter opens one, x ticks it, / goes to the search
// box, ? lists these. Keys typed into a field are the field's.

let currentRow = null; // the row's id, so a live refresh keeps the place

function rows() {
  return [...document.querySelectorAll(ROWS)];
}

function rowId(row) {
  return row.dataset.order || row.dataset.request;
}

function mark(row) {
  document.querySelectorAll("tr.current").forEach((r) => r.classList.remove("current"));
  if (!row) return;
  row.classList.add("current");
  row.tabIndex = -1;
  row.focus({ preventScroll: true });
  row.scrollIntoView({ block: "nearest" });
  currentRow = rowId(row);
}

function remark(section) {
  if (!currentRow) return;
  const row = [...section.querySelectorAll(ROWS)].find((r) => rowId(r) === currentRow);
  if (row) row.classList.add("current");
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  const at = all.findIndex((r) => rowId(r) === currentRow);
  const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
  mark(all[next]);
}

function current() {
  return rows().find((r) => rowId(r) === currentRow) || null;
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target.matches && target.matches("input, select, textarea, [contenteditable]");
  const keys = document.querySelector("[data-keys]");
  if (typing) {
    if (event.key === "Escape" && target.matches("[data-search]")) target.blur();
    return;
  }
  if (!rows().length && !document.querySelector("[data-search]")) return;
  const onRow = target.matches && target.matches(ROWS);
  switch (event.key) {
    case "j":
      move(1);
      break;
    case "k":
      move(-1);
      break;
    case "ArrowDown":
    case "ArrowUp":
      // The arrows scroll the page until a row has been chosen.
      if (!onRow) return;
      move(event.key === "ArrowDown" ? 1 : -1);
      break;
    case "Enter": {
      const row = onRow ? target : null;
      const link = row && row.querySelector("td.id a");
      if (!link) return;
      link.click();
      break;
    }
    case "x": {
      const box = current() && current().querySelector("[data-pick]");
      if (!box) return;
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
      break;
    }
    case "/": {
      const search = document.querySelector("[data-search]");
      if (!search) return;
      search.focus();
      search.select();
      break;
    }
    case "?":
      if (!keys) return;
      if (keys.open) keys.close();
      else keys.showModal();
      break;
    default:
      return;
  }
  event.preventDefault();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-keys-open]")) {
    const keys = document.querySelector("[data-keys]");
    if (keys) keys.showModal();
  }
});
