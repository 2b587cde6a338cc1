"""Every route is public by allowlist or guarded (route inventory), and a tenant matrix: each
role × own / child / parent / sibling organisation × every route that takes an id, as a page,
an htmx fragment and through the API — nobody sees a sibling's data (R1)."""
import re

import pytest

from dealers import batches
from portal import clock
from portal.api import api_token_required
from portal.db import raw_fetch
from portal.web import login_required, public
from tests.dealers.factory import IN_WINDOW, catalogue
from tests.helpers import actor_of, api_token, client, login, make_org, make_user, test_settings

PUBLIC = {"/login", "/lang", "/static/{file_path:path}", "/webhooks/stripe", "/api/v1/schema",
          "/api/v1/schema/openapi.json", "/api/v1/schema/{path:str}"}
PUBLIC |= {"/complain", "/complain/status"}  # R32: a consumer's complaint and its status, no account
PUBLIC |= {"/card/{token:str}"}  # R33: the customer's opinion card, no account (service/call_routes.py)
PUBLIC |= {"/sw.js"}  # issue 12 §7: the dock's service worker, a static script (dealers/service_worker.py)
# R38: the public repair-point locator, its JSON twin and the store poster: published fields
# only, rate-limited per IP, no account (oversight/locator_routes.py)
PUBLIC |= {"/find-repair", "/find-repair/points.json", "/find-repair/poster"}


def _handlers():
    from portal.app import create_app

    app = create_app(test_settings())
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods == {"OPTIONS"}:
                continue  # Litestar's automatic CORS pre-flight answer, no content
            yield route.path, handler


def test_every_route_is_public_by_allowlist_or_guarded():
    unguarded = []
    for path, handler in _handlers():
        guards = [getattr(g, "func", g) for g in handler.resolve_guards()]  # unwrap AsyncCallable
        if path in PUBLIC:
            continue
        if path.startswith("/api/v1"):
            ok = api_token_required in guards
        else:
            ok = login_required in guards or any(hasattr(g, "roles") for g in guards)
            ok = ok and api_token_required not in guards and public not in guards
        if not ok:
            unguarded.append(f"{sorted(handler.http_methods)} {path}")
    assert unguarded == []


def test_allowlist_is_short_and_real():
    paths = {path for path, _ in _handlers()}
    assert PUBLIC <= paths


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_anonymous_gets_nothing_from_any_guarded_route():
    await make_org("hq", region=None)
    async with client() as c:
        for path, handler in _handlers():
            if path in PUBLIC:
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                r = await c.request(method, _fill(path))
                if path.startswith("/api/"):
                    assert r.status_code == 401, (method, path, r.status_code)
                elif method == "GET":
                    assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                        method, path, r.status_code)
                else:
                    assert r.status_code in (303, 403), (method, path, r.status_code)


# --- tenant matrix ---------------------------------------------------------------------------------

USERS = ["clerk_a", "manager_a", "clerk_a1", "clerk_b", "regional_a", "hq_cs", "auditor", "hq_admin"]


async def _tree():
    hq = await make_org("hq", region=None, name="总部-HQ")
    a = await make_org("office", parent=hq, region="CN-JS", name="办事处-A")
    a1 = await make_org("store", parent=a, name="门店-A1")
    a1a = await make_org("subdistributor", parent=a1, name="分销商-A1a")
    ra = await make_org("repair_point", parent=a, name="维修点-RA")
    b = await make_org("office", parent=hq, region="CN-GD", name="办事处-B")
    b1 = await make_org("store", parent=b, name="门店-B1")
    orgs = {"hq": hq, "a": a, "a1": a1, "a1a": a1a, "ra": ra, "b": b, "b1": b1}
    users = {
        "clerk_a": await make_user(a, ["dealer_clerk"], username="clerk_a"),
        "manager_a": await make_user(a, ["manager"], username="manager_a"),
        "clerk_a1": await make_user(a1, ["dealer_clerk"], username="clerk_a1"),
        "clerk_b": await make_user(b, ["dealer_clerk"], username="clerk_b"),
        "regional_a": await make_user(hq, ["manager"], username="regional_a", covers=[a]),
        "hq_cs": await make_user(hq, ["hq_cs"], username="hq_cs"),
        "auditor": await make_user(hq, ["auditor"], username="auditor"),
        "hq_admin": await make_user(hq, ["hq_admin"], username="hq_admin"),
    }
    people = {key: await make_user(org, ["dealer_clerk"], username=f"person_{key}")
              for key, org in orgs.items()}
    await catalogue()
    with clock.frozen(IN_WINDOW):
        batch_ids = {"a": await batches.create_draft(actor=await actor_of(users["clerk_a"])),
                     "b": await batches.create_draft(actor=await actor_of(users["clerk_b"]))}
    return orgs, users, people, batch_ids


