"""Tables of the operational store (SQLAlchemy Core). Alembic migrations in `migrations/` build them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    func,
)

metadata = MetaData()

data_sources = Table(
    "data_sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("mapping", Text, nullable=False),  # JSON: file columns → catalogue fields (with units)
    Column("refresh", Text, nullable=False),
    Column("freshness_days", Integer, nullable=False),  # older observations count as stale
    Column("priority", Integer, nullable=False),  # smaller wins when two sources disagree on one date
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

enterprises = Table(
    "enterprises",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", Text),
    Column("uscc_status", String(16), nullable=False),  # valid | check_failed | overridden
    Column("uscc_problems", Text),
    Column("first_batch_id", Integer, ForeignKey("import_batches.id")),
)

uscc_overrides = Table(
    "uscc_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), ForeignKey("enterprises.uscc"), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), ForeignKey("data_sources.id"), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("observations", Integer),  # written by the batch: checks its mirror file (profiles/mirror.py)
    UniqueConstraint("source_id", "file_sha256", name="uq_batch_file"),  # re-import is a no-op
)

import_rejects = Table(
    "import_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False, index=True),
    Column("row_number", Integer, nullable=False),
    Column("severity", String(8), nullable=False),  # error (row not taken) | warning (taken, flagged)
    Column("uscc", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),  # the row as read, JSON
)

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False),
    Column("field", String(64), nullable=False),
    Column("value", Text, nullable=False),  # canonical text of the typed value
    Column("source_id", String(64), ForeignKey("data_sources.id"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False),
    Index("ix_observations_lookup", "uscc", "field", "as_of"),
    Index("ix_observations_field", "field"),
)

# --- 政策库与匹配库 (policy versions, match runs, matches) ---------------------------------------
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("region", String(6), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("budget", Text),  # exact decimal text, 元
    Column("sha256", String(64), nullable=False),
    Column("source_yaml", Text, nullable=False),  # the file as published: decisions replay on it
    Column("state", String(16), nullable=False),  # published | retired
    Column("published_by", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("policy_id", "version", name="uq_policy_version"),
)

match_runs = Table(
    "match_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Date, nullable=False),
    Column("scope", String(16), nullable=False),  # full | incremental
    Column("policy_filter", Text),
    Column("last_batch_id", Integer),  # observations up to this batch were seen by the run
    Column("evaluated", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("cases_created", Integer, nullable=False),
    Column("data_requests", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("library", Text),  # the run's folder in the match library (matching/library.py)
    Column("manifest", Text),  # JSON: policy columns, layers and their files with digests and row counts
    Column("enterprises", Integer),  # in the profile snapshot the run read
)

# Per run and policy: the library's totals after the run (the current version's pairs by status,
# the exact eligible total) and what the run moved — a report or a dashboard never scans the files.
match_policies = Table(
    "match_policies",
    metadata,
    Column("run_id", Integer, ForeignKey("match_runs.id"), primary_key=True),
    Column("policy_id", String(64), primary_key=True),
    Column("policy_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("eligible", Integer, nullable=False),
    Column("ineligible", Integer, nullable=False),
    Column("unknown", Integer, nullable=False),
    Column("total", Text, nullable=False),  # exact decimal text, 元
    Column("new_eligible", Integer, nullable=False),
    Column("lost_eligible", Integer, nullable=False),
)

# Pairs whose status or amount differs from the previous run's library (a policy's first run is
# its baseline: its counts are in match_policies, not a change per enterprise).
match_changes = Table(
    "match_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("match_runs.id"), nullable=False, index=True),
    Column("policy_id", String(64), nullable=False),
    Column("uscc", String(18), nullable=False),
    Column("old_status", String(16)),
    Column("new_status", String(16), nullable=False),
    Column("old_amount", Text),
    Column("new_amount", Text),
    Column("policy_version", Integer),
)

# 数据请求: one per enterprise and field it lacks for some policy (which policies: data_needs, the library).
data_requests = Table(
    "data_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False),
    Column("field", String(64), nullable=False),
    Column("opened_run", Integer, ForeignKey("match_runs.id")),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_run", Integer, ForeignKey("match_runs.id")),
    Column("resolved_at", DateTime(timezone=True)),
    Column("refused_at", DateTime(timezone=True)),  # refused by the data department, with a legal basis
    Column("refused_by", Text),
    Column("refused_reason", Text),
    Column("region", String(12)),  # the enterprise's registered region (a region-limited account sees its own)
    UniqueConstraint("uscc", "field", name="uq_data_request"),
    Index("ix_data_requests_field", "field", "resolved_run"),
)

# An enterprise's request to correct a value the platform holds (受理编号 from the id, answered by the
# department that holds the field): profiles/inbox.py.
corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False, index=True),
    Column("field", String(64), nullable=False),
    Column("claimed", Text, nullable=False),  # the value the enterprise says is right
    Column("reason", Text, nullable=False),
    Column("policy_id", String(64)),  # the policy page it was asked from, if any
    Column("department", Text, nullable=False),  # the field's source department
    Column("state", String(16), nullable=False),  # received | corrected | rejected
    Column("reply", Text),
    Column("attachment", Text),  # the file's name as uploaded
    Column("attachment_path", Text),  # where it is kept (under the upload folder)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_by", Text),
    Column("region", String(12)),  # the enterprise's registered region (a region-limited account sees its own)
)

# Per run, field and policy: how many enterprises the library leaves unknown for want of the field.
data_needs = Table(
    "data_needs",
    metadata,
    Column("run_id", Integer, ForeignKey("match_runs.id"), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("policy_id", String(64), primary_key=True),
    Column("enterprises", Integer, nullable=False),
)

# --- 案件 (cases) ----------------------------------------------------------------------------------
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("uscc", String(18), nullable=False),
    Column("period", String(16), nullable=False),  # the benefit period, e.g. "2025"
    Column("origin", String(16), nullable=False),  # match | list | application
    Column("state", String(24), nullable=False),
    Column("amount", Text),  # proposed amount (exact decimal text)
    Column("confirmed_amount", Text),
    Column("bank_account", Text),  # SM4-encrypted, never shown unmasked
    Column("bank_name", Text),  # 开户行
    Column("bank_code", String(12)),  # 开户行联行号 (CNAPS)
    Column("commitment_signed_at", DateTime(timezone=True)),
    Column("commitment_actor", Text),
    Column("deadline", Date),  # of the current step (confirmation, review, 公示 …)
    Column("publicity_from", Date),
    Column("publicity_to", Date),
    Column("reason", Text),  # rejection, decline, block or clawback reason
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("opened_run", Integer),  # the match run that opened it (its batch audit record covers it)
    Column("data_hash", String(64)),  # the input hash of the profile it was opened on
    Column("region", String(12)),  # the registered region code when opened (queues filter and page on it)
    UniqueConstraint("policy_id", "uscc", "period", name="uq_case_once"),  # never the same case twice
    Index("ix_cases_queue", "policy_id", "state", "deadline", "region"),
    Index("ix_cases_deadline", "deadline", "id", "policy_id", "state", "region"),
    Index("ix_cases_region", "region", "policy_id", "state", "deadline"),  # a region's counts from the index
    Index("ix_cases_stage", "state", "updated_at", "policy_id", "region"),  # the overdue ledger
)

# 督办事项 (supervision/items.py): raised by the worker for a policy stage overdue beyond a threshold or
# for data requests past their reply deadline. `open_key` is the subject while the item is open and
# NULL once done, so the store keeps one open item per subject (a later lapse raises a new one).
supervision_items = Table(
    "supervision_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # case_overdue | data_request
    Column("subject", String(160), nullable=False),  # e.g. policy:kuogang-buzhu:notify, field:ui_paid
    Column("department", Text, nullable=False),  # the owner: the policy's department, or the field's source
    Column("policy_id", String(64)),
    Column("stage", String(16)),
    Column("field", String(64)),
    Column("summary", Text, nullable=False),  # what is overdue, in Chinese, as raised
    Column("cases", Integer, nullable=False),  # cases (or requests) overdue when raised
    Column("max_over", Integer, nullable=False),  # the longest overdue, working days
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("deadline", Date, nullable=False),
    Column("status", String(16), nullable=False),  # assigned | in_progress | done | overdue
    Column("reply", Text),
    Column("replied_by", Text),
    Column("replied_at", DateTime(timezone=True)),
    Column("open_key", String(160), unique=True),
    Index("ix_supervision_items_status", "status", "department"),
)

# 会签: a version changing eligibility or money, waiting for a second staff member (matching/cosign.py).
publish_requests = Table(
    "publish_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("source_yaml", Text, nullable=False),  # the exact text the author checked
    Column("simulation", Text),  # JSON: what the author saw
    Column("requested_by", Text, nullable=False),
    Column("requested_role", String(24), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),  # pending | approved | rejected | withdrawn
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("note", Text),
)

# Long work started from a page (simulate, publish), run in the background (web/console/work_jobs.py).
work_jobs = Table(
    "work_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(24), nullable=False),  # simulate | publish
    Column("actor", Text, nullable=False),
    Column("role", String(24), nullable=False),
    Column("department", Text),
    Column("params", Text, nullable=False),  # JSON: what the page submitted
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("result", Text),  # JSON: what the page shows when done
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

# A department's action on many cases at once, run in the background (cases/bulk.py).
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(24), nullable=False),  # notify | publicity | decide
    Column("policy_id", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("department", Text),
    Column("region", String(12)),  # the staff member's region, when the account carries one
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("report", Text),  # JSON: the failures, each with its case and reason
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True)),  # a running job's last sign of life (stale: resumed)
    Column("finished_at", DateTime(timezone=True)),
)

# The queue sorted by amount: the same expression listing.py orders by, so a page is read in order.
CASE_AMOUNT = cast(func.coalesce(cases.c.confirmed_amount, cases.c.amount), Numeric(18, 2))
Index("ix_cases_amount", CASE_AMOUNT.desc(), cases.c.id, cases.c.policy_id, cases.c.state, cases.c.region)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("from_state", String(24)),
    Column("to_state", String(24), nullable=False),
    Column("actor", Text, nullable=False),
    Column("role", String(24), nullable=False),
    Column("note", Text),
    Column("data", Text),  # JSON
    Column("at", DateTime(timezone=True), nullable=False),
)

objections = Table(
    "objections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("raised_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("resolution", String(16)),  # upheld | dismissed
    Column("resolved_by", Text),
    Column("resolution_reason", Text),
    Column("resolved_at", DateTime(timezone=True)),
    # verified: stopped the case (an enterprise, or the public with an SMS-verified phone);
    # triage: from an unverified objector, waits for staff without stopping the case; accepted:
    # a triaged one staff took up (the case then stopped). Unverified objections never freeze a case.
    Column("stage", String(16), nullable=False, server_default="verified"),
    Column("phone", Text),  # SM4-encrypted: the objector's verified phone
    Column("client", String(64)),  # the client address it came from
)

# A public objection waiting for its SMS code. No foreign key: any case id gets the same answer, so
# the route tells nobody whether a case exists or is in 公示 (web/objecting.py).
objection_codes = Table(
    "objection_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # the confirm form carries the token
    Column("case_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("phone", Text, nullable=False),  # SM4-encrypted
    Column("client", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("consumed_at", DateTime(timezone=True)),
)

onsite_checks = Table(
    "onsite_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("inspector", Text, nullable=False),
    Column("result", String(16), nullable=False),  # passed | failed
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("attachments", Text),  # JSON: photos and documents (name, sha256, size, path), kept by content hash
)

dishonesty_records = Table(
    "dishonesty_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False, index=True),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("reason", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

list_uploads = Table(
    "list_uploads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("policy_id", "sha256", name="uq_list_file"),
)

list_rejects = Table(
    "list_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", Integer, ForeignKey("list_uploads.id"), nullable=False, index=True),
    Column("row_number", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("form", Text, nullable=False),  # JSON of the form fields
    Column("attachments", Text, nullable=False),  # JSON list of {name, sha256, size, path}
    Column("submitted_by", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
)

# --- 资金拨付 (payments) ---------------------------------------------------------------------------
payment_batches = Table(
    "payment_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # open | exported | paid
    Column("total", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("payment_batches.id"), nullable=False, index=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, unique=True),  # each case paid at most once
    Column("amount", Text, nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    Column("returned_at", DateTime(timezone=True)),  # 退票: the bank sent it back; issued again in a later batch
    Column("return_reason", Text),
)

# Every 退票, kept when the payment is issued again (the payment row then moves to the new batch).
payment_returns = Table(
    "payment_returns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payment_id", Integer, ForeignKey("payments.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("batch_id", Integer, ForeignKey("payment_batches.id"), nullable=False),
    Column("amount", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("account", Text),  # the masked account it was sent to
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# --- 通知与审计 (outbox, portal messages, audit log) ------------------------------------------------
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("uscc", String(18), nullable=False),
    Column("step", String(48), nullable=False),  # the case step (or reminder key) this message belongs to
    Column("channel", String(16), nullable=False),  # console | sms | portal
    Column("template", String(48), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("uscc", "step", "channel", name="uq_outbox_once"),  # at most one message per step
)

portal_messages = Table(
    "portal_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False, index=True),
    Column("case_id", Integer, ForeignKey("cases.id")),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("role", String(24), nullable=False),
    Column("action", String(48), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
    Column("data_hash", String(64)),  # hash of the data the action was decided on (e.g. a profile)
    Column("algorithm", String(16), nullable=False),  # sm3 (recorded per row so it can change)
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

# The chain's head at a moment, with an HMAC-SM3 under a key kept outside the store
# (audit/anchors.py): a chain rewritten with every later hash recomputed no longer meets it.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)

# --- 用户与会话 (accounts, sessions, SMS sign-in codes) ------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id
    Column("role", String(24), nullable=False),  # platform_admin | department | data_manager | finance | auditor
    Column("department", Text),  # for department staff: the policies' department they act for
    Column("region", String(6)),  # reach: department × region (a 郑州 bureau acts on 郑州 only)
    Column("active", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

enterprise_contacts = Table(
    "enterprise_contacts",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("contact_name", Text, nullable=False),
    Column("phone", Text, nullable=False),  # SM4-encrypted; SMS codes and notices go here
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # only the hash of the cookie value is stored
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("uscc", String(18)),  # for an enterprise session
    Column("role", String(24), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

sms_codes = Table(
    "sms_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True)),
)

# one row per (rule, subject, time window): codes issued to one client address this hour, wrong
# passwords for one username in 15 minutes … counted atomically by mianshen/web/throttle.py
attempt_counters = Table(
    "attempt_counters",
    metadata,
    Column("rule", String(32), primary_key=True),
    Column("subject", String(64), primary_key=True),  # client address, USCC, username or "*"
    Column("bucket", BigInteger, primary_key=True),  # the window: seconds since 1970 // window length
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

# 部门声明的字段 (profiles/declared.py): a field a department or the data manager adds to the catalogue
# as data — the spec in the catalogue's own format (catalogue/fields.yaml), one row per version.
declared_fields = Table(
    "declared_fields",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("spec", Text, nullable=False),  # JSON: label, type, unit, source, refresh, basis, values
    Column("declared_by", Text, nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "version", name="uq_declared_field_version"),
)
