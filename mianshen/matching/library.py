"""The match library (政策匹配库) as columnar files: every run's full result, one folder per run.

A folder holds *layers*. A layer is the result of evaluating some policies over some enterprises:
`profiles-<n>.parquet` (the profile snapshot evaluated, one input hash per enterprise) and
`results-<n>-<i>.parquet` (one row per enterprise; per policy a status code, the amount and the
unknown mask: the columns assemble.py makes). Rows are sorted by city (the first four digits of
the region code) and USCC, so a region or one enterprise is read without scanning the rest, and
a policy is its own columns. A full run writes one layer for every enterprise; an incremental run
writes only what it evaluated, and its *view* — what the library says after the run — is its
layers in front of the previous run's: for each policy and enterprise, the newest layer holding
that policy's current version and that enterprise.

The store holds what the workflow needs (changes, cases, data requests) and each run's manifest
(`match_runs.manifest`): the layers of its view with each file's SHA-256 and row count. Folders
are written before the run's transaction commits and are never changed after; a folder no kept
run refers to is removed after the next run commits, so a killed run leaves only a folder that
nothing reads. An ineligible pair keeps only its status: "why not" is recomputed from the profile
and the policy version, as the portal already does.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from mianshen.settings import current as settings
from mianshen.sqlgen.assemble import Slot, unknown_sql
from mianshen.store.paths import data_dir
from mianshen.store.schema import match_runs

KEEP = 5  # finished runs whose folders are kept (MIANSHEN_LIBRARY_KEEP)
MAX_LAYERS = 8  # a view deeper than this is rewritten by a full run


@dataclass(frozen=True)
class PolicyColumns:
    """Where one policy version's results are in a layer."""

    policy_id: str
    version: int
    kind: str
    column: int  # s_<column>, a_<column>
    file: str  # results file, relative to the library root
    conditions: tuple[str, ...]  # unknown-mask bit order
    # per spine condition, the word column and bit set when it is NULL (assemble.unknown_sql); empty
    # in a library written before the words, whose files hold u_<column> itself
    nulls: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def of(slot: Slot, file: str) -> PolicyColumns:
        p = slot.policy
        return PolicyColumns(p.id, p.version, p.kind, slot.column, file, slot.conditions, slot.nulls)

    def unknown(self, prefix: str = "") -> str:
        """SQL for the policy's unknown mask in a row of its results file."""
        if not self.nulls:
            return f"{prefix}u_{self.column}"
        return unknown_sql([(prefix + word, bit) for word, bit in self.nulls], f"{prefix}s_{self.column}")


@dataclass(frozen=True)
class Layer:
    folder: str
    profiles: str  # profiles file, relative to the library root
    enterprises: int
    policies: tuple[PolicyColumns, ...]
    presence: tuple[str, ...] = ()  # the fields the `present` bits stand for, in bit order
    # evaluated for every enterprise of the store: a policy's older layers are hidden behind it (a
    # full run leaves a view of one layer, not of every layer before it)
    complete: bool = False

    def find(self, policy_id: str) -> PolicyColumns | None:
        return next((p for p in self.policies if p.policy_id == policy_id), None)


