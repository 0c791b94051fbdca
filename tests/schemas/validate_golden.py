#!/usr/bin/env python3
"""Checks host/events/schemas/ against the golden events and the wire format of PRODUCT.md.

positive: every schema is a valid draft 2020-12 schema; every golden file (one per type at
          least) has no duplicate keys and validates against its type's schema and against
          envelope.schema.json; lenient variants (missing/null optionals, unknown members,
          upper-case UUID, offsets, 1.x.y) validate too.
negative: mutated golden files (each required field removed or null, bad UUID/timestamp/
          version, wrong types, out-of-range tx_code.length, ...) fail both schemas.

The field table below is written from PRODUCT.md, not read from the schemas, so it checks
them. Needs python3-jsonschema (Debian) 4.x.
"""

import argparse
import copy
import json
import pathlib
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:
    print("validate_golden: python3-jsonschema is not installed "
          "(apt-get install python3-jsonschema)", file=sys.stderr)
    sys.exit(1)

TYPES = {
    # type: (required payload fields, optional payload fields)
    "CredentialOfferSent": (["offer_id", "credential_issuer", "credential_configuration_ids"],
                            ["grants", "credential_offer_uri"]),
    "CredentialOfferReceived": (["offer_id", "credential_issuer",
                                 "credential_configuration_ids"],
                                ["grants", "credential_offer_uri"]),
    "CredentialIssued": (["credential", "credential_type"],
                         ["notification_id", "transaction_id"]),
    "CredentialAcknowledged": (["notification_id", "event"], []),
    "CredentialStored": (["credential_id", "credential_type", "issuer"], ["notification_id"]),
    "CredentialDeleted": (["credential_id", "notification_id", "event"], []),
    "PresentationRequestSent": (["request_id", "dcql_query", "nonce", "client_id"],
                                ["response_uri"]),
    "PresentationRequestReceived": (["request_id", "dcql_query", "nonce", "client_id"],
                                    ["response_uri"]),
    "PresentationSubmitted": (["request_id", "presentation_submission_id", "vp_token"], []),
    "PresentationVerified": (["request_id", "presentation_submission_id", "validation_status",
                              "holder_binding_verified"], []),
    "KeyCreated": (["key_id", "kid", "key_type"], ["key_attestation"]),
    "KeyRotated": (["old_key_id", "new_key_id", "new_kid", "key_type"], ["key_attestation"]),
    "KeyRevoked": (["key_id", "kid", "revocation_reason"], []),
}
METADATA = ["event_id", "timestamp", "correlation_id", "wallet_id", "schema_version"]


