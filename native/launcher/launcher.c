// containerd-shim-husk-v2 launcher: the binary containerd runs for `start` (once per container) and `delete` (after
// every teardown). It is not Node.js, so that `start` costs about a millisecond instead of a Node.js start-up:
//
// - `start`, common case: reads the options on stdin and the grouping policy (from the policy cache, see below), the
//   pod group from the bundle's config.json, computes the socket path exactly as src/shim/start.ts does
//   (`/run/containerd/s/<sha256(<address>/<namespace>/<group>)>`), and either finds a daemon listening there (writes
//   `address` into the bundle, prints it: no new process) or binds the socket itself and starts the Node.js daemon
//   with the listening socket as fd 3 — the same argv, stdio, session, environment and files as start.ts.
// - `delete` after a normal teardown, when the daemon has already deleted the runtime container and unmounted the
//   rootfs: checks that this is so, removes a dead socket, prints the DeleteResponse src/shim/delete.ts would print.
// - anything else (-v, the daemon mode, a flag error) and every case this file does not reproduce exactly
//   (shim_cgroup, an unknown config file, unusual JSON, a group or address that path.join would rewrite, runtime
//   state or mounts left to clean, any error before the daemon is spawned): exec `node <entry> <same argv>` with the
//   same stdin bytes, and the Node.js implementation decides. The fast paths never guess.
//
// The grouping policy lives in a TOML file this program does not parse. The Node.js `start` caches each config file
// it has parsed as `/run/husk/shim-grouping/<sha256 of the file's bytes>` holding the policy word; this program
// hashes the bytes it reads and uses the cached word only for identical bytes. A file it has no entry for (new or
// edited) goes through Node.js once, which validates it, reports errors exactly as before, and writes the entry.
//
// Ownership: every fd opened here is O_CLOEXEC; the daemon gets /dev/null (0, 1), the log FIFO or /dev/null (2) and
// the listening socket (3). Nothing but the address is written to stdout; nothing to stderr on success.
//
// containerd counterpart: runtime/v2/runc/manager/manager_linux.go `Start` and `Stop` (+ runtime/v2/shim/util_unix.go).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "json-scan.h"

extern char **environ;

#define PROGRAM "containerd-shim-husk-v2"
#define SOCKET_DIR "/run/containerd/s"
#define GROUPING_CACHE_DIR "/run/husk/shim-grouping"
#define DEFAULT_CONFIG_PATH "/etc/husk/shim.toml"
#define NAMESPACE_GROUP "@husk:namespace"
#define BUNDLE_ENTRY "dist/bundle/containerd-shim-husk-v2.mjs"
#define TSC_ENTRY "dist/src/shim/main.js"
#define PROBE_TIMEOUT_MS 100
#define BIND_ATTEMPTS 3
// Files larger than this are left to Node.js (a spec or config file this big is not the common case).
#define MAX_FILE_BYTES ((size_t)4 << 20)

// The shim's flags, parsed as src/shim/flags.ts parses them.
struct flags {
  const char *namespace;
  const char *address;
  const char *id;
  const char *bundle;
  bool debug;
  bool version;
  const char *action;
};

// What `start` read from its stdin (src/shim/options-lite.ts `readStartOptions`).
struct start_options {
  char shim_cgroup[PATH_MAX];
  char config_path[PATH_MAX];
};

// A byte buffer read from a file or stdin (heap, owned by whoever holds it; freed by process exit).
struct bytes {
  char *data;
  size_t size;
};

static int saved_argc;
static char **saved_argv;
// stdin bytes consumed by the fast path, replayed to Node.js on fallback.
static struct bytes stdin_bytes;
static bool stdin_consumed;

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

static void fail(const char *message) {
  dprintf(2, PROGRAM ": %s\n", message);
  exit(1);
}

// Reads all of `fd` (not closed) into `out`; false on a read error or beyond `limit` bytes.
static bool read_all(int fd, struct bytes *out, size_t limit) {
  size_t capacity = 4096;
  out->data = malloc(capacity);
  out->size = 0;
  if (out->data == NULL) return false;
  for (;;) {
    if (out->size == capacity) {
      if (capacity >= limit) return false;
      capacity *= 2;
      char *grown = realloc(out->data, capacity);
      if (grown == NULL) return false;
      out->data = grown;
    }
    ssize_t n = read(fd, out->data + out->size, capacity - out->size);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->size += (size_t)n;
  }
}

// open(O_RDONLY|O_CLOEXEC) + read_all + close. Sets errno on failure (ENOENT for a missing file).
static bool read_file(const char *path, struct bytes *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = read_all(fd, out, MAX_FILE_BYTES);
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

static bool write_all(int fd, const char *data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= (size_t)n;
  }
  return true;
}

