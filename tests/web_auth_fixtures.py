"""The world of the authorization tests (no tests here): a SQLite store with the demo population, every
shipped policy published and matched, two enterprises A and B signed in by SMS code, one staff account
of each role (and departments other than the owner's), cases prepared in each state a route needs,
payment batches and a portal message; one signed-in client per role."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from mianshen.audit.log import SYSTEM, Actor
from mianshen.cases import review
from mianshen.cases import transitions as tr
from mianshen.cases.payments import create_batch
from mianshen.matching.runs import run_match
from mianshen.profiles.demo_data import generate
from mianshen.rules.loader import SHIPPED
from mianshen.store.db import open_store
from mianshen.store.schema import cases, outbox, portal_messages
from mianshen.web.accounts import add_user, set_contact
from mianshen.web.app import create_app

from .matching_fixtures import AS_OF, import_demo, publish

HRSS = "河南省人力资源和社会保障厅"
TAX = "国家税务总局河南省税务局"
KEJI = "河南省科学技术厅"
POLICY = "wengang-fanhuan"  # 条件类 of HRSS: the department routes' resource
SECOND = "kuogang-buzhu"  # 条件类 of HRSS, for a second payment batch
LISTED = "gaoqi-rending-jiangli"  # 名单类 of 科技厅: the list upload's resource
APPLIED = "chuangye-kaiye-butie"  # 暂难数据化类: the online application's resource
PASSWORD = "correct-horse-9"
ACCOUNT = "6222 0212 3456 7890 123"
PDF = b"%PDF-1.4 test"
DRAFT_TEXT = (
    "关于进一步实施小微企业所得税优惠政策的公告\n"
    "一、对小型微利企业年应纳税所得额不超过100万元的部分，减按25%计入应纳税所得额。\n"
    "二、本公告执行期限为2023年1月1日至2024年12月31日。\n"
)
STAFF = {  # role key → (role, department)
    "hr": ("department", HRSS),
    "tax": ("department", TAX),
    "keji": ("department", KEJI),
    "fin": ("finance", None),
    "aud": ("auditor", None),
    "admin": ("platform_admin", None),
    "dm": ("data_manager", None),
}
ROLES = ("anon", "ent_a", "ent_b", *STAFF)
HR = Actor("王科长", "department", HRSS)
FINANCE = Actor("赵会计", "finance")


@dataclass
class World:
    engine: Engine
    app: Any
    uscc_a: str
    uscc_b: str
    case_a: int  # A's 稳岗返还 case, notified: the resource every scoped route is tried on
    message_a: int
    batch: int  # wengang batch (approved case in it)
    batch2: int  # kuogang batch
    spare: dict[str, int]  # dedicated cases for the owners' successful POSTs
    usccs: list[str]  # enterprises with a 稳岗返还 case (and a contact), in case order
    draft: str | None = None  # a policy draft of the HRSS user (when the console has drafts)
    clients: dict[str, TestClient] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)  # correction requests of A, by purpose
    file_hash: str = ""  # an on-site photo of case A (case_file)
    by_uscc: dict[str, TestClient] = field(default_factory=dict)

    def owner_of(self, case_id: int) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(select(cases.c.uscc).where(cases.c.id == case_id)).scalar_one())

    def job(self) -> int:
        """A finished bulk job of the HRSS department (for the routes that show one)."""
        import json

        from mianshen.clock import now
        from mianshen.store.schema import bulk_jobs

        with self.engine.begin() as conn:
            found = conn.execute(select(bulk_jobs.c.id).where(bulk_jobs.c.policy_id == "wengang-fanhuan")).scalar()
            if found is not None:
                return int(found)
            values = {"action": "notify", "policy_id": "wengang-fanhuan", "actor": "王科长", "state": "done"}
            values |= {"department": "河南省人力资源和社会保障厅", "total": 0, "done": 0, "failed": 0}
            values |= {"report": json.dumps({"last_id": 0, "failures": []}), "created_at": now()}
            return int(conn.execute(bulk_jobs.insert().values(**values)).inserted_primary_key[0])

    def correction(self, key: str = "shown") -> int:
        """A correction request of enterprise A about a field 人社厅 holds (one per key: answering is once)."""
        from mianshen.audit.log import Actor
        from mianshen.profiles import corrections

        if key not in self.corrections:
            with self.engine.begin() as conn:
                made = corrections.submit(
                    conn,
                    Actor("经办人", "enterprise", None, self.uscc_a),
                    self.uscc_a,
                    "ui_new_claimants_last_year",
                    "0",
                    "领取人数有误",
                )
            self.corrections[key] = made["id"]
        return self.corrections[key]

    def payment_in(self, batch_id: int) -> tuple[int, str]:
        """A payment of the batch: its case and amount."""
        from mianshen.store.schema import payments

        with self.engine.connect() as conn:
            row = conn.execute(
                select(payments.c.case_id, payments.c.amount).where(payments.c.batch_id == batch_id).limit(1)
            ).one()
        return int(row.case_id), str(row.amount)

    def supervision_item(self, key: str = "shown") -> int:
        """A 督办 item handed to 人社厅 for its policy (one per key: closing it is once)."""
        from mianshen.clock import now
        from mianshen.store.schema import supervision_items

        if f"item-{key}" not in self.corrections:
            subject = f"policy:{POLICY}:notify:{key}"
            values = {"kind": "case_overdue", "subject": subject, "department": HR.department, "policy_id": POLICY}
            values |= {"stage": "notify", "summary": "匹配后通知企业环节逾期 3 件，最长超期 9 个工作日", "cases": 3}
            values |= {"max_over": 9, "raised_at": now(), "deadline": dt.date(2025, 7, 7), "status": "assigned"}
            with self.engine.begin() as conn:
                made = conn.execute(supervision_items.insert().values(**values, open_key=subject))
            self.corrections[f"item-{key}"] = int(made.inserted_primary_key[0])  # type: ignore[index]
        return self.corrections[f"item-{key}"]

    def triaged(self, key: str = "shown") -> int:
        """An unverified public objection to the case kept in 公示, waiting in triage (one per key)."""
        from mianshen.audit.log import Actor
        from mianshen.cases.objections import object_to

        if f"objection-{key}" not in self.corrections:
            with self.engine.begin() as conn:
                made = object_to(conn, self.spare["shown"], Actor("公众", "public"), "核定人数有误", stop=False)
            self.corrections[f"objection-{key}"] = made
        return self.corrections[f"objection-{key}"]

    def objection_code(self) -> dict[str, str]:
        """A fresh pending public objection (to a case id that does not exist: nothing stops) and its code."""
        from sqlalchemy import select

        from mianshen.store.schema import outbox
        from mianshen.web import objecting

        n = self.corrections["codes"] = self.corrections.get("codes", 0) + 1
        with self.engine.begin() as conn:
            sent = objecting.submit(conn, 10**9, "核定人数有误", f"1390000{n:04d}", f"192.0.2.{n}")
            assert isinstance(sent, tuple) and sent[1]
            payload = conn.execute(select(outbox.c.payload).order_by(outbox.c.id.desc()).limit(1)).scalar_one()
        return {"token": sent[1], "code": json.loads(payload)["code"]}

    def cosign_request(self, key: str = "shown") -> int:
        """A version waiting for 会签, filed by another staff member of 人社厅 (one policy per key: a newer
        request for the same policy withdraws the older)."""
        from mianshen.matching import cosign
        from mianshen.rules.loader import load_policy_text
        from mianshen.store.schema import publish_requests

        held = self.corrections.get(f"cosign-{key}")
        if held is not None:  # another test may have filed a newer version of the policy, withdrawing it
            with self.engine.connect() as conn:
                state = conn.execute(select(publish_requests.c.state).where(publish_requests.c.id == held)).scalar()
            if state != "pending":
                del self.corrections[f"cosign-{key}"]
        if f"cosign-{key}" not in self.corrections:
            chosen = SECOND if key == "api" else POLICY
            text = policy_source(chosen).replace("version: 1", "version: 2", 1)
            policy = load_policy_text(text, f"{chosen}.yaml")
            with self.engine.begin() as conn:
                author = Actor("另一经办人", "department", HR.department)
                self.corrections[f"cosign-{key}"] = cosign.request(conn, policy, text, None, author)
        return self.corrections[f"cosign-{key}"]

    def work_job(self) -> int:
        """A finished simulation of 人社厅 (the page that shows a background job)."""
        from mianshen.clock import now
        from mianshen.store.schema import work_jobs

        if "job" not in self.corrections:
            params = {"step": "simulate", "source": "", "filename": "policy.yaml", "as_of": "2025-06-30"}
            values = {"kind": "simulate", "actor": "王科长", "role": "department", "department": HR.department}
            values |= {"params": json.dumps(params), "state": "done", "result": "{}", "created_at": now()}
            with self.engine.begin() as conn:
                self.corrections["job"] = int(conn.execute(work_jobs.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
        return self.corrections["job"]

    def case_file(self) -> str:
        """A photo of an on-site check of case A, kept as the console keeps them; its hash."""
        import tempfile

        from mianshen.store.files import store_attachment
        from mianshen.store.schema import onsite_checks

        if "file" not in self.corrections:
            folder = Path(tempfile.mkdtemp(prefix="case-files-"))
            (folder / "车间.jpg").write_bytes(b"\xff\xd8 photo")
            kept = store_attachment(folder / "车间.jpg", folder / "kept")
            with self.engine.begin() as conn:
                conn.execute(
                    onsite_checks.insert().values(
                        case_id=self.case_a,
                        inspector="王科长",
                        result="passed",
                        note="",
                        at=dt.datetime.now(dt.UTC),
                        attachments=json.dumps([kept], ensure_ascii=False),
                    )
                )
            self.corrections["file"] = 0
            self.file_hash = kept["sha256"]
        return self.file_hash

    def has_payments(self, batch_id: int) -> bool:

        from mianshen.store.schema import payments

        with self.engine.connect() as conn:
            return (
                conn.execute(select(payments.c.id).where(payments.c.batch_id == batch_id).limit(1)).first() is not None
            )

    def any_payment(self) -> tuple[int, int]:
        """The newest payment wherever it now is (a 退票 issued again moves to a new batch): batch, case."""
        from mianshen.store.schema import payments

        with self.engine.connect() as conn:
            row = conn.execute(select(payments.c.batch_id, payments.c.case_id).order_by(payments.c.id.desc())).first()
        assert row is not None
        return int(row.batch_id), int(row.case_id)

    def returned(self, batch_id: int) -> int:
        """The batch's first payment, sent back by the bank (退票): its case waits for a corrected account."""
        from mianshen.cases.payment_results import return_payment

        case_id, _ = self.payment_in(batch_id)
        with self.engine.begin() as conn:
            return_payment(conn, batch_id, case_id, Actor("出纳", "finance"), "账户已销户")
        return case_id

    def source_of(self, field: str) -> tuple[str, str]:
        """A registered source providing `field`, and an empty file of its columns."""
        from mianshen.profiles.sources import list_sources

        with self.engine.connect() as conn:
            source = next(x for x in list_sources(conn) if field in x.fields)
        return source.id, ",".join(c.column for c in source.columns) + "\n"

    def client(self, who: str) -> TestClient:
        """A role key from ROLES, or an enterprise's USCC (signed in by SMS code on first use)."""
        if who in self.clients:
            return self.clients[who]
        if who not in self.by_uscc:
            self.by_uscc[who] = sms_sign_in(self, who)
        return self.by_uscc[who]

    def case_info(self, case_id: int) -> tuple[str, str]:
        """(amount, commitment) an enterprise confirms with."""
        with self.engine.connect() as conn:
            case = tr.load_case(conn, case_id)
            promised = tr.policy_settings(conn, case["policy_id"], case["policy_version"]).commitment
        return str(case["amount"]), promised or "本企业承诺所填信息真实有效"

    def commitment(self, policy_id: str) -> str:
        with self.engine.connect() as conn:
            return tr.policy_settings(conn, policy_id).commitment or "本企业承诺所填信息真实有效"


