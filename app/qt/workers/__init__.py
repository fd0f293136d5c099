"""Qt adapters for background work: the render controller and worker, start-up probe, UI-thread GC."""
