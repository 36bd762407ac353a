"""``python -m kafkalab.curriculum build|check``: see :mod:`kafkalab.curriculum.cli`."""

import sys

from kafkalab.curriculum.cli import main

if __name__ == "__main__":
    sys.exit(main())
