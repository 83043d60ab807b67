/**
 * Proofs that the gateway wrote what an in-dialog request brings back, so that it relays only along
 * dialogs it Record-Routed and sends only to NAT addresses it observed (no open relay).
 *
 * - The Record-Route URI carries `;dp=` = truncated HMAC-SHA256 over Call-ID and the initial From tag. An
 *   in-dialog request proves its dialog when the MAC matches its Call-ID with either of its tags (the
 *   initial From tag is the From tag of requests from the caller and the To tag of requests from the callee).
 * - A NAT alias (`;alias=ip~port~1`) carries `;amac=` = HMAC over Call-ID and the alias value.
 *
 * The key is derived from the gateway's configured secret: it survives restarts and is the same on every
 * gateway of a deployment, so any of them accepts a dialog another one Record-Routed.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Record-Route URI parameter holding the dialog proof. */
export const DIALOG_PROOF_PARAM = "dp";
/** Contact URI parameter holding the proof of a NAT alias. */
export const ALIAS_PROOF_PARAM = "amac";

/** 96 bits, as hex: short enough for a URI parameter, far beyond guessing at UDP rates. */
const MAC_HEX = 24;

export class DialogProof {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length === 0) throw new RangeError("DialogProof needs a non-empty secret");
    // A key of its own, so that the signing key of the worker calls never signs anything in SIP.
    this.key = createHmac("sha256", secret).update("edge-registrar dialog proof v1").digest();
  }

  /** The `;dp=` value for a dialog created by a request with this Call-ID and From tag. */
  dialogMac(callId: string, fromTag: string): string {
    return this.mac(`rr\n${callId}\n${fromTag}`);
  }

  /** True when `mac` proves the dialog for `callId` with one of `tags` (the request's From and To tags). */
  verifyDialog(mac: string | undefined, callId: string, tags: readonly (string | undefined)[]): boolean {
    if (mac === undefined) return false;
    return tags.some((tag) => tag !== undefined && equal(mac, this.dialogMac(callId, tag)));
  }

  /** The `;amac=` value of an alias written in a message of this Call-ID. */
  aliasMac(callId: string, alias: string): string {
    return this.mac(`alias\n${callId}\n${alias}`);
  }

  verifyAlias(mac: string | undefined, callId: string, alias: string): boolean {
    return mac !== undefined && equal(mac, this.aliasMac(callId, alias));
  }

  private mac(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("hex").slice(0, MAC_HEX);
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
