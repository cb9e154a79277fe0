"""Reply latency of the whole pipeline (local Bot API → bot → Rasa → action server) against Rasa alone.

Usage (with the app environment's interpreter; `make bench`):

    .venv/bin/python -m benchmarks.latency [--quick] [--database-url URL]

What it does, with one real stack started once (Rasa, the action server and the bot polling a local
Bot API server, everything on 127.0.0.1):

1. Rasa is started with a temporary credentials file that enables both our channel
   (``rasa_addons.channel.ParseReturningInput``, used by the bot) and Rasa's built-in ``rest``
   channel, which is the baseline: ``POST {rasa_url}/webhooks/rest/webhook``.
2. Open-loop arrivals (messages are sent at scheduled times, never waiting for replies) at 1, 5 and
   15 messages per second from 200 simulated drivers (round-robin), ~20 s per rate. For each rate the
   baseline runs first, then the pipeline, with the same texts and the same schedule.
   Pipeline latency = time from ``LocalBotApi.send_text`` to the first message the bot sends to that
   chat afterwards (the local API's recorded arrival times, replies matched per chat in order).
   Baseline latency = duration of the REST request.
3. Saturation: rising rates (20, 25, 30, 40, 50 msg/s, 10 s each); a path stops rising at the first
   of these rates where its p95 exceeds 1 s.
4. Long conversation: one driver sends 500 messages one after the other (closed loop), through the
   pipeline and then, as a baseline, to the REST channel with one sender; the median latency of the
   first 20 and of the last 20 messages are compared, and 20 messages of a fresh conversation right
   afterwards on the same path serve as a control for the machine's load.
5. A markdown report goes to stdout and to benchmarks/results/latency.md.

A reply that does not come within 10 s counts as a timeout; in the percentiles it counts as 10 s
(a lower bound). Every loop is bounded in count and in time, so the script always ends by itself.

The package: plan.py (rates, durations, drivers, targets), mix.py (the drivers' messages), records.py (what a
phase measured), stages.py (timers around the bot's stages), stack.py (Rasa's credentials, its log, its intents),
phases.py (the open-loop phases of both paths, the long conversation), run.py (the whole run), report.py (the
markdown report), __main__.py (the command line).
"""