// Writes `content` to `<path>.<pid>.tmp` (mode 0644 before umask) and renames it over `path`, as start.ts does.
static bool write_atomic(const char *path, const char *content) {
  char temporary[PATH_MAX];
  if (snprintf(temporary, sizeof temporary, "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof temporary) return false;
  int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = write_all(fd, content, strlen(content));
  if (close(fd) != 0) ok = false;
  if (!ok || rename(temporary, path) != 0) {
    unlink(temporary);
    return false;
  }
  return true;
}

// `dir/name` into `out` (PATH_MAX bytes); false when it does not fit.
static bool path_join(char *out, const char *dir, const char *name) {
  int length = snprintf(out, PATH_MAX, "%s/%s", dir, name);
  return length >= 0 && length < PATH_MAX;
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Falling back to Node.js

// The repository (or package) root: this binary lives at <root>/dist/launcher/containerd-shim-husk-v2.
static bool package_root(char root[PATH_MAX]) {
  ssize_t n = readlink("/proc/self/exe", root, PATH_MAX - 1);
  if (n <= 0) return false;
  root[n] = '\0';
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(root, '/');
    if (slash == NULL || slash == root) return false;
    *slash = '\0';
  }
  return true;
}

// The Node.js entry script: the esbuild bundle when it is at least as new as the tsc output, else the tsc output.
// tsc rewrites every file it emits, so a main.js newer than the bundle means the bundle may predate the code (someone
// ran tsc alone after `npm run bundle`).
static bool node_entry(char entry[PATH_MAX]) {
  char root[PATH_MAX];
  char bundle[PATH_MAX];
  char tsc[PATH_MAX];
  if (!package_root(root) || !path_join(bundle, root, BUNDLE_ENTRY) || !path_join(tsc, root, TSC_ENTRY)) return false;
  struct stat bundle_stat;
  struct stat tsc_stat;
  bool has_bundle = stat(bundle, &bundle_stat) == 0;
  bool has_tsc = stat(tsc, &tsc_stat) == 0;
  bool bundle_fresh = has_bundle && (!has_tsc || bundle_stat.st_mtim.tv_sec > tsc_stat.st_mtim.tv_sec ||
                                     (bundle_stat.st_mtim.tv_sec == tsc_stat.st_mtim.tv_sec &&
                                      bundle_stat.st_mtim.tv_nsec >= tsc_stat.st_mtim.tv_nsec));
  if (!has_bundle && !has_tsc) return false;
  snprintf(entry, PATH_MAX, "%s", bundle_fresh ? bundle : tsc);
  return true;
}

// `node` looked up on PATH (as `#!/usr/bin/env node` would), as an absolute path when PATH holds one.
static bool find_node(char node[PATH_MAX]) {
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  while (*path != '\0') {
    const char *colon = strchr(path, ':');
    size_t length = colon == NULL ? strlen(path) : (size_t)(colon - path);
    if (length == 0) {
      snprintf(node, PATH_MAX, "node");
    } else {
      snprintf(node, PATH_MAX, "%.*s/node", (int)length, path);
    }
    struct stat st;
    if (stat(node, &st) == 0 && S_ISREG(st.st_mode) && access(node, X_OK) == 0) return true;
    if (colon == NULL) break;
    path = colon + 1;
  }
  return false;
}

// Replaces this process with `node <entry> <argv[1..]>`. stdin bytes already consumed are handed over in a memfd
// (dup2'd onto fd 0), so Node.js reads exactly what containerd wrote. Never returns.
static void exec_node(void) {
  char node[PATH_MAX];
  char entry[PATH_MAX];
  if (!find_node(node)) fail("cannot find node on PATH");
  if (!node_entry(entry)) fail("cannot find the shim's Node.js entry (run npm run build)");
  if (stdin_consumed && stdin_bytes.size > 0) {
    int memfd = memfd_create("husk-start-stdin", MFD_CLOEXEC);
    if (memfd < 0 || !write_all(memfd, stdin_bytes.data, stdin_bytes.size) || lseek(memfd, 0, SEEK_SET) != 0 ||
        dup2(memfd, 0) < 0) {
      fail("cannot hand stdin over to node");
    }
    close(memfd);
  }
  char **argv = calloc((size_t)saved_argc + 2, sizeof *argv);
  if (argv == NULL) fail("out of memory");
  argv[0] = node;
  argv[1] = entry;
  for (int i = 1; i < saved_argc; i++) argv[i + 1] = saved_argv[i];
  execv(node, argv);
  dprintf(2, PROGRAM ": cannot exec %s: %s\n", node, strerror(errno));
  exit(1);
}

// ---------------------------------------------------------------------------------------------------------------
// Flags (src/shim/flags.ts)

static bool parse_bool(const char *value, bool *out) {
  if (value == NULL) {
    *out = true;
    return true;
  }
  if (strcasecmp(value, "1") == 0 || strcasecmp(value, "t") == 0 || strcasecmp(value, "true") == 0) {
    *out = true;
    return true;
  }
  if (strcasecmp(value, "0") == 0 || strcasecmp(value, "f") == 0 || strcasecmp(value, "false") == 0) {
    *out = false;
    return true;
  }
  return false;
}

// False for anything flags.ts would reject (Node.js then reports it).
static bool parse_flags(int argc, char **argv, struct flags *flags) {
  *flags = (struct flags){"", "", "", "", false, false, ""};
  const char *ignored;
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || strcmp(arg, "-") == 0) break;
    const char *body = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(body, '=');
    size_t name_length = eq == NULL ? strlen(body) : (size_t)(eq - body);
    const char *inline_value = eq == NULL ? NULL : eq + 1;
#define NAME_IS(literal) (name_length == strlen(literal) && strncmp(body, literal, name_length) == 0)
    const char **target = NAME_IS("namespace")        ? &flags->namespace
                          : NAME_IS("address")        ? &flags->address
                          : NAME_IS("id")             ? &flags->id
                          : NAME_IS("publish-binary") ? &ignored
                          : NAME_IS("bundle")         ? &flags->bundle
                          : NAME_IS("socket")         ? &ignored
                                                      : NULL;
    if (target != NULL) {
      if (inline_value == NULL) {
        if (i + 1 >= argc) return false;
        inline_value = argv[++i];
      }
      *target = inline_value;
    } else if (NAME_IS("debug")) {
      if (!parse_bool(inline_value, &flags->debug)) return false;
    } else if (NAME_IS("v")) {
      if (!parse_bool(inline_value, &flags->version)) return false;
    } else {
      return false;
    }
#undef NAME_IS
  }
  flags->action = i < argc ? argv[i] : "";
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// stdin options (src/shim/options-lite.ts)

struct field_view {
  const uint8_t *data;
  size_t size;
  bool present;
};

static bool read_varint(const uint8_t **at, const uint8_t *end, uint64_t *value) {
  *value = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (*at >= end) return false;
    uint8_t byte = *(*at)++;
    if (shift == 63 && (byte & 0x7e) != 0) return false;  // beyond 64 bits: let Node.js's BigInt decide
    *value |= (uint64_t)(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Finds the last length-delimited field `wanted` of a message (absent → present=false). False on malformed input.
static bool find_bytes_field(const uint8_t *data, size_t size, uint64_t wanted, struct field_view *out) {
  const uint8_t *at = data;
  const uint8_t *end = data + size;
  out->present = false;
  while (at < end) {
    uint64_t key;
    if (!read_varint(&at, end, &key)) return false;
    uint64_t field = key >> 3;
    uint64_t value;
    switch (key & 7) {
      case 0:
        if (!read_varint(&at, end, &value)) return false;
        if (field == wanted) out->present = false;  // a varint is not a string: as readFields, the last one wins
        break;
      case 1:
        at += end - at < 8 ? end - at : 8;
        break;
      case 2:
        if (!read_varint(&at, end, &value) || value > (uint64_t)(end - at)) return false;
        if (field == wanted) *out = (struct field_view){at, (size_t)value, true};
        at += value;
        break;
      case 5:
        at += end - at < 4 ? end - at : 4;
        break;
      default:
        return false;
    }
  }
  return true;
}

// A string field as printable ASCII (anything else is left to Node.js's TextDecoder and regexes); "" when absent.
static bool copy_string_field(const uint8_t *data, size_t size, uint64_t field, char *out, size_t capacity) {
  struct field_view view;
  if (!find_bytes_field(data, size, field, &view)) return false;
  out[0] = '\0';
  if (!view.present) return true;
  if (view.size + 1 > capacity) return false;
  for (size_t i = 0; i < view.size; i++) {
    if (view.data[i] < 0x20 || view.data[i] >= 0x7f) return false;
  }
  memcpy(out, view.data, view.size);
  out[view.size] = '\0';
  return true;
}

static bool parse_start_options(const struct bytes *input, struct start_options *options) {
  options->shim_cgroup[0] = '\0';
  options->config_path[0] = '\0';
  if (input->size == 0) return true;
  const uint8_t *data = (const uint8_t *)input->data;
  char type_url[512];
  if (!copy_string_field(data, input->size, 1, type_url, sizeof type_url)) return false;
  struct field_view value;
  if (!find_bytes_field(data, input->size, 2, &value)) return false;
  const uint8_t *inner = value.present ? value.data : (const uint8_t *)"";
  size_t inner_size = value.present ? value.size : 0;
  // Validate the inner message as readFields would (it throws on malformed input whatever the type).
  struct field_view unused;
  if (!find_bytes_field(inner, inner_size, 0, &unused)) return false;
  const char *slash = strrchr(type_url, '/');
  const char *name = slash == NULL ? type_url : slash + 1;
  if (strcmp(name, "containerd.runc.v1.Options") == 0) {
    return copy_string_field(inner, inner_size, 3, options->shim_cgroup, sizeof options->shim_cgroup);
  }
  if (strcmp(name, "containerd.linux.runc.CreateOptions") == 0) {
    return copy_string_field(inner, inner_size, 9, options->shim_cgroup, sizeof options->shim_cgroup);
  }
  if (strcmp(name, "runtimeoptions.v1.Options") == 0) {
    return copy_string_field(inner, inner_size, 2, options->config_path, sizeof options->config_path);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Grouping policy (src/shim/config.ts: ConfigPath, then HUSK_SHIM_CONFIG, then /etc/husk/shim.toml)

enum grouping { GROUPING_UNKNOWN, GROUPING_CONTAINER, GROUPING_POD, GROUPING_NAMESPACE };

static enum grouping cached_grouping(const struct start_options *options) {
  const char *path = options->config_path;
  bool required = true;
  if (*path == '\0') {
    const char *from_env = getenv("HUSK_SHIM_CONFIG");
    if (from_env != NULL && *from_env != '\0') {
      path = from_env;
    } else {
      path = DEFAULT_CONFIG_PATH;
      required = false;
    }
  }
  struct bytes content;
  if (!read_file(path, &content)) {
    // Only a missing default file means "the defaults"; everything else is Node.js's to report.
    return errno == ENOENT && !required ? GROUPING_POD : GROUPING_UNKNOWN;
  }
  char digest[SHA256_HEX_CHARS + 1];
  sha256_hex(content.data, content.size, digest);
  free(content.data);
  char entry_path[PATH_MAX];
  snprintf(entry_path, sizeof entry_path, "%s/%s", GROUPING_CACHE_DIR, digest);
  struct bytes entry;
  if (!read_file(entry_path, &entry)) return GROUPING_UNKNOWN;
  while (entry.size > 0 && (entry.data[entry.size - 1] == '\n' || entry.data[entry.size - 1] == ' ')) entry.size--;
  enum grouping result = GROUPING_UNKNOWN;
  if (entry.size == 9 && memcmp(entry.data, "container", 9) == 0) result = GROUPING_CONTAINER;
  if (entry.size == 3 && memcmp(entry.data, "pod", 3) == 0) result = GROUPING_POD;
  if (entry.size == 9 && memcmp(entry.data, "namespace", 9) == 0) result = GROUPING_NAMESPACE;
  free(entry.data);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// The socket path (src/shim/start.ts socketPath/groupFor)

// True when path.posix.join would return "<a>/<b>/<c>" unchanged: an absolute address with no empty, "." or ".."
// segment and no trailing slash; namespace and group single non-empty segments other than "." and "..".
static bool is_clean_segment(const char *segment) {
  return *segment != '\0' && strchr(segment, '/') == NULL && strcmp(segment, ".") != 0 && strcmp(segment, "..") != 0;
}

static bool is_clean_absolute(const char *path) {
  if (path[0] != '/' || path[1] == '\0') return false;
  const char *at = path + 1;
  for (;;) {
    const char *slash = strchr(at, '/');
    size_t length = slash == NULL ? strlen(at) : (size_t)(slash - at);
    if (length == 0) return false;
    if ((length == 1 && at[0] == '.') || (length == 2 && at[0] == '.' && at[1] == '.')) return false;
    if (slash == NULL) return true;
    at = slash + 1;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sockets

// socket + non-blocking connect; a connect still in progress gets PROBE_TIMEOUT_MS to complete. The fd is closed.
static bool is_listening(const char *path) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  // Too long for sockaddr_un: Node.js's connect fails too.
  if (strlen(path) >= sizeof address.sun_path || !file_exists(path)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  strcpy(address.sun_path, path);
  bool listening = false;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
    listening = true;
  } else if (errno == EINPROGRESS || errno == EAGAIN) {
    struct pollfd poller = {.fd = fd, .events = POLLOUT};
    if (poll(&poller, 1, PROBE_TIMEOUT_MS) == 1) {
      int error = 0;
      socklen_t length = sizeof error;
      listening = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
  }
  close(fd);
  return listening;
}

enum bind_result { BIND_OK, BIND_REUSED, BIND_FAILED };

// mkdir -p the socket dir (0700), then socket + bind + listen + chmod 0600; on EADDRINUSE either a live daemon won
// the race (BIND_REUSED) or a dead one left its file (unlink, retry). *listen_fd is O_CLOEXEC and ours to close.
static enum bind_result bind_socket(const char *path, int *listen_fd) {
  if (mkdir("/run/containerd", 0700) != 0 && errno != EEXIST) return BIND_FAILED;
  if (mkdir(SOCKET_DIR, 0700) != 0 && errno != EEXIST) return BIND_FAILED;
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return BIND_FAILED;
  strcpy(address.sun_path, path);
  for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return BIND_FAILED;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) == 0) {
      if (listen(fd, SOMAXCONN) != 0 || chmod(path, 0600) != 0) {
        close(fd);
        unlink(path);
        return BIND_FAILED;
      }
      *listen_fd = fd;
      return BIND_OK;
    }
    int error = errno;
    close(fd);
    if (error != EADDRINUSE) return BIND_FAILED;
    if (is_listening(path)) return BIND_REUSED;
    unlink(path);  // a SIGKILLed daemon's leftover (or removed concurrently)
  }
  return BIND_FAILED;
}

// ---------------------------------------------------------------------------------------------------------------
// The daemon

// fork; in the child: setsid, default signal dispositions and an empty mask (as libuv's spawn), fds 0/1 = /dev/null,
// 2 = `stderr_fd`, 3 = `listen_fd` (both first moved above 9 so that the dup2s cannot clobber each other), then
// execve(argv[0], argv, environ). A CLOEXEC pipe reports an exec failure's errno. Returns the pid, or -1 with errno.
// The caller keeps `listen_fd` and `stderr_fd`.
static pid_t spawn_daemon(char *const argv[], int listen_fd, int stderr_fd) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(report[0]);
    close(report[1]);
    errno = error;
    return -1;
  }
  if (pid == 0) {
    int error = 0;
    setsid();
    for (int signal_number = 1; signal_number < NSIG; signal_number++) signal(signal_number, SIG_DFL);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int high_null = null_fd < 0 ? -1 : fcntl(null_fd, F_DUPFD_CLOEXEC, 10);
    int high_stderr = stderr_fd < 0 ? high_null : fcntl(stderr_fd, F_DUPFD_CLOEXEC, 10);
    int high_listen = fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
    if (high_null < 0 || high_stderr < 0 || high_listen < 0 || dup2(high_null, 0) < 0 || dup2(high_null, 1) < 0 ||
        dup2(high_stderr, 2) < 0 || dup2(high_listen, 3) < 0) {
      error = errno;
    } else {
      execve(argv[0], argv, environ);
      error = errno;
    }
    (void)!write(report[1], &error, sizeof error);
    _exit(127);
  }
  close(report[1]);
  int child_error = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_error, sizeof child_error);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    waitpid(pid, NULL, 0);
    errno = child_error;
    return -1;
  }
  return pid;
}

// containerd expects the daemon to be a little more killable than itself: own oom_score_adj + 1 (at most 1000).
// Not permitted (unprivileged) is fine.
static void adjust_oom_score(pid_t pid) {
  struct bytes own;
  if (!read_file("/proc/self/oom_score_adj", &own)) return;
  char text[32];
  size_t length = own.size < sizeof text - 1 ? own.size : sizeof text - 1;
  memcpy(text, own.data, length);
  text[length] = '\0';
  free(own.data);
  long score = strtol(text, NULL, 10) + 1;
  if (score > 1000) score = 1000;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)pid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  dprintf(fd, "%ld", score);
  close(fd);
}

