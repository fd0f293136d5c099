"""Network layers and tensor helpers shared by the engines (official key layouts)."""
