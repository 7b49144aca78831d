"""`python -m petvisor_desktop` runs the same command line as `petvisor-desktop`."""

from petvisor_desktop.cli import main

raise SystemExit(main())
