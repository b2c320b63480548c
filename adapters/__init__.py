"""Everything that touches the outside world: storage, mail, HTTP, settings."""