// ---------------------------------------------------------------------------------------------------------------
// start

static void print_address(const char *address) {
  if (!write_all(1, address, strlen(address))) exit(1);
  exit(0);
}

// The fast `start`. Returns only when Node.js must take over (nothing irreversible has happened then).
static void try_start(const struct flags *flags) {
  if (*flags->id == '\0' || *flags->namespace == '\0' || *flags->address == '\0') return;
  if (!isatty(0)) {
    stdin_consumed = true;
    // No limit: whatever was consumed must be handed over whole if Node.js takes over. A read error after some bytes
    // would hand over a truncated message: report it instead (Node.js fails on a read error too).
    if (!read_all(0, &stdin_bytes, SIZE_MAX)) {
      if (stdin_bytes.size > 0) fail("cannot read the options on stdin");
      return;
    }
  }
  struct start_options options;
  if (!parse_start_options(&stdin_bytes, &options)) return;
  if (options.shim_cgroup[0] != '\0') return;  // moving the daemon into a cgroup is left to Node.js
  enum grouping grouping = cached_grouping(&options);
  if (grouping == GROUPING_UNKNOWN) return;

  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL) return;
  // start.ts parses config.json whatever the policy (an invalid spec fails start), so it is validated here too.
  char spec_path[PATH_MAX + 16];
  snprintf(spec_path, sizeof spec_path, "%s/config.json", cwd);
  struct bytes spec;
  if (!read_file(spec_path, &spec)) return;
  char pod_group[256];
  enum json_scan_result parsed = json_spec_pod_group(spec.data, spec.size, pod_group, sizeof pod_group);
  free(spec.data);
  // The annotations matter only to the pod policy; the document must be valid whatever the policy.
  if (parsed == JSON_UNSURE || (parsed == JSON_GROUP_UNSURE && grouping == GROUPING_POD)) return;
  const char *group = grouping == GROUPING_CONTAINER   ? flags->id
                      : grouping == GROUPING_NAMESPACE ? NAMESPACE_GROUP
                      : *pod_group != '\0'             ? pod_group
                                                       : flags->id;
  if (!is_clean_absolute(flags->address) || !is_clean_segment(flags->namespace) || !is_clean_segment(group)) return;

  char joined[3 * PATH_MAX];
  int joined_length = snprintf(joined, sizeof joined, "%s/%s/%s", flags->address, flags->namespace, group);
  if (joined_length < 0 || (size_t)joined_length >= sizeof joined) return;
  char digest[SHA256_HEX_CHARS + 1];
  sha256_hex(joined, (size_t)joined_length, digest);
  char socket_path[128];
  snprintf(socket_path, sizeof socket_path, "%s/%s", SOCKET_DIR, digest);
  char address[140];
  snprintf(address, sizeof address, "unix://%s", socket_path);
  char address_file[PATH_MAX + 16];
  snprintf(address_file, sizeof address_file, "%s/address", cwd);

  if (is_listening(socket_path)) {
    if (!write_atomic(address_file, address)) return;
    print_address(address);
  }

  // A new daemon: resolve everything that can fail before binding, so that a fallback leaves no trace.
  char node[PATH_MAX];
  char entry[PATH_MAX];
  if (!find_node(node) || !node_entry(entry)) return;
  char log_path[PATH_MAX + 16];
  snprintf(log_path, sizeof log_path, "%s/log", cwd);
  int stderr_fd = -1;
  if (file_exists(log_path)) {
    // O_RDWR never blocks on a FIFO and keeps it writable while containerd restarts.
    stderr_fd = open(log_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (stderr_fd < 0) return;
  }
  int listen_fd = -1;
  switch (bind_socket(socket_path, &listen_fd)) {
    case BIND_FAILED:
      return;
    case BIND_REUSED:
      if (!write_atomic(address_file, address)) return;
      print_address(address);
      return;
    case BIND_OK:
      break;
  }
  char *argv[] = {node,         entry,   "-namespace", (char *)flags->namespace,
                  "-id",        (char *)flags->id, "-address", (char *)flags->address,
                  "-socket",    socket_path, flags->debug ? "-debug" : NULL, NULL};
  pid_t pid = spawn_daemon(argv, listen_fd, stderr_fd);
  if (pid < 0) {
    close(listen_fd);
    unlink(socket_path);
    return;
  }
  // From here on the daemon exists: failures are reported, as start.ts reports them, never retried in Node.js.
  char pid_file[PATH_MAX + 16];
  snprintf(pid_file, sizeof pid_file, "%s/shim.pid", cwd);
  char pid_text[24];
  snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
  if (!write_atomic(address_file, address)) fail("cannot write the bundle's address file");
  if (!write_atomic(pid_file, pid_text)) fail("cannot write the bundle's shim.pid file");
  adjust_oom_score(pid);
  print_address(address);
}

