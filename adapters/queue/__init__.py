"""dramatiq: the broker chosen from settings, the mail actors (a few lines each that call the
use cases), and the outbox that enqueues their messages after each commit."""
