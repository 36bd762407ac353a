"""``python -m kafkalab`` is the ``kafkalab`` command."""

import sys

from kafkalab.cli import main

sys.exit(main())
