#include <cerrno>
#include <cstring>

#include "common.h"

namespace husk {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  const char* name = strerrorname_np(err);
  std::string message = std::string(syscall) + ": " + std::strerror(err);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, const char* syscall, const std::string& detail) {
  throw ErrnoError(env, errno, syscall, detail);
}

int ArgInt(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  }
  return info[index].As<Napi::Number>().Int32Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (index >= info.Length() || !info[index].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  return info[index].As<Napi::String>().Utf8Value();
}

}  // namespace husk
