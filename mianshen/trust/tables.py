"""The trust tables, on the store's one MetaData (migration 0011 builds them).

Defined here rather than in store/schema.py so that the trust package stays in one place; importing
this module registers them (the migration does not need it).

- `seal_keys`: one SM2 key pair per seal (a department, or the platform), the private key SM4-encrypted;
  a key is valid from `valid_from` until `retired_at` (rotation retires it and makes the next one).
- `signed_documents`: every document the platform signed: its canonical JSON content and the signature
  over it, the PDF and a second signature over the PDF's SM3, the verification code printed on it.
- `case_archives`: one sealed package (a ZIP) per ended case and closing event; never updated.
- `case_routes`: the review route of each confirmed case (routing.py), its reasons, whether it was drawn
  for a later check, and that check's result.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mianshen.store.schema import metadata

seal_keys = Table(
    "seal_keys",
    metadata,
    Column("key_id", String(40), primary_key=True),  # SM3 of the public key, first 16 hex: printed on documents
    Column("seal", Text, nullable=False),  # the department's name, or 免申即享平台
    Column("public_key", String(130), nullable=False),
    Column("private_key", Text, nullable=False),  # SM4-GCM under MIANSHEN_SEAL_KEY
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=False),  # planned end (rotation by the worker)
    Column("retired_at", DateTime(timezone=True)),  # set once, when rotated or revoked
    Column("created_by", Text, nullable=False),
)

signed_documents = Table(
    "signed_documents",
    metadata,
    Column("code", String(16), primary_key=True),  # the verification code (QR code and page)
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # commitment | decision | receipt
    Column("key_id", String(40), ForeignKey("seal_keys.key_id"), nullable=False),
    Column("content", Text, nullable=False),  # canonical JSON, exactly the signed bytes (UTF-8)
    Column("content_sm3", String(64), nullable=False),
    Column("signature", Text, nullable=False),  # SM2 over the content bytes, DER hex
    Column("pdf", LargeBinary),  # made on first download (documents.pdf_of), then never changed
    Column("pdf_sm3", String(64), index=True),
    Column("pdf_signature", Text),  # SM2 over the PDF bytes
    Column("signed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("case_id", "kind", "signed_at", name="uq_signed_once"),
)

case_archives = Table(
    "case_archives",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("closing", String(24), nullable=False),  # the state that ended the case: paid, rejected, clawback …
    Column("package", LargeBinary, nullable=False),  # the ZIP (archive.py describes its layout)
    Column("package_sm3", String(64), nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    Column("archived_by", Text, nullable=False),
    UniqueConstraint("case_id", "closing", name="uq_archive_once"),
)

case_routes = Table(
    "case_routes",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("policy_id", String(64), nullable=False, index=True),
    Column("route", String(8), nullable=False),  # green | routine | focus
    Column("reasons", Text, nullable=False),  # JSON list of Chinese sentences
    Column("sampled", Boolean, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("sample_result", String(8)),  # passed | failed, once the drawn case was checked
    Column("sample_note", Text),
    Column("sample_by", Text),
    Column("sample_at", DateTime(timezone=True)),
)