// ---------------------------------------------------------------------------------------------------------------
// delete (src/shim/delete.ts) when there is nothing left to clean

#define DEFAULT_RUNTIME_ROOT "/run/containerd/runc"
#define MAX_CONTAINER_ID_LENGTH 76
// 128 + SIGKILL, what delete.ts reports.
#define KILLED_STATUS 137

static bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// src/oci/id.ts: alphanumeric runs joined by single '.', '_' or '-', at most 76 characters.
static bool is_valid_container_id(const char *id) {
  size_t length = strlen(id);
  if (length == 0 || length > MAX_CONTAINER_ID_LENGTH) return false;
  bool after_alnum = false;
  for (const char *c = id; *c != '\0'; c++) {
    if (is_ascii_alnum(*c)) {
      after_alnum = true;
    } else if ((*c == '.' || *c == '_' || *c == '-') && after_alnum) {
      after_alnum = false;
    } else {
      return false;
    }
  }
  return after_alnum;
}

// True when the OCI runtime delete.ts would run (from runtime.json, else runc under the default root) is runc or
// crun and has no state for the container: both keep it in <root>/<id>, and `delete --force` of an id they do not
// know only removes that (absent) directory. False when unsure.
static bool runtime_forgot(const char *bundle, const char *namespace, const char *id) {
  char path[PATH_MAX];
  if (!path_join(path, bundle, "runtime.json")) return false;
  struct json_member members[2] = {{.key = "binary"}, {.key = "root"}};
  const char *binary = "runc";
  char root[PATH_MAX];
  if (!is_clean_segment(namespace)) return false;
  if (!path_join(root, DEFAULT_RUNTIME_ROOT, namespace)) return false;
  struct bytes record;
  if (read_file(path, &record)) {
    enum json_scan_result scanned = json_top_members(record.data, record.size, members, 2);
    free(record.data);
    if (scanned != JSON_OK) return false;
    if (members[0].state == JSON_STRING) {
      binary = members[0].value;
    } else if (members[0].state != JSON_ABSENT) {
      return false;
    }
    if (members[1].state == JSON_STRING) {
      if (members[1].value[0] != '/') return false;
      snprintf(root, sizeof root, "%s", members[1].value);
    } else if (members[1].state != JSON_ABSENT) {
      return false;
    }
  } else if (errno != ENOENT) {
    return false;
  }
  if (strcmp(binary, "runc") != 0 && strcmp(binary, "crun") != 0) return false;
  char state[PATH_MAX];
  if (!path_join(state, root, id)) return false;
  struct stat st;
  return lstat(state, &st) != 0 && errno == ENOENT;
}

