"""The editor's docked panels and their controls: palette, regions, styles, engine, history, jobs."""
