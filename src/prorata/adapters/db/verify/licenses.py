"""Checks of license assignment (invariants 6, rules U1, U2, L4, A7) as the books hold it now.

Which products are plans and which add-ons are assigned to users is the catalog's to say; products the catalog no
longer knows are left to the other checks.
"""

from __future__ import annotations

from prorata.adapters.db.verify.common import Context, violation
from prorata.domain.invariants import RowRef, Violation


def assignments_over_quantity(ctx: Context) -> list[Violation]:
    rows = ctx.rows(
        "SELECT s.id, s.account_id, s.product, s.quantity, s.status, count(*) AS assigned FROM subscriptions s "
        f"JOIN license_assignments la ON la.subscription_id = s.id WHERE 1 = 1{ctx.where('s.account_id')} "
        "GROUP BY s.id, s.account_id, s.product, s.quantity, s.status "
        "HAVING count(*) > CASE WHEN s.status = 'active' THEN s.quantity ELSE 0 END"
    )
    out = []
    for r in rows:
        held = f"holds {r['quantity']}" if r["status"] == "active" else "has ended and holds none"
        out.append(
            violation(
                "inv.assignments_over_quantity",
                f"subscription {r['id']} ({r['product']}) {held} but {r['assigned']} are assigned",
                RowRef("subscriptions", int(r["id"])),
                account_id=r["account_id"],
            )
        )
    return out


def seat_unlicensed(ctx: Context) -> list[Violation]:
    if not ctx.per_user_addons:
        return []
    licensed = (
        "EXISTS (SELECT 1 FROM license_assignments pl JOIN subscriptions ps ON ps.id = pl.subscription_id "
        "WHERE pl.user_id = la.user_id AND ps.account_id = s.account_id AND ps.status = 'active' "
        "AND ps.product IN :plans)"
    )
    rows = ctx.rows(
        "SELECT la.id, la.user_id, u.email, u.type, s.id AS sub_id, s.account_id, s.product "
        "FROM license_assignments la "
        "JOIN subscriptions s ON s.id = la.subscription_id JOIN users u ON u.id = la.user_id "
        f"WHERE s.status = 'active' AND s.product IN :addons{ctx.where('s.account_id')} "
        f"AND (u.type <> 'licensed' OR NOT {licensed})",
        plans=sorted(ctx.plans) or [""],
        addons=sorted(ctx.per_user_addons),
    )
    return [
        violation(
            "inv.seat_unlicensed",
            f"user {r['user_id']} ({r['email']}, {r['type']}) holds a seat of "
            f"{r['product']} (subscription {r['sub_id']}) without a plan license",
            RowRef("license_assignments", int(r["id"])),
            RowRef("users", int(r["user_id"])),
            RowRef("subscriptions", int(r["sub_id"])),
            account_id=r["account_id"],
        )
        for r in rows
    ]


def addon_over_plan(ctx: Context) -> list[Violation]:
    if not ctx.per_user_addons:
        return []
    # the plan's licenses per account, joined once (a subquery per add-on would be a scan per row on big books)
    plans = (
        "(SELECT ps.account_id, max(ps.quantity) AS licenses FROM subscriptions ps WHERE ps.status = 'active' "
        f"AND ps.product IN :plans{ctx.where('ps.account_id')} GROUP BY ps.account_id)"
    )
    rows = ctx.rows(
        f"SELECT s.id, s.account_id, s.product, s.quantity, p.licenses FROM subscriptions s LEFT JOIN {plans} p "
        f"ON p.account_id = s.account_id WHERE s.status = 'active' AND s.product IN :addons{ctx.where('s.account_id')} "
        "AND (p.licenses IS NULL OR s.quantity > p.licenses)",
        plans=sorted(ctx.plans) or [""],
        addons=sorted(ctx.per_user_addons),
    )
    return [
        violation(
            "inv.addon_over_plan",
            f"subscription {r['id']} ({r['product']}) has {r['quantity']} seats but the plan "
            + (f"has {r['licenses']} licenses" if r["licenses"] is not None else "is not held"),
            RowRef("subscriptions", int(r["id"])),
            account_id=r["account_id"],
        )
        for r in rows
    ]
