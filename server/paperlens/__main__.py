import sys

from paperlens.cli import main

sys.exit(main())
