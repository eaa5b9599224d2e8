#!/usr/bin/env python3
"""Writes controller/hot-text.ld from callgrind profiles of the ecs-controller binary.

    hack/hot-text.py callgrind.out.* > controller/hot-text.ld

Each profile must come from `valgrind --tool=callgrind --demangle=no` (hack/hot-text.sh runs the
benchmark's phases that way). Every function of the ecs-controller binary that ran in any profile
becomes one input-section pattern of the linker script, most executed first: the linker places
those functions together at the start of `.text`, ahead of the code that did not run (see the
script's header for why).

A pattern names the function's section without the symbol's hash, which depends on the build's
profile and dependencies (`-C metadata`): `_ZN...17h<hash>E` becomes `_ZN...17h*`, and a v0
symbol's crate disambiguators `Cs<hash>_` become `Cs*_` (and a suffix LTO numbered, `*`). So one
file serves the release and the profiling builds and survives most dependency updates; every
instance of a generic function whose path ran is placed with it.
"""

import re
import sys
from collections import defaultdict

BINARY = "ecs-controller"
# `fn=(12) name`, `cfn=(12)`, `ob=(3) /path`, `cob=(3)`: callgrind's compressed names.
NAMED = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")
# What a linker script's section pattern may hold; callgrind also names code it has no symbol for
# (`0x00000000003547f0`, `(below main)`).
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_$.]*$")
# A cost line: position (a line number, `+n`/`-n` relative to the last, or `*` for the same), cost.
COST = re.compile(r"^(?:[+-]?\d+|\*) (\d+)")


def functions(path):
    """Self cost (instructions) of every function of BINARY that ran, by mangled symbol."""
    objects, names = {}, {}
    cost = defaultdict(int)
    ob = None  # object of the current `fn`
    cob = None  # object named by a `cob=` for the `cfn=` after it
    current = None  # current `fn`, if it is one of BINARY's
    after_calls = False  # the next cost line is a call's inclusive cost, not self cost

    def ran(idx):
        """The function `idx` names, if it is BINARY's, counted as run (cost 0 until its own lines)."""
        name, fn_ob = names.get(idx, (None, None))
        if not (fn_ob and fn_ob.endswith("/" + BINARY)):
            return None
        cost[name] += 0
        return name

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = NAMED.match(line)
            if m:
                kind, idx, name = m.groups()
                if kind in ("ob", "cob"):
                    if name:
                        objects[idx] = name
                    if kind == "ob":
                        ob = objects.get(idx)
                    else:
                        cob = objects.get(idx)
                elif kind == "fn":
                    if name:
                        names[idx] = (name, ob)
                    current = ran(idx)
                else:
                    # A callee lives in the object of the `cob=` just before it or, without one,
                    # in the caller's. It ran; its own `fn=` block carries its cost.
                    if name:
                        names[idx] = (name, cob or ob)
                    ran(idx)
                    cob = None
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            c = COST.match(line)
            if c:
                if current and not after_calls:
                    cost[current] += int(c.group(1))
                after_calls = False
    return cost


def pattern(symbol):
    # LTO renames a local symbol it made unique with a numbered suffix (`.1234`, `.llvm.567`), which
    # another build numbers differently.
    if symbol.startswith("_ZN"):
        return re.sub(r"17h[0-9a-f]{16}E(\.llvm)?(\.[0-9]+)?$", "17h*", symbol)
    if symbol.startswith("_R"):
        return re.sub(r"(\.llvm)?\.[0-9]+$", "*", re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", symbol))
    return symbol


def main(paths):
    if not paths:
        sys.exit(__doc__)
    total = defaultdict(int)
    for path in paths:
        for symbol, cost in functions(path).items():
            if SYMBOL.match(symbol):
                total[pattern(symbol)] += cost
    if not total:
        sys.exit(f"no function of {BINARY} in {paths}: were they made with callgrind --demangle=no?")
    order = sorted(total, key=lambda p: (-total[p], p))
    out = sys.stdout
    out.write(HEADER.format(n=len(order), files=len(paths)))
    out.write("SECTIONS\n{\n  .text : {\n")
    for p in order:
        out.write(f"    *(.text.{p})\n")
    out.write(TAIL)


# Then two kinds of sections no symbol names, each placed whole with the hot code (both are small,
# and scattered among the cold they made a page around each of them resident):
# - LLVM puts the functions it deems cold (`#[cold]`) in `.text.unlikely.<symbol>`: mostly panics,
#   but also a Vec's and a hash table's growth, which run all the time (about 130 KB in all); and C
#   code's constructors and destructors in `.text.startup.` and `.text.exit.` (aws-lc's, a few KB);
# - assembly keeps its functions in the `.text` of its object file: aws-lc's SHA, AES-GCM, X25519 and
#   ML-KEM, which every TLS connection runs (about 380 KB).
# Then the rest, cold.
TAIL = """\
    *(.text.unlikely .text.unlikely.* .text.startup .text.startup.* .text.exit .text.exit.*)
    *(.text)
    *(.text.*)
  }
}
INSERT BEFORE .init;
"""

HEADER = """\
/* Generated by hack/hot-text.py from {files} callgrind profiles of the benchmark (hack/hot-text.sh):
   {n} functions of the ecs-controller binary that ran, most executed first. Do not edit by hand.

   The linker places these functions together at the start of `.text`, before the rest. Without
   it the functions a running controller executes (with every instance of a generic function that
   ran, about 6 of the binary's 11 MB of code) lie among the ones it never does, and the kernel maps
   code in 64 KiB around each page it faults in: nearly all of the code became resident.
   controller/build.rs passes this script to the linker for optimized builds on Linux; a function
   missing here still links and runs, from the cold part. */
"""

if __name__ == "__main__":
    main(sys.argv[1:])
