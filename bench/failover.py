"""The failover drill, from a source tree: `python -m bench.failover [args]`.

The same as `pika-sentinel drill [args]`; the code is pikadb.sentinel.drill (it ships with the
package). See `python -m bench.failover --help`.
"""

from __future__ import annotations

import sys

from pikadb.sentinel.drill import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m bench.failover"))
