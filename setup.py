"""The one native part: PutSamples' decoder (services/metrics/_putsamples.c).

It is optional: where it cannot be compiled, the service decodes through protobuf
instead (slower, the same answers), so the build does not fail for want of a compiler.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "services.metrics._putsamples",
            ["services/metrics/_putsamples.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
