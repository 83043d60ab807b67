/**
 * Several gateways, one store (docs/routing.md, "Several gateways"). A phone's NAT pinhole is open only
 * towards the gateway it registered through (A). When the worker's decision at gateway B says a branch goes
 * `viaPeer` (next hop: A's socket), B prepends a Route to A carrying the phone's address and a proof:
 *
 *     Route: <sip:A;lr;pgw=203.0.113.7~40312~1;pmac=MAC>
 *
 * MAC = truncated HMAC-SHA256 over the Call-ID and the address, with the dialog key every gateway of the
 * deployment derives from the shared GATEWAY_SECRET (dialog-proof.ts). A sends an initial request to that
 * address only when the proof is valid; a forged or absent proof makes the Route worthless (403, nothing
 * sent), so a stranger still cannot make A send to an address of its choosing. The worker never holds the
 * key: it only names the peer and the address; the gateways prove it to each other.
 */
import { parseSipUri } from "../../../sip/uri";
import type { TransportAddress } from "../transport/transport";
import type { DialogProof } from "./dialog-proof";
import { PEER_PARAM, PEER_PROOF_PARAM } from "./dialog-proof";
import { hostPort } from "./local-address";
import { aliasValue, parseAliasValue } from "./nat-alias";

/** Methods the peer Record-Routes (the worker's dialog-creating set): the receiving gateway does too. */
export const PEER_RECORD_ROUTED: ReadonlySet<string> = new Set(["INVITE", "SUBSCRIBE", "REFER"]);

/** The Route value B writes for a branch through peer gateway `gateway` to the phone at `target`. */
export function peerRouteValue(proof: DialogProof, callId: string, gateway: TransportAddress, target: TransportAddress): string {
  const value = aliasValue(target);
  return `<sip:${hostPort(gateway.ip, gateway.port)};lr;${PEER_PARAM}=${value};${PEER_PROOF_PARAM}=${proof.peerMac(callId, value)}>`;
}

/** What the gateway's own Route entries of an initial request say about a peer relay. */
export type PeerRoute =
  | { readonly kind: "none" }
  | { readonly kind: "forged" }
  | { readonly kind: "ok"; readonly target: TransportAddress };

/**
 * Reads the peer parameters of the gateway's own Route URIs (popped from an initial request). An entry with
 * `pgw` must carry the valid `pmac` for this Call-ID, and name a UDP address the gateway would have
 * written; else it is "forged" and its address is never a destination.
 */
export function readPeerRoute(popped: readonly string[], proof: DialogProof, callId: string): PeerRoute {
  let found: PeerRoute = { kind: "none" };
  for (const uri of popped) {
    const params = parseSipUri(uri)?.params;
    const value = params?.[PEER_PARAM];
    if (value === undefined) continue;
    const mac = params?.[PEER_PROOF_PARAM];
    if (typeof value !== "string" || !proof.verifyPeer(typeof mac === "string" ? mac : undefined, callId, value)) return { kind: "forged" };
    const target = parseAliasValue(value);
    if (!target || found.kind === "ok") return { kind: "forged" }; // one peer hop per request, no more
    found = { kind: "ok", target };
  }
  return found;
}
