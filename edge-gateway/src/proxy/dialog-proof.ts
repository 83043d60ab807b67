/**
 * Proofs that the gateway wrote what an in-dialog request brings back, so that it relays only along
 * dialogs it Record-Routed and sends only to NAT addresses it observed (no open relay).
 *
 * - The Record-Route URI carries `;dp=` = truncated HMAC-SHA256 over Call-ID and the initial From tag. An
 *   in-dialog request proves its dialog when the MAC matches its Call-ID with either of its tags (the
 *   initial From tag is the From tag of requests from the caller and the To tag of requests from the callee).
 * - A NAT alias (`;alias=ip~port~1`) carries `;amac=` = HMAC over Call-ID and the alias value.
 * - A peer Route (`<sip:A;lr;pgw=ip~port~1;pmac=...>`, written by gateway B for a phone whose binding was
 *   saved through gateway A) carries `;pmac=` = HMAC over Call-ID and the address: A sends an initial
 *   request to that address only with it (docs/routing.md, "Several gateways").
 *
 * The key is derived from the gateway's configured secret: it survives restarts and is the same on every
 * gateway of a deployment, so any of them accepts a dialog another one Record-Routed.
 *
 * Rotation (docs/operations.md): proofs are always written with the current secret; during a rotation
 * window (GATEWAY_SECRET_PREVIOUS set) a proof written with the previous one is accepted too, so the calls
 * set up before the rotation keep their in-dialog requests (a BYE, a re-INVITE) flowing.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Record-Route URI parameter holding the dialog proof. */
export const DIALOG_PROOF_PARAM = "dp";
/** Contact URI parameter holding the proof of a NAT alias. */
export const ALIAS_PROOF_PARAM = "amac";

/** Route URI parameters of a relay through a peer gateway: the address it alone may send to, and its proof. */
export const PEER_PARAM = "pgw";
export const PEER_PROOF_PARAM = "pmac";

/** 96 bits, as hex: short enough for a URI parameter, far beyond guessing at UDP rates. */
const MAC_HEX = 24;

export class DialogProof {
  /** The current key first (it signs), then the previous one during a rotation window (it only verifies). */
  private readonly keys: readonly Buffer[];

  constructor(secret: string, previousSecret?: string) {
    if (secret.length === 0) throw new RangeError("DialogProof needs a non-empty secret");
    this.keys = previousSecret ? [deriveKey(secret), deriveKey(previousSecret)] : [deriveKey(secret)];
  }

  /** The `;dp=` value for a dialog created by a request with this Call-ID and From tag. */
  dialogMac(callId: string, fromTag: string): string {
    return this.sign(dialogText(callId, fromTag));
  }

  /** True when `mac` proves the dialog for `callId` with one of `tags` (the request's From and To tags). */
  verifyDialog(proof: string | undefined, callId: string, tags: readonly (string | undefined)[]): boolean {
    return tags.some((tag) => tag !== undefined && this.verify(proof, dialogText(callId, tag)));
  }

  /** The `;amac=` value of an alias written in a message of this Call-ID. */
  aliasMac(callId: string, alias: string): string {
    return this.sign(aliasText(callId, alias));
  }

  verifyAlias(proof: string | undefined, callId: string, alias: string): boolean {
    return this.verify(proof, aliasText(callId, alias));
  }

  /** The `;pmac=` value of a peer Route for a request of this Call-ID to `target` (`ip~port~1`). */
  peerMac(callId: string, target: string): string {
    return this.sign(peerText(callId, target));
  }

  verifyPeer(proof: string | undefined, callId: string, target: string): boolean {
    return this.verify(proof, peerText(callId, target));
  }

  /** Signs with the current key. */
  private sign(text: string): string {
    return mac(this.keys[0]!, text);
  }

  /** True when `proof` is the MAC of `text` under one of the accepted keys. */
  private verify(proof: string | undefined, text: string): boolean {
    return proof !== undefined && this.keys.some((key) => equal(proof, mac(key, text)));
  }
}

// A key of its own, so that the signing key of the worker calls never signs anything in SIP.
function deriveKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("edge-registrar dialog proof v1").digest();
}

const dialogText = (callId: string, fromTag: string): string => `rr\n${callId}\n${fromTag}`;
const aliasText = (callId: string, alias: string): string => `alias\n${callId}\n${alias}`;
const peerText = (callId: string, target: string): string => `peer\n${callId}\n${target}`;

function mac(key: Buffer, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex").slice(0, MAC_HEX);
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
