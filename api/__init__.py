"""The scoring API: serves the registry's champion, explains, hot-swaps, guards registry actions, logs what it scored."""
