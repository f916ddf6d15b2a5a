"""Build the Cython hot paths (cext/) into pikadb's compiled modules.

Knobs (environment):
  PIKADB_CYTHON_ANNOTATE=1   write cext/*.html annotation reports
  PIKADB_CYTHON_TRACE=1      build with line tracing (for line_profiler / coverage)
  PIKADB_ONLY_EXT=a,b        build only these extensions (e.g. "resp"), for quick iteration
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

EXTENSIONS = {
    # extension short name -> (module name, source)
    "resp": ("pikadb._resp", "cext/resp.pyx"),
    "keycodec": ("pikadb._keycodec", "cext/keycodec.pyx"),
    "hll": ("pikadb._hll", "cext/hll.pyx"),
    "binlog": ("pikadb._binlog", "cext/binlog.pyx"),
    "keycache": ("pikadb._keycache", "cext/keycache.pyx"),
    "core": ("pikadb._core", "cext/core.pyx"),
}
# C libraries an extension links against (none: the build needs only gcc and Python's headers).
LIBRARIES: dict[str, list[str]] = {}

only = {n for n in os.environ.get("PIKADB_ONLY_EXT", "").split(",") if n}
trace = os.environ.get("PIKADB_CYTHON_TRACE") == "1"
macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if trace else []

extensions = [
    Extension(
        module,
        [source],
        define_macros=macros,
        extra_compile_args=["-O2"],
        libraries=LIBRARIES.get(name, []),
    )
    for name, (module, source) in EXTENSIONS.items()
    if not only or name in only
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        # cext/pikadb/*.pxd cimport each other as pikadb._name: search from cext/.
        include_path=["cext"],
        annotate=os.environ.get("PIKADB_CYTHON_ANNOTATE") == "1",
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "linetrace": trace,
        },
    ),
)
