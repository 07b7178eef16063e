"""Trust (issue 19): SM2 seals per department, signed documents (信用承诺、决定书、兑现凭证) as PDF
plus a detached signature over canonical JSON, their verification, and the electronic archive of ended
cases. docs/trust.md describes the formats and how a hardware 密码机 / 电子印章 system replaces keys.py.

Layering: trust sits above cases (it reads cases, policy versions and the audit log); the case
transitions call into it through `hooks.py` only.
"""
