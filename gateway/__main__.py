"""``python -m gateway`` is the ``laminar`` command."""

from gateway.cli import main

raise SystemExit(main())
