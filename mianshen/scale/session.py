"""A SparkSession for matching: Java found, offline, quiet, UTC and the decimal rules the SQL relies on.

Every user-caused failure (no Java, pyspark missing, a malformed master URL, a session that fails to
start) becomes an `InputError` with a Chinese message instead of a Py4J traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mianshen.errors import InputError
from mianshen.settings import configure, set_library_env
from mianshen.settings import current as platform_settings

DEFAULT_MASTER = "local[2]"
# Spark 4 runs on Java 17 or 21; this machine also has a newer JDK that Spark does not support
JAVA_17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")

_LOCAL = re.compile(r"^local(\[(\d+|\*)(,\d+)?\])?$")
_CLUSTER = re.compile(r"^(spark://[A-Za-z0-9.\-]+(:\d+)?(,[A-Za-z0-9.\-]+(:\d+)?)*|k8s://https?://\S+|yarn)$")

# Why each setting:
SETTINGS = {
    "spark.ui.enabled": "false",  # no web UI port to open (or to find taken) on a shared machine
    "spark.ui.showConsoleProgress": "false",  # progress bars would interleave with the command's output
    "spark.sql.session.timeZone": "UTC",  # DATE values never shift with the machine's zone
    "spark.sql.ansi.enabled": "true",  # an overflowing decimal fails the job instead of becoming NULL
    # The Spark dialect (sqlgen/dialects.py) types every operation for this rule; set it explicitly
    # so that a cluster-wide spark-defaults.conf cannot change the arithmetic.
    "spark.sql.decimalOperations.allowPrecisionLoss": "true",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",  # province=41 stays a string
    "spark.sql.adaptive.enabled": "true",  # the summary's shuffle shrinks to the few partitions it needs
}


def is_local(master: str) -> bool:
    return bool(_LOCAL.match(master))


def check_master(master: str) -> None:
    if not (_LOCAL.match(master) or _CLUSTER.match(master)):
        raise InputError(
            f"Spark 主节点地址无效：“{master}”（应为 local[2]、local[*]、spark://主机:7077、k8s://https://… 或 yarn）"
        )


def find_java() -> Path:
    """The Java Spark will use; sets JAVA_HOME to Java 17 when it is unset and that JDK is installed."""
    home = platform_settings().java_home
    if home:
        java = Path(home) / "bin" / "java"
        if not java.exists():
            raise InputError(f"环境变量 JAVA_HOME 指向的目录中没有 Java：{java} 不存在（Spark 需要 Java 17 或 21）")
        return java
    if (JAVA_17 / "bin" / "java").exists():
        configure(java_home=JAVA_17)  # exported: Spark's launcher reads JAVA_HOME itself
        return JAVA_17 / "bin" / "java"
    found = shutil.which("java")
    if not found:
        raise InputError("未找到 Java：Spark 需要 Java 17 或 21，请安装（如 openjdk-17-jre-headless）或设置 JAVA_HOME")
    return Path(found)


def require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise InputError(
            "未安装 pyspark：请执行 pip install 'pyspark>=4.0'（开发环境：pip install -e '.[dev]'）"
        ) from exc


def settings(master: str) -> dict[str, str]:
    conf = dict(SETTINGS)
    if is_local(master):
        # Executors live in the driver's JVM: bind to the loopback address so that nothing waits for
        # a hostname to resolve on an offline machine. A cluster's driver must stay reachable, so
        # there the addresses come from the cluster's own configuration.
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.memory"] = platform_settings().spark_driver_memory
        # no managed tables are ever created, but Spark makes an empty spark-warehouse/ in the working
        # directory when its catalogue starts: keep it out of the user's (or the repository's) directory
        conf["spark.sql.warehouse.dir"] = str(Path(tempfile.gettempdir()) / "mianshen-spark-warehouse")
        # a shuffle (only the result summary has one) needs no more partitions than cores
        conf["spark.sql.shuffle.partitions"] = str(max(2, _local_cores(master)))
    return conf


def _local_cores(master: str) -> int:
    match = _LOCAL.match(master)
    count = match.group(2) if match else None
    if count is None:
        return 1
    if count == "*":
        return os.cpu_count() or 2
    return int(count)


# For short runs (tests, small populations): C1-only JIT and the serial collector halve the JVM's CPU
# time for starting Spark and compiling the first queries; long matches run faster with full JIT.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def spark_session(master: str = DEFAULT_MASTER, app_name: str = "mianshen-match", java_options: str = "") -> Any:
    """Start (or reuse the running) SparkSession; errors a user can fix are raised as `InputError`.

    `java_options` (or MIANSHEN_SPARK_JAVA_OPTIONS) go to the driver JVM, when this call starts it.
    """
    check_master(master)
    require_pyspark()
    find_java()
    if is_local(master):
        set_library_env("SPARK_LOCAL_IP", "127.0.0.1", replace=False)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    conf = settings(master)
    java_options = java_options or platform_settings().spark_java_options
    if java_options:
        conf["spark.driver.extraJavaOptions"] = java_options
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # Py4J and Java errors: JVM failed to start, master unreachable
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"无法启动 Spark（主节点 {master}）：{first}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark
