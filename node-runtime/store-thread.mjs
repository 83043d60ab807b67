// Entry of the store thread (see thread-store.ts): the thread is a fresh V8 isolate without the parent's
// TypeScript loader, so it registers tsx before loading the TypeScript module that owns the connection.
import { register } from "tsx/esm/api";

register();
await import("./store-thread-main.ts");
