// Entry of the local store endpoint's thread (see store-server-thread.ts): a fresh isolate without the
// parent's TypeScript loader registers tsx, then loads the TypeScript module that runs the server.
import { register } from "tsx/esm/api";

register();
await import("./store-server-thread-main.ts");