// Undoes /proc/self/mountinfo's octal escapes in place.
static void unescape_mount_path(char *path) {
  char *out = path;
  for (char *in = path; *in != '\0';) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
        in[3] <= '7') {
      *out++ = (char)(((in[1] - '0') << 6) | ((in[2] - '0') << 3) | (in[3] - '0'));
      in += 4;
    } else {
      *out++ = *in++;
    }
  }
  *out = '\0';
}

// True when nothing is mounted at or below `dir` (or it does not exist), as src/sys/mount.ts sees it; false when
// something is, or when unsure.
static bool nothing_mounted_under(const char *dir) {
  char root[PATH_MAX];
  if (realpath(dir, root) == NULL) return errno == ENOENT;
  for (const char *c = root; *c != '\0'; c++) {
    if ((unsigned char)*c >= 0x80) return false;
  }
  size_t root_length = strlen(root);
  struct bytes mountinfo;
  if (!read_file("/proc/self/mountinfo", &mountinfo)) return false;
  bool clear = true;
  char *line = mountinfo.data;
  char *end = mountinfo.data + mountinfo.size;
  while (clear && line < end) {
    char *newline = memchr(line, '\n', (size_t)(end - line));
    char *line_end = newline == NULL ? end : newline;
    // The fifth space-separated field is the mount point.
    char *field = line;
    for (int i = 0; i < 4 && field != NULL; i++) {
      field = memchr(field, ' ', (size_t)(line_end - field));
      if (field != NULL) field++;
    }
    if (field != NULL) {
      char *field_end = memchr(field, ' ', (size_t)(line_end - field));
      if (field_end == NULL) field_end = line_end;
      char point[PATH_MAX];
      size_t length = (size_t)(field_end - field);
      if (length >= sizeof point) {
        clear = false;
        break;
      }
      memcpy(point, field, length);
      point[length] = '\0';
      unescape_mount_path(point);
      bool is_root = strcmp(point, root) == 0;
      bool below = strncmp(point, root, root_length) == 0 &&
                   (root[root_length - 1] == '/' ? point[root_length] != '\0' : point[root_length] == '/');
      if (is_root || below) clear = false;
    }
    line = line_end + 1;
  }
  free(mountinfo.data);
  return clear;
}

