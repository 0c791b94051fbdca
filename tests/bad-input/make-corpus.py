#!/usr/bin/env python3
"""Writes the bad-input corpus: one malformed Kafka record value per file, and MANIFEST.tsv.

    python3 tests/bad-input/make-corpus.py      # rewrites tests/bad-input/records/ and the manifest

The files are committed; this script only documents how they were made and regenerates them
when a case is added. MANIFEST.tsv has one line per record, tab-separated:

    file  topic-suffix  dlq.error.code  substring-of-dlq.error

Records larger than consumer.max_record_bytes (1 MiB by default) are not committed: the tests
build them at run time (see tests/integration/bad_input_test.cc).
"""
import copy
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden", "wire", "valid")
OUT = os.path.join(HERE, "records")

SUFFIX = {
    "CredentialOfferSent": "credential.offers",
    "CredentialOfferReceived": "credential.offers",
    "CredentialIssued": "credential.issuance",
    "CredentialAcknowledged": "credential.issuance",
    "CredentialStored": "credential.storage",
    "CredentialDeleted": "credential.storage",
    "PresentationRequestSent": "presentation.requests",
    "PresentationRequestReceived": "presentation.requests",
    "PresentationSubmitted": "presentation.submissions",
    "PresentationVerified": "presentation.submissions",
    "KeyCreated": "key.operations",
    "KeyRotated": "key.operations",
    "KeyRevoked": "key.operations",
}
# Required payload fields per type (PRODUCT.md), in wire order.
REQUIRED = {
    "CredentialOfferSent": ["offer_id", "credential_issuer", "credential_configuration_ids"],
    "CredentialOfferReceived": ["offer_id", "credential_issuer", "credential_configuration_ids"],
    "CredentialIssued": ["credential", "credential_type"],
    "CredentialAcknowledged": ["notification_id", "event"],
    "CredentialStored": ["credential_id", "credential_type", "issuer"],
    "CredentialDeleted": ["credential_id", "notification_id", "event"],
    "PresentationRequestSent": ["request_id", "dcql_query", "nonce", "client_id"],
    "PresentationRequestReceived": ["request_id", "dcql_query", "nonce", "client_id"],
    "PresentationSubmitted": ["request_id", "presentation_submission_id", "vp_token"],
    "PresentationVerified": ["request_id", "presentation_submission_id", "validation_status",
                             "holder_binding_verified"],
    "KeyCreated": ["key_id", "kid", "key_type"],
    "KeyRotated": ["old_key_id", "new_key_id", "new_kid", "key_type"],
    "KeyRevoked": ["key_id", "kid", "revocation_reason"],
}
METADATA = ["event_id", "timestamp", "correlation_id", "wallet_id", "schema_version"]


def golden(name):
    with open(os.path.join(GOLDEN, name + ".json"), encoding="utf-8") as f:
        return json.load(f)


