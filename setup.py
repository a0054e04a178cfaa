"""The one native part: the reader of time series wire bytes (autoscale/_wire.c).

It is optional: where it cannot be compiled, the services read requests through protobuf
instead (slower, the same answers), so the build does not fail for want of a compiler.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "autoscale._wire",
            ["autoscale/_wire.c"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
