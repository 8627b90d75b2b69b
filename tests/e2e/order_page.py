"""Reading a portal page as a customer reads it: the lines of a quote or invoice, the figures under them, the changes
scheduled for the term end or withdrawn, and any element's text by its id. Standard library only (``html.parser``).

Text is compared whitespace-normalised (``norm``): amounts carry non-breaking spaces in Polish, and a template's line
breaks are not something a reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return norm("".join(c if isinstance(c, str) else " " + c.text + " " for c in self.children))

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> list[Node]:
        found = [self]
        for child in self.children:
            if isinstance(child, Node):
                found.extend(child.walk())
        return found

    def find(self, element_id: str) -> Node | None:
        return next((n for n in self.walk() if n.attrs.get("id") == element_id), None)

    def all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag and (cls is None or cls in n.classes)]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


@dataclass(frozen=True)
class Change:
    action: str
    kind: str
    subscription: str
    product: str
    quantity: int | None
    target: str | None
    effective: str  # ISO 8601, as the page carries it
    text: str


@dataclass(frozen=True)
class OrderPage:
    """What the cart, the order summary or the confirmation says an order does."""

    lines: list[tuple[str, str]]  # (charge or credit, the amount as shown)
    figures: dict[str, str]  # element id -> text: subtotal, tax, tax-<rate>, total, credit-used, credit-added ...
    changes: list[Change]
    error: str | None
    tax_rows: dict[int, str] = field(default_factory=dict)  # the tax of each rate (basis points) as shown


FIGURES = ("subtotal", "tax", "total", "credit-used", "credit-added", "amount-due", "credit-balance")


def order_page(html: str) -> OrderPage:
    root = parse(html)
    table = root.find("lines")
    lines = []
    if table is not None:
        for row in table.all("tr"):
            cells = row.all("td")
            if cells:
                kind = next(iter(row.classes), "")
                lines.append((kind, cells[-1].text))
    figures, tax_rows = {}, {}
    totals = root.find("totals")
    if totals is not None:
        for node in totals.walk():
            element_id = node.attrs.get("id", "")
            if element_id in FIGURES or element_id.startswith("tax-"):
                figures[element_id] = node.text
            if "data-rate" in node.attrs:
                tax_rows[int(node.attrs["data-rate"])] = node.text
    balance = root.find("credit-balance")
    if balance is not None:
        figures["credit-balance"] = balance.text
    changes = [
        Change(
            li.attrs["data-action"],
            li.attrs["data-kind"],
            li.attrs["data-subscription"],
            li.attrs["data-product"],
            int(li.attrs["data-quantity"]) if li.attrs.get("data-quantity") else None,
            li.attrs.get("data-target") or None,
            li.attrs["data-effective"],
            li.text,
        )
        for li in root.all("li", "change")
    ]
    error = root.find("cart-error")
    return OrderPage(lines, figures, changes, error.text if error is not None else None, tax_rows)


def text_by_id(html: str, element_id: str) -> str | None:
    found = parse(html).find(element_id)
    return found.text if found is not None else None
