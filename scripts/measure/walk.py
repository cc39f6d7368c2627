"""The walk of ``api.encode``: which rooms (flowzip's top-level modules and folders) coding a
picture enters, from which, and how often a call climbs back up a floor.

    python scripts/measure/walk.py [IMAGE] [--json]     # default: tests/data/sample.png, default effort

Every Python call made while ``api.encode`` codes the picture is traced (``sys.setprofile``); a
call is *into a room* when the called function's module lies in another room than the nearest
flowzip function below it on the stack (compiled numba kernels are not seen: they are one call of
their room). Reported:

- ``rooms``: the rooms entered, in order of first entry;
- ``entries``: the distinct (from room, to room) pairs, each a way into a room (a loop that enters
  a room a thousand times the same way is one entry);
- ``climbs``: the entries that go up a floor (``FLOORS``: the architecture's order, top first);
- ``entered_from``: per room the rooms it is entered from; "each room once, going down" means one
  each and no climbs;
- ``stays``: the walk in time, a stay per stretch spent in one room (returns included), which
  grows with every call into a room and back; a walk that enters each room once, going down, and
  comes back makes ``2 * rooms - 1`` stays, and ``re_entries`` counts the stays beyond that.

``--cold`` traces the first encode of the process (models loaded, tables read); by default the
second, warm one (the steady state of a process coding many files).

Calls from the infrastructure floor (``BASE``: errors, files, jit, parallel) into a room are the
callbacks it is given (a worker runs the function it was handed); they are listed, not counted.

A room is the first name below ``flowzip`` (``flowzip.entropy.rans`` is in ``entropy``;
``flowzip.coding.rans`` of flowzip 0.2 in ``coding``). Floors name the rooms of both layouts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Top floor first. Rooms on one floor may call each other without climbing.
FLOORS = [
    ["cli"],
    ["flowzip", "api", "bench", "cluster", "data", "datasets"],  # entry points ("flowzip": __init__)
    ["policy"],
    ["zoo", "families", "adapt", "pretrained"],  # the registry of models (pretrained: the shipped ones)
    ["images", "image", "pngfile"],  # images in and out (0.2: image, pngfile)
    ["pipelines", "coding"],  # 0.2's coding held the pipelines, the codecs and the entropy coders
    ["flows", "classical", "priors", "models", "training", "architecture"],  # architecture: what a float model and its twin share
    ["entropy"],
    ["fileformat"],
    ["errors", "files", "jit", "version", "parallel"],  # infrastructure, callable from anywhere
]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
BASE = FLOORS[-1]


def room_of(module: str | None) -> str | None:
    """The room of a module of flowzip, None outside flowzip."""
    if not module or not (module == "flowzip" or module.startswith("flowzip.")):
        return None
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "flowzip"


def trace(function, *args, **kwargs) -> dict:
    """Run ``function(*args, **kwargs)`` and return the walk of its calls between rooms."""
    rooms: list[str] = []
    entries: dict[tuple[str, str], int] = {}
    stays: list[str] = []

    def caller_room(frame):
        frame = frame.f_back
        while frame is not None:
            room = room_of(frame.f_globals.get("__name__"))
            if room is not None:
                return room
            frame = frame.f_back
        return None

    def profile(frame, event, arg):
        if event == "return":
            back = caller_room(frame)
            if back is not None and back not in BASE and (not stays or stays[-1] != back):
                stays.append(back)
        if event != "call":
            return
        room = room_of(frame.f_globals.get("__name__"))
        if room is None:
            return
        if room not in BASE and (not stays or stays[-1] != room):
            stays.append(room)
        if room not in rooms:
            rooms.append(room)
        source = caller_room(frame)
        if source is not None and source != room:
            entries[source, room] = entries.get((source, room), 0) + 1

    sys.setprofile(profile)
    try:
        function(*args, **kwargs)
    finally:
        sys.setprofile(None)
    unknown = sorted({r for pair in entries for r in pair if r not in FLOOR})
    if unknown:
        raise SystemExit(f"rooms without a floor in FLOORS: {', '.join(unknown)}")
    inner = {pair: n for pair, n in entries.items() if pair[0] not in BASE and pair[1] not in BASE}
    climbs = [f"{a} -> {b}" for (a, b) in inner if FLOOR[b] < FLOOR[a]]
    entered_from: dict[str, list[str]] = {}
    for a, b in inner:
        entered_from.setdefault(b, []).append(a)
    walked = [r for r in rooms if r not in BASE]
    return {"rooms": walked, "entries": len(inner), "climbs": len(climbs), "climbs_list": climbs,
            "entered_from": {r: entered_from.get(r, []) for r in walked}, "stays": len(stays),
            "re_entries": len(stays) - (2 * len(walked) - 1), "walk": stays, "calls_into_rooms": sum(inner.values()),
            "base_rooms": [r for r in rooms if r in BASE],
            "callbacks_from_base": sorted({f"{a} -> {b}" for a, b in entries if a in BASE and b not in BASE})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", default=str(Path(__file__).resolve().parents[2] / "tests/data/sample.png"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cold", action="store_true", help="trace the process's first encode")
    args = parser.parse_args()
    from flowzip import api

    picture = api.read_image(args.image)
    if not args.cold:
        api.encode([("", picture)])  # once, untraced: models, tables and kernels are then loaded
    walk = trace(api.encode, [("", picture)])
    if args.json:
        print(json.dumps(walk, indent=1))
        return
    print(f"rooms ({len(walk['rooms'])}): {' '.join(walk['rooms'])}")
    print(f"entries (ways into a room): {walk['entries']}; calls into rooms: {walk['calls_into_rooms']}")
    print(f"climbs back up: {walk['climbs']}" + (f" ({', '.join(walk['climbs_list'])})" if walk["climbs"] else ""))
    for room, sources in walk["entered_from"].items():
        print(f"  {room:<12} entered from {', '.join(sources) or '(the caller)'}")
    print(f"stays: {walk['stays']} ({walk['re_entries']} beyond entering each room once): {' '.join(walk['walk'])}")
    print(f"infrastructure used: {' '.join(walk['base_rooms']) or 'none'}; its callbacks into rooms: "
          f"{', '.join(walk['callbacks_from_base']) or 'none'}")


if __name__ == "__main__":
    main()
