// A scanner-like UDP flooder for end-to-end tests, run as a process of its own (so that the gateway under test
// does not share its event loop): `node --import tsx test/support/udp-flooder.ts TARGET BIND RATE SECONDS`.
// Sends OPTIONS to sip:<ext>@TARGET walking through extensions (as an extension scanner does) at RATE
// datagrams per second for SECONDS, from BIND (ip:port), counts the datagrams that come back, and prints one
// JSON line {sent, received} after a one-second grace for late answers. Bounded by RATE * SECONDS.
import dgram from "node:dgram";

function hostPort(s: string): { ip: string; port: number } {
  const i = s.lastIndexOf(":");
  return { ip: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}

const [targetArg, bindArg, rateArg, secondsArg] = process.argv.slice(2);
if (!targetArg || !bindArg || !rateArg || !secondsArg) {
  process.stderr.write("usage: udp-flooder.ts TARGET_IP:PORT BIND_IP:PORT RATE SECONDS\n");
  process.exit(2);
}
const target = hostPort(targetArg);
const bind = hostPort(bindArg);
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const TICK_MS = 10;

const socket = dgram.createSocket(target.ip.includes(":") ? "udp6" : "udp4");
let sent = 0;
let received = 0;
socket.on("message", () => received++);

function options(n: number): Buffer {
  const ext = 100 + (n % 900);
  return Buffer.from(
    [
      `OPTIONS sip:${ext}@${target.ip}:${target.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${bind.ip}:${bind.port};branch=z9hG4bK-scan-${n};rport`,
      "Max-Forwards: 70",
      `From: <sip:${ext}@${target.ip}>;tag=scan${n}`,
      `To: <sip:${ext}@${target.ip}>`,
      `Call-ID: scan-${n}@${bind.ip}`,
      "CSeq: 1 OPTIONS",
      "User-Agent: e2e-flooder",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  );
}

socket.bind(bind.port, bind.ip, () => {
  const started = performance.now();
  const timer = setInterval(() => {
    // Catch up with the schedule: a late tick sends what the rate asks for by now.
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due) socket.send(options(sent++), target.port, target.ip);
    if (sent >= total) {
      clearInterval(timer);
      setTimeout(() => {
        process.stdout.write(`${JSON.stringify({ sent, received, seconds: (performance.now() - started) / 1000 })}\n`);
        socket.close();
      }, 1000);
    }
  }, TICK_MS);
});
