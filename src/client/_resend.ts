import type { Outbox } from "./outbox.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The replies to one resend request (docs: /README.md "Client libraries"): a `msg` message per
 * kept seq in the range, then exactly one `done`. Malformed requests and requests for another
 * publisher get only a `done` that says why.
 */
export function answerResend(
  request: Uint8Array,
  publisher: { readonly pub: string; readonly outbox: Outbox },
): Uint8Array[][] {
  const parsed = parseRequest(request);
  const { outbox } = publisher;
  if (typeof parsed === "string") return [done({ error: parsed })];
  const { from, to } = parsed;
  const summary = { pub: parsed.pub, from, to, oldest: outbox.oldest, newest: outbox.newest };
  if (parsed.pub !== publisher.pub) return [done({ ...summary, sent: 0, error: "unknown pub" })];
  const replies: Uint8Array[][] = outbox.range(from, to).map(([seq, frames]) => [
    encoder.encode("msg"),
    encoder.encode(String(seq)),
    ...frames,
  ]);
  replies.push(done({ ...summary, sent: replies.length }));
  return replies;
}

function done(body: Record<string, unknown>): Uint8Array[] {
  return [encoder.encode("done"), encoder.encode(JSON.stringify(body))];
}

function parseRequest(
  request: Uint8Array,
): { pub: string; from: number; to: number } | string {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(request));
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) {
      return "request is not a JSON object";
    }
    throw error;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "request is not a JSON object";
  }
  const { cmd, pub, from, to } = value as Record<string, unknown>;
  if (cmd !== "resend") return `unknown cmd ${JSON.stringify(cmd ?? null)}`;
  if (typeof pub !== "string") return "pub must be a string";
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
    return "from and to must be integers";
  }
  if ((from as number) < 1 || (from as number) > (to as number)) {
    return "range must have 1 <= from <= to";
  }
  return { pub, from: from as number, to: to as number };
}
