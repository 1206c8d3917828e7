"""X12 reading speed: the engine's tokenizer and envelope reader against a bare bytes.split.

    python bench/x12.py [--loops 100000] [--sets 1]

Generates an 846 with `--loops` LIN loops (LIN, PID, QTY, DTM: four segments each) in `--sets`
transaction sets of one group, written with `~` and a newline after each segment. Each phase
runs in a child process (its own time and peak memory) over the same file, `--repeat` times
interleaved, and the fastest run of each phase counts, by wall time and by the process's CPU
time (on a shared machine the CPU time says what the code costs; wall time also says how busy
the machine was):

- split (the floor): read the whole file, `bytes.split` on the terminator, then on the element
  separator; no positions, no decoding, no checks;
- tokenize: `Tokenizer.batches` streaming the file in 1 MiB chunks (each chunk's segments as
  text; elements split, offsets and lines found only when asked for);
- envelope: `EnvelopeReader.events` over the same stream, which also checks every envelope (ISA
  widths and codes, GS, ST/SE counts and control numbers, segment ids) — what an inbound file
  gets; body segments come in runs;
- segments: the same reader iterated segment by segment (a `Segment` object each, elements
  split), for comparison;
- map: the envelope reader, each set's segments collected and mapped by the 846 map
  (`logisync.edi.sets.inventory_846.read`) to canonical inventory changes, each checked
  against its domain as the pipeline will: what an inbound 846 costs before the pipeline;
- pyx12 (when installed, `pip install -e '.[bench]'`): the segment reader of a published X12
  library over the same file, for comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, emit, peak_rss_mb, run_phase

ISA = "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*LOGISYNCHUB    *261128*0930*U*00401*000000101*0*P*>~\n"


def generate(path: str, loops: int, sets: int) -> None:
    """An 846 in 4010: `loops` LIN loops spread over `sets` sets, one group, one interchange."""
    with open(path, "w", encoding="ascii") as out:
        out.write(ISA)
        out.write("GS*IB*ACMESUPPLY*LOGISYNCHUB*20261128*0930*101*X*004010~\n")
        per_set = -(-loops // sets)
        done = 0
        for s in range(1, sets + 1):
            n = min(per_set, loops - done)
            out.write(f"ST*846*{s:04d}~\nBIA*00*SI*INV{s}*20261128~\n")
            for i in range(done, done + n):
                out.write(
                    f"LIN*{i + 1}*VN*SKU-{i:07d}*UP*{i:012d}~\nPID*F****Widget number {i}~\n"
                    f"QTY*33*{i % 500}*EA~\nDTM*018*20261201~\n"
                )
            out.write(f"CTT*{n}~\nSE*{4 * n + 4}*{s:04d}~\n")
            done += n
        out.write(f"GE*{sets}*101~\nIEA*1*000000101~\n")


def phase_split(path: str) -> dict:
    with Timer() as t:
        with open(path, "rb") as f:
            data = f.read()
        segments = 0
        for piece in data.split(b"~"):
            piece.split(b"*")
            segments += 1
    return {"seconds": t.seconds, "cpu": t.cpu_seconds, "segments": segments - 1, "peak_mb": peak_rss_mb()}


def phase_tokenize(path: str) -> dict:
    from logisync.edi.tokenizer import Tokenizer

    with Timer() as t, open(path, "rb") as f:
        segments = 0
        for batch in Tokenizer(f).batches():
            segments += len(batch.texts)
    return {"seconds": t.seconds, "cpu": t.cpu_seconds, "segments": segments, "peak_mb": peak_rss_mb()}


def phase_envelope(path: str) -> dict:
    from logisync.edi.envelope import EnvelopeReader, Event

    with Timer() as t, open(path, "rb") as f:
        reader = EnvelopeReader(f)
        segments = 0
        problems = len(reader.problems)
        for event, value in reader.events():
            if event is Event.segments:
                segments += value.stop - value.start  # type: ignore[attr-defined]
            elif event in (Event.set_end, Event.group_end, Event.interchange_end):
                problems += len(value.problems)  # type: ignore[attr-defined]
    assert problems == 0, f"the generated file has {problems} problems"
    return {"seconds": t.seconds, "cpu": t.cpu_seconds, "segments": segments, "peak_mb": peak_rss_mb()}


def phase_segments(path: str) -> dict:
    """The envelope reader handing over every body segment as a `Segment` object (its elements
    split), the per-segment way `EnvelopeReader` is iterated."""
    from logisync.edi.envelope import EnvelopeReader, Event

    with Timer() as t, open(path, "rb") as f:
        segments = 0
        for event, _ in EnvelopeReader(f):
            if event is Event.segment:
                segments += 1
    return {"seconds": t.seconds, "cpu": t.cpu_seconds, "segments": segments, "peak_mb": peak_rss_mb()}


def phase_map(path: str) -> dict:
    from logisync.edi.envelope import EnvelopeReader, Event
    from logisync.edi.sets import Context, inventory_846

    ctx = Context("acme", "101", "101", location="DC1")
    with Timer() as t, open(path, "rb") as f:
        segments = changes = problems = 0
        tset: Any = None
        for event, value in EnvelopeReader(f).events():
            if event is Event.segments:
                segments += value.stop - value.start  # type: ignore[attr-defined]
                tset.segments.extend_run(*value)  # type: ignore[misc]
            elif event is Event.set:
                tset = value
            elif event is Event.set_end:
                mapped = inventory_846.read(tset, ctx)
                changes += len(mapped.changes)
                problems += len(mapped.problems) + len(value.problems)  # type: ignore[attr-defined]
                tset = None
    assert problems == 0 and changes > 0, f"{problems} problems, {changes} changes"
    return {
        "seconds": t.seconds,
        "cpu": t.cpu_seconds,
        "segments": segments,
        "changes": changes,
        "peak_mb": peak_rss_mb(),
    }


def phase_pyx12(path: str) -> dict:
    """pyx12's segment reader, the fastest published Python X12 reader that installs here."""
    try:
        from pyx12.x12file import X12Reader
    except ImportError:
        return {"missing": True}
    with Timer() as t, open(path, encoding="ascii") as f:
        segments = 0
        for _ in X12Reader(f):
            segments += 1
    return {"seconds": t.seconds, "cpu": t.cpu_seconds, "segments": segments, "peak_mb": peak_rss_mb()}