@dataclass
class Manifest:
    run: int
    as_of: str
    last_batch: int
    folder: str
    active: dict[str, int] = field(default_factory=dict)  # policy id → current version
    layers: list[Layer] = field(default_factory=list)  # newest first
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # path → sha256, rows, bytes
    # not kept: the view of some enterprises already read into DuckDB (view.remember), by the
    # table of their ids → (the DuckDB table, its policies in column order)
    remembered: dict[str, tuple[str, list[str]]] = field(default_factory=dict, compare=False, repr=False)

    def chain(self, policy_id: str) -> list[tuple[Layer, PolicyColumns]]:
        """The layers a policy's current version is read from, newest first."""
        version = self.active.get(policy_id)
        out = []
        for layer in self.layers:
            found = layer.find(policy_id)
            if found is not None and found.version == version:
                out.append((layer, found))
                if layer.complete:
                    break
        return out

    def current(self, policy_id: str) -> PolicyColumns | None:
        found = self.chain(policy_id)
        return found[0][1] if found else None

    def depth(self) -> int:
        return max((len(self.chain(p)) for p in self.active), default=0)

    def to_json(self) -> str:
        raw = asdict(self)
        del raw["remembered"]
        return json.dumps(raw, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Manifest:
        raw = json.loads(text)
        layers = [layer_from_dict(layer) for layer in raw["layers"]]
        return Manifest(raw["run"], raw["as_of"], raw["last_batch"], raw["folder"], raw["active"], layers, raw["files"])


LAYER_META = "_mianshen_layer.json"  # describes a layer written outside a run (match-spark)


def layer_from_dict(raw: dict[str, Any]) -> Layer:
    return Layer(
        raw["folder"],
        raw["profiles"],
        raw["enterprises"],
        tuple(
            PolicyColumns(
                **{**p, "conditions": tuple(p["conditions"]), "nulls": tuple((w, b) for w, b in p.get("nulls", ()))}
            )
            for p in raw["policies"]
        ),
        tuple(raw.get("presence", ())),
        bool(raw.get("complete", False)),
    )


def write_layer_meta(folder: Path, layer: Layer, as_of: str, last_batch: int | None, source: str) -> None:
    described = {"as_of": as_of, "last_batch": last_batch, "profiles": source, "layer": asdict(layer)}
    (folder / LAYER_META).write_text(json.dumps(described, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_layer_meta(folder: Path) -> dict[str, Any]:
    """A layer's description, or a clear error when `folder` is not a match-spark result."""
    from mianshen.errors import InputError

    path = folder / LAYER_META
    if not path.is_file():
        raise InputError(f"{folder} 不是 match-spark 的结果目录（缺少 {LAYER_META}）")
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["layer"] = layer_from_dict(raw["layer"])
    return raw


def root(bind: Any) -> Path:
    return data_dir(bind) / "library"


def new_folder(bind: Any, run_id: int) -> Path:
    """A folder of its own for a run (the token keeps a killed run's leftovers apart from a later
    run that the store gives the same id)."""
    folder = root(bind) / f"run-{run_id:08d}-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    return folder


def latest(conn: Connection) -> Manifest | None:
    """The manifest of the last finished run (the library as it stands)."""
    found = conn.execute(
        select(match_runs.c.manifest)
        .where(match_runs.c.finished_at.is_not(None), match_runs.c.manifest.is_not(None))
        .order_by(match_runs.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else Manifest.from_json(found)


def manifest_of(conn: Connection, run_id: int) -> Manifest | None:
    found = conn.execute(select(match_runs.c.manifest).where(match_runs.c.id == run_id)).scalar()
    return None if found is None else Manifest.from_json(found)


def record_files(manifest: Manifest, library: Path, duck: Any, paths: Iterable[Path]) -> None:
    """Digest, size and row count of each new file, kept in the manifest (verify() checks them)."""
    for path in paths:
        rows = duck.execute(f"SELECT count(*) FROM read_parquet('{quoted(_parts(path))}')").fetchone()[0]
        manifest.files[str(path.relative_to(library))] = {
            "sha256": file_sha256(path),
            "rows": int(rows),
            "bytes": path.stat().st_size,
        }


def file_sha256(path: Path) -> str:
    """SHA-256 of a file; of a directory of parts, of its parts' names and digests in order."""
    digest = hashlib.sha256()
    if path.is_dir():
        for part in sorted(path.glob("*.parquet")):
            digest.update(f"{part.name}:{file_sha256(part)}\n".encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(manifest: Manifest, library: Path) -> list[str]:
    """Files of the manifest that are missing or differ from their recorded digest (Chinese lines)."""
    problems = []
    for name, meta in sorted(manifest.files.items()):
        path = library / name
        if not path.exists():
            problems.append(f"匹配库文件缺失：{name}")
        elif file_sha256(path) != meta["sha256"]:
            problems.append(f"匹配库文件与运行记录的摘要不符（被改动）：{name}")
    return problems


def keep_runs() -> int:
    keep = settings().library_keep
    return KEEP if keep is None else keep


def clean(conn: Connection) -> list[str]:
    """Remove folders no kept run's view reads: older runs beyond MIANSHEN_LIBRARY_KEEP, and what
    killed runs left. Only folders of runs older than the newest finished one are touched, so a
    run in progress (a newer id) keeps its folder."""
    rows = conn.execute(
        select(match_runs.c.id, match_runs.c.manifest)
        .where(match_runs.c.finished_at.is_not(None), match_runs.c.manifest.is_not(None))
        .order_by(match_runs.c.id.desc())
    ).all()
    if not rows:
        return []
    kept = [Manifest.from_json(r.manifest) for r in rows[: keep_runs()]]
    needed = {layer.folder for m in kept for layer in m.layers} | {m.folder for m in kept}
    newest = rows[0].id
    library = root(conn)
    removed = []
    for folder in sorted(library.glob("run-*")) if library.exists() else []:
        number = int(folder.name.split("-")[1])
        if folder.name not in needed and number <= newest:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def quoted(path: Path | str) -> str:
    return str(path).replace("'", "''")


def read_files(library: Path, names: Sequence[str]) -> str:
    """DuckDB's reader of library files; a directory (Spark writes one per file) is read as its parts."""
    listed = ", ".join(f"'{quoted(_parts(library / n))}'" for n in names)
    return f"read_parquet([{listed}])"


def _parts(path: Path) -> Path:
    return path / "*.parquet" if path.is_dir() else path
