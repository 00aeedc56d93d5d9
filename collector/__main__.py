"""``python -m annotrace.collector`` is the ``annotrace`` command."""

from annotrace.collector.cli import main

raise SystemExit(main())
