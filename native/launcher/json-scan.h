// Reading a few string members of small JSON documents (the bundle's config.json and runtime.json) without a JSON
// library. Strict: the whole document is validated, and anything this reader cannot reproduce exactly as JSON.parse
// would is reported as JSON_UNSURE so that the caller lets the Node.js implementation decide.
#pragma once

#include <stddef.h>

enum json_scan_result {
  JSON_OK = 0,
  // Invalid, or valid in a way this reader does not reproduce (deep nesting, a BOM, …).
  JSON_UNSURE = 1,
  // json_spec_pod_group only: the document is fine but the pod group cannot be reproduced exactly.
  JSON_GROUP_UNSURE = 2,
};

// What a document held under one key: the last occurrence wins, as with JSON.parse.
enum json_member_state {
  JSON_ABSENT,   // no such key, or (where noted) JSON null
  JSON_STRING,   // an ASCII string without NUL, in `value`
  JSON_OTHER,    // anything else: a number, boolean, object, array, or a string this reader does not decode
};

#define JSON_VALUE_CAPACITY 1024

struct json_member {
  const char *key;
  enum json_member_state state;
  char value[JSON_VALUE_CAPACITY];
};

// Validates `json[0..size)` in full (RFC 8259, nesting at most 512 deep; the top level must be an object) and
// records the top-level members named in `members[i].key`. JSON null counts as JSON_OTHER here.
enum json_scan_result json_top_members(const char *json, size_t size, struct json_member *members, size_t count);

// Validates an OCI spec like json_top_members and extracts its pod group: the `io.containerd.runc.v2.group`
// annotation, else `io.kubernetes.cri.sandbox-id` (a JSON null counts as absent, as `??` does), into `group`
// (`capacity` bytes): "" when neither is present. JSON_GROUP_UNSURE for a non-object `annotations`, or a chosen value
// that is not a non-empty ASCII string of at most `capacity` - 1 bytes.
enum json_scan_result json_spec_pod_group(const char *json, size_t size, char *group, size_t capacity);
