"""Command families. Importing pikadb.commands.registry loads every family into the table."""
