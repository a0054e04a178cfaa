"""Generate the Python code of protos/ into autoscale/v1/ (never hand-edit it).

Run: python scripts/gen_protos.py        (rewrites the generated files)
     python scripts/gen_protos.py --check (exits 1 when they are stale)
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("autoscale") / "v1"


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
    (out_dir / PACKAGE_DIR / "__init__.py").write_text('"""Generated protobuf and gRPC code of autoscale.v1."""\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the generated code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / PACKAGE_DIR
        target = ROOT / PACKAGE_DIR
        names = sorted(p.name for p in fresh.iterdir())
        if args.check:
            existing = sorted(p.name for p in target.iterdir() if p.is_file()) if target.exists() else []
            stale = names != existing or any(not filecmp.cmp(fresh / n, target / n, shallow=False) for n in names)
            if stale:
                print("generated code in autoscale/v1 is stale: run python scripts/gen_protos.py", file=sys.stderr)
                return 1
            print("generated code is fresh")
            return 0
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)
        print(f"wrote {len(names)} files to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
