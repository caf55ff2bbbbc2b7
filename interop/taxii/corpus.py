"""The differential corpus: STIX 2.1 bundles judged by OASIS's stix2-validator.

Writes OUT/cases/NAME.json (one bundle each) and OUT/verdicts.jsonl (one line per case:
name, file, valid, errors) for the Rust test (crates/hotline-cli/tests/taxii_interop.rs), which
has hotline judge the same files and lists every disagreement.

Cases:
- generated: objects of every type hotline reads, made by stix2-generator with a fixed seed;
- mutated: each generated object with one rule broken (a fixed-seed choice of mutation);
- hand-made: every file in interop/taxii/cases/ (valid and invalid bundles written to probe
  a rule, including the Kaseya scenario's evidence with its legacy x- custom object);
- open vocabularies (STIX 2.1 section 10): for every property the validator checks against
  one, a generated object with every value of the vocabulary (as the stix2 library, generated
  from the spec, lists them) and one with a value outside it; likewise hash algorithm names
  and a PE binary's pe_type. Values outside an open vocabulary are allowed: the validator warns,
  hotline notes (hotline_stix::Bundle::notes); the Rust test compares the two.

Each verdict line also carries the validator's open-vocabulary warnings as
[object id, vocabulary] pairs. OUT/vocabularies.json holds each vocabulary as the validator and
as the stix2 library list it, and which properties use it (validator's table), so that the Rust
test can hold hotline's lists against both.

Usage: PYTHONHASHSEED=0 corpus.py OUT [PER_TYPE]  (the generator draws from sets: without a
fixed hash seed each run makes another corpus; ids and timestamps vary in any case)
"""

import copy
import json
import os
import random
import sys

import re
import uuid

import faker
import stix2.v21.vocab as spec_vocab
import stix2generator
from stix2validator import ValidationOptions, validate_instance
from stix2validator.v21 import enums as validator_enums

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


# The open vocabularies: (validator's enums prefix, stix2's vocab name, the spec's name).
VOCABULARIES = [
    ("ACCOUNT_TYPE", "ACCOUNT_TYPE", "account-type-ov"),
    ("ATTACK_MOTIVATION", "ATTACK_MOTIVATION", "attack-motivation-ov"),
    ("ATTACK_RESOURCE_LEVEL", "ATTACK_RESOURCE_LEVEL", "attack-resource-level-ov"),
    ("GROUPING_CONTEXT", "GROUPING_CONTEXT", "grouping-context-ov"),
    ("HASH_ALGO", "HASHING_ALGORITHM", "hash-algorithm-ov"),
    ("IDENTITY_CLASS", "IDENTITY_CLASS", "identity-class-ov"),
    ("IMPLEMENTATION_LANGUAGES", "IMPLEMENTATION_LANGUAGE", "implementation-language-ov"),
    ("INDICATOR_PATTERN", "PATTERN_TYPE", "pattern-type-ov"),
    ("INDICATOR_TYPE", "INDICATOR_TYPE", "indicator-type-ov"),
    ("INDUSTRY_SECTOR", "INDUSTRY_SECTOR", "industry-sector-ov"),
    ("INFRASTRUCTURE_TYPE", "INFRASTRUCTURE_TYPE", "infrastructure-type-ov"),
    ("MALWARE_CAPABILITIES", "MALWARE_CAPABILITIES", "malware-capabilities-ov"),
    ("MALWARE_RESULT", "MALWARE_RESULT", "malware-result-ov"),
    ("MALWARE_TYPE", "MALWARE_TYPE", "malware-type-ov"),
    ("PROCESSOR_ARCHITECTURE", "PROCESSOR_ARCHITECTURE", "processor-architecture-ov"),
    ("REGION", "REGION", "region-ov"),
    ("REPORT_TYPE", "REPORT_TYPE", "report-type-ov"),
    ("THREAT_ACTOR_ROLE", "THREAT_ACTOR_ROLE", "threat-actor-role-ov"),
    ("THREAT_ACTOR_SOPHISTICATION", "THREAT_ACTOR_SOPHISTICATION", "threat-actor-sophistication-ov"),
    ("THREAT_ACTOR_TYPE", "THREAT_ACTOR_TYPE", "threat-actor-type-ov"),
    ("TOOL_TYPE", "TOOL_TYPE", "tool-type-ov"),
    ("WINDOWS_PEBINARY_TYPE", "WINDOWS_PEBINARY_TYPE", "windows-pebinary-type-ov"),
]
# The name a validator warning gives each vocabulary ("implementation-languages-ov", …).
# Some warnings name the vocabulary as the spec does ("hash-algorithm-ov").
WARNING_NAMES = {p.lower().replace("_", "-") + "-ov": name for p, _, name in VOCABULARIES}
WARNING_NAMES.update({name: name for _, _, name in VOCABULARIES})
# Properties that hold a list of vocabulary values (the others hold one).
LIST_PROPERTIES = {
    "secondary_motivations", "personal_motivations", "sectors", "implementation_languages",
    "architecture_execution_envs", "capabilities", "malware_types", "indicator_types",
    "infrastructure_types", "report_types", "threat_actor_types", "roles", "tool_types",
}
OUTSIDE = "hotline-probe-value"