ADDRESSES = itertools.count(1)


def new_client(app: Any) -> TestClient:
    # each client its own address, as different people are (sign-in limits count per address)
    address = next(ADDRESSES)
    client = TestClient(
        app,
        base_url="https://testserver",
        follow_redirects=False,
        client=(f"10.{address // 250}.{address % 250}.1", 50000),
    )
    assert client.get("/login").status_code == 200  # the CSRF cookie
    return client


def csrf(client: TestClient) -> str:
    return str(client.cookies.get("ms_csrf") or "")


def last_code(engine: Engine, uscc: str) -> str:
    with engine.connect() as conn:
        payload = conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.template == "login_code", outbox.c.uscc == uscc)
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).scalar_one()
    return str(json.loads(payload)["code"])


def sms_sign_in(world: World, uscc: str) -> TestClient:
    client = new_client(world.app)
    sent = client.post("/login/enterprise/code", data={"uscc": uscc, "csrf_token": csrf(client)})
    assert sent.status_code == 200, sent.text
    code = last_code(world.engine, uscc)
    signed = client.post("/login/enterprise", data={"uscc": uscc, "code": code, "csrf_token": csrf(client)})
    assert signed.status_code == 303 and signed.headers["location"] == "/my", signed.text
    return client


def staff_sign_in(app: Any, username: str) -> TestClient:
    client = new_client(app)
    done = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(client)})
    assert done.status_code == 303, done.text
    return client