def dump(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


cases = []  # (slug, suffix, bytes, code, substring)


def add(slug, suffix, data, code, substring):
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert "\t" not in substring and "\n" not in substring
    cases.append((slug, suffix, data, code, substring))


def mutated(type_name, fn, variant=None):
    doc = copy.deepcopy(golden(variant or type_name))
    fn(doc)
    return doc


KEY = "key.operations"
key_created = golden("KeyCreated")
key_text = dump(key_created).decode("utf-8")

# ---- not JSON at all -------------------------------------------------------------------------
add("empty-record", KEY, b"", "malformed_json", "not valid JSON")
add("whitespace-only", KEY, b" \n\t ", "malformed_json", "not valid JSON")
add("truncated-half", "credential.storage",
    dump(golden("CredentialStored"))[: len(dump(golden("CredentialStored"))) // 2],
    "malformed_json", "not valid JSON")
add("truncated-last-brace", KEY, key_text[:-1], "malformed_json", "not valid JSON")
add("trailing-garbage", KEY, key_text + " x", "malformed_json", "not valid JSON")
add("two-documents", KEY, key_text + key_text, "malformed_json", "not valid JSON")
add("trailing-comma", "credential.offers",
    '{"event_type":"CredentialOfferSent","payload":{"credential_configuration_ids":["a",]}}',
    "malformed_json", "not valid JSON")
add("single-quotes", KEY, key_text.replace('"', "'"), "malformed_json", "not valid JSON")
add("unquoted-keys", KEY, '{event_type:"KeyCreated",payload:{}}', "malformed_json",
    "not valid JSON")
add("comment", KEY, "// a comment\n" + key_text, "malformed_json", "not valid JSON")
add("raw-newline-in-string", KEY, key_text.replace('"key-123"', '"key\n123"'), "malformed_json",
    "not valid JSON")
add("nul-byte-in-string", KEY, key_text.replace('"key-123"', '"key\x00123"'), "malformed_json",
    "not valid JSON")
add("lone-surrogate-escape", KEY, key_text.replace('"key-123"', '"\\ud800"'), "malformed_json",
    "not valid JSON")
add("bad-escape", KEY, key_text.replace('"key-123"', '"\\q"'), "malformed_json",
    "not valid JSON")
add("number-overflow-1e400", KEY, key_text[:-1] + ',"x":1e400}', "malformed_json",
    "not valid JSON")
add("nan-literal", KEY, key_text[:-1] + ',"x":NaN}', "malformed_json", "not valid JSON")
add("binary-garbage", KEY, bytes(range(0x80, 0x100)) + bytes(range(0, 0x80)), "malformed_json",
    "not valid JSON")
add("protobuf-like-binary", "credential.issuance",
    b"\x0a\x10KeyCreated\x12\x24\x00\x01\x02{payload}\x1a\x00", "malformed_json",
    "not valid JSON")
add("xml-instead-of-json", KEY, "<event type=\"KeyCreated\"/>", "malformed_json",
    "not valid JSON")

# ---- invalid UTF-8 ---------------------------------------------------------------------------
k = key_text.encode("utf-8")
add("utf8-invalid-byte-ff", KEY, k.replace(b'"key-123"', b'"key-\xff"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-overlong-slash", KEY, k.replace(b'"key-123"', b'"\xc0\xaf"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-encoded-surrogate", KEY, k.replace(b'"key-123"', b'"\xed\xa0\x80"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-truncated-sequence", KEY, k.replace(b'"key-123"', b'"\xe2\x82"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-latin1-wallet-id", KEY, k.replace(b'"wallet-7f3a"', b'"M\xfcller"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-invalid-in-key", KEY, k.replace(b'"kid"', b'"k\xfed"'), "invalid_utf8",
    "not valid UTF-8")
add("utf8-above-u10ffff", KEY, k.replace(b'"key-123"', b'"\xf4\x90\x80\x80"'), "invalid_utf8",
    "not valid UTF-8")

# ---- nesting bombs ---------------------------------------------------------------------------
add("bomb-arrays-100k", KEY, "[" * 100000 + "]" * 100000, "too_deep",
    "nesting of objects and arrays is too deep")
add("bomb-objects-20k", KEY, '{"a":' * 20000 + "1" + "}" * 20000, "too_deep",
    "nesting of objects and arrays is too deep")
# Unclosed: simdjson's structure check comes first, so this is malformed rather than too deep.
add("bomb-unclosed-arrays", KEY, "[" * 50000, "malformed_json", "not valid JSON")
deep = mutated("KeyCreated", lambda d: d["payload"].__setitem__("extra", json.loads(
    "[" * 40 + "]" * 40)))
add("bomb-in-unknown-field-depth-43", KEY, dump(deep), "too_deep",
    "nesting of objects and arrays is too deep")

# ---- duplicate keys --------------------------------------------------------------------------
add("duplicate-event-type", KEY,
    key_text.replace('"event_type":"KeyCreated"',
                     '"event_type":"KeyCreated","event_type":"KeyRevoked"'),
    "duplicate_key", "event_type: duplicate key")
add("duplicate-event-id", KEY,
    key_text.replace('"timestamp"', '"event_id":"1f0e2d3c-4b5a-4978-8796-a5b4c3d2e10d","timestamp"'),
    "duplicate_key", "payload.metadata.event_id: duplicate key")
add("duplicate-key-escaped-spelling", KEY,
    key_text.replace('"kid":', '"k\\u0069d":"x","kid":'), "duplicate_key",
    "payload.kid: duplicate key")
add("duplicate-in-unknown-field", KEY,
    key_text[:-2] + ',"extra":[{"a":1},{"b":{"x y":1,"x y":2}}]}}', "duplicate_key",
    'payload.extra[1].b["x y"]: duplicate key')
many = ",".join('"k%d":%d' % (i, i) for i in range(200))
add("duplicate-in-large-object", KEY, key_text[:-2] + ',' + many + ',"k150":0}}', "duplicate_key",
    "payload.k150: duplicate key")

# ---- not an object ---------------------------------------------------------------------------
add("top-level-array", KEY, "[" + key_text + "]", "not_an_object", "expected object, got array")
add("top-level-string", KEY, '"KeyCreated"', "not_an_object", "expected object, got string")
add("top-level-number", KEY, "42", "not_an_object", "expected object, got number")
add("top-level-null", KEY, "null", "not_an_object", "expected object, got null")
add("top-level-true", KEY, "true", "not_an_object", "expected object, got boolean")
add("payload-is-string", KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__(
    "payload", json.dumps(d["payload"])))), "not_an_object",
    "payload: expected object, got string")
add("payload-is-array", KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__(
    "payload", [d["payload"]]))), "not_an_object", "payload: expected object, got array")
