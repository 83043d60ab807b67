// The gateway does what the worker answers: it refuses a worker URL an attacker on the path could answer
// for (plain http to another host) unless the operator says so explicitly.
import { describe, expect, it } from "vitest";
import { GatewayConfigError, loadGatewayConfig } from "../../../edge-gateway/src/config";

const SECRET = { GATEWAY_SECRET: "0123456789abcdef0123" };

describe("WORKER_URL: https, or http only to loopback", () => {
  it("accepts https anywhere and http to a loopback address", () => {
    for (const url of ["https://edge.example.workers.dev", "https://10.0.0.5:8443", "http://127.0.0.1:8787", "http://127.0.5.9", "http://[::1]:8787", "http://localhost:8787"]) {
      expect(loadGatewayConfig(["--worker-url", url], SECRET).workerUrl, url).toBe(url);
    }
  });

  it("refuses plain http to any other host, naming the variable and the way out", () => {
    for (const url of ["http://10.0.0.5:8787", "http://edge.example.com", "http://[2001:db8::1]:8787", "http://128.0.0.1"]) {
      expect(() => loadGatewayConfig(["--worker-url", url], SECRET), url).toThrow(GatewayConfigError);
      expect(() => loadGatewayConfig([], { ...SECRET, WORKER_URL: url }), url).toThrow(/WORKER_URL_INSECURE/);
    }
  });

  it("accepts it with the explicit flag or variable", () => {
    expect(loadGatewayConfig(["--worker-url", "http://10.0.0.5:8787", "--allow-insecure-worker-url"], SECRET).workerUrl).toBe("http://10.0.0.5:8787");
    expect(loadGatewayConfig([], { ...SECRET, WORKER_URL: "http://10.0.0.5:8787", WORKER_URL_INSECURE: "1" }).workerUrl).toBe("http://10.0.0.5:8787");
  });

  it("refuses other schemes", () => {
    expect(() => loadGatewayConfig(["--worker-url", "ftp://127.0.0.1/"], SECRET)).toThrow(/http\(s\)/);
  });
});