static bool is_js_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// A small text file, trimmed as String.prototype.trim would (ASCII files only). False when unreadable or unusual.
static bool read_trimmed(const char *path, char *out, size_t capacity) {
  struct bytes content;
  if (!read_file(path, &content)) return false;
  size_t start = 0;
  size_t end = content.size;
  while (start < end && is_js_whitespace(content.data[start])) start++;
  while (end > start && is_js_whitespace(content.data[end - 1])) end--;
  bool ok = end - start < capacity;
  for (size_t i = start; ok && i < end; i++) {
    unsigned char c = (unsigned char)content.data[i];
    if (c == 0 || c >= 0x80) ok = false;
  }
  if (ok) {
    memcpy(out, content.data + start, end - start);
    out[end - start] = '\0';
  }
  free(content.data);
  return ok;
}

// delete.ts removeDeadSocket: the socket named by the bundle's `address` file is removed when nobody listens there.
// False (nothing done) when unsure, so that Node.js does it and reports any error.
static bool remove_dead_socket(const char *bundle) {
  char path[PATH_MAX];
  if (!path_join(path, bundle, "address")) return false;
  if (!file_exists(path)) return true;  // start never got that far
  char address[PATH_MAX];
  if (!read_trimmed(path, address, sizeof address)) return false;
  const char *socket_path = strncmp(address, "unix://", 7) == 0 ? address + 7 : address;
  if (*socket_path == '\0') return true;
  if (strlen(socket_path) >= sizeof((struct sockaddr_un *)0)->sun_path) return false;
  if (is_listening(socket_path)) return true;
  return unlink(socket_path) == 0 || errno == ENOENT;
}

