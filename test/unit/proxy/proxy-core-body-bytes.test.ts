// Bodies are octets (RFC 3261 7.4): a binary body crosses the gateway byte for byte, Content-Length counts
// bytes, and the worker sees it as base64 (text when it is UTF-8).
import { describe, expect, it } from "vitest";
import { decodeEventBody } from "../../../contract/v1";
import { headerValue } from "../../../sip/message";
import { ASTERISK, decide, flush, PHONE_A, requestsOf, setup } from "./core-harness";

const BINARY = Uint8Array.from([0xff, 0x00, 0x80, 0x41]);

function invite(contentLength: number): Uint8Array {
  const head = [
    "INVITE sip:100@tenant-a.example SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-bin-1;rport",
    "Max-Forwards: 70",
    "From: <sip:201@tenant-a.example>;tag=bin-1",
    "To: <sip:100@tenant-a.example>",
    "Call-ID: binary-body-1@10.0.0.5",
    "CSeq: 1 INVITE",
    "Contact: <sip:201@10.0.0.5:5060>",
    "Content-Type: application/octet-stream",
    `Content-Length: ${contentLength}`,
    "",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(head);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The bytes after the empty line of a raw datagram. */
function rawBody(datagram: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < datagram.length; i++) {
    if (datagram[i] === 13 && datagram[i + 1] === 10 && datagram[i + 2] === 13 && datagram[i + 3] === 10) return datagram.subarray(i + 4);
  }
  throw new Error("no empty line");
}

describe("a relayed INVITE with a binary body", () => {
  it("arrives at the Asterisk byte-identical, Content-Length 4, and reaches the worker as base64", async () => {
    const h = setup();
    const raw: Uint8Array[] = [];
    const send = h.phones.send.bind(h.phones);
    h.phones.send = (bytes, to) => {
      raw.push(bytes);
      send(bytes, to);
    };
    h.worker.onRequest = () =>
      decide({ action: "relay", targets: [{ requestUri: "sip:100@198.51.100.10:5060", nextHop: { ip: ASTERISK.ip, port: ASTERISK.port } }], recordRoute: true });

    h.core.onDatagram(concat(invite(4), BINARY), PHONE_A, h.phones);
    await flush();

    const event = h.worker.requests[0];
    expect(event?.bodyEncoding).toBe("base64");
    expect(event?.body).toBe("/wCAQQ==");
    expect(event && decodeEventBody(event)).toEqual(BINARY);

    const sent = requestsOf(h.take(), "INVITE");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toMatchObject({ ip: ASTERISK.ip, port: ASTERISK.port });
    expect(headerValue(sent[0]!.request, "Content-Length")).toBe("4");
    const datagram = raw.find((b) => new TextDecoder().decode(b.subarray(0, 7)) === "INVITE ");
    expect(datagram && Array.from(rawBody(datagram))).toEqual([0xff, 0x00, 0x80, 0x41]);
  });

  it("a UTF-8 body reaches the worker as text", async () => {
    const h = setup();
    h.worker.onRequest = () => decide({ action: "reply", status: 404, reason: "Not Found" });
    const sdp = new TextEncoder().encode("v=0\r\ns=Grüße\r\n");
    h.core.onDatagram(concat(invite(sdp.length), sdp), PHONE_A, h.phones);
    await flush();
    expect(h.worker.requests[0]).toMatchObject({ body: "v=0\r\ns=Grüße\r\n", bodyEncoding: "utf8" });
  });
});
