"""Pure, vectorised indicator methods: frames in, tidy frames out (no I/O)."""
