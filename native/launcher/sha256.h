// SHA-256 (FIPS 180-4) for the shim launcher: the socket name is the hex digest of a path, and the grouping
// cache is keyed by the digest of the config file's bytes. One-shot API; no allocation.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_BYTES 32
#define SHA256_HEX_CHARS 64

// Writes the 64 lower-case hex digits of SHA-256(data[0..size)) and a terminating NUL into `hex` (65 bytes).
void sha256_hex(const void *data, size_t size, char hex[SHA256_HEX_CHARS + 1]);
