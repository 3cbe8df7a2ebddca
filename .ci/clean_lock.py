"""Filter `pip freeze` output into requirements.lock.

The ROS 2 wheels register each package twice (as `ros-<name>` and as a legacy `<name>` egg-info
that is not on the package index); keep only the installable `ros-` names.
"""

import sys

HEADER = (
    "# Exact versions that install together (pip check clean) on Python 3.11 / Linux x86_64.\n"
    "# Regenerate with `make lock`.\n"
)


def pinned(line: str) -> str:
    """`name @ file:///…/name-1.2.3-….whl` (a local wheel) → `name==1.2.3`; other lines
    unchanged."""
    if " @ " not in line:
        return line
    name, url = line.split(" @ ", 1)
    version = url.rsplit("/", 1)[-1].split("-")[1]
    return f"{name}=={version}"


lines = [
    pinned(line.strip()) for line in sys.stdin if line.strip() and not line.startswith(("-e", "#"))
]
names = {line.split("==")[0].lower().replace("_", "-") for line in lines}
kept = [
    line
    for line in lines
    if (name := line.split("==")[0].lower().replace("_", "-")).startswith("ros-")
    or f"ros-{name}" not in names
]
sys.stdout.write(HEADER + "\n".join(kept) + "\n")
