"""The dashboard's layout, measured: at laptop and desktop widths and on a phone, nothing
sticks out of its box, the order list reads one line a row, and every number carries its
label. The boxes come from the browser (getBoundingClientRect), not from a screenshot."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import BROWSER
from tests.e2e.people import sign_in
from tests.e2e.scene import LONG_EMAIL, LONG_NAME, busy_desk
from tests.orders.helpers import body
from tests.waiting import eventually

pytestmark = BROWSER

DESKTOPS = (1280, 1440, 1920)
PHONE = 390

# Every visible element must lie inside each box that holds it: its table cell, its card,
# the scroll box of a table, and the page's width. Returns what does not, by name.
MEASURE = """
() => {
  const SLACK = 0.5;
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && !el.closest(".visually-hidden")
      && el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
  };
  const inside = (a, b) => a.left >= b.left - SLACK && a.right <= b.right + SLACK
    && a.top >= b.top - SLACK && a.bottom <= b.bottom + SLACK;
  const describe = (el) => {
    const row = el.closest("[data-order], [data-sku], [data-message]");
    const where = row ? ` in ${row.outerHTML.slice(0, 60)}` : "";
    return `<${el.tagName.toLowerCase()} class="${el.className}">`
      + ` "${(el.textContent || "").trim().slice(0, 40)}"${where}`;
  };
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  }
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (shown(wrap) && wrap.scrollWidth > wrap.clientWidth + SLACK) {
      problems.push(`a table is wider than its box: ${wrap.scrollWidth} > ${wrap.clientWidth}`);
    }
  }
  for (const el of document.querySelectorAll("main *, header.top *")) {
    if (!shown(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.left < -SLACK || box.right > width + SLACK) {
      problems.push(`${describe(el)} is off the page`);
      continue;
    }
    for (const selector of ["td, th", ".card", ".table-wrap", "form"]) {
      const holder = el.parentElement && el.parentElement.closest(selector);
      if (holder && shown(holder) && !inside(box, holder.getBoundingClientRect())) {
        problems.push(`${describe(el)} sticks out of its ${selector}`);
      }
    }
  }
  return problems;
}
"""

# How many lines the text inside an element takes (hidden text takes none).
LINES = """
(el) => {
  const rects = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) rects.push(r);
  }
  rects.sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -Infinity;
  for (const r of rects) {
    if (r.top >= bottom - 1) { lines += 1; bottom = r.bottom; }
    else bottom = Math.max(bottom, r.bottom);
  }
  return lines;
}
"""

# Where a text breaks onto a new line inside an e-mail address, wherever the page shows it:
# each break as the address with a "|" at the break.
EMAIL_BREAKS = """
(email) => {
  const holders = [...document.querySelectorAll("main *")].filter((el) =>
    el.textContent.includes(email)
    && ![...el.children].some((child) => child.textContent.includes(email)));
  const breaks = [];
  for (const holder of holders) {
    const chars = [];
    const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getBoundingClientRect();
        chars.push({ c: node.textContent[i], top: rect.top, shown: rect.height > 0 });
      }
    }
    const text = chars.map((x) => x.c).join("");
    const start = text.indexOf(email);
    if (start < 0 || !chars[start].shown) continue;
    for (let i = start + 1; i < start + email.length; i++) {
      if (chars[i].top > chars[i - 1].top + 1) {
        breaks.push(email.slice(0, i - start) + "|" + email.slice(i - start));
      }
    }
  }
  return breaks;
}
"""

# The label a phone shows above each value, and the column it stands for on a desktop.
LABELS = """
(row) => [...row.querySelectorAll("td")].map((td) => {
  const before = getComputedStyle(td, "::before");
  const shown = before.display !== "none"
    && before.content !== "none" && before.content !== "normal";
  return {
    text: td.textContent.trim(),
    label: shown ? before.content.replace(/^"|"$/g, "") : null,
    column: td.closest("table").querySelectorAll("thead th")[td.cellIndex].textContent.trim(),
  };
})
"""


async def _open(browser: Browser, width: int, url: str) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 1000})
    # Measure a page that holds still: the live refresh would swap sections mid-measurement
    # (the fragments it fetches are the same templates, measured here as part of the page).
    await context.route("**/api/events", lambda route: route.abort())
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await sign_in(page, url)
    await page.goto(url)
    return page


async def _problems(page: Page) -> list[str]:
    found: list[str] = await page.evaluate(MEASURE)
    return found


async def _lines(page: Page, selector: str) -> list[int]:
    # One evaluation for all of them: the live refresh may swap a section in between calls.
    lines: list[int] = await page.locator(selector).evaluate_all(f"els => els.map({LINES})")
    return lines


async def _assert_button_unclipped(page: Page, button: Locator, where: str) -> None:
    await button.scroll_into_view_if_needed()
    box = await button.bounding_box()
    assert box is not None, where
    viewport = page.viewport_size
    assert viewport is not None
    assert box["x"] >= 0, where
    assert box["x"] + box["width"] <= viewport["width"], where
    # Nothing covers it or cuts it off: the point in its middle is the button itself.
    hit = await page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('button')?.textContent.trim()",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit == "Cancel order", where


async def test_the_dashboard_fits_every_width(site: httpx.AsyncClient, browser: Browser) -> None:
    desk = await busy_desk(site)
    for width in (*DESKTOPS, PHONE):
        page = await _open(browser, width, f"{site.base_url}/")
        where = f"at {width} px"
        try:
            rows = page.locator("tr[data-order]")
            await expect(rows).to_have_count(6)
            assert await _problems(page) == [], where

            # Money in the metric cards: each amount on one line, inside its card.
            revenue = page.locator('[data-metric="revenue"] .amount')
            await expect(revenue).to_have_text("1,430.00 USD")
            assert await _lines(page, ".metric strong .amount") == [1, 1], where

            # Every "Cancel order" in the list is whole and clickable.
            cancels = rows.get_by_role("button", name="Cancel order")
            await expect(cancels).to_have_count(3)
            for i in range(3):
                await _assert_button_unclipped(page, cancels.nth(i), where)

            # A long address is whole in its title.
            long_row = page.locator(f'tr[data-order="{desk.confirmed}"]')
            email = long_row.locator(".email")
            await expect(email).to_have_attribute("title", LONG_EMAIL)
            await expect(long_row.locator(".name")).to_have_attribute("title", LONG_NAME)
            if width != PHONE:
                # On a phone the address goes under the name (tests/e2e/test_list_fixes.py).
                assert await _lines(page, f'tr[data-order="{desk.confirmed}"] .who') == [1], where

            if width == PHONE:
                await _assert_phone_rows_are_labelled(page, where)
            else:
                # One line a row, every row the same height.
                assert set(await _lines(page, "tr[data-order]")) == {1}, where
                heights = set(
                    await rows.evaluate_all(
                        "rows => rows.map(r => Math.round(r.getBoundingClientRect().height))"
                    )
                )
                assert max(heights) - min(heights) <= 1, f"{where}: row heights {heights}"
        finally:
            await page.context.close()


async def _assert_phone_rows_are_labelled(page: Page, where: str) -> None:
    rows = await page.locator("tr[data-order]").evaluate_all(f"rows => rows.map({LABELS})")
    for cells in rows:
        for cell in cells:
            if cell["column"] in ("Customer", "Items", "Total", "Risk", "Updated"):
                assert cell["label"] == cell["column"], f"{where}: {cell} has no label"
        # Whatever is not labelled says what it is itself: an id link, a badge, buttons.
        bare = [
            c
            for c in cells
            if c["label"] is None and c["column"] != "Order" and c["text"].isdigit()
        ]
        assert bare == [], f"{where}: bare numbers {bare}"


async def test_an_order_and_the_outbox_fit_every_width(
    site: httpx.AsyncClient, browser: Browser
) -> None:
    desk = await busy_desk(site)
    for width in (*DESKTOPS, PHONE):
        for path in (f"/orders/{desk.confirmed}", f"/orders/{desk.cancelled}", "/outbox"):
            page = await _open(browser, width, f"{site.base_url}{path}")
            try:
                assert await _problems(page) == [], f"{path} at {width} px"
                if path == f"/orders/{desk.confirmed}":
                    # The address breaks after its "@" if it must, never inside a name.
                    await expect(page.locator("main")).to_contain_text(LONG_EMAIL)
                    breaks = await page.evaluate(EMAIL_BREAKS, LONG_EMAIL)
                    assert all(b.split("|")[0].endswith("@") for b in breaks), (
                        f"{path} at {width} px: {breaks}"
                    )
                    await _assert_button_unclipped(
                        page,
                        page.get_by_role("button", name="Cancel order"),
                        f"{path} at {width} px",
                    )
            finally:
                await page.context.close()


async def test_pages_of_orders_go_forward_and_back(site: httpx.AsyncClient, page: Page) -> None:
    created = await asyncio.gather(
        *(site.post("/api/orders", json=body(customer=f"cus-page-{i}")) for i in range(21))
    )
    assert {r.status_code for r in created} == {201}

    async def confirmed() -> int:
        items = (await site.get("/api/orders?page_size=100&status=CONFIRMED")).json()["items"]
        return len(items)

    await eventually(confirmed, lambda n: n == 21, timeout=60)

    await page.goto(f"{site.base_url}/")
    rows = page.locator("tr[data-order]")
    await expect(rows).to_have_count(20)
    first_page = await rows.evaluate_all("rows => rows.map(r => r.dataset.order)")
    pager = page.get_by_role("navigation", name="Pages of orders")
    await expect(pager.get_by_role("link", name="Previous")).to_have_count(0)

    await pager.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(1)
    last = await rows.first.get_attribute("data-order")
    assert last not in first_page
    await expect(pager.get_by_role("link", name="Next page")).to_have_count(0)

    await pager.get_by_role("link", name="Previous").click()
    await expect(rows).to_have_count(20)
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.order)") == first_page

    # The address carries the way back, so a reload (or a page without the script) works.
    await page.goto(f"{site.base_url}/")
    await pager.get_by_role("link", name="Next page").click()
    await page.reload()
    await expect(rows).to_have_count(1)
    await pager.get_by_role("link", name="Previous").click()
    await expect(rows).to_have_count(20)
