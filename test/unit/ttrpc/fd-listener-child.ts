/**
 * Child process for the "listen on an inherited fd" test: serves Echo on the listening socket it
 * finds at fd 3 (as the shim daemon does), prints "ready", and exits when stdin closes.
 */
import { Echo } from "../../../src/gen/husk/test/v1/echo_pb.js";
import { createTtrpcServer } from "../../../src/ttrpc/index.js";
import { echoImpl } from "./helpers.js";

const server = createTtrpcServer();
server.register(Echo, echoImpl().impl);
await server.listen({ fd: 3 });
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", () => {
  void server.close({ signal: AbortSignal.timeout(2000) });
});
