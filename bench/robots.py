"""MiniWoB++ benchmark of the robot toolkit: success rate and time per episode for each task,
governed (every submit an Action through the Gate: policy, ledger) beside ungoverned (the same
robot calling its effect directly), alternating episode by episode in one run.

Each episode is one business transaction: in a fresh browser context (an attempt) the task page
is loaded, seeded (`Math.seedrandom(seed)`), started and solved, and its reward read. Success
means the task's raw reward is positive.

    python -m bench.robots [--seeds 50] [--tasks login-user,enter-text] [--trace-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from audit.settings import LedgerSettings
from bench.common import report
from bench.miniwob import (
    CONTEXT,
    ROBOTS,
    EpisodeResult,
    TaskRobot,
    play_episode,
    run_episode,
    serve_tasks,
)
from governance.gate import Effect, Lookup, Preview
from governance.models import Action, Outcome
from proctor.composition import build
from proctor.settings import Settings
from robots.browser import BrowserPool
from robots.settings import BrowserSettings


class Ungoverned:
    """The baseline: performs the effect at once, with no policy and no ledger. It exists here,
    in the benchmark, only; robots in flows always get the Gate."""

    def submit(self, action: Action, perform: Effect, reconcile: Lookup | None = None,
               preview: Preview | None = None) -> Outcome:
        result = perform(action)
        return Outcome(status="succeeded", action_id=action.id, action_kind=action.kind,
                       result=result)


def run_task(pool: BrowserPool, base_url: str, governed: TaskRobot, free: TaskRobot,
             seeds: range, *, fresh_context: bool) -> dict[str, list[EpisodeResult]]:
    """Every seed once governed and once not, alternating which goes first.

    By default MiniWoB's own protocol: one attempt (context and page) per task and mode, the
    page loaded once and reset in place by each episode's start. With `fresh_context` every
    episode gets its own attempt: a new context and a page load each time.
    """
    runs: dict[str, list[EpisodeResult]] = {"governed": [], "ungoverned": []}
    robots = {"governed": governed, "ungoverned": free}
    if fresh_context:
        for seed in seeds:
            for mode in _order(seed):
                runs[mode].append(run_episode(pool, base_url, robots[mode], seed))
        return runs
    task = governed.task
    with pool.attempt(f"miniwob {task} governed") as governed_attempt, \
            pool.attempt(f"miniwob {task} ungoverned") as free_attempt:
        attempts = {"governed": governed_attempt, "ungoverned": free_attempt}
        for attempt in attempts.values():
            attempt.goto(f"{base_url}miniwob/{task}.html")  # loaded once, before measuring
        for seed in seeds:
            for mode in _order(seed):
                runs[mode].append(play_episode(attempts[mode], base_url, robots[mode], seed))
    return runs


def _order(seed: int) -> tuple[str, str]:
    return ("governed", "ungoverned") if seed % 2 == 0 else ("ungoverned", "governed")


def row(task: str, runs: dict[str, list[EpisodeResult]]) -> dict[str, Any]:
    gov, free = runs["governed"], runs["ungoverned"]
    gov_s, free_s = [r.seconds for r in gov], [r.seconds for r in free]
    gov_act, free_act = sum(r.act_seconds for r in gov), sum(r.act_seconds for r in free)
    return {
        "task": task, "seeds": len(gov),
        "success gov": _rate(gov), "success ungov": _rate(free),
        "gov mean (s)": statistics.mean(gov_s), "gov median (s)": statistics.median(gov_s),
        "ungov mean (s)": statistics.mean(free_s), "ungov median (s)": statistics.median(free_s),
        "ratio gov/ungov": sum(gov_s) / sum(free_s),
        "acting ratio": gov_act / free_act,
        "gate ms/episode": 1000 * statistics.median(
            g.seconds - f.seconds for g, f in zip(gov, free, strict=True)),
    }


def _rate(results: list[EpisodeResult]) -> str:
    return f"{100 * sum(r.success for r in results) / len(results):.0f}%"


def failures(task: str, runs: dict[str, list[EpisodeResult]]) -> list[str]:
    """One note per kind of failure, with the seeds it happened on."""
    seen: Counter[str] = Counter()
    seeds: dict[str, list[int]] = {}
    for mode, results in runs.items():
        for r in results:
            if not r.success:
                why = f"{task} {mode}: {r.error or f'status {r.status}, reward {r.raw_reward}'}"
                seen[why] += 1
                seeds.setdefault(why, []).append(r.seed)
    return [f"{why} (x{n}, seeds {seeds[why][:5]})" for why, n in seen.most_common(5)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.robots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50, help="episodes per task and mode")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--tasks", default="all",
                        help=f"comma-separated, or 'all' ({', '.join(sorted(ROBOTS))})")
    parser.add_argument("--fresh-context", action="store_true",
                        help="every episode its own attempt: new context and page load")
    parser.add_argument("--trace-dir", type=Path, default=None,
                        help="trace every attempt (traces kept for failed episodes)")
    args = parser.parse_args()
    tasks = sorted(ROBOTS) if args.tasks == "all" else args.tasks.split(",")
    unknown = [t for t in tasks if t not in ROBOTS]
    if unknown:
        parser.error(f"no robot for {unknown}; known: {', '.join(sorted(ROBOTS))}")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows, notes = [], []
    everything: dict[str, list[EpisodeResult]] = {"governed": [], "ungoverned": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(user="miniwob-bench", ledger=LedgerSettings(
            url=f"sqlite:///{tmp / 'ledger.db'}", signing_key=tmp / "k.pem",
            redaction_key=tmp / "r.key", checkpoint_dir=tmp / "cps"))
        gate = build(settings, resume_runs=False).gate
        with serve_tasks() as base_url, BrowserPool(
                BrowserSettings(), context_options=CONTEXT, trace_dir=args.trace_dir) as pool:
            # Start Chromium, load the policy engine, open the ledger before measuring.
            for seed, submitter in enumerate((Ungoverned(), gate, Ungoverned(), gate)):
                run_episode(pool, base_url, ROBOTS[tasks[0]](submitter), 10_000 + seed)
            for task in tasks:
                runs = run_task(pool, base_url, ROBOTS[task](gate), ROBOTS[task](Ungoverned()),
                                seeds, fresh_context=args.fresh_context)
                rows.append(row(task, runs))
                notes += failures(task, runs)
                for mode in everything:
                    everything[mode] += runs[mode]
                print(f"  {task}: done ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    total = row("all tasks", everything)
    total["seeds"] = len(everything["governed"])
    rows.append(total)
    elapsed = time.perf_counter() - started
    notes[:0] = [
        f"{len(tasks)} tasks x {args.seeds} seeds ({seeds.start}..{seeds.stop - 1}), each seed "
        "once governed and once ungoverned, alternating which goes first; "
        f"{2 * len(tasks) * args.seeds} episodes in {elapsed:.0f}s",
        ("every episode its own business transaction: fresh browser context and page load, "
         "then seed, solve, reward" if args.fresh_context else
         "MiniWoB's protocol: per task and mode one browser context whose page is loaded once "
         "and reset in place by each episode (seed, start, solve, reward); --fresh-context "
         "makes every episode its own transaction") + "; success = MiniWoB raw reward > 0",
        "governed: every submit is a miniwob.<task> Action through the Gate (regorus policy "
        "policies/miniwob.rego + durable SQLite ledger appends); ungoverned: the same robot "
        "calling its effect directly",
        "ratio gov/ungov = total governed seconds / total ungoverned seconds over the same "
        "seeds (whole episodes); acting ratio = the same over the robot's part only "
        "(instruction read to reward read); gate ms/episode = median over seeds of governed "
        "minus ungoverned seconds for the same seed",
        f"Playwright tracing: {'on, ' + str(args.trace_dir) if args.trace_dir else 'off'}",
        f"load average (1/5/15 min) before {_load(load_before)}, after {_load(os.getloadavg())}",
    ]
    report("robots", rows, notes)


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.1f}" for x in load)


if __name__ == "__main__":
    main()