NAMES = {"hq": "总部-HQ", "a": "办事处-A", "a1": "门店-A1", "a1a": "分销商-A1a", "ra": "维修点-RA",
         "b": "办事处-B", "b1": "门店-B1"}
HOME = {"clerk_a": "a", "manager_a": "a", "clerk_a1": "a1", "clerk_b": "b"}


def _visible(user: str, target: str) -> bool:
    if user in ("hq_cs", "auditor", "hq_admin"):
        return True
    under_a = target in ("a", "a1", "a1a", "ra")
    if user == "regional_a":
        return under_a
    home = HOME[user]
    return target == home or (home == "a" and under_a) or (home == "a1" and target == "a1a") \
        or (home == "b" and target == "b1")


def _relation(user: str, target: str) -> str:
    if user not in HOME:
        if user != "regional_a":
            return "hq-role"
        if target == "hq":
            return "own"
        return "covered" if target in ("a", "a1", "a1a", "ra") else "uncovered"
    home = HOME[user]
    if target == home:
        return "own"
    if _visible(user, target):
        return "child"
    if target == "hq" or (home == "a1" and target == "a"):
        return "parent"
    return "sibling"


def _org_routes():
    """Every route taking an organisation id and nothing else, discovered from the app (a
    deposit payment's page also takes the payment's id: tests/spares/test_wallet_deposits.py
    proves another point's payment is not found)."""
    return sorted({(p, frozenset(h.http_methods)) for p, h in _handlers()
                   if ("{org_id" in p or "{point_id:int}" in p) and p.count("{") == 1
                   and "GET" in h.http_methods and not p.endswith("/deposit/return")},
                  key=lambda x: x[0])


async def _statements(orgs: dict, users: dict) -> dict[str, int]:
    """A November statement with one line for office A, store A1 (its child) and office B."""
    ids = {}
    for target in ("a", "a1", "b"):
        ids[target] = (await raw_fetch(
            "INSERT INTO statement (dealer, period, status, total_fen, prepared_by, created_at) "
            "VALUES ($1, '2026-11-01', 'draft', 1250, $2, now()) RETURNING id",
            orgs[target]["id"], users["hq_cs"]["id"]))[0]["id"]
        await raw_fetch("INSERT INTO statement_line (statement, kind, source_type, source_id, "
                        "amount_fen, description) VALUES ($1, 'freight', 'test', $2, 1250, "
                        "'freight')", ids[target], str(ids[target]))
    return ids


def _statement_urls(statement_id: int, token: str) -> list[tuple[str, dict]]:
    api = {"Authorization": f"Bearer {token}"}
    return [(f"/statements/{statement_id}", {}),
            (f"/statements/{statement_id}", {"HX-Request": "true"}),
            (f"/statements/{statement_id}/print", {}),
            (f"/statements/{statement_id}/download?format=csv", {}),
            (f"/statements/{statement_id}/download?format=xlsx", {}),
            (f"/api/v1/statements/{statement_id}", api),
            (f"/api/v1/statements/{statement_id}/download?format=csv", api)]