def _wengang_cases(engine: Engine, policy_id: str) -> list[tuple[int, str]]:
    query = select(cases.c.id, cases.c.uscc).where(cases.c.policy_id == policy_id).order_by(cases.c.id)
    with engine.connect() as conn:
        return [(int(r.id), str(r.uscc)) for r in conn.execute(query)]


def _notify(conn: Any, case_id: int) -> None:
    tr.notify(conn, case_id, SYSTEM, dt.date(2025, 8, 29))


def _confirm(conn: Any, case_id: int) -> None:
    case = tr.load_case(conn, case_id)
    promised = tr.policy_settings(conn, case["policy_id"], case["policy_version"]).commitment
    who = Actor("经办人", "enterprise", None, case["uscc"])
    tr.confirm(conn, case_id, who, Decimal(case["amount"]), ACCOUNT, promised or "承诺")


def _to_publicity(conn: Any, case_id: int) -> None:
    _notify(conn, case_id)
    _confirm(conn, case_id)
    review.begin_review(conn, case_id, HR, AS_OF)
    review.open_publicity(conn, case_id, HR, AS_OF, stale_reason="测试")


def _to_approved(conn: Any, case_id: int) -> None:
    _to_publicity(conn, case_id)
    review.decide(conn, case_id, HR, AS_OF + dt.timedelta(days=60))


