"""Load and faults of the scaled-out stack, against Rasa alone measured in the same run.

Usage (with the app environment's interpreter; `make bench-load`):

    nice .venv/bin/python -m benchmarks.load [--quick] [--burst] [--system-postgres]

The stack, everything on 127.0.0.1: our data and Rasa's tracker store in two fresh PostgreSQL databases (of a
PostgreSQL server of the benchmark's own, made with the machine's binaries, so that restarting it disturbs
nobody else; `--system-postgres` uses the cluster on 127.0.0.1:5432 and restarts it with pg_ctlcluster), the
Redis lock store (db 7), the action server, two Rasa servers, and two bot workers as separate OS processes
(`.venv/bin/complaints bot`, webhook mode) behind the webhook proxy of simulator/webhook_proxy.py, which runs in
this process together with the local Bot API (simulator/bot_api/) and the load generator. Worker logs go to
var/bench/.

1. Steady load: open-loop Poisson arrivals at rising rates from 200 regular drivers (a random driver per
   message), texts from the message mix of benchmarks/latency/mix.py that keep a conversation with the bot
   (texts that open a case hand the conversation to staff, after which the bot is silent to that driver by
   design, so they are sent by one-shot drivers instead: a new driver per such message, at a small fixed
   rate). Latency = from handing the message to the local Bot API to the moment the Bot API receives the
   first reply stored for that very message (the outbox row answering it, matched by Telegram message id).
   Rasa alone (its REST channel on one server, same schedule and texts) is measured at every rate first.
   A path stops rising at its first rate with p95 > 1 s (its saturation).
2. Overload: 100 msg/s for 60 s. Every message stored within 1 s? answered exactly once, in order per
   driver? time to drain the backlog; drivers told "delayed".
3. Faults during 15 msg/s: kill -9 one worker and restart it 5 s later; both Rasa servers stopped for 30 s
   (then started again); a PostgreSQL restart. Lost messages, duplicates, catch-up time.

Results: stdout and benchmarks/results/load.md (with a table for the README). Every loop is bounded in count
and time; the run stops by itself.

`--quick`: rates 5 and 10, 8 s phases, a shorter overload and shorter faults (a smoke run, ~7-14 min, most of
it Rasa loading its model, twice). `--burst`: only an escalation burst (regular drivers at 5 msg/s, 40 new
drivers asking for a person within 10 s, so 40 cases needing topics in the staff group, which Telegram lets a
bot post to about 20 times a minute); writes var/bench/burst.md, not the results file.
`--system-postgres`: the machine's cluster instead of a private server (restarting it disturbs everyone else
using it).

What each message became is read back afterwards: `inbound_updates` (stored? when? status), the inbound and
outbound `messages` rows (replies matched to the local Bot API's records by Telegram message id; a message the
Bot API received that no stored row claims but whose text a stored row of that chat has was sent twice),
Rasa's tracker store (user turns by message id `<update id>-0`: twice, or missing) and the proxy's timings.

The package: plan.py (rates, durations, drivers, limits), postgres.py (the PostgreSQL server the run may
restart), workers.py (the bot worker processes and their logs), observe.py (the backlog sampler, the timed proxy;
CPU from /proc is benchmarks/common.py), records.py (what a phase measured), accounting.py (what became of every message sent),
traffic.py (the running stack, the open-loop load, Rasa alone), faults.py (the fault injections), scenarios.py
(the phases, the escalation burst), run.py (starting and stopping everything), report.py and report_phases.py
(the markdown report), __main__.py (the command line).
"""
