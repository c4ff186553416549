// A strict recursive-descent JSON validator that keeps only the members it is asked for. It is deliberately stricter
// than JSON.parse in corner cases (it refuses rather than guesses), never more lenient: whatever it accepts, JSON.parse
// accepts with the same values for those members.
#include "json-scan.h"

#include <stdbool.h>
#include <string.h>

#define MAX_DEPTH 512
#define KEY_CAPACITY 64
#define GROUP_ANNOTATION "io.containerd.runc.v2.group"
#define SANDBOX_ANNOTATION "io.kubernetes.cri.sandbox-id"

struct parser;
// Called with the parser positioned at a member's value; must consume that value.
typedef bool (*member_handler)(struct parser *, const char *key, int depth);

struct parser {
  const char *at;
  const char *end;
  struct json_member *members;  // json_top_members
  size_t count;
  struct json_member annotations[2];  // json_spec_pod_group: group, sandbox
};

// A decoded string: ASCII without NUL only (anything else sets `unusual` and is not stored).
struct decoded {
  char *text;
  size_t capacity;
  size_t length;
  bool unusual;
};

static void skip_whitespace(struct parser *p) {
  while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' || *p->at == '\n' || *p->at == '\r')) p->at++;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void append(struct decoded *out, unsigned code) {
  if (out == NULL) return;
  // Non-ASCII would need JavaScript's UTF-16 → UTF-8 rules; NUL would end the C string early.
  if (code >= 0x80 || code == 0 || out->length + 1 >= out->capacity) {
    out->unusual = true;
    return;
  }
  out->text[out->length++] = (char)code;
  out->text[out->length] = '\0';
}

