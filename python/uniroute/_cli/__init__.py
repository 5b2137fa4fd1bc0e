"""The ``uniroute`` command's pieces: one module per subcommand, shared checks and errors.

Each subcommand module has ``add_parser(subparsers)`` (which sets ``func``) and a run
function; :func:`uniroute.cli.main` builds the parser from :data:`uniroute.cli.SUBCOMMANDS`.
"""
