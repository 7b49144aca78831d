"""Sub-command groups of the command line; each module has `register(subparsers)` and sets
`handler(args, settings) -> exit status` on its parsers."""
