/**
 * Synthetic agent conversation: a vocabulary of pseudo-words drawn with a Zipf-like
 * distribution (so full-text queries have realistic selectivity), a few senders and topics,
 * and JSON chat payloads of about 300 bytes. Deterministic for a given seed.
 *
 * @module
 */
import { mulberry32 } from "../tests/prng.ts";

/** Agents that send messages; the filtered-search queries pick one of these. */
export const SENDERS = ["claude", "gemini", "codex", "aider", "operator"] as const;

const TOPICS = [
  ...SENDERS.map((sender) => `agent.${sender}`),
  "team.planning",
  "team.review",
  "ops.alerts",
];

const ONSETS = (
  "b c d f g h j k l m n p r s t v w z br ch cl dr fl gr kr pl pr sh st th tr"
).split(" ");
const VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"];
const CODAS = ["", "", "", "n", "r", "s", "l", "t", "x", "nd", "rk", "st"];

/** Options for {@link MessageCorpus}. */
export interface CorpusOptions {
  /** Seed of the pseudo-random generator; the same seed gives the same messages. */
  readonly seed: number;
  /** Distinct words; default 5000. */
  readonly vocabularySize?: number;
  /** Zipf exponent: word of rank r is drawn with weight 1 / r^s; default 1. */
  readonly zipfExponent?: number;
  /** Characters of words per message content; default 240 (payload about 300 B). */
  readonly contentChars?: number;
}

/** One generated bus message, before it is stamped and serialized. */
export interface CorpusMessage {
  readonly topic: string;
  readonly sender: string;
  readonly recipient: string;
  readonly content: string;
}

/**
 * A reproducible stream of agent messages.
 *
 * @example
 * ```ts
 * const corpus = new MessageCorpus({ seed: 42 });
 * const message = corpus.next();
 * const payload = chatPayload(message);
 * ```
 */
export class MessageCorpus {
  /** Words by rank: index 0 is the most frequent. */
  readonly vocabulary: readonly string[];
  readonly #random: () => number;
  readonly #cumulative: Float64Array;
  readonly #contentChars: number;

  constructor(options: CorpusOptions) {
    this.#random = mulberry32(options.seed).next;
    this.vocabulary = makeVocabulary(
      options.vocabularySize ?? 5000,
      mulberry32(options.seed ^ 1).next,
    );
    this.#cumulative = zipfCumulative(this.vocabulary.length, options.zipfExponent ?? 1);
    this.#contentChars = options.contentChars ?? 240;
  }

  /** A uniform number in [0, 1) from the corpus's generator. */
  random(): number {
    return this.#random();
  }

  /** A word drawn with the Zipf weights. */
  word(): string {
    const target = this.#random();
    const cumulative = this.#cumulative;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return this.vocabulary[low]!;
  }

  /** The next message: sender, recipient and topic uniform, content Zipf-distributed words. */
  next(): CorpusMessage {
    const sender = SENDERS[Math.floor(this.#random() * SENDERS.length)]!;
    let recipient: string = SENDERS[Math.floor(this.#random() * SENDERS.length)]!;
    if (recipient === sender) recipient = "all";
    const topic = TOPICS[Math.floor(this.#random() * TOPICS.length)]!;
    return { topic, sender, recipient, content: this.#content() };
  }

  #content(): string {
    let text = "";
    let sentenceWords = 0;
    while (text.length < this.#contentChars) {
      if (text.length > 0) text += sentenceWords === 0 ? ". " : " ";
      text += this.word();
      sentenceWords = sentenceWords >= 6 + Math.floor(this.#random() * 10) ? 0 : sentenceWords + 1;
    }
    return text + ".";
  }
}

/**
 * The JSON payload of a chat message, as agents on the bus send it; `stamp` (payload seq and
 * publish time) goes first, in the fields the recorder bench's log analysis reads.
 */
export function chatPayload(
  message: CorpusMessage,
  stamp?: { readonly seq: number; readonly sentAtMs: number },
): string {
  const head = stamp ? `{"seq":${stamp.seq},"sent_at":${stamp.sentAtMs.toFixed(3)},` : "{";
  return head + `"from":"${message.sender}","to":"${message.recipient}","type":"chat",` +
    `"content":${JSON.stringify(message.content)}}`;
}

/** Distinct pseudo-words, shortest first, so that frequent words are short as in real text. */
function makeVocabulary(size: number, random: () => number): string[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const words = new Set<string>();
  const reserved = new Set(["and", "or", "not", "near"]);
  while (words.size < size) {
    const syllables = 1 + Math.floor(random() * 3) + (random() < 0.3 ? 1 : 0);
    let word = "";
    for (let i = 0; i < syllables; i++) word += pick(ONSETS) + pick(VOWELS);
    word += pick(CODAS);
    if (!reserved.has(word)) words.add(word);
  }
  return [...words].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
}

function zipfCumulative(size: number, exponent: number): Float64Array {
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let rank = 1; rank <= size; rank++) {
    total += 1 / Math.pow(rank, exponent);
    cumulative[rank - 1] = total;
  }
  for (let i = 0; i < size; i++) cumulative[i] = cumulative[i]! / total;
  return cumulative;
}
