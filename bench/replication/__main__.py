import sys

from bench.replication.cli import main

sys.exit(main())
