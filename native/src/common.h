// Shared declarations of husk's native addon. Every function registered here is a thin wrapper over
// syscalls Node.js does not expose; all policy lives in src/sys/*.ts.
#pragma once

#include <napi.h>

#include <string>

namespace husk {

// Builds a JS Error whose `code` is the errno name ("ENOENT"), with `errno` (positive number) and
// `syscall` set, like Node's own system errors, so that HuskError.from() maps it by errno.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

// Throws ErrnoError for the current errno.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, const std::string& detail = "");

// Reads an int32 argument, throwing a TypeError naming `what` if it is not a number.
int ArgInt(const Napi::CallbackInfo& info, size_t index, const char* what);
std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* what);

// Registration hooks, one per source file.
void InitReaper(Napi::Env env, Napi::Object exports);
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitConsoleSocket(Napi::Env env, Napi::Object exports);
void InitEventfdWatch(Napi::Env env, Napi::Object exports);
void InitMount(Napi::Env env, Napi::Object exports);

// Spawn generation bookkeeping shared by spawn.cc and reaper.cc (see reaper.cc for the protocol).
// BeginSpawn() takes the generation mutex, increments the generation and returns it; the mutex stays
// held until EndSpawn(), so a clone() between them is atomic with respect to the reaper's reading of
// the generation. EndSpawn() also wakes a reaper that is idle on ECHILD.
unsigned long long BeginSpawn();
void EndSpawn();
// Increments the generation without spawning (used when an exit capture opens) and returns it.
unsigned long long BumpGeneration();

}  // namespace husk
