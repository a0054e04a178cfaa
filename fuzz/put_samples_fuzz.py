"""Coverage-guided fuzz target of the native PutSamples reader (services/metrics/_put_samples.c); run it with `make fuzz`.

The property, for any bytes: the native `decode` answers None (leaving the request to
protobuf and the rules), or exactly the batch that protobuf + `rules.check_put_samples`
give for the same bytes, with no violation. Batches are compared by repr, so that NaN,
-0.0 and the tuple types compare exactly. Anything else (a different answer, an
exception, a memory error AddressSanitizer sees) is a crash that libFuzzer saves with
its input.

    python fuzz/put_samples_fuzz.py EXTENSION CORPUS_DIR [libFuzzer flags...]
    python fuzz/put_samples_fuzz.py EXTENSION INPUT_FILE...   (runs these inputs once: a crash again)

EXTENSION is the instrumented build of the reader (`make fuzz` builds it under build/fuzz/
and preloads atheris' ASan runtime, see fuzz/README.md); it is loaded in place of the
normal build. A few valid requests are written into CORPUS_DIR as seeds.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import random
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import atheris
import wire_mutator  # beside this script, which Python puts first on sys.path
from google.protobuf import timestamp_pb2

from autoscale.v1 import metrics_pb2
from autoscale.validation import Violations

NOW = 1_700_000_000.0
"""The server's clock for every input: a point without a time gets it."""

MODULE_NAME = "services.metrics._put_samples"


def load_instrumented(path: Path) -> ModuleType:
    """The reader built at `path`, registered under its module name so that services.metrics.decoding configures and uses it."""
    loader = importlib.machinery.ExtensionFileLoader(MODULE_NAME, str(path))
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path, loader=loader)
    if spec is None:
        raise SystemExit(f"cannot load {path} as {MODULE_NAME}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[MODULE_NAME] = module
    return module


def seed_requests() -> list[bytes]:
    """A handful of valid requests: several series, dimensions, unicode, points with and without times, bounds."""

    def point(value: float, seconds: int | None = None, nanos: int = 0) -> metrics_pb2.Point:
        if seconds is None:
            return metrics_pb2.Point(value=value)
        return metrics_pb2.Point(value=value, time=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))

    def request(*series: tuple[str, dict[str, str], list[metrics_pb2.Point]]) -> bytes:
        message = metrics_pb2.PutSamplesRequest()
        for metric, dimensions, points in series:
            message.series.add(metric=metric, dimensions=dimensions, points=points)
        return message.SerializeToString()

    now = int(NOW)
    return [
        request(("cpu", {}, [point(1.0)])),
        request(("cpu", {"instance": "i-1", "group": "web"}, [point(2.5, now - 10, 500_000_000), point(-1.0), point(-0.0, now + 3599)])),
        request(*[("requests", {"host": f"h{n}", "zone": "a"}, [point(float(n), now - n)]) for n in range(8)]),
        request(("mémoire ✓", {"zone": "ünïcode 🌍", "empty": ""}, [point(1e-300, now, 999_999_999)])),
        request(("disk", {f"d{n}": "v" for n in range(30)}, [point(7.0)]), ("net", {"b": "1", "a": "2"}, [point(3.0, 1)])),
        # At the bounds: a metric of 255 characters, dimensions just within the size the reader leaves to the rules to measure.
        request(("m" * 255, {"k" * 150: "v" * 19}, [point(1.0)])),
    ]


def write_seeds(corpus: Path) -> None:
    """Put the seeds in a corpus directory (again, so that a grown corpus has new ones too); an input file is left as it is."""
    if corpus.is_file():
        return
    corpus.mkdir(parents=True, exist_ok=True)
    for number, payload in enumerate(seed_requests()):
        (corpus / f"seed-{number}").write_bytes(payload)


def exact_allocation_decoder(native: ModuleType, now: float, latest_allowed: float) -> Callable[[bytes], object]:
    """native.decode over a copy of the payload in a malloc block of exactly its size.

    NOTE: a bytes object ends with a NUL and small ones live inside pymalloc's arenas, so
    AddressSanitizer would not see the reader step past their end; under the preloaded
    runtime, malloc is ASan's, with a poisoned red zone right after the last byte.
    """
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def decode(payload: bytes) -> object:
        address = libc.malloc(len(payload))
        if address is None:
            raise MemoryError(f"malloc({len(payload)})")
        try:
            ctypes.memmove(address, payload, len(payload))
            return native.decode((ctypes.c_char * len(payload)).from_address(address), now, latest_allowed)
        finally:
            libc.free(address)

    return decode


def differential_property(native: ModuleType) -> Callable[[bytes], None]:
    """The property for one input; it raises AssertionError (a crash, to libFuzzer) where it does not hold."""
    # NOTE: imported only now: decoding configures (and then uses) whichever reader is registered when it is first imported.
    from services.metrics import decoding, rules

    if decoding.NATIVE is not native:
        raise SystemExit(f"services.metrics.decoding did not take the instrumented reader {native.__file__}")
    decode_natively = exact_allocation_decoder(native, NOW, NOW + rules.MAX_FUTURE)

    def check_payload(payload: bytes) -> bool:
        """Whether the native reader took `payload` (and gave what protobuf and the rules give)."""
        batch = decode_natively(payload)
        if batch is None:
            return False
        violations = Violations()
        expected = decoding.decode_put_samples(violations, payload, NOW, native=None)
        if violations.items:
            raise AssertionError(f"decoded natively what the rules reject ({violations.items}): {payload!r}\nnative: {batch!r}")
        if repr(batch) != repr(expected):
            raise AssertionError(
                f"the native batch differs from protobuf + the rules for {payload!r}\nnative: {batch!r}\nrules:  {expected!r}"
            )
        return True

    def check(payload: bytes) -> None:
        # NOTE: libFuzzer's byte mutations seldom re-encode a field while keeping every enclosing length right (see
        # wire_mutator), so an input the reader takes also brings one such variant, chosen by its checksum: a crash in it
        # repeats from the input. Only those: a variant costs more than the rest of a run, and most inputs are declined.
        if check_payload(payload):
            variant = wire_mutator.mutate(payload, random.Random(zlib.crc32(payload)))
            if variant is not None:
                check_payload(variant)

    return check


def main() -> None:
    """Load the instrumented reader, seed the corpus, and hand the rest of the command line to libFuzzer."""
    if len(sys.argv) < 3 or sys.argv[2].startswith("-"):
        raise SystemExit(__doc__)
    extension, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    native = load_instrumented(extension)
    check = differential_property(native)
    write_seeds(corpus)
    atheris.Setup([sys.argv[0], *sys.argv[2:]], check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
