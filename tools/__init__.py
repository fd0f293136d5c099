"""Build tools that are not part of the installed app (the demo builder, screenshot scripts)."""