def build_world(tmp: Path) -> World:
    engine = open_store(f"sqlite:///{tmp}/authorization.sqlite")
    demo = generate(150, tmp / "demo", seed=11, as_of=AS_OF, progress=lambda _: None)
    import_demo(engine, demo)
    publish(engine)  # every shipped policy
    run_match(engine, AS_OF)
    ids = _wengang_cases(engine, POLICY)
    second = _wengang_cases(engine, SECOND)
    assert len(ids) >= 14 and second, (len(ids), len(second))
    (case_a, uscc_a), (_, uscc_b) = ids[0], ids[1]
    spare = {
        "confirm": ids[2][0],
        "confirm_api": ids[3][0],
        "decline": ids[4][0],
        "decline_api": ids[5][0],
        "object": ids[6][0],
        "object_api": ids[7][0],
        "public_objection": ids[8][0],
        "act": ids[9][0],  # matched: the department notifies
        "act_api": ids[10][0],
        "shown": ids[12][0],  # stays in 公示: the public list must mask its code
        "ended": ids[13][0],  # declined and archived (trust: the archive routes)
    }
    with engine.begin() as conn:
        for case_id in (case_a, ids[1][0], spare["confirm"], spare["confirm_api"], spare["decline"]):
            _notify(conn, case_id)
        _notify(conn, spare["decline_api"])
        for case_id in (spare["object"], spare["object_api"], spare["public_objection"], spare["shown"]):
            _to_publicity(conn, case_id)
        _to_approved(conn, ids[11][0])
        _to_approved(conn, second[0][0])
        for name, (role, dept) in STAFF.items():
            add_user(conn, name, PASSWORD, role, f"{name}用户", department=dept)
        for i, (_, uscc) in enumerate(ids):
            set_contact(conn, uscc, f"联系人{i}", f"1380013{i:04d}")
        message = conn.execute(
            portal_messages.insert().values(
                uscc=uscc_a, title="请确认", body="请确认金额", created_at=dt.datetime.now(dt.UTC)
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    batch = create_batch(engine, POLICY, FINANCE).batch_id
    batch2 = create_batch(engine, SECOND, FINANCE).batch_id
    app = create_app(f"sqlite:///{tmp}/authorization.sqlite")
    app.state.engine.dispose()
    app.state.engine = engine
    usccs = [u for _, u in ids]
    world = World(engine, app, uscc_a, uscc_b, case_a, int(message), batch, batch2, spare, usccs)
    world.clients["anon"] = new_client(app)
    world.clients["ent_a"] = world.client(uscc_a)
    world.clients["ent_b"] = world.client(uscc_b)
    for name in STAFF:
        world.clients[name] = staff_sign_in(app, name)
    hr = world.clients["hr"]
    made = hr.post("/console/drafts", data={"text": DRAFT_TEXT, "csrf_token": csrf(hr)})
    found = re.search(r'name="draft" value="([0-9a-f]+)"', made.text)
    world.draft = found.group(1) if made.status_code == 200 and found else None
    return world


def policy_source(policy_id: str) -> str:
    return (SHIPPED / f"{policy_id}.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIANSHEN_FAST_HASH", "1")
        mp.setenv("MIANSHEN_TODAY", "2025-06-30")
        mp.setenv("MIANSHEN_SM4_KEY", "0123456789abcdeffedcba9876543210")
        tmp: Path = tmp_path_factory.mktemp("authorization")
        mp.setenv("MIANSHEN_UPLOAD_DIR", str(tmp / "uploads"))
        mp.setenv("MIANSHEN_DRAFT_DIR", str(tmp / "drafts"))
        w = build_world(tmp)
        yield w
        w.engine.dispose()