@pytest.mark.parametrize("user", USERS)
async def test_r1_tenant_matrix(user):
    orgs, users, people, batch_ids = await _tree()
    statement_ids = await _statements(orgs, users)
    token = await api_token(users[user])
    failures = []
    async with client() as c:
        csrf = await login(c, user)
        for path, _ in _org_routes():
            for target, org in orgs.items():
                url = path.replace("{org_id:int}", str(org["id"])).replace("{point_id:int}",
                                                                           str(org["id"]))
                visible = _visible(user, target)
                admin_only = path.startswith("/admin/")
                window = path.endswith("/window")
                point_route = "{point_id:int}" in path
                if admin_only:
                    expected = 200 if user == "hq_admin" else 403
                elif not visible:
                    expected = 404
                elif window and org["kind"] not in ("office", "agent"):
                    expected = 404
                elif point_route and org["kind"] != "repair_point":
                    expected = 404
                else:
                    expected = 200
                variants = [("api", {"Authorization": f"Bearer {token}"})] if path.startswith("/api/") \
                    else [("page", {}), ("htmx", {"HX-Request": "true"})]
                for name, headers in variants:
                    r = await c.get(url, headers=headers)
                    leaked = not visible and NAMES[target] in r.text
                    if r.status_code != expected or leaked:
                        failures.append(f"{user} {_relation(user, target)} {target} {name} {url}: "
                                        f"{r.status_code} (expected {expected}){' LEAK' if leaked else ''}")
        # people of each organisation: their history page
        for target, person in people.items():
            expected = 200 if _visible(user, target) else 404
            r = await c.get(f"/history/user/{person['id']}")
            if r.status_code != expected:
                failures.append(f"{user} {target} /history/user: {r.status_code} != {expected}")
        # batches of office A and office B: page, fragment, history, API
        for target, batch_id in batch_ids.items():
            expected = 200 if _visible(user, target) else 404
            for url, headers in ((f"/batches/{batch_id}", {}),
                                 (f"/batches/{batch_id}", {"HX-Request": "true"}),
                                 (f"/batches/{batch_id}/history", {}),
                                 (f"/api/v1/batches/{batch_id}", {"Authorization": f"Bearer {token}"})):
                r = await c.get(url, headers=headers)
                if r.status_code != expected:
                    failures.append(f"{user} batch of {target} {url}: {r.status_code} != {expected}")
        # statements of A, A1 and B: page, fragment, print, downloads, API (R1, issue 5 §6);
        # an invisible one also refuses every action with 404, before any rule is checked
        for target, statement_id in statement_ids.items():
            visible = _visible(user, target)
            for url, headers in _statement_urls(statement_id, token):
                r = await c.get(url, headers=headers)
                leaked = not visible and NAMES[target].encode() in r.content
                if r.status_code != (200 if visible else 404) or leaked:
                    failures.append(f"{user} {_relation(user, target)} statement of {target} "
                                    f"{url} {headers.get('HX-Request', '')}: {r.status_code}"
                                    f"{' LEAK' if leaked else ''}")
            if not visible:
                for action in ("review", "approve", "second-approval", "pay", "bank-payment",
                               "adjustment"):
                    r = await c.post(f"/statements/{statement_id}/{action}",
                                     data={"_csrf": csrf, "reference": "x", "amount": "1",
                                           "reason": "x"})
                    a = await c.post(f"/api/v1/statements/{statement_id}/{action}",
                                     headers={"Authorization": f"Bearer {token}"},
                                     json={"reference": "x"})
                    if (r.status_code, a.status_code) != (404, 404):
                        failures.append(f"{user} statement of {target} {action}: "
                                        f"{r.status_code}/{a.status_code} != 404")
            # a selection (issue 9 §5) is finance's alone; nobody here acts on one
            r = await c.post("/statements/bulk", data={"_csrf": csrf, "action": "approve",
                                                      "ids": [str(statement_id)]})
            a = await c.post("/api/v1/statements/bulk", json={"action": "approve",
                                                              "ids": [statement_id]},
                             headers={"Authorization": f"Bearer {token}"})
            if (r.status_code, a.status_code) != (403, 403):
                failures.append(f"{user} bulk approve of {target}'s statement: "
                                f"{r.status_code}/{a.status_code}")
        # lists, their searches and exports: a sibling's names never appear (a parent's name
        # may: "belongs to"), not even when searched for by name or number
        for url, headers in (("/network", {}), ("/network?kind=store", {"HX-Request": "true"}),
                             ("/batches", {}), ("/statements", {}),
                             ("/batches?org_name=%E5%8A%9E%E4%BA%8B%E5%A4%84", {}),
                             ("/batches/export?format=csv", {}),
                             ("/statements?number=ST-2026", {}),
                             ("/statements?org_name=%E5%8A%9E%E4%BA%8B%E5%A4%84", {}),
                             ("/statements/export?format=csv", {}),
                             ("/api/v1/statements", {"Authorization": f"Bearer {token}"}),
                             ("/api/v1/statements?number=ST-2026",
                              {"Authorization": f"Bearer {token}"}),
                             ("/api/v1/statements?org_name=%E5%8A%9E%E4%BA%8B%E5%A4%84",
                              {"Authorization": f"Bearer {token}"}),
                             ("/api/v1/batches?org_name=%E5%8A%9E%E4%BA%8B%E5%A4%84",
                              {"Authorization": f"Bearer {token}"}),
                             ("/api/v1/organisations", {"Authorization": f"Bearer {token}"})):
            text = (await c.get(url, headers=headers)).text
            for target, name in NAMES.items():
                if _relation(user, target) in ("sibling", "uncovered") and name in text:
                    failures.append(f"{user} list {url} shows {target}")
    assert failures == []


