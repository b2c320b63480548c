"""dramatiq: the broker, the actors, and the outbox that hands committed work to them."""
