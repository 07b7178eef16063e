"""Verification without the store: an archive package (a ZIP, or the folder it was unpacked into),
or a single document file with the key list beside it. `mianshen verify FILE` comes here first.

A package carries its own keys.json. Whoever verifies offline should compare the key ids printed with
the platform's published list (/verify/keys, or `--keys` with a saved copy): a package re-signed with
a stranger's key verifies against its own keys.json but not against the published list.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from mianshen.audit.log import canonical, digest
from mianshen.trust import archive, sm2
from mianshen.trust.keys import PublicKey
from mianshen.trust.verify import Outcome, check_envelope, parse_json

MAX_PACKAGE = 200 * 1024 * 1024  # uncompressed: a case's package is a few hundred KB


def read_package(path: Path) -> dict[str, bytes]:
    """The files of a package: from a ZIP (sizes checked before reading) or from a folder."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    with zipfile.ZipFile(path) as package:
        members = package.infolist()
        if sum(m.file_size for m in members) > MAX_PACKAGE:
            raise ValueError("档案包解压后过大")
        return {m.filename: package.read(m) for m in members if not m.is_dir()}


def load_keys(data: bytes) -> list[PublicKey]:
    return [PublicKey.from_json(item) for item in json.loads(data.decode("utf-8"))]


def check_package(files: dict[str, bytes], published: list[PublicKey] | None = None) -> Outcome:
    """Every file against the signed manifest, every document against its signature."""
    out = Outcome(title="案件电子档案")
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
        seal = json.loads(files["manifest.sig.json"].decode("utf-8"))
        key_list = load_keys(files["keys.json"])
    except KeyError as exc:
        return out.fail(f"档案包不完整：缺少 {exc.args[0]}")
    except (ValueError, TypeError, RecursionError):
        return out.fail("档案包格式不对：清单、签名或密钥文件不是本平台写出的 JSON")
    if manifest.get("format") != archive.FORMAT:
        return out.fail("不是本平台的案件档案包格式")
    out.code = f"案件 {manifest.get('case_id')}"
    if published is not None:
        known = {k.key_id: k.public_key for k in published}
        strangers = [k.key_id for k in key_list if known.get(k.key_id) != k.public_key]
        if strangers:
            return out.fail(f"档案包中的密钥 {'、'.join(strangers)} 不在平台公布的验证密钥清单中")
        out.checked.append("档案包的密钥与平台公布的清单一致")
    key = next((k for k in key_list if k.key_id == seal.get("key_id")), None)
    if key is None or not sm2.verify(key.public_key, canonical(manifest).encode("utf-8"), str(seal.get("value"))):
        return out.fail("档案清单（manifest.json）的签名不符：清单在封存后被改动")
    out.checked.append(f"档案清单签名有效（{key.seal}，密钥 {key.key_id}）")
    listed: dict[str, str] = manifest.get("files") or {}
    for name, sm3 in sorted(listed.items()):
        if name not in files:
            out.fail(f"档案包缺少文件 {name}")
        elif digest(files[name]) != sm3:
            out.fail(f"文件 {name} 与封存时不一致（SM3 摘要不同）：已被改动")
    extra = sorted(set(files) - set(listed) - {"manifest.json", "manifest.sig.json"})
    if extra:
        out.fail(f"档案包中有清单之外的文件：{'、'.join(extra)}")
    for name in sorted(n for n in listed if n.startswith("documents/") and n.endswith(".json")):
        if name not in files:
            continue
        pdf = files.get(name[: -len(".json")] + ".pdf")
        doc = check_envelope(json.loads(files[name].decode("utf-8")), key_list, pdf)
        for problem in doc.problems:
            out.fail(f"{doc.title or name}：{problem}")
    if out.ok:
        out.checked.append(f"{len(listed)} 个文件与封存时一致，所含签名文件全部有效")
    return out


def check_path(path: Path, published: list[PublicKey] | None = None) -> Outcome | None:
    """Offline check of `path`, or None when it needs the store (a lone PDF or JSON without keys)."""
    if path.is_dir() or path.suffix.lower() == ".zip":
        try:
            return check_package(read_package(path), published)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            shown = str(exc) if type(exc) is ValueError else ""  # ours, in Chinese; the others' are English
            return Outcome(title="案件电子档案").fail(f"档案包无法读取：{shown or '不是完好的 ZIP 档案包'}")
    keys_file = path.parent / "keys.json"
    key_list = published or (load_keys(keys_file.read_bytes()) if keys_file.is_file() else None)
    if key_list is None:
        return None
    return check_document(path, key_list)


def check_document(path: Path, key_list: list[PublicKey]) -> Outcome:
    """A JSON document, or a PDF with its JSON beside it (documents/<code>.json in a package)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        beside = path.with_suffix(".json")
        if not beside.is_file():
            return Outcome().fail(f"离线核验 PDF 需要同名的签名文件 {beside.name}")
        return check_envelope(parse_json(beside.read_bytes()), key_list, data)
    return check_envelope(parse_json(data), key_list)
