#!/usr/bin/env python3
"""Imports a TSV file into a Dhakira server and looks some of it up again.

    python example.py [--addr 127.0.0.1:50051] [--memory example] [FILE.tsv]

FILE.tsv holds arabic<TAB>english per line (default: flores200_devtest.tsv
of the corpus: $DHAKIRA_CORPUS, else data/corpus in the repository). The
example imports it into the memory "example" with the client-streaming Import, prints the summary, then looks up three of its
Arabic sentences exactly, one of them with a word changed, and one English
sentence, printing score, source and target of each match.

It checks what it prints and exits 1 when a result is wrong: an exact lookup
must return score 100 with the target stored in the file; the edited one
must return the original sentence first with a score below 100. Exit 2: bad
arguments or unreadable file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc

from dhakira_client import DEFAULT_ADDRESS, Client, pb

HERE = Path(__file__).resolve().parent
# A word to put in place of one of the sentence's: no FLORES sentence has
# it next to the same words, and it is no variant of any word it replaces.
SUBSTITUTE = "البرتقالة"


def default_corpus() -> Path:
    root = os.environ.get("DHAKIRA_CORPUS")
    base = Path(root) if root else HERE.parent.parent / "data" / "corpus"
    return base / "flores200_devtest.tsv"


def read_pairs(path: Path) -> "list[tuple[str, str]]":
    """The file's pairs, read as the server reads TSV: one pair a line,
    split on the tab, a trailing CR dropped, blank lines skipped."""
    pairs = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) == 2:
            pairs.append((columns[0], columns[1]))
    return pairs


def pick(pairs: "list[tuple[str, str]]") -> "list[tuple[str, str]]":
    """Three pairs spread over the file whose Arabic and English sides are
    each unique in it (so the exact match is one unit) and long enough that
    one changed word keeps the score above the default minimum of 70."""
    arabic_count: dict = {}
    english_count: dict = {}
    for ar, en in pairs:
        arabic_count[ar] = arabic_count.get(ar, 0) + 1
        english_count[en] = english_count.get(en, 0) + 1
    candidates = [
        (ar, en)
        for ar, en in pairs
        if arabic_count[ar] == 1 and english_count[en] == 1 and len(ar.split()) >= 8
    ]
    if len(candidates) < 3:
        raise SystemExit("example.py: the file needs at least 3 distinct pairs of 8 words or more")
    n = len(candidates)
    return [candidates[n // 7], candidates[n // 2], candidates[(5 * n) // 7]]


def edit(arabic: str) -> str:
    """The sentence with one word in its middle replaced by SUBSTITUTE."""
    words = arabic.split(" ")
    middle = len(words) // 2
    for i in list(range(middle, len(words) - 1)) + list(range(1, middle)):
        if words[i].isalpha() and len(words[i]) >= 3 and words[i] != SUBSTITUTE:
            words[i] = SUBSTITUTE
            return " ".join(words)
    raise SystemExit(f"example.py: no word to change in {arabic!r}")


def show(title: str, matches: "list[pb.Match]") -> None:
    print(f"\n{title}: {len(matches)} match(es)")
    for m in matches:
        print(f"  score {m.score:3d}  unit {m.unit_id}  memory {m.memory}")
        print(f"    source: {m.source}")
        print(f"    target: {m.target}")
        for p in m.penalties:
            print(f"    penalty {p.kind}: -{p.points}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=None, help="arabic<TAB>english file")
    parser.add_argument("--addr", default=DEFAULT_ADDRESS, help=f"server address (default {DEFAULT_ADDRESS})")
    parser.add_argument("--memory", default="example", help="memory to import into (default: example)")
    args = parser.parse_args()
    path = args.file or default_corpus()
    if not path.is_file():
        print(f"example.py: {path}: no such file", file=sys.stderr)
        return 2
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")

    failures = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)
            print(f"  FAIL: {what}")

    pairs = read_pairs(path)
    picks = pick(pairs)
    with Client(args.addr) as tm:
        try:
            tm.wait_for_ready(timeout=10)
        except grpc.FutureTimeoutError:
            print(f"example.py: no server at {args.addr}", file=sys.stderr)
            return 1
        try:
            summary = tm.import_file(path, memory=args.memory, format="tsv")
            print(f"imported {path.name} into memory {args.memory!r}:")
            print(
                f"  read {summary.read}, added {summary.added}, duplicates {summary.duplicates}, "
                f"updated {summary.updated}, rejected {summary.rejected}"
            )
            for r in summary.rejections[:5]:
                print(f"  rejected line {r.line}: {r.reason}")
            check(summary.read == len(pairs), f"the server read {summary.read} units; the file has {len(pairs)}")

            original_ids = {}
            for ar, en in picks:
                matches = tm.lookup(ar, "ar", memories=[args.memory])
                show("exact Arabic lookup", matches)
                best = matches[0] if matches else None
                check(best is not None, "an exact lookup found nothing")
                if best is not None:
                    check(best.score == 100, f"exact lookup scored {best.score}, not 100")
                    check(best.source == ar, "exact lookup: the source is not the sentence looked up")
                    check(best.target == en, f"exact lookup: target {best.target!r} is not the file's {en!r}")
                    original_ids[ar] = best.unit_id

            ar, en = picks[0]
            edited = edit(ar)
            print(f"\nedited: {edited}")
            matches = tm.lookup(edited, "ar", memories=[args.memory])
            show("edited Arabic lookup", matches)
            best = matches[0] if matches else None
            check(best is not None, "the edited lookup found nothing")
            if best is not None:
                check(best.score < 100, f"the edited lookup scored {best.score}, not below 100")
                check(best.source == ar, "the edited lookup did not return the original sentence first")
                check(best.target == en, "the edited lookup: wrong target")
                check(best.unit_id == original_ids.get(ar), "the edited lookup returned another unit")

            ar, en = picks[1]
            matches = tm.lookup(en, "en", memories=[args.memory], max_results=3)
            show("English lookup", matches)
            best = matches[0] if matches else None
            check(best is not None, "the English lookup found nothing")
            if best is not None:
                check(best.score == 100, f"the English lookup scored {best.score}, not 100")
                check(best.source == en and best.target == ar, "the English lookup: wrong source or target")
        except grpc.RpcError as err:
            print(f"example.py: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1

    if failures:
        print(f"\nexample.py: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("\nexample.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