class Checker:
    def __init__(self, schema_dir):
        self.failures = []
        self.checks = 0
        self.schemas = {}
        for path in sorted(schema_dir.glob("*.schema.json")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            self.schemas[path.name] = schema
        missing = [t for t in TYPES if f"{t}.schema.json" not in self.schemas]
        if "envelope.schema.json" not in self.schemas:
            missing.append("envelope")
        if missing:
            raise SystemExit(f"validate_golden: no schema for {', '.join(missing)} in {schema_dir}")
        self.validators = {name: self._validator(s) for name, s in self.schemas.items()}

    def _validator(self, schema):
        # Cross-file $refs ("envelope.schema.json#/$defs/...") resolve by $id against the
        # other schemas of the directory, never over the network.
        try:
            from referencing import Registry, Resource  # jsonschema >= 4.18
            registry = Registry().with_resources(
                (s["$id"], Resource.from_contents(s)) for s in self.schemas.values())
            return Draft202012Validator(schema, registry=registry)
        except ImportError:  # Debian 12's jsonschema 4.10
            store = {s["$id"]: s for s in self.schemas.values()}
            resolver = jsonschema.RefResolver.from_schema(schema, store=store)
            return Draft202012Validator(schema, resolver=resolver)

    def errors(self, event, schema_name):
        return sorted(self.validators[schema_name].iter_errors(event), key=lambda e: e.path)

    def expect(self, label, event, type_name, valid):
        for schema_name in (f"{type_name}.schema.json", "envelope.schema.json"):
            self.checks += 1
            errs = self.errors(event, schema_name)
            if valid and errs:
                self.failures.append(f"{label}: should validate against {schema_name}: "
                                     f"{errs[0].message} at {list(errs[0].absolute_path)}")
            elif not valid and not errs:
                self.failures.append(f"{label}: should NOT validate against {schema_name}")


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dups = {k for k in keys if keys.count(k) > 1}
    if dups:
        raise ValueError(f"duplicate key(s) {sorted(dups)}")
    return dict(pairs)


def load_golden(golden_dir):
    events = {}
    for path in sorted(golden_dir.glob("*.json")):
        events[path.name] = json.loads(path.read_text(encoding="utf-8"),
                                       object_pairs_hook=reject_duplicates)
    return events


def set_path(event, dotted, value, delete=False):
    """Sets (or deletes) payload.a.b in a copy of event."""
    out = copy.deepcopy(event)
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[part]
    if delete:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return out


def positive(c, golden):
    seen = set()
    for name, event in golden.items():
        type_name = name.split(".")[0]
        if event.get("event_type") != type_name:
            c.failures.append(f"{name}: event_type {event.get('event_type')!r} does not match "
                              f"the file name")
            continue
        seen.add(type_name)
        c.expect(name, event, type_name, True)
        required, optional = TYPES[type_name]
        for field in optional:
            c.expect(f"{name} without {field}", set_path(event, f"payload.{field}", None, True),
                     type_name, True)
            c.expect(f"{name} with {field}: null", set_path(event, f"payload.{field}", None),
                     type_name, True)
        lenient = [
            ("unknown members", lambda e: (e.update(extra={"x": [1]}),
                                           e["payload"].update(future="x"),
                                           e["payload"]["metadata"].update(trace="t"))),
            ("upper-case UUID", lambda e: e["payload"]["metadata"].update(
                event_id=e["payload"]["metadata"]["event_id"].upper())),
            ("offset +05:30", lambda e: e["payload"]["metadata"].update(
                timestamp="2026-02-06T15:48:44+05:30")),
            ("lower-case t/z, 12 fraction digits", lambda e: e["payload"]["metadata"].update(
                timestamp="2026-02-06t10:18:44.123456789012z")),
            ("schema 1.7.3", lambda e: e["payload"]["metadata"].update(schema_version="1.7.3")),
        ]
        for label, mutate in lenient:
            e = copy.deepcopy(event)
            mutate(e)
            c.expect(f"{name} with {label}", e, type_name, True)
    for type_name in TYPES:
        if type_name not in seen:
            c.failures.append(f"no golden file for {type_name}")

    offer = golden["CredentialOfferReceived.json"]
    for label, path, value in [
        ("grants {}", "payload.grants", {}),
        ("null grants members", "payload.grants", {"authorization_code": None,
                                                   "pre_authorized_code": None}),
        ("tx_code null", "payload.grants.pre_authorized_code.tx_code", None),
        ("tx_code {}", "payload.grants.pre_authorized_code.tx_code", {}),
        ("length 4294967295", "payload.grants.pre_authorized_code.tx_code.length", 4294967295),
        ("length null", "payload.grants.pre_authorized_code.tx_code.length", None),
    ]:
        c.expect(f"CredentialOfferReceived with {label}", set_path(offer, path, value),
                 "CredentialOfferReceived", True)


def negative(c, golden):
    for name, event in golden.items():
        type_name = event["event_type"]
        required, _ = TYPES[type_name]
        for field in required:
            c.expect(f"{name} without {field}", set_path(event, f"payload.{field}", None, True),
                     type_name, False)
            c.expect(f"{name} with {field}: null", set_path(event, f"payload.{field}", None),
                     type_name, False)
            c.expect(f"{name} with {field}: 42", set_path(event, f"payload.{field}", 42),
                     type_name, False)
        for field in METADATA:
            c.expect(f"{name} without metadata.{field}",
                     set_path(event, f"payload.metadata.{field}", None, True), type_name, False)
            c.expect(f"{name} with metadata.{field}: null",
                     set_path(event, f"payload.metadata.{field}", None), type_name, False)
        for path in ("event_type", "payload", "payload.metadata"):
            c.expect(f"{name} without {path}", set_path(event, path, None, True), type_name,
                     False)
        for label, path, value in [
            ("bad UUID", "payload.metadata.event_id", "not-a-uuid"),
            ("UUID without hyphens", "payload.metadata.event_id",
             "1f0e2d3c4b5a49788796a5b4c3d2e101"),
            ("timestamp 'yesterday'", "payload.metadata.timestamp", "yesterday"),
            ("hour 24", "payload.metadata.timestamp", "2026-02-06T24:00:00Z"),
            ("no offset", "payload.metadata.timestamp", "2026-02-06T10:18:44"),
            ("schema 2.0.0", "payload.metadata.schema_version", "2.0.0"),
            ("schema 1.0", "payload.metadata.schema_version", "1.0"),
            ("payload not an object", "payload", []),
            ("metadata not an object", "payload.metadata", "m"),
        ]:
            c.expect(f"{name} with {label}", set_path(event, path, value), type_name, False)
        # Another type's event does not validate against this type's schema.
        other = next(t for t in TYPES if t != type_name)
        c.checks += 1
        if not c.errors(set_path(event, "event_type", other), f"{type_name}.schema.json"):
            c.failures.append(f"{name} relabelled {other} validates against {type_name}")
        c.expect(f"{name} with an unknown event_type", set_path(event, "event_type", "Nope"),
                 type_name, False)

    offer = golden["CredentialOfferReceived.json"]
    tx = "payload.grants.pre_authorized_code.tx_code"
    for label, path, value in [
        ("ids not an array", "payload.credential_configuration_ids", "UniversityDegree"),
        ("ids with a number", "payload.credential_configuration_ids", ["a", 3]),
        ("grants an array", "payload.grants", []),
        ("pre_authorized_code without its code", "payload.grants.pre_authorized_code", {}),
        ("length -1", f"{tx}.length", -1),
        ("length 4294967296", f"{tx}.length", 4294967296),
        ("length '6'", f"{tx}.length", "6"),
        ("length 6.5", f"{tx}.length", 6.5),
        ("input_mode 1", f"{tx}.input_mode", 1),
    ]:
        c.expect(f"CredentialOfferReceived with {label}", set_path(offer, path, value),
                 "CredentialOfferReceived", False)

    verified = golden["PresentationVerified.json"]
    for label, value in [("'valid'", "valid"), ("'Invalid'", "Invalid"), ("{}", {}),
                         ("{Invalid: {}}", {"Invalid": {}}), ("{Invalid: 'x'}", {"Invalid": "x"}),
                         ("true", True)]:
        c.expect(f"PresentationVerified with validation_status {label}",
                 set_path(verified, "payload.validation_status", value), "PresentationVerified",
                 False)
    c.expect("PresentationVerified with holder_binding_verified 'true'",
             set_path(verified, "payload.holder_binding_verified", "true"),
             "PresentationVerified", False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", required=True, type=pathlib.Path)
    parser.add_argument("--golden", required=True, type=pathlib.Path)
    parser.add_argument("--mode", choices=["positive", "negative", "all"], default="all")
    args = parser.parse_args()

    c = Checker(args.schemas)
    try:
        golden = load_golden(args.golden)
    except ValueError as e:
        raise SystemExit(f"validate_golden: golden file: {e}")
    if not golden:
        raise SystemExit(f"validate_golden: no golden files in {args.golden}")
    if args.mode in ("positive", "all"):
        positive(c, golden)
    if args.mode in ("negative", "all"):
        negative(c, golden)

    for failure in c.failures:
        print(f"FAIL {failure}")
    print(f"validate_golden ({args.mode}): {len(golden)} golden files, {len(c.schemas)} schemas, "
          f"{c.checks} checks, {len(c.failures)} failures")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
