"""Generate the Python code of protos/ into autoscale/v1/ and autoscale/internal/v1/ (never hand-edit it).

Run: python scripts/gen_protos.py        (rewrites the generated files)
     python scripts/gen_protos.py --check (exits 1 when they are stale)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
GENERATED_DIRS = (Path("autoscale") / "v1", Path("autoscale") / "internal")
"""Where generated code lives, whole: nothing else is kept in these folders."""

PACKAGE_DOCSTRINGS = {
    Path("autoscale") / "v1": "Generated protobuf and gRPC code of autoscale.v1 (the public API).",
    Path("autoscale") / "internal": "Service-to-service protocols (generated code under v1).",
    Path("autoscale") / "internal" / "v1": "Generated protobuf and gRPC code of autoscale.internal.v1 (service-to-service messages).",
}


def generate(out_dir: Path) -> None:
    """Run protoc on every .proto under protos/, writing into out_dir."""
    well_known = resources.files("grpc_tools") / "_proto"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *protos,
        ]
    )
    if status != 0:
        sys.exit(f"protoc failed with status {status}")
    for package_dir, docstring in PACKAGE_DOCSTRINGS.items():
        (out_dir / package_dir / "__init__.py").write_text(f'"""{docstring}"""\n')


def _contents(folder: Path) -> dict[Path, bytes]:
    """Every file under `folder` (caches aside), by its path relative to it."""
    if not folder.exists():
        return {}
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the generated code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        stale = [folder for folder in GENERATED_DIRS if _contents(Path(tmp) / folder) != _contents(ROOT / folder)]
        if args.check:
            if stale:
                print(f"generated code in {', '.join(map(str, stale))} is stale: run python scripts/gen_protos.py", file=sys.stderr)
                return 1
            print("generated code is fresh")
            return 0
        for folder in stale:
            shutil.rmtree(ROOT / folder, ignore_errors=True)
            shutil.copytree(Path(tmp) / folder, ROOT / folder)
            print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
