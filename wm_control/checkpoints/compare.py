"""Do two wm-control checkpoints hold the same model? The check behind ``make default-model``.

Two runs of one recipe write different headers (each records its own command, output folders and
run paths) but, on CPU with the same thread count, the same weights. The weights are compared by
the ``weights_sha256`` each file recorded when it was written (the sha256 over every tensor's name,
dtype, shape and bytes) and by their configs; the loader has verified both checksums.

    python -m wm_control.checkpoints.compare REMADE SHIPPED
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .common import CheckpointError
from .native import CHECKSUM_KEY, read_header


@dataclass(frozen=True)
class WeightsComparison:
    """The outcome of :func:`compare_weights`; ``message`` says it in one line."""

    same: bool
    message: str


def compare_weights(remade: Path, reference: Path) -> WeightsComparison:
    """Compare the configs and recorded weight checksums of two native checkpoints (folders or
    ``.safetensors`` files); checkpoints without a checksum (format version 1) are refused."""
    headers = {}
    for role, path in (("remade", remade), ("reference", reference)):
        if not Path(path).exists():
            raise ValueError(
                f"compare_weights: expected a checkpoint folder or .safetensors file as the {role} "
                f"model, found nothing at {path}"
            )
        header = read_header(path)
        if CHECKSUM_KEY not in header:
            raise ValueError(
                f"compare_weights: expected a checkpoint with a recorded {CHECKSUM_KEY} as the "
                f"{role} model, found none in {path} (format version "
                f"{header.get('format_version')}); re-save it with this version"
            )
        headers[role] = header
    configs = {role: json.loads(h["config"]) for role, h in headers.items()}
    sums = {role: h[CHECKSUM_KEY] for role, h in headers.items()}
    if configs["remade"] != configs["reference"]:
        differing = sorted(
            key
            for key in set(configs["remade"]) | set(configs["reference"])
            if configs["remade"].get(key) != configs["reference"].get(key)
        )
        return WeightsComparison(
            False, f"different models: their configs differ in {differing} ({remade}, {reference})"
        )
    if sums["remade"] != sums["reference"]:
        return WeightsComparison(
            False,
            f"weights differ: sha256 {sums['remade'][:16]}… ({remade}) against "
            f"{sums['reference'][:16]}… ({reference})",
        )
    return WeightsComparison(
        True, f"weights identical: sha256 {sums['remade'][:16]}… ({remade} = {reference})"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m wm_control.checkpoints.compare REMADE REFERENCE", file=sys.stderr)
        return 2
    try:
        result = compare_weights(Path(args[0]), Path(args[1]))
    except (ValueError, CheckpointError) as error:
        print(error, file=sys.stderr)
        return 2
    print(result.message)
    return 0 if result.same else 1


if __name__ == "__main__":
    raise SystemExit(main())