// Parses a string starting at the opening quote; decodes it into `out` when not NULL.
static bool parse_string(struct parser *p, struct decoded *out) {
  if (out != NULL) {
    out->length = 0;
    out->unusual = false;
    out->text[0] = '\0';
  }
  if (p->at >= p->end || *p->at != '"') return false;
  p->at++;
  while (p->at < p->end) {
    unsigned char c = (unsigned char)*p->at++;
    if (c == '"') return true;
    if (c < 0x20) return false;
    if (c != '\\') {
      append(out, c);
      continue;
    }
    if (p->at >= p->end) return false;
    char escape = *p->at++;
    switch (escape) {
      case '"': append(out, '"'); break;
      case '\\': append(out, '\\'); break;
      case '/': append(out, '/'); break;
      case 'b': append(out, '\b'); break;
      case 'f': append(out, '\f'); break;
      case 'n': append(out, '\n'); break;
      case 'r': append(out, '\r'); break;
      case 't': append(out, '\t'); break;
      case 'u': {
        if (p->end - p->at < 4) return false;
        unsigned code = 0;
        for (int i = 0; i < 4; i++) {
          int digit = hex_value(p->at[i]);
          if (digit < 0) return false;
          code = code * 16 + (unsigned)digit;
        }
        p->at += 4;
        append(out, code);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

static bool parse_digits(struct parser *p) {
  const char *start = p->at;
  while (p->at < p->end && *p->at >= '0' && *p->at <= '9') p->at++;
  return p->at > start;
}

static bool parse_number(struct parser *p) {
  if (p->at < p->end && *p->at == '-') p->at++;
  if (p->at >= p->end) return false;
  if (*p->at == '0') {
    p->at++;
  } else if (!parse_digits(p)) {
    return false;
  }
  if (p->at < p->end && *p->at == '.') {
    p->at++;
    if (!parse_digits(p)) return false;
  }
  if (p->at < p->end && (*p->at == 'e' || *p->at == 'E')) {
    p->at++;
    if (p->at < p->end && (*p->at == '+' || *p->at == '-')) p->at++;
    if (!parse_digits(p)) return false;
  }
  return true;
}

static bool parse_literal(struct parser *p, const char *word) {
  size_t length = strlen(word);
  if ((size_t)(p->end - p->at) < length || memcmp(p->at, word, length) != 0) return false;
  p->at += length;
  return true;
}

static bool parse_value(struct parser *p, int depth);

// Parses `{ "k": v, … }` starting at '{'; `on_member` (or plain validation when NULL) consumes each value.
// Keys that are not short ASCII strings are passed as "" (they can match nothing we look for).
static bool parse_object(struct parser *p, int depth, member_handler on_member) {
  if (depth > MAX_DEPTH) return false;
  p->at++;
  skip_whitespace(p);
  if (p->at < p->end && *p->at == '}') {
    p->at++;
    return true;
  }
  char key_text[KEY_CAPACITY];
  struct decoded key = {key_text, sizeof key_text, 0, false};
  for (;;) {
    skip_whitespace(p);
    if (!parse_string(p, &key)) return false;
    skip_whitespace(p);
    if (p->at >= p->end || *p->at != ':') return false;
    p->at++;
    skip_whitespace(p);
    const char *name = key.unusual ? "" : key.text;
    if (!(on_member != NULL ? on_member(p, name, depth + 1) : parse_value(p, depth + 1))) return false;
    skip_whitespace(p);
    if (p->at >= p->end) return false;
    if (*p->at == ',') {
      p->at++;
      continue;
    }
    if (*p->at == '}') {
      p->at++;
      return true;
    }
    return false;
  }
}

static bool parse_array(struct parser *p, int depth) {
  if (depth > MAX_DEPTH) return false;
  p->at++;
  skip_whitespace(p);
  if (p->at < p->end && *p->at == ']') {
    p->at++;
    return true;
  }
  for (;;) {
    skip_whitespace(p);
    if (!parse_value(p, depth + 1)) return false;
    skip_whitespace(p);
    if (p->at >= p->end) return false;
    if (*p->at == ',') {
      p->at++;
      continue;
    }
    if (*p->at == ']') {
      p->at++;
      return true;
    }
    return false;
  }
}

static bool parse_value(struct parser *p, int depth) {
  if (p->at >= p->end) return false;
  switch (*p->at) {
    case '{': return parse_object(p, depth, NULL);
    case '[': return parse_array(p, depth);
    case '"': return parse_string(p, NULL);
    case 't': return parse_literal(p, "true");
    case 'f': return parse_literal(p, "false");
    case 'n': return parse_literal(p, "null");
    default: return parse_number(p);
  }
}

// Records a member's value: a decodable string, JSON null (when `null_is_absent`), or anything else.
static bool record_value(struct parser *p, struct json_member *member, bool null_is_absent, int depth) {
  if (p->at < p->end && *p->at == '"') {
    struct decoded value = {member->value, sizeof member->value, 0, false};
    if (!parse_string(p, &value)) return false;
    member->state = value.unusual ? JSON_OTHER : JSON_STRING;
    return true;
  }
  if (null_is_absent && p->at < p->end && *p->at == 'n') {
    member->state = JSON_ABSENT;
    return parse_literal(p, "null");
  }
  member->state = JSON_OTHER;
  return parse_value(p, depth);
}

static bool on_requested_member(struct parser *p, const char *key, int depth) {
  for (size_t i = 0; i < p->count; i++) {
    if (strcmp(p->members[i].key, key) == 0) return record_value(p, &p->members[i], false, depth);
  }
  return parse_value(p, depth);
}

static bool on_annotation(struct parser *p, const char *key, int depth) {
  for (size_t i = 0; i < 2; i++) {
    if (strcmp(p->annotations[i].key, key) == 0) return record_value(p, &p->annotations[i], true, depth);
  }
  return parse_value(p, depth);
}

static bool on_spec_member(struct parser *p, const char *key, int depth) {
  if (strcmp(key, "annotations") != 0) return parse_value(p, depth);
  // A later `annotations` replaces an earlier one entirely.
  p->annotations[0].state = JSON_ABSENT;
  p->annotations[1].state = JSON_ABSENT;
  if (p->at < p->end && *p->at == '{') return parse_object(p, depth, on_annotation);
  if (p->at < p->end && *p->at == 'n') return parse_literal(p, "null");
  // An array, string, number or boolean `annotations`: refuse rather than model JavaScript's property lookup.
  p->annotations[0].state = JSON_OTHER;
  return parse_value(p, depth);
}

static enum json_scan_result scan(struct parser *p, member_handler on_member) {
  skip_whitespace(p);
  if (p->at >= p->end || *p->at != '{') return JSON_UNSURE;
  if (!parse_object(p, 1, on_member)) return JSON_UNSURE;
  skip_whitespace(p);
  return p->at == p->end ? JSON_OK : JSON_UNSURE;
}

enum json_scan_result json_top_members(const char *json, size_t size, struct json_member *members, size_t count) {
  struct parser p = {.at = json, .end = json + size, .members = members, .count = count};
  for (size_t i = 0; i < count; i++) members[i].state = JSON_ABSENT;
  return scan(&p, on_requested_member);
}

enum json_scan_result json_spec_pod_group(const char *json, size_t size, char *group, size_t capacity) {
  struct parser p = {.at = json, .end = json + size};
  p.annotations[0].key = GROUP_ANNOTATION;
  p.annotations[0].state = JSON_ABSENT;
  p.annotations[1].key = SANDBOX_ANNOTATION;
  p.annotations[1].state = JSON_ABSENT;
  if (scan(&p, on_spec_member) != JSON_OK) return JSON_UNSURE;
  if (capacity == 0) return JSON_GROUP_UNSURE;
  const struct json_member *chosen = p.annotations[0].state != JSON_ABSENT   ? &p.annotations[0]
                                     : p.annotations[1].state != JSON_ABSENT ? &p.annotations[1]
                                                                             : NULL;
  if (chosen == NULL) {
    group[0] = '\0';
    return JSON_OK;
  }
  // An empty string is not nullish in JavaScript: it would be the group, and path.join would drop it.
  size_t length = strlen(chosen->value);
  if (chosen->state != JSON_STRING || length == 0 || length + 1 > capacity) return JSON_GROUP_UNSURE;
  memcpy(group, chosen->value, length + 1);
  return JSON_OK;
}
