"""The differential corpus: STIX 2.1 bundles judged by OASIS's stix2-validator.

Writes OUT/cases/NAME.json (one bundle each) and OUT/verdicts.jsonl (one line per case:
name, file, valid, errors) for the Rust test (crates/hotline-cli/tests/taxii_interop.rs), which
has hotline judge the same files and lists every disagreement.

Cases:
- generated: objects of every type hotline reads, made by stix2-generator with a fixed seed;
- mutated: each generated object with one rule broken (a fixed-seed choice of mutation);
- hand-made: every file in interop/taxii/cases/ (valid and invalid bundles written to probe
  a rule, including the Kaseya scenario's evidence with its legacy x- custom object).

Usage: corpus.py OUT [PER_TYPE]
"""

import copy
import json
import os
import random
import sys

import faker
import stix2generator
from stix2validator import ValidationOptions, validate_instance

SEED = 20210703

TYPES = [
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
    "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
    "relationship", "sighting",
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
]

# One rule broken each: (name, function(obj) -> obj or None when not applicable).
def _drop(prop):
    def f(o):
        if prop not in o:
            return None
        o = copy.deepcopy(o)
        del o[prop]
        return o
    return f


def _set(prop, value, only_if_present=True):
    def f(o):
        if only_if_present and prop not in o:
            return None
        o = copy.deepcopy(o)
        o[prop] = value
        return o
    return f


def _bad_id(o):
    o = copy.deepcopy(o)
    o["id"] = o["type"] + "--not-a-uuid"
    return o


def _wrong_type_id(o):
    o = copy.deepcopy(o)
    o["id"] = "malware--" + o["id"].split("--", 1)[1] if o["type"] != "malware" else \
        "tool--" + o["id"].split("--", 1)[1]
    return o


def _unknown_type(o):
    o = copy.deepcopy(o)
    o["type"] = "frobnicator"
    o["id"] = "frobnicator--" + o["id"].split("--", 1)[1]
    return o


MUTATIONS = [
    ("no-id", _drop("id")),
    ("no-type", _drop("type")),
    ("bad-id", _bad_id),
    ("id-of-other-type", _wrong_type_id),
    ("unknown-type", _unknown_type),
    ("spec-version-2.0", _set("spec_version", "2.0")),
    ("bad-created", _set("created", "2021-13-40T25:61:00Z")),
    ("bad-modified", _set("modified", "yesterday")),
    ("modified-before-created", None),  # filled below
    ("confidence-101", _set("confidence", 101, only_if_present=False)),
    ("empty-labels", _set("labels", [], only_if_present=False)),
    ("bad-created-by-ref", _set("created_by_ref", "malware--4f3a6a0b-5e53-4c55-9c4b-2c4c1b6a1a11",
                                only_if_present=False)),
    ("bad-pattern", _set("pattern", "[ipv4-addr:value = ")),
    ("no-name", _drop("name")),
    ("no-value", _drop("value")),
]


def _modified_before_created(o):
    if "created" not in o or "modified" not in o:
        return None
    o = copy.deepcopy(o)
    o["created"] = "2021-07-04T00:00:00Z"
    o["modified"] = "2021-07-03T00:00:00Z"
    return o


MUTATIONS[8] = ("modified-before-created", _modified_before_created)


def bundle_of(objects, rng):
    uid = "%08x-%04x-4%03x-%04x-%012x" % (
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
        0x8000 | rng.getrandbits(14), rng.getrandbits(48))
    return {"type": "bundle", "id": "bundle--" + uid, "objects": objects}


def verdict(bundle):
    try:
        r = validate_instance(bundle, ValidationOptions(version="2.1"))
    except Exception as e:  # the validator raises on some malformed input: invalid
        return False, ["%s: %s" % (type(e).__name__, e)]
    errors = [str(e) for e in r.errors]
    for obj in getattr(r, "object_results", None) or []:
        errors.extend(str(e) for e in obj.errors)
    return r.is_valid, errors


def main():
    out = sys.argv[1]
    per_type = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    random.seed(SEED)
    faker.Faker.seed(SEED)
    rng = random.Random(SEED)
    gen = stix2generator.create_object_generator()
    cases_dir = os.path.join(out, "cases")
    os.makedirs(cases_dir, exist_ok=True)
    cases = []
    for t in TYPES:
        for i in range(per_type):
            obj = gen.generate(t)
            cases.append(("gen-%s-%d" % (t, i), bundle_of([obj], rng)))
            applicable = [(n, m) for n, m in MUTATIONS if m(obj) is not None]
            name, mutate = applicable[rng.randrange(len(applicable))]
            cases.append(("mut-%s-%d-%s" % (t, i, name), bundle_of([mutate(obj)], rng)))
    here = os.path.dirname(os.path.abspath(__file__))
    hand = os.path.join(here, "cases")
    for f in sorted(os.listdir(hand)):
        if f.endswith(".json"):
            with open(os.path.join(hand, f), encoding="utf-8") as fh:
                cases.append(("hand-" + f[:-5], json.load(fh)))
    with open(os.path.join(out, "verdicts.jsonl"), "w", encoding="utf-8") as v:
        for name, bundle in cases:
            path = os.path.join(cases_dir, name + ".json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(bundle, fh, indent=1, ensure_ascii=False)
            ok, errors = verdict(bundle)
            v.write(json.dumps({"name": name, "file": path, "valid": ok, "errors": errors[:5]}) + "\n")
    print("corpus: %d cases in %s" % (len(cases), out))


if __name__ == "__main__":
    main()
