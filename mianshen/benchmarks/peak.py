"""Peak memory of a command, measured so that the benchmark's own memory does not leak into it.

`ru_maxrss` of a child is not its own peak on Linux: fork copies the parent's address space and
exec carries its high-water mark into the child's accounting, so a benchmark that has just
generated a million enterprises would report its own size for every import it runs. The command
therefore runs under a small Python process, and it reports the peak of its own child (forked from
a process of a few MB) through `wait4`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

_WRAPPER = (
    "import json, os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "out, err = child.communicate()\n"  # reaps the child: its rusage goes to this process's children
    "import resource\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'code': child.returncode, 'peak_kib': usage.ru_maxrss, "
    "'stdout': out.decode('utf-8', 'replace'), 'stderr': err.decode('utf-8', 'replace')[-2000:]}))\n"
)


def run_with_peak(command: Sequence[str]) -> tuple[float, str]:
    """Run `command`; (its peak resident memory in MiB, its standard output). Raises RuntimeError
    with the command's last error line when it fails."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    if result["code"]:
        lines = result["stderr"].strip().splitlines()
        raise RuntimeError(f"命令失败（退出码 {result['code']}）：{lines[-1] if lines else ' '.join(command)}")
    return float(result["peak_kib"]) / 1024, str(result["stdout"])
