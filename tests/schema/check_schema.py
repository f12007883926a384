#!/usr/bin/env python3
"""Checks schema/pipeline.schema.json against the shared spec cases.

Every file in tests/spec_cases/good/ and examples/ must be valid, and every
file in tests/spec_cases/bad_schema/ invalid, so the schema and the C++
validator (src/spec/spec_cases_test.cc) agree on the format's structure.
Needs python3-yaml and python3-jsonschema.
"""
import json
import os
import pathlib
import sys

import jsonschema
import yaml


class CoreLoader(yaml.SafeLoader):
    """YAML 1.2 core booleans: only true/false (PyYAML also reads on/off/yes/no,
    which relay, reading libyaml's untyped scalars, treats as strings)."""


CoreLoader.yaml_implicit_resolvers = {
    ch: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CoreLoader)


def files(directory):
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json"))


def main():
    root = pathlib.Path(os.environ.get("RELAY_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
    with open(root / "schema" / "pipeline.schema.json", encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    failures = []
    good = files(root / "tests" / "spec_cases" / "good") + files(root / "examples")
    bad = files(root / "tests" / "spec_cases" / "bad_schema")
    for path in good:
        errors = list(validator.iter_errors(load(path)))
        if errors:
            failures.append(f"{path}: expected valid, got: {errors[0].message}")
    for path in bad:
        if validator.is_valid(load(path)):
            failures.append(f"{path}: expected invalid, but the schema accepts it")
    if len(good) < 10 or len(bad) < 10:
        failures.append(f"too few cases: {len(good)} good, {len(bad)} bad_schema (want 10+ each)")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"check_schema: {len(good)} valid, {len(bad)} invalid, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