// delete.ts readInitPid: parseInt of the trimmed init.pid, 0 unless a positive integer. -1 when unsure.
static long long read_init_pid(const char *bundle) {
  char path[PATH_MAX];
  if (!path_join(path, bundle, "init.pid")) return -1;
  char text[64];
  if (!file_exists(path)) return 0;
  if (!read_trimmed(path, text, sizeof text)) return -1;
  const char *c = text;
  bool negative = *c == '-';
  if (*c == '-' || *c == '+') c++;
  long long pid = 0;
  int digits = 0;
  for (; *c >= '0' && *c <= '9'; c++, digits++) {
    if (digits >= 12) return -1;
    pid = pid * 10 + (*c - '0');
  }
  if (digits == 0 || negative || pid == 0) return 0;
  return pid > 0xffffffffLL ? -1 : pid;
}

static size_t put_varint(uint8_t *out, uint64_t value) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = (uint8_t)(value | 0x80);
    value >>= 7;
  }
  out[n++] = (uint8_t)value;
  return n;
}

// containerd.task.v2.DeleteResponse{pid = 1, exit_status = 2, exited_at = 3 (Timestamp{seconds = 1, nanos = 2})}
// as protobuf-es encodes it: fields in order, zero scalars omitted, the time at millisecond precision.
static size_t encode_delete_response(uint8_t *out, uint64_t pid, const struct timespec *now) {
  uint64_t ms = (uint64_t)now->tv_sec * 1000 + (uint64_t)now->tv_nsec / 1000000;
  uint8_t timestamp[24];
  size_t timestamp_size = 0;
  timestamp[timestamp_size++] = 0x08;
  timestamp_size += put_varint(timestamp + timestamp_size, ms / 1000);
  if (ms % 1000 != 0) {
    timestamp[timestamp_size++] = 0x10;
    timestamp_size += put_varint(timestamp + timestamp_size, (ms % 1000) * 1000000);
  }
  size_t n = 0;
  if (pid != 0) {
    out[n++] = 0x08;
    n += put_varint(out + n, pid);
  }
  out[n++] = 0x10;
  n += put_varint(out + n, KILLED_STATUS);
  out[n++] = 0x1a;
  out[n++] = (uint8_t)timestamp_size;
  memcpy(out + n, timestamp, timestamp_size);
  return n + timestamp_size;
}