PHASES = {
    "split": phase_split,
    "tokenize": phase_tokenize,
    "envelope": phase_envelope,
    "segments": phase_segments,
    "map": phase_map,
    "pyx12": phase_pyx12,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=100_000)
    parser.add_argument("--sets", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each phase, interleaved; the fastest counts"
    )
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit(PHASES[args.phase](args.file))
        return
    here = Path(__file__)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "846.x12")
        generate(path, args.loops, args.sets)
        mb = os.path.getsize(path) / 1e6
        print(f"an 846 of {args.loops:,} LIN loops in {args.sets} set(s): {mb:.1f} MB")
        results: dict[str, dict] = {}  # the fastest run of each phase, by wall time
        cpu: dict[str, float] = {}  # the least CPU time of each phase's runs
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits every phase alike
            for name in PHASES:
                r = run_phase(here, name, ["--file", path])
                if r.get("missing"):
                    continue
                if name not in results or r["seconds"] < results[name]["seconds"]:
                    results[name] = r
                cpu[name] = min(cpu.get(name, r["cpu"]), r["cpu"])
    floor = results["split"]
    print(
        f"{'phase':<10} {'segments/s':>12} {'MB/s':>8} {'of split':>9} {'x pyx12':>8}"
        f" {'CPU MB/s':>9} {'of split':>9} {'x pyx12':>8} {'peak MB':>8}"
    )
    pyx12 = results.get("pyx12")
    if pyx12 is None:
        print("(pyx12 is not installed: pip install -e '.[bench]' to compare with it)")
    for name, r in results.items():
        rate = r["segments"] / r["seconds"]
        versus = f"{pyx12['seconds'] / r['seconds']:>8.2f}" if pyx12 else f"{'-':>8}"
        cpu_versus = f"{cpu['pyx12'] / cpu[name]:>8.2f}" if pyx12 else f"{'-':>8}"
        print(
            f"{name:<10} {rate:>12,.0f} {mb / r['seconds']:>8.1f} "
            f"{floor['seconds'] / r['seconds']:>9.2f} {versus} "
            f"{mb / cpu[name]:>9.1f} {cpu['split'] / cpu[name]:>9.2f} {cpu_versus} "
            f"{r['peak_mb']:>8.0f}" + (f"  ({r['changes']:,} changes)" if "changes" in r else "")
        )
    for label, times in (("wall time", {k: v["seconds"] for k, v in results.items()}), ("CPU time", cpu)):
        print(
            f"{label}: tokenize + envelope checks {times['split'] / times['envelope']:.2f} of the bare split"
            " (target: at least 0.40)"
            + (
                f"; parse + map to changes {times['pyx12'] / times['map']:.2f} times pyx12's bare reader"
                " (target: at least 2)"
                if "pyx12" in times
                else ""
            )
        )


if __name__ == "__main__":
    main()
