"""Validates real API answers against the OpenAPI 3.1 document they claim to follow.

Input: a JSON file {"doc": <openapi document>, "answers": [{"method", "path", "status", "body"}]}, where `path`
is the operation's path template. Prints one line per answer that does not match and exits 1 if any does.
"""
import json
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


def pointer(*parts):
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def main(path):
    data = json.load(open(path))
    doc = dict(data["doc"])
    doc["$id"] = "urn:aftersales:openapi"
    registry = Registry().with_resource(
        "urn:aftersales:openapi", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    bad = []
    for a in data["answers"]:
        op = doc["paths"][a["path"]][a["method"]]
        status = str(a["status"])
        if status not in op["responses"]:
            bad.append(f"{a['method']} {a['path']}: status {status} is not documented")
            continue
        content = op["responses"][status].get("content", {})
        if "application/json" not in content:
            bad.append(f"{a['method']} {a['path']}: {status} has no JSON schema")
            continue
        ref = "urn:aftersales:openapi#/" + pointer(
            "paths", a["path"], a["method"], "responses", status, "content", "application/json", "schema"
        )
        validator = Draft202012Validator({"$ref": ref}, registry=registry)
        for e in sorted(validator.iter_errors(a["body"]), key=lambda e: list(e.absolute_path))[:3]:
            where = "/".join(str(p) for p in e.absolute_path)
            bad.append(f"{a['method']} {a['path']} at /{where}: {e.message[:200]}")
    for b in bad:
        print(b)
    print(f"{len(data['answers'])} answers checked, {len(bad)} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main(sys.argv[1])