// The fast `delete`: after a normal teardown the daemon has already deleted the runtime container and unmounted the
// rootfs, so delete.ts would only find "already gone" everywhere. When that is provably so, do what is left (the
// dead-socket check) and print the same DeleteResponse. Returns only when Node.js must do the real cleanup.
static void try_delete(const struct flags *flags) {
  char cwd[PATH_MAX];
  const char *bundle = flags->bundle;
  if (*bundle == '\0') {
    if (getcwd(cwd, sizeof cwd) == NULL) return;
    bundle = cwd;
  }
  if (!is_valid_container_id(flags->id)) return;
  if (!runtime_forgot(bundle, flags->namespace, flags->id)) return;
  char rootfs[PATH_MAX];
  if (!path_join(rootfs, bundle, "rootfs")) return;
  if (!nothing_mounted_under(rootfs)) return;
  if (!remove_dead_socket(bundle)) return;
  long long pid = read_init_pid(bundle);
  if (pid < 0) return;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint8_t response[64];
  size_t size = encode_delete_response(response, (uint64_t)pid, &now);
  if (!write_all(1, (const char *)response, size)) exit(1);
  exit(0);
}

int main(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
  struct flags flags;
  if (parse_flags(argc, argv, &flags) && !flags.version) {
    if (strcmp(flags.action, "start") == 0) try_start(&flags);
    if (strcmp(flags.action, "delete") == 0) try_delete(&flags);
  }
  exec_node();
}