add("metadata-is-number", KEY, dump(mutated("KeyCreated", lambda d: d["payload"].__setitem__(
    "metadata", 1))), "not_an_object", "payload.metadata: expected object, got number")

# ---- envelope: event_type and payload --------------------------------------------------------
add("missing-event-type", KEY, dump(mutated("KeyCreated", lambda d: d.pop("event_type"))),
    "missing_event_type", "event_type: required field is missing")
add("null-event-type", KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__(
    "event_type", None))), "missing_event_type", "event_type: required field is missing")
add("event-type-is-number", KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__(
    "event_type", 11))), "wrong_type", "event_type: expected string, got number")
for slug, name in [("unknown-type", "CredentialBurned"), ("type-lowercase", "keycreated"),
                   ("type-trailing-space", "KeyCreated "), ("type-empty", ""),
                   ("type-rust-module-path", "WalletEvent::KeyCreated")]:
    add(slug, KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__("event_type", name))),
        "unknown_event_type", "event_type: unknown event type " + json.dumps(name))
add("missing-payload", KEY, dump(mutated("KeyCreated", lambda d: d.pop("payload"))),
    "missing_field", "payload: required field is missing")
add("null-payload", KEY, dump(mutated("KeyCreated", lambda d: d.__setitem__("payload", None))),
    "missing_field", "payload: required field is missing")
add("missing-metadata", KEY, dump(mutated("KeyCreated", lambda d: d["payload"].pop("metadata"))),
    "missing_field", "payload.metadata: required field is missing")

# ---- metadata --------------------------------------------------------------------------------
for field in METADATA:
    add("metadata-missing-" + field, KEY,
        dump(mutated("KeyCreated", lambda d: d["payload"]["metadata"].pop(field))),
        "missing_field", "payload.metadata.%s: required field is missing" % field)
add("metadata-null-wallet-id", KEY, dump(mutated("KeyCreated", lambda d: d["payload"][
    "metadata"].__setitem__("wallet_id", None))), "missing_field",
    "payload.metadata.wallet_id: required field is missing")
