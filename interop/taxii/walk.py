"""OASIS's taxii2-client drives a running hotline; stix2 and stix2-validator check what it serves.

discovery -> API root -> collections -> POST (add_objects) -> status -> paginated GET with each
filter (added_after, match[id], match[type], match[version], match[spec_version]) -> manifest
-> object versions; anonymous access to the public collection only. Every object served is
parsed by stix2 and validated by stix2-validator. Any mismatch raises (exit status 1) with a
message saying what differed; on success one JSON line of counts is printed.

Usage: walk.py URL PARTY TOKEN OTHER_PARTY OTHER_TOKEN
"""

import json
import random
import sys
import uuid

import stix2
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
V1 = "2021-07-03T10:00:00.000Z"
V2 = "2021-07-04T10:00:00.000Z"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def indicator(i, modified=V1, marking=GREEN):
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--%s" % uuid.UUID(int=random.Random(i).getrandbits(128), version=4),
        "created": V1,
        "modified": modified,
        "name": "REvil C2 %d" % i,
        "indicator_types": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '203.0.113.%d']" % (i % 250),
        "pattern_type": "stix",
        "valid_from": "2021-07-03T10:00:00Z",
        "object_marking_refs": [marking],
    }


served = 0


def validate(objects):
    """stix2 parses, and stix2-validator accepts, every object served."""
    global served
    for o in objects:
        stix2.parse(o, allow_custom=False)
    if objects:
        bundle = {"type": "bundle", "id": "bundle--%s" % uuid.uuid4(), "objects": objects}
        r = validate_instance(bundle, ValidationOptions(version="2.1"))
        errors = [str(e) for e in r.errors]
        errors += [str(e) for o in (getattr(r, "object_results", None) or []) for e in o.errors]
        check(r.is_valid, "stix2-validator refuses objects hotline served: %s" % errors)
    served += len(objects)


def collect(collection, per_request, **filters):
    out = []
    for page in as_pages(collection.get_objects, per_request=per_request, **filters):
        objs = page.get("objects", [])
        validate(objs)
        out.extend(objs)
    return out


def main():
    url, party, token, other, other_token = sys.argv[1:6]
    server = Server(url + "/taxii2/", user=party, password=token)
    check(server.title.startswith("hotline"), "discovery title: %r" % server.title)
    root = server.default
    check(root is not None and root in server.api_roots, "the default API root is listed")
    check("application/taxii+json;version=2.1" in root.versions, "API root versions")
    check(root.max_content_length > 0, "max_content_length")
    by_alias = {c.alias: c for c in root.collections}
    shared = by_alias["shared"]
    check(shared.can_read and shared.can_write, "a party reads and writes shared")
    check(not by_alias[other].can_write, "a party may not write another party's collection")

    # POST 30 indicators, then a second version of the first five.
    first = [indicator(i) for i in range(30)]
    status = shared.add_objects({"objects": first})
    check(status.status == "complete", "status: %s" % status.status)
    check(status.total_count == 30 and status.success_count == 30, "status counts")
    check(status.failure_count == 0 and status.pending_count == 0, "no failures or pendings")
    status.refresh()
    check(status.success_count == 30, "status fetched again")
    second = [indicator(i, modified=V2) for i in range(5)]
    other_server = Server(url + "/taxii2/", user=other, password=other_token)
    other_shared = [c for c in other_server.default.collections
                    if c.alias == "shared"][0]
    check(other_shared.add_objects({"objects": second}).success_count == 5, "second POST")

    # Paged GET: every object once, last versions by default.
    got = collect(shared, 7)
    ids = [o["id"] for o in got]
    check(len(ids) == 30 and len(set(ids)) == 30, "paged GET: %d objects" % len(ids))
    check(sum(1 for o in got if o["modified"] == V2) == 5, "the newer versions are served")
    # match[version]
    all_versions = collect(shared, 10, version="all")
    check(len(all_versions) == 35, "version=all: %d" % len(all_versions))
    firsts = collect(shared, 10, version="first")
    check(all(o["modified"] == V1 for o in firsts) and len(firsts) == 30, "version=first")
    exact = collect(shared, 10, version=V2)
    check(len(exact) == 5, "version=<timestamp>: %d" % len(exact))
    # match[id], match[type], match[spec_version]
    one = collect(shared, 10, id=first[3]["id"], version="all")
    check(len(one) == 2, "match[id]: %d" % len(one))
    check(collect(shared, 10, type="malware") == [], "match[type]=malware")
    check(len(collect(shared, 10, type="indicator")) == 30, "match[type]=indicator")
    check(len(collect(shared, 10, spec_version="2.1")) == 30, "match[spec_version]=2.1")
    check(collect(shared, 10, spec_version="2.0") == [], "match[spec_version]=2.0")
    # Manifest, paged, and added_after (strictly after).
    manifest = []
    for page in as_pages(shared.get_manifest, per_request=8, version="all"):
        manifest.extend(page.get("objects", []))
    check(len(manifest) == 35, "manifest: %d" % len(manifest))
    check(all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest),
          "manifest media types")
    cut = manifest[29]["date_added"]
    after = collect(shared, 10, added_after=cut, version="all")
    check(len(after) == 5 and all(o["modified"] == V2 for o in after),
          "added_after is strictly after: %d" % len(after))
    # One object and its versions.
    obj = shared.get_object(first[0]["id"])
    validate(obj["objects"])
    check(obj["objects"][0]["modified"] == V2, "get_object: the last version")
    versions = shared.object_versions(first[0]["id"])
    check(versions["versions"] == [V1, V2], "versions: %s" % versions["versions"])

    # The public collection: anyone reads it, without credentials.
    public = by_alias["public"]
    public.add_objects({"objects": [indicator(100, marking=CLEAR)]})
    anonymous = Server(url + "/taxii2/")
    anon = anonymous.default.collections
    check([c.alias for c in anon] == ["public"],
          "anonymous callers see the public collection only")
    check(len(collect(anon[0], 10)) == 1, "anonymous read of the public collection")
    print(json.dumps({"posted": 36, "served_and_validated": served}))


if __name__ == "__main__":
    main()