# --- customer archive, return visits, surveys (R34): the same tree, the same rule (R1) ---------

async def _r34_world(orgs: dict, users: dict, people: dict) -> dict:
    from portal.db import in_transaction
    from service import surveys, visits
    from service.customers import open_customer
    from service.inputs import PlanIn, SurveyIn

    async def opened(org: str, name: str, phone: str) -> int:
        actor = await actor_of(people[org])
        return await in_transaction(lambda: open_customer(
            actor=actor, organisation_id=orgs[org]["id"], name=name, phone=phone))

    ids = {"a1": await opened("a1", "甲先生", "13900000001"),
           "b1": await opened("b1", "乙女士", "13900000002")}
    manager = await actor_of(users["manager_a"])
    ids["plan"] = await visits.draw_plan(actor=manager,
                                         data=PlanIn(clock.china_today().year, 1))
    ids["survey"] = await surveys.open_survey(
        actor=manager, data=SurveyIn(clock.china_today().year, "调查-A"))
    return ids


ARCHIVE_USERS = {"clerk_a", "manager_a", "clerk_a1", "clerk_b", "regional_a", "hq_cs", "auditor"}
VISIT_USERS = {"manager_a", "hq_cs", "auditor"}


@pytest.mark.parametrize("user", USERS)
async def test_r1_r34_customers_plans_and_surveys(user):
    orgs, users, people, _ = await _tree()
    ids = await _r34_world(orgs, users, people)
    token = await api_token(users[user])
    api = {"Authorization": f"Bearer {token}"}
    failures = []
    async with client() as c:
        await login(c, user)
        for target, secret in (("a1", "甲"), ("b1", "乙")):
            if user not in ARCHIVE_USERS:
                expected = 403
            else:
                expected = 200 if _visible(user, target) else 404
            for url, headers in ((f"/customers/{ids[target]}", {}),
                                 (f"/customers/{ids[target]}", {"HX-Request": "true"}),
                                 (f"/customers/{ids[target]}/history", {}),
                                 (f"/api/v1/customers/{ids[target]}", api)):
                r = await c.get(url, headers=headers)
                if r.status_code != expected or (expected != 200 and secret in r.text):
                    failures.append(f"{user} customer of {target} {url}: {r.status_code}")
        for kind, url_page, url_api in (("plan", "/return-visits/{}", "/api/v1/return-visit-plans/{}"),
                                        ("survey", "/surveys/{}", "/api/v1/surveys/{}")):
            expected = 200 if user in VISIT_USERS else 403
            for url, headers in ((url_page.format(ids[kind]), {}),
                                 (url_api.format(ids[kind]), api)):
                r = await c.get(url, headers=headers)
                if r.status_code != expected:
                    failures.append(f"{user} {kind} {url}: {r.status_code} != {expected}")
        for url, headers in (("/customers", {}), ("/customers?name=%E5%A5%B3%E5%A3%AB", {}),
                             ("/customers?phone=139", {"HX-Request": "true"}),
                             ("/customers/export?format=csv", {}),
                             ("/api/v1/customers", api), ("/api/v1/customers?phone=139", api),
                             ("/return-visits", {}), ("/surveys", {}),
                             ("/api/v1/return-visit-plans", api), ("/api/v1/surveys", api)):
            r = await c.get(url, headers=headers)
            for target, secret in (("a1", "甲"), ("b1", "乙")):
                if _relation(user, target) in ("sibling", "uncovered") and secret in r.text:
                    failures.append(f"{user} list {url} shows the customer of {target}")
    assert failures == []
# --- end of the R34 matrix ---


# --- service calls and opinion cards (R33): every call route in the tenant matrix (R1) ----------

async def _r33_calls(orgs: dict) -> dict[str, int]:
    """A visited call at point RA (under office A) and at a point RB under office B, each
    recorded and visited by the point's own staff."""
    from service import calls
    from service.inputs import CallIn, CallVisitIn

    orgs["rb"] = await make_org("repair_point", parent=orgs["b"], name="维修点-RB")
    ids = {}
    for point in ("ra", "rb"):
        staff = await actor_of(await make_user(orgs[point], ["repair_staff"],
                                               username=f"staff_{point}"))
        ids[point] = await calls.record_call(actor=staff, data=CallIn(
            name=f"顾客-{point}", phone="13800000000", problem="不亮"))
        await calls.record_visit(actor=staff, call_id=ids[point],
                                 data=CallVisitIn(outcome="fixed"))
    return ids


