"""The canvas and its tools: the zoomable view, its scene items, painting tools, overlays."""
