import sys

from modbot.cli import main

sys.exit(main())
