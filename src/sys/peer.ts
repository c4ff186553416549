/**
 * Credentials of the peer of a connected unix socket.
 *
 * containerd counterpart: `sys.GetPeerCredentials`-style SO_PEERCRED checks of the ttrpc server
 * (ttrpc `UnixSocketRequireSameUser`).
 */
import { HuskError } from "../errors.js";
import { native } from "./native.js";

/** getsockopt(SO_PEERCRED) on a connected AF_UNIX socket: the peer's pid, uid and gid at connect time. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  try {
    return native().peerCredentials(fd);
  } catch (error) {
    throw HuskError.from(error, `peer credentials of fd ${fd}`);
  }
}
