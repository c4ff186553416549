// mount(2) and umount2(2), the two syscalls the shim needs for a task's rootfs.
#include <sys/mount.h>

#include <cerrno>

#include "common.h"

namespace husk {
namespace {

// mount(source, target, fstype, flags, data): mount(2) verbatim; flags are MS_* bits computed in
// JS (they fit in 32 bits), data may be "" for none. No fds.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = ArgString(info, 0, "source");
  std::string target = ArgString(info, 1, "target");
  std::string fstype = ArgString(info, 2, "fstype");
  if (info.Length() < 4 || !info[3].IsNumber()) throw Napi::TypeError::New(info.Env(), "flags must be a number");
  auto flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = ArgString(info, 4, "data");
  if (mount(source.empty() ? nullptr : source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(),
            flags, data.empty() ? nullptr : data.c_str()) < 0) {
    ThrowErrno(info.Env(), "mount", target);
  }
  return info.Env().Undefined();
}

// umount2(target, flags): umount2(2) verbatim.
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string target = ArgString(info, 0, "target");
  if (umount2(target.c_str(), ArgInt(info, 1, "flags")) < 0) ThrowErrno(info.Env(), "umount2", target);
  return info.Env().Undefined();
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, unsigned long value) { c.Set(name, Napi::Number::New(env, static_cast<double>(value))); };
  set("MS_RDONLY", MS_RDONLY);
  set("MS_NOSUID", MS_NOSUID);
  set("MS_NODEV", MS_NODEV);
  set("MS_NOEXEC", MS_NOEXEC);
  set("MS_SYNCHRONOUS", MS_SYNCHRONOUS);
  set("MS_REMOUNT", MS_REMOUNT);
  set("MS_MANDLOCK", MS_MANDLOCK);
  set("MS_DIRSYNC", MS_DIRSYNC);
  set("MS_NOATIME", MS_NOATIME);
  set("MS_NODIRATIME", MS_NODIRATIME);
  set("MS_BIND", MS_BIND);
  set("MS_REC", MS_REC);
  set("MS_UNBINDABLE", MS_UNBINDABLE);
  set("MS_PRIVATE", MS_PRIVATE);
  set("MS_SLAVE", MS_SLAVE);
  set("MS_SHARED", MS_SHARED);
  set("MS_RELATIME", MS_RELATIME);
  set("MS_STRICTATIME", MS_STRICTATIME);
  set("MNT_DETACH", MNT_DETACH);
  return c;
}

}  // namespace

void InitMount(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("mountConstants", Constants(env));
}

}  // namespace husk
