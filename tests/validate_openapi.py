#!/usr/bin/env python3
"""Checks answers of the real server against its OpenAPI 3.1 description.

Usage: validate_openapi.py OPENAPI_JSON ANSWERS_JSONL

Each line of ANSWERS_JSONL is {"method", "path" (the template), "status", "content_type",
"body"}. Every answer must be described (its status under the operation's responses, its
content type listed), and a JSON body must validate against the schema given for it
(JSON Schema 2020-12, python3-jsonschema). Every operation of the description must have at
least one answer. Prints each failure; exits 1 when there is any.
"""
import json
import sys

import jsonschema


def main(openapi_path, answers_path):
    with open(openapi_path, encoding="utf-8") as f:
        doc = json.load(f)
    # Resolve "#/components/..." against the whole document.
    registry_root = {"components": doc["components"]}
    failures = []
    seen = set()
    with open(answers_path, encoding="utf-8") as f:
        answers = [json.loads(line) for line in f if line.strip()]
    for a in answers:
        method, path, status = a["method"].lower(), a["path"], str(a["status"])
        op = doc["paths"].get(path, {}).get(method)
        where = f"{a['method']} {path} -> {status}"
        if op is None:
            failures.append(f"{where}: not in the description")
            continue
        seen.add((path, method))
        response = op["responses"].get(status)
        if response is None:
            failures.append(f"{where}: status not described")
            continue
        if "$ref" in response:
            name = response["$ref"].split("/")[-1]
            response = doc["components"]["responses"][name]
        content = response.get("content", {})
        ctype = a["content_type"].split(";")[0].strip()
        if ctype not in content:
            failures.append(f"{where}: content type {ctype} not described ({list(content)})")
            continue
        if ctype != "application/json":
            continue
        schema = dict(content[ctype]["schema"])
        schema["components"] = registry_root["components"]
        try:
            body = json.loads(a["body"])
        except ValueError as e:
            failures.append(f"{where}: body is not JSON: {e}")
            continue
        try:
            jsonschema.Draft202012Validator(schema).validate(body)
        except jsonschema.ValidationError as e:
            failures.append(f"{where}: {e.message} at {list(e.absolute_path)}")
    for path, ops in doc["paths"].items():
        for method in ops:
            if (path, method) not in seen:
                failures.append(f"{method.upper()} {path}: no answer was checked")
    for f in failures:
        print(f)
    print(f"{len(answers)} answers, {len(seen)} operations checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
