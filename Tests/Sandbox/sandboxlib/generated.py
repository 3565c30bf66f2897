"""Fixtures whose objects are made by a program: `fixtures/clusters/NAME/generate.py` defines
`objects(fixture_vars) -> list[dict]`. Fixture vars come from `sandbox up --fixture-var KEY=VALUE`.
Generated objects get the same `${...}` placeholder substitution as objects/*.yaml."""

import importlib.util
import json
import os


def parse_vars(items: list) -> dict:
    out = {}
    for item in items or []:
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"--fixture-var {item!r}: write KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def generated_objects(dirs: list, fixture_vars: dict, substitute) -> list:
    """(path, object) of every generate.py of the fixtures, in fixture order."""
    out = []
    for d in dirs:
        path = os.path.join(d, "generate.py")
        if not os.path.exists(path):
            continue
        spec = importlib.util.spec_from_file_location(f"fixture_{os.path.basename(d).replace('-', '_')}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for obj in mod.objects(fixture_vars):
            out.append((path, json.loads(substitute(json.dumps(obj)))))
    return out
