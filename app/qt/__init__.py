"""The Qt editor: windows, widgets and render workers (the only package that imports Qt)."""
