/**
 * GPT-2's byte-level conventions, as the Hugging Face `tokenizers` ByteLevel pre-tokenizer and
 * decoder use them: the pre-tokenization regex (contractions, letters, numbers, other symbols,
 * each with an optional leading space; whitespace runs), and the map from the 256 byte values
 * to printable characters (printable Latin-1 bytes map to themselves, the rest to U+0100 on), so
 * every byte sequence is a string of vocabulary characters and no text is ever unknown.
 */

/** GPT-2's pre-tokenization pattern (the one `tokenizers`' ByteLevel pre-tokenizer applies with use_regex). */
export const GPT2_PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function buildByteChars(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  return chars;
}

/** BYTE_CHARS[b]: the character byte b is written as in a byte-level vocabulary ('Ġ' for the space 0x20). */
export const BYTE_CHARS: readonly string[] = buildByteChars();

/** The byte-level string of a piece of text: its UTF-8 bytes, each as its character. */
export function byteLevelString(text: string): string {
  let s = '';
  for (const b of Buffer.from(text, 'utf8')) s += BYTE_CHARS[b]!;
  return s;
}
