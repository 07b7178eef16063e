"""The platform's settings: one typed object, read from the environment and an optional file.

Every `MIANSHEN_*` variable the platform reads is a field here (the field `var_dir` is
`MIANSHEN_VAR_DIR`), and nothing else in the package reads the environment. A deployment may also
write them in a TOML file named by `MIANSHEN_SETTINGS_FILE` (keys are the field names,
`var_dir = "/srv/mianshen"`); the environment wins over the file, and unknown keys in the file are
errors. `mianshen settings` prints what is in force (secrets masked); docs/settings.md is generated
from the fields (`mianshen settings --markdown`).

`current()` reads once and keeps the result for the process. A command that changes a setting for
itself and the processes it starts (`--var-dir`, the demo's pinned day, `serve --db`) calls
`configure()`, which also exports the variable so that child processes (site workers, benchmark
servers) see the same value. Tests change variables with monkeypatch; tests/conftest.py calls
`reset()` so that the next `current()` reads them again.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from mianshen.errors import InputError

PREFIX = "MIANSHEN_"
FILE_ENV = "MIANSHEN_SETTINGS_FILE"
_file: Path | None = None  # the TOML file of the settings being read (a class setting cannot be per call)


def _f(default: Any, doc: str, group: str, secret: bool = False, **kw: Any) -> Any:
    return Field(default, description=doc, json_schema_extra={"group": group, "secret": secret}, **kw)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="forbid", frozen=True)

    # 运行目录与存储
    var_dir: Path = _f(
        Path("var"),
        "运行目录：默认数据库、演示、基准、拒收报告、上传文件等写在这里（也可 mianshen --var-dir）",
        "运行目录与存储",
    )
    database_url: str | None = _f(
        None,
        "数据库地址（postgresql://… 或 sqlite:///…），默认运行目录下的 mianshen.sqlite",
        "运行目录与存储",
        secret=True,
    )
    data_dir: Path | None = _f(None, "数据目录（画像镜像与匹配库），默认由数据库地址推出", "运行目录与存储")
    upload_dir: Path | None = _f(None, "企业上传的附件，默认运行目录下的 uploads", "运行目录与存储")
    draft_dir: Path | None = _f(None, "政策草稿的原文文件，默认运行目录下的 drafts", "运行目录与存储")
    cache_dir: Path | None = _f(None, "检索索引等缓存，默认 ~/.cache/mianshen", "运行目录与存储")
    # 时钟与日历
    today: dt.date | None = _f(None, "固定平台日期（如 2025-06-30），用于演示、培训与测试；生产不设", "时钟与日历")
    holidays_file: Path | None = _f(None, "补充的法定节假日与调休文件（YAML），加在随软件发布的日历之上", "时钟与日历")
    # 密钥与会话
    sm4_key: SecretStr | None = _f(
        None,
        "银行账号与手机号加密的 SM4 密钥（32 位十六进制数）；不设时在运行目录生成演示用密钥文件",
        "密钥与会话",
        secret=True,
    )
    sm4_key_file: Path | None = _f(None, "SM4 密钥文件，默认运行目录下的 sm4.key", "密钥与会话")
    audit_key: SecretStr | None = _f(None, "审计检查点的密钥（至少 32 位十六进制数）", "密钥与会话", secret=True)
    audit_key_file: Path | None = _f(None, "审计检查点密钥文件，默认数据目录下的 audit.key", "密钥与会话")
    session_hours: int = _f(2, "登录会话的有效小时数", "密钥与会话", ge=1)
    cookie_secure: Literal["auto", "1", "0"] = _f(
        "auto", "Cookie 的 Secure 标记：auto 为 HTTPS 时设置，1 总是，0 从不", "密钥与会话"
    )
    fast_hash: bool = _f(False, "仅供测试：用低成本的密码哈希参数（默认每次约 110 毫秒）", "密钥与会话")
    # 电子印章与存档（mianshen/trust）
    seal_key: SecretStr | None = _f(
        None,
        "加密各部门印章私钥的 SM4 密钥（32 位十六进制数）；不设时在运行目录生成演示用密钥文件",
        "电子印章与存档",
        secret=True,
    )
    seal_key_file: Path | None = _f(None, "印章私钥的 SM4 密钥文件，默认运行目录下的 seal.key", "电子印章与存档")
    seal_years: int = _f(2, "印章密钥的有效年数，到期前由定时任务轮换", "电子印章与存档", ge=1, le=10)
    public_url: str | None = _f(
        None,
        "平台的公开地址（如 https://mianshen.example.gov.cn）：短信链接与核验二维码指向它；不设时短信链接为站内路径、"
        "二维码指向 http://127.0.0.1:8000",
        "系统对接",
    )
    pdf_font: Path | None = _f(
        None, "生成文书 PDF 所用的 TrueType 字体（默认随软件发布的 GB 2312 字体子集）", "电子印章与存档"
    )
    routing_file: Path | None = _f(
        None, "审核路由规则文件（免审直达、常规、重点审核），默认随软件发布的规则", "电子印章与存档"
    )
    # 系统对接（mianshen/integration）
    webhook_replay_seconds: float = _f(
        300.0, "事件推送的签名时间戳在多少秒内有效（接收方据此拒绝重放）", "系统对接", ge=1
    )
    webhook_max_attempts: int = _f(8, "事件推送最多尝试次数，之后进入死信列表", "系统对接", ge=1)
    webhook_backoff_seconds: float = _f(30.0, "事件推送失败后第一次重试的等待（秒），之后加倍", "系统对接", ge=0)
    webhook_backoff_cap_seconds: float = _f(3600.0, "事件推送重试等待的上限（秒）", "系统对接", ge=0)
    webhook_timeout_seconds: float = _f(10.0, "一次事件推送的超时（秒）", "系统对接", ge=0.1)
    webhook_rotation_hours: float = _f(24.0, "更换推送密钥后旧密钥仍有效的小时数", "系统对接", ge=0)
    api_rate_per_minute: int = _f(120, "部门接口每个密钥每分钟的调用上限", "系统对接", ge=1)
    link_days: int = _f(30, "短信链接的有效天数", "系统对接", ge=1)
    oidc_issuer: str | None = _f(
        None, "企业统一身份认证（OIDC）的签发方地址；不设时只用信用代码加短信验证码登录", "系统对接"
    )
    oidc_client_id: str | None = _f(None, "统一身份认证分配给本平台的客户端标识", "系统对接")
    oidc_client_secret: SecretStr | None = _f(None, "统一身份认证的客户端密钥", "系统对接", secret=True)
    oidc_uscc_claim: str = _f("uscc", "身份令牌中携带统一社会信用代码的声明名", "系统对接")
    oidc_label: str = _f("统一身份认证", "登录页上身份认证按钮的名称", "系统对接")
    # 通知
    sms_url: str | None = _f(None, "短信网关地址；不设时短信写入通知日志", "通知", secret=True)
    sms_template: str | None = _f(None, "短信网关请求体模板", "通知")
    sms_timeout: float = _f(10.0, "短信网关超时（秒）", "通知", gt=0)
    sms_at_most_once: bool = _f(False, "结果不明的短信不重发（至多一次）", "通知")
    outbox_log: Path | None = _f(None, "控制台通知与未接网关时短信的日志文件，默认运行目录下的 outbox.log", "通知")
    demo_show_codes: bool = _f(False, "演示时把短信验证码显示在终端", "通知")
    notify_max_attempts: int = _f(5, "通知最多尝试次数", "通知", ge=1)
    notify_backoff_seconds: float = _f(60.0, "通知失败后第一次重试的等待（秒），之后加倍", "通知", gt=0)
    notify_backoff_cap_seconds: float = _f(3600.0, "通知重试等待的上限（秒）", "通知", gt=0)
    # 办理时限
    data_reply_days: int = _f(10, "数据部门答复数据请求的期限（工作日）", "办理时限", ge=1)
    commitment_days: str = _f("", "各环节承诺时限（工作日），写成 环节=天数,…（如 review=10,pay=5）", "办理时限")
    supervise_threshold: int = _f(5, "超期多少个工作日后生成督办事项", "办理时限", ge=0)
    # 匹配与大规模
    library_keep: int | None = _f(None, "匹配库保留的运行数（默认见 matching/library.py）", "匹配与大规模", ge=1)
    match_memory: str | None = _f(None, "匹配时 DuckDB 的内存上限（如 4GB）", "匹配与大规模")
    spark_driver_memory: str = _f("2g", "Spark 驱动进程内存", "匹配与大规模")
    spark_java_options: str = _f("", "Spark 驱动的额外 Java 参数", "匹配与大规模")
    java_home: Path | None = _f(
        None, "Spark 使用的 Java（环境变量 JAVA_HOME）", "匹配与大规模", validation_alias="JAVA_HOME"
    )
    # 人工智能辅助
    llm_url: str | None = _f(None, "OpenAI 兼容接口地址；不设时只用规则抽取", "人工智能辅助")
    llm_model: str = _f("local", "大模型名称", "人工智能辅助")
    llm_key: SecretStr | None = _f(None, "大模型接口密钥", "人工智能辅助", secret=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if _file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=_file),)
        return sources


def env_name(field: str) -> str:
    return "JAVA_HOME" if field == "java_home" else PREFIX + field.upper()


_current: Settings | None = None


def current() -> Settings:
    """The settings in force (read on first use, then kept for the process)."""
    global _current
    if _current is None:
        _current = read()
    return _current


def reset() -> None:
    """Forget the settings read, so that the next `current()` reads the environment again (tests)."""
    global _current
    _current = None


def read() -> Settings:
    """Read the environment (and the settings file); a bad value is one Chinese line naming the variable."""
    global _file
    named = os.environ.get(FILE_ENV, "").strip()
    _file = Path(named) if named else None
    if _file is not None and not _file.is_file():
        raise InputError(f"环境变量 {FILE_ENV} 指向的设置文件不存在：{_file}")
    try:
        return Settings()
    except ValidationError as exc:
        raise InputError(_explain(exc)) from exc
    finally:
        _file = None


_EXPECT = {"int": "整数", "float": "数字", "bool": "是或否（1/0、true/false）", "date": "日期（如 2025-06-30）"}


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        info = Settings.model_fields.get(field)
        if info is None:
            problems.append(f"设置文件中有未知的设置“{field}”")
            continue
        kind = next((v for k, v in _EXPECT.items() if error["type"].startswith(k)), "")
        limit = error.get("ctx") or {}
        bound = "，".join(f"{ {'ge': '不小于', 'gt': '大于'}[k] } {v}" for k, v in limit.items() if k in ("ge", "gt"))
        choices = re.split(r", | or ", limit["expected"].replace("'", "")) if "expected" in limit else []
        want = "，".join(filter(None, (kind, bound, f"{'、'.join(choices)} 之一" if choices else "")))
        problems.append(f"{env_name(field)} “{error.get('input')}”无效：应为{want or '有效的值'}（{info.description}）")
    return "环境变量或设置文件有误：" + "；".join(problems)


def configure(**changes: Any) -> Settings:
    """Change settings for this process and for the processes it starts (exported to the environment)."""
    global _current
    updated = current().model_copy(update=changes)
    for field, value in changes.items():
        if value is None:
            os.environ.pop(env_name(field), None)
        else:
            os.environ[env_name(field)] = value.isoformat() if isinstance(value, dt.date) else str(value)
    _current = updated
    return updated


def child_env(**changes: Any) -> dict[str, str]:
    """The environment for a child process: this one's, with `changes` (field names) applied."""
    env = dict(os.environ)
    env.update({env_name(k): v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in changes.items()})
    return env


def set_library_env(name: str, value: str, replace: bool = True) -> None:
    """Set a variable that a library reads itself (Spark's launcher reads JAVA_HOME and SPARK_LOCAL_IP)."""
    if replace or name not in os.environ:
        os.environ[name] = value


def shown(settings: Settings | None = None) -> list[tuple[str, str, str]]:
    """(variable, value, description) of every setting, secrets masked, for `mianshen settings`."""
    settings = settings or current()
    rows = []
    for field, info in Settings.model_fields.items():
        value = getattr(settings, field)
        extra: Mapping[str, Any] = info.json_schema_extra or {}  # type: ignore[assignment]
        if value is None or value == "":
            text = "（未设置）"
        elif extra.get("secret"):
            text = _mask(value.get_secret_value() if isinstance(value, SecretStr) else str(value))
        else:
            text = value.isoformat() if isinstance(value, dt.date) else str(value)
        rows.append((env_name(field), text, str(info.description)))
    return rows


def _mask(value: str) -> str:
    """A URL keeps its scheme and host (its password and query are hidden); a key shows nothing."""
    if "://" in value:
        return re.sub(r"//[^@/]*@", "//***@", value.split("?", 1)[0])
    return "******"
