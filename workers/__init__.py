"""The processes beside the API: `dramatiq workers.main` (the mail actors of adapters/queue/),
`python -m workers.projections` (the projection runner, active or standby, with the scheduled
checks), and what they run in the background."""