@pytest.mark.parametrize("user", USERS)
async def test_r1_service_call_routes_in_the_tenant_matrix(user):
    orgs, users, _, _ = await _tree()
    ids = await _r33_calls(orgs)
    token = {"Authorization": f"Bearer {await api_token(users[user])}"}
    visible = {"ra": _visible(user, "ra"),
               "rb": user in ("hq_cs", "auditor", "hq_admin", "clerk_b")}
    failures = []
    async with client() as c:
        csrf = await login(c, user)
        for point, call_id in ids.items():
            for url, headers in ((f"/service-calls/{call_id}", {}),
                                 (f"/service-calls/{call_id}", {"HX-Request": "true"}),
                                 (f"/api/v1/service-calls/{call_id}", token)):
                r = await c.get(url, headers=headers)
                leaked = not visible[point] and f"顾客-{point}" in r.text
                if r.status_code != (200 if visible[point] else 404) or leaked:
                    failures.append(f"{user} call at {point} {url}: {r.status_code}"
                                    f"{' LEAK' if leaked else ''}")
            if visible[point]:
                continue
            for action in ("visit", "close", "cancel", "card/link", "card/tablet"):
                r = await c.post(f"/service-calls/{call_id}/{action}",
                                 data={"_csrf": csrf, "outcome": "fixed", "reason": "x"})
                a = await c.post(f"/api/v1/service-calls/{call_id}/{action.replace('/', '-')}",
                                 headers=token, json={"outcome": "fixed", "reason": "x"})
                if user != "auditor" and (r.status_code, a.status_code) != (404, 404) \
                        and not action.endswith("tablet"):
                    failures.append(f"{user} call at {point} {action}: "
                                    f"{r.status_code}/{a.status_code}")
                if user != "auditor" and action.endswith("tablet") and r.status_code != 404:
                    failures.append(f"{user} call at {point} {action}: {r.status_code}")
        for url, headers in (("/service-calls", {}), ("/service-calls/export?format=csv", {}),
                             ("/api/v1/service-calls", token)):
            text = (await c.get(url, headers=headers)).text
            for point in ids:
                if not visible[point] and f"顾客-{point}" in text:
                    failures.append(f"{user} list {url} shows the call at {point}")
    assert failures == []


# --- complaints (R32): the same tree, the same rule (R1) -------------------------------------------

@pytest.mark.parametrize("user", USERS)
async def test_r1_complaint_tenant_matrix(user):
    """Complaints held by office A, its store A1 and office B: each user sees exactly those of
    the organisations they may see, on the page, its fragment, the API, the list, its search
    and its export; every step on an invisible one answers 404 before any rule."""
    from service import complaints
    from service.inputs import ComplaintIn

    orgs, users, _, _ = await _tree()
    held = {}
    for target, clerk in (("a", "clerk_a"), ("a1", "clerk_a1"), ("b", "clerk_b")):
        held[target] = await complaints.record_complaint(
            actor=await actor_of(users[clerk]), data=ComplaintIn(
                name=f"顾客{target}", phone="13800000000", channel="phone", about="other",
                description="灯不亮。"))
    token = await api_token(users[user])
    api = {"Authorization": f"Bearer {token}"}
    failures = []
    async with client() as c:
        csrf = await login(c, user)
        for target, saved in held.items():
            visible = _visible(user, target)
            link = f"/complaints/{saved['id']}"
            for url, headers in ((link, {}), (link, {"HX-Request": "true"}),
                                 (f"/api/v1/complaints/{saved['id']}", api)):
                r = await c.get(url, headers=headers)
                if r.status_code != (200 if visible else 404):
                    failures.append(f"{user} complaint of {target} {url}: {r.status_code}")
            if not visible:
                r = await c.post(f"{link}/judge", data={"_csrf": csrf, "stands": "1",
                                                        "kind": "service"})
                a = await c.post(f"/api/v1/complaints/{saved['id']}/judge", headers=api,
                                 json={"stands": True, "kind": "service"})
                if (r.status_code, a.status_code) != (404, 404):
                    failures.append(f"{user} judge {target}: {r.status_code}/{a.status_code}")
        for url, headers in (("/complaints", {}), ("/complaints?who=%E9%A1%BE%E5%AE%A2", {}),
                             ("/complaints/export?format=csv", {}), ("/api/v1/complaints", api)):
            text = (await c.get(url, headers=headers)).text
            for target, saved in held.items():
                if (saved["reference"] in text) != _visible(user, target):
                    failures.append(f"{user} {url}: {target} "
                                    f"{'shown' if saved['reference'] in text else 'missing'}")
    assert failures == []