for field, value, got in [("event_id", 12345, "number"), ("timestamp", 1767268800, "number"),
                          ("correlation_id", {"id": "x"}, "object"),
                          ("wallet_id", ["wallet-7f3a"], "array"),
                          ("schema_version", 1.0, "number")]:
    add("metadata-wrong-type-" + field, KEY,
        dump(mutated("KeyCreated", lambda d: d["payload"]["metadata"].__setitem__(field, value))),
        "wrong_type", "payload.metadata.%s: expected string, got %s" % (field, got))
for slug, field, value, reason in [
        ("event-id-not-uuid", "event_id", "not-a-uuid", 'not a UUID: "not-a-uuid"'),
        ("event-id-no-hyphens", "event_id", "1f0e2d3c4b5a49788796a5b4c3d2e10c", "not a UUID"),
        ("timestamp-words", "timestamp", "yesterday", 'not RFC 3339: "yesterday"'),
        ("timestamp-no-offset", "timestamp", "2026-01-15T12:00:00", "not RFC 3339"),
        ("timestamp-feb-30", "timestamp", "2026-02-30T12:00:00Z", "not RFC 3339"),
        ("timestamp-out-of-range", "timestamp", "9999-12-31T23:59:59Z",
         "outside the supported range"),
        ("schema-version-two-parts", "schema_version", "1.0", "not a MAJOR.MINOR.PATCH version"),
        ("schema-version-leading-zero", "schema_version", "01.0.0",
         "not a MAJOR.MINOR.PATCH version"),
        ("schema-version-prerelease", "schema_version", "1.0.0-beta",
         "not a MAJOR.MINOR.PATCH version")]:
    add(slug, KEY, dump(mutated("KeyCreated", lambda d: d["payload"]["metadata"].__setitem__(
        field, value))), "invalid_value", "payload.metadata.%s: %s" % (field, reason))
for slug, version in [("major-2", "2.0.0"), ("major-0", "0.9.1"), ("major-10", "10.1.0")]:
    add("schema-version-" + slug, KEY, dump(mutated("KeyCreated", lambda d: d["payload"][
        "metadata"].__setitem__("schema_version", version))), "unsupported_version",
        "payload.metadata.schema_version: unsupported schema major version "
        + version.split(".")[0])

# ---- every required payload field of every type, missing --------------------------------------
for type_name, fields in REQUIRED.items():
    for field in fields:
        add("missing-%s-%s" % (type_name, field), SUFFIX[type_name],
            dump(mutated(type_name, lambda d: d["payload"].pop(field))), "missing_field",
            "payload.%s: required field is missing" % field)

# ---- wrong types of payload fields -----------------------------------------------------------
offer = "CredentialOfferSent"


def set_path(doc, path, value):
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


wrong = [
    ("string-got-boolean", "KeyCreated", None, ["payload", "key_id"], True,
     "payload.key_id: expected string, got boolean"),
    ("string-got-number", "KeyRevoked", None, ["payload", "revocation_reason"], 3,
     "payload.revocation_reason: expected string, got number"),
    ("string-got-object", "PresentationRequestSent", None, ["payload", "dcql_query"],
     {"credentials": []}, "payload.dcql_query: expected string, got object"),
    ("string-got-array", "PresentationSubmitted", None, ["payload", "vp_token"], ["a"],
     "payload.vp_token: expected string, got array"),
    ("optional-string-got-number", "CredentialStored", None, ["payload", "notification_id"], 7,
     "payload.notification_id: expected string, got number"),
    ("array-got-string", offer, None, ["payload", "credential_configuration_ids"],
     "UniversityDegree", "payload.credential_configuration_ids: expected array, got string"),
    ("array-item-got-number", offer, None, ["payload", "credential_configuration_ids"],
     ["UniversityDegree", 2], "payload.credential_configuration_ids[1]: expected string, got number"),
    ("bool-got-string", "PresentationVerified", None, ["payload", "holder_binding_verified"],
     "true", "payload.holder_binding_verified: expected boolean, got string"),
    ("bool-got-number", "PresentationVerified", None, ["payload", "holder_binding_verified"], 1,
     "payload.holder_binding_verified: expected boolean, got number"),
    ("validation-status-got-number", "PresentationVerified", None,
     ["payload", "validation_status"], 0,
     "payload.validation_status: expected string or object, got number"),
    ("invalid-reason-got-number", "PresentationVerified", "PresentationVerified.2",
     ["payload", "validation_status", "Invalid", "reason"], 5,
     "payload.validation_status.Invalid.reason: expected string, got number"),
    ("grants-got-array", offer, None, ["payload", "grants"], [],
     "payload.grants: expected object, got array"),
    ("authorization-code-got-string", offer, None, ["payload", "grants", "authorization_code"],
     "x", "payload.grants.authorization_code: expected object, got string"),
    ("tx-code-length-got-string", offer, None, ["payload", "grants", "pre_authorized_code"],
     {"pre_authorized_code": "abc", "tx_code": {"length": "6"}},
     "payload.grants.pre_authorized_code.tx_code.length: expected integer, got string"),
]
for slug, type_name, variant, path, value, msg in wrong:
    add("wrong-type-" + slug, SUFFIX[type_name],
        dump(mutated(type_name, lambda d: set_path(d, path, value), variant)), "wrong_type", msg)

