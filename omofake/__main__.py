"""``python -m omofake`` is the ``omofake`` command."""

from omofake.cli import main

raise SystemExit(main())