def vocab_warnings(warnings):
    """[object id, vocabulary] for each of the validator's open-vocabulary warnings."""
    out = []
    for w in warnings:
        m = re.match(r"^(\S+): \{\d+\} .*?\b([a-z0-9-]+-ov) vocabulary", w)
        if m and m.group(2) in WARNING_NAMES:
            out.append([m.group(1), WARNING_NAMES[m.group(2)]])
    return out


def verdict(bundle):
    """(valid, errors, open-vocabulary warnings) of the validator."""
    try:
        r = validate_instance(bundle, ValidationOptions(version="2.1"))
    except Exception as e:  # the validator raises on some malformed input: invalid
        return False, ["%s: %s" % (type(e).__name__, e)], []
    errors = [str(e) for e in r.errors]
    warnings = list(getattr(r, "warnings", None) or [])
    for obj in getattr(r, "object_results", None) or []:
        errors.extend(str(e) for e in obj.errors)
        warnings.extend(obj.warnings or [])
    return r.is_valid, errors, vocab_warnings(warnings)


def vocabulary_table():
    """Each vocabulary as the validator and the stix2 library list it, and its uses."""
    table = {}
    for prefix, stix2_name, name in VOCABULARIES:
        table[name] = {
            "validator": list(getattr(validator_enums, prefix + "_OV")),
            "stix2": list(getattr(spec_vocab, stix2_name)),
            "uses": getattr(validator_enums, prefix + "_USES", {}),
        }
    return table


def vocabulary_cases(gen, rng):
    """For every (type, property) the validator checks against an open vocabulary: every
    value of the spec's list (no note or warning expected) and one value outside it."""
    cases = []
    table = vocabulary_table()
    for name, v in sorted(table.items()):
        if name == "hash-algorithm-ov":
            continue
        for t, props in sorted(v["uses"].items()):
            for prop in props:
                base = gen.generate(t)
                values = v["stix2"]
                if prop in LIST_PROPERTIES:
                    inside = [dict(base, **{prop: list(values)})]
                    outside = dict(base, **{prop: [values[0], OUTSIDE]})
                else:
                    inside = []
                    for value in values:
                        o = dict(base, **{prop: value})
                        o["id"] = t + "--" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
                        inside.append(o)
                    outside = dict(base, **{prop: OUTSIDE})
                cases.append(("vocab-%s-%s-in" % (t, prop), bundle_of(inside, rng)))
                cases.append(("vocab-%s-%s-out" % (t, prop), bundle_of([outside], rng)))
    sha256 = "5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"
    for name, hashes in [("in", {"SHA-256": sha256, "x_imphash": sha256[:32]}),
                         ("out", {"SHA-256": sha256, "sha256": sha256})]:
        f = dict(gen.generate("file"), hashes=hashes)
        cases.append(("vocab-file-hashes-%s" % name, bundle_of([f], rng)))
    for name, pe in [("in", "dll"), ("out", "driver")]:
        f = dict(gen.generate("file"))
        f["extensions"] = {"windows-pebinary-ext": {"pe_type": pe, "number_of_sections": 4}}
        cases.append(("vocab-file-pe_type-%s" % name, bundle_of([f], rng)))
    return cases


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
    cases.extend(vocabulary_cases(gen, rng))
    with open(os.path.join(out, "vocabularies.json"), "w", encoding="utf-8") as fh:
        json.dump(vocabulary_table(), fh, indent=1)
    with open(os.path.join(out, "verdicts.jsonl"), "w", encoding="utf-8") as v:
        for name, bundle in cases:
            path = os.path.join(cases_dir, name + ".json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(bundle, fh, indent=1, ensure_ascii=False)
            ok, errors, vocab = verdict(bundle)
            v.write(json.dumps({"name": name, "file": path, "valid": ok, "errors": errors[:5],
                                "vocab_warnings": vocab}) + "\n")
    print("corpus: %d cases in %s" % (len(cases), out))


if __name__ == "__main__":
    main()
