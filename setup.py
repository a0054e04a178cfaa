"""The one native part: the metrics service's reader of PutSamples wire bytes (services/metrics/_put_samples.c).

It is optional: where it cannot be compiled, PutSamples is read through protobuf and the
rules instead (slower, the same answers), so the build does not fail for want of a compiler.
`make fuzz` builds it again under AddressSanitizer for the fuzz target in fuzz/.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "services.metrics._put_samples",
            ["services/metrics/_put_samples.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