# ---- right type, bad value (numbers out of range and the like) --------------------------------
TX = "payload.grants.pre_authorized_code.tx_code.length"
for slug, length, reason in [("negative", "-1", "out of range for uint32: -1"),
                             ("2-pow-32", "4294967296", "out of range for uint32: 4294967296"),
                             ("uint64-max", "18446744073709551615",
                              "out of range for uint32: 18446744073709551615"),
                             ("fraction", "6.5", "not an integer: 6.5"),
                             ("1e10", "1e10", "out of range for uint32")]:
    doc = mutated(offer, lambda d: set_path(d, ["payload", "grants", "pre_authorized_code"],
                                            {"pre_authorized_code": "abc",
                                             "tx_code": {"length": 0}}))
    text = dump(doc).decode("utf-8").replace('"length":0', '"length":' + length)
    add("tx-code-length-" + slug, "credential.offers", text, "invalid_value",
        "%s: %s" % (TX, reason))
add("validation-status-lowercase", "presentation.submissions",
    dump(mutated("PresentationVerified", lambda d: d["payload"].__setitem__(
        "validation_status", "valid"))), "invalid_value",
    'payload.validation_status: expected "Valid" or {"Invalid": {"reason": string}}, got "valid"')
add("validation-status-object-without-invalid", "presentation.submissions",
    dump(mutated("PresentationVerified", lambda d: d["payload"].__setitem__(
        "validation_status", {"Valid": {}}))), "invalid_value",
    'got an object without "Invalid"')
add("validation-status-invalid-null", "presentation.submissions",
    dump(mutated("PresentationVerified", lambda d: d["payload"].__setitem__(
        "validation_status", {"Invalid": None}))), "missing_field",
    "payload.validation_status.Invalid: required field is missing")
add("pre-authorized-code-missing", "credential.offers",
    dump(mutated(offer, lambda d: set_path(d, ["payload", "grants", "pre_authorized_code"],
                                           {"tx_code": None}))), "missing_field",
    "payload.grants.pre_authorized_code.pre_authorized_code: required field is missing")

# ---- write -----------------------------------------------------------------------------------
if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
slugs = set()
lines = ["# file\ttopic-suffix\tdlq.error.code\tsubstring of dlq.error (see make-corpus.py)"]
for i, (slug, suffix, data, code, substring) in enumerate(cases, 1):
    assert slug not in slugs, slug
    slugs.add(slug)
    name = "%03d-%s.bin" % (i, slug)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    lines.append("\t".join(["records/" + name, suffix, code, substring]))
with open(os.path.join(HERE, "MANIFEST.tsv"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
print("bad-input: %d records" % len(cases))
